"""Upgrading loses nothing: records an earlier rule set rejected are re-evaluated once.

The state store keeps the fingerprint of the mapping rules of the last run
(:attr:`gzsync.mapping.rules.MappingRules.fingerprint`: the code's ``RULES_VERSION`` plus
``NUMBER_DECIMAL`` and ``CONTACT_NAME_FALLBACK``). When a run starts with different rules,
every ``rejected`` ledger entry of our own validation is marked for retry, exactly as
``gzsync ledger retry`` would: that run re-reads those rows from Galaxy, maps them with
the new rules and sends the ones now accepted — no change in Galaxy needed. The ones still
rejected go back to the ledger. Then the new fingerprint is stored (after the marks, so a
crash in between only marks again).

Records Zoho itself refused with ``INVALID_DATA`` are marked too: what we send is the
mapping's doing, so new rules may send a value Zoho now takes (rules v3 cut a contact's
``Title`` to the 100 characters Zoho holds, where v2 sent 255 and Zoho refused the contact).
One that Zoho still refuses costs one credit and goes back to the ledger. Other refusals
(``DUPLICATE_DATA`` ...) are not about a value's shape and wait for a change in Galaxy.

Entries that are not about the mapping (``not_in_galaxy``, ``no_card_holder``) are left
alone. A dry run changes nothing, so it does not show the re-evaluated records yet.
"""

from __future__ import annotations

import logging

from gzsync.mapping.rules import MappingRules
from gzsync.state.store import StateStore
from gzsync.streams import STREAM_NAMES

log = logging.getLogger("gzsync.sync")

#: The meta entry holding the fingerprint.
META_KEY = "mapping_rules"
#: Rejections that no mapping rule decides.
_NOT_MAPPING: frozenset[str] = frozenset({"not_in_galaxy", "no_card_holder"})
_STREAMS: tuple[str, ...] = STREAM_NAMES


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
        keys += [e.key for e in store.ledger_list(stream, kind="refused", reason="INVALID_DATA")]
        if keys:
            marked += store.ledger_request_retry(stream, keys)
    store.meta_put(META_KEY, fingerprint)
    if marked:
        log.info(
            "mapping rules now %s: %d rejected or refused records re-evaluated", fingerprint, marked
        )
    return marked
