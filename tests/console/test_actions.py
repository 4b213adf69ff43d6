"""The console's ledger actions and ledger view go through the ops layer's ledger module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gzsync.console import actions, views
from gzsync.console.views import LedgerFilter, query_ledger
from gzsync.ops import ledger as ops_ledger
from gzsync.state.sqlite import SqliteStore, open_sqlite_store
from gzsync.state.store import BatchCommit, LedgerEntry


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = open_sqlite_store(tmp_path / "state.db")
    s.commit_batch(
        BatchCommit(
            stream="customers",
            module="Accounts",
            ledger=(
                LedgerEntry("customers", "A", 1, "refused", "INVALID_DATA", ""),
                LedgerEntry("customers", "B", 2, "rejected", "missing_name", ""),
            ),
        )
    )
    s.commit_batch(
        BatchCommit(
            stream="contacts",
            module="Contacts",
            ledger=(LedgerEntry("contacts", "A", 3, "failed", "transport_error", ""),),
        )
    )
    try:
        yield s
    finally:
        s.close()


def _marked(store: SqliteStore) -> set[tuple[str, str]]:
    return {(e.stream, e.key) for e in store.ledger_list() if e.retry_requested}


def test_retry_skips_keys_a_run_removed_and_marks_the_rest(store: SqliteStore) -> None:
    # The CLI refuses the whole request for an unknown key ...
    with pytest.raises(ops_ledger.LedgerSelectionError, match="gone"):
        ops_ledger.request_retry(store, ops_ledger.LedgerFilter(keys=("A", "gone")))
    assert _marked(store) == set()
    # ... the console's "mark the shown" button skips it (the page may be stale).
    assert actions.mark_retry(store, "customers", ["A", "gone"]) == 1
    assert _marked(store) == {("customers", "A")}
    assert views.load_actions(store, "customers", "A")[0]["what"] == "marked for retry"


def test_retry_of_a_whole_stream_and_of_everything(store: SqliteStore) -> None:
    assert actions.mark_retry(store, "customers", None) == 2
    assert _marked(store) == {("customers", "A"), ("customers", "B")}
    assert actions.mark_retry(store, None, None) == 3


def test_drop_uses_the_stream_and_says_when_nothing_was_there(store: SqliteStore) -> None:
    assert actions.drop(store, "contacts", "A") is True
    assert {(e.stream, e.key) for e in store.ledger_list()} == {
        ("customers", "A"),
        ("customers", "B"),
    }
    assert actions.drop(store, "contacts", "A") is False
    assert views.load_actions(store, "contacts", "A")[0]["what"] == "dropped from the ledger"


def test_the_ledger_page_filters_like_the_cli(store: SqliteStore) -> None:
    entries, total = query_ledger(store, LedgerFilter(reason="invalid_data"))  # case-blind
    assert [(e.stream, e.key) for e in entries] == [("customers", "A")]
    assert total == 1
    entries, total = query_ledger(store, LedgerFilter(stream="customers"), limit=1)
    assert (len(entries), total) == (1, 2)
    assert query_ledger(store, LedgerFilter(run="no-such-run")) == ([], 0)
