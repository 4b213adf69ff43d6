"""Upgrading loses nothing: records an earlier rule set rejected are re-evaluated once.

The state store keeps the fingerprint of the mapping rules of the last run
(:attr:`gzsync.mapping.rules.MappingRules.fingerprint`: the code's ``RULES_VERSION`` plus
``NUMBER_DECIMAL`` and ``CONTACT_NAME_FALLBACK``). When a run starts with different rules,
every ``rejected`` ledger entry of our own validation is marked for retry, exactly as
``gzsync ledger retry`` would: that run re-reads those rows from Galaxy, maps them with
the new rules and sends the ones now accepted — no change in Galaxy needed. The ones still
rejected go back to the ledger. Then the new fingerprint is stored (after the marks, so a
crash in between only marks again).

Entries that are not about the mapping (``not_in_galaxy``, ``no_card_holder``) are left
alone. A dry run changes nothing, so it does not show the re-evaluated records yet.
"""

from __future__ import annotations

import logging

from gzsync.mapping.rules import MappingRules
from gzsync.state.store import StateStore, StreamName

log = logging.getLogger("gzsync.sync")

#: The meta entry holding the fingerprint.
META_KEY = "mapping_rules"
#: Rejections that no mapping rule decides.
_NOT_MAPPING: frozenset[str] = frozenset({"not_in_galaxy", "no_card_holder"})
_STREAMS: tuple[StreamName, ...] = ("customers", "affiliates", "contacts")


def reevaluate_rejected(store: StateStore, rules: MappingRules) -> int:
    """Mark rejected entries for retry when the rules changed; returns how many were marked."""
    fingerprint = rules.fingerprint
    if store.meta_get(META_KEY) == fingerprint:
        return 0
    marked = 0
    for stream in _STREAMS:
        keys = [
            e.key
            for e in store.ledger_list(stream, kind="rejected")
            if e.reason not in _NOT_MAPPING
        ]
        if keys:
            marked += store.ledger_request_retry(stream, keys)
    store.meta_put(META_KEY, fingerprint)
    if marked:
        log.info("mapping rules now %s: %d rejected records re-evaluated", fingerprint, marked)
    return marked
