"""A change of the mapping rules re-evaluates our own rejections, once (rules_upgrade)."""

from __future__ import annotations

from pathlib import Path

from gzsync.mapping.rules import DEFAULT_RULES, RULES_VERSION, MappingRules
from gzsync.state.sqlite import open_sqlite_store
from gzsync.state.store import BatchCommit, LedgerEntry
from gzsync.sync.rules_upgrade import META_KEY, reevaluate_rejected


def test_rejections_are_retried_once_per_change_of_rules(tmp_path: Path) -> None:
    store = open_sqlite_store(tmp_path / "state.db")
    try:
        store.commit_batch(
            BatchCommit(
                "customers",
                "",
                ledger=[
                    LedgerEntry("customers", "C1", 5, "rejected", "invalid_number"),
                    LedgerEntry("customers", "C2", 6, "rejected", "not_in_galaxy"),
                    LedgerEntry("customers", "C3", 7, "refused", "INVALID_DATA"),
                    LedgerEntry("customers", "C5", 7, "refused", "DUPLICATE_DATA"),
                ],
            )
        )
        store.commit_batch(
            BatchCommit(
                "contacts",
                "",
                ledger=[LedgerEntry("contacts", "K1", 8, "rejected", "missing_last_name")],
            )
        )
        # A store an older gzsync wrote has no fingerprint: everything of ours is retried,
        # and what Zoho refused as INVALID_DATA (the new rules may now send what it holds).
        assert reevaluate_rejected(store, DEFAULT_RULES) == 3
        retried = {e.key for e in store.ledger_list() if e.retry_requested}
        assert retried == {"C1", "C3", "K1"}
        assert (
            store.meta_get(META_KEY)
            == f"v{RULES_VERSION};decimal=comma;name_fallback=first_name,email"
        )
        # the same rules again: nothing to do
        store.ledger_request_retry(None, None)  # (clear the marks by hand below)
        for entry in store.ledger_list():
            store.ledger_drop(entry.stream, entry.key)
        store.commit_batch(
            BatchCommit(
                "customers",
                "",
                ledger=[LedgerEntry("customers", "C4", 9, "rejected", "invalid_revision")],
            )
        )
        assert reevaluate_rejected(store, DEFAULT_RULES) == 0
        assert not store.ledger_list()[0].retry_requested
        # a settings change (NUMBER_DECIMAL) re-evaluates again
        assert reevaluate_rejected(store, MappingRules("dot")) == 1
        assert store.ledger_list()[0].retry_requested
    finally:
        store.close()
