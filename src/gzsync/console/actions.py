"""The console's ledger actions: mark for retry, drop.

Both go through the ops layer's ledger module (:mod:`gzsync.ops.ledger`), the one
implementation of filter, retry and drop that `gzsync ledger retry|drop` use too; the
console adds only its per-record history of actions. Both act on the state store only; a
retry is done by the next run (the console's Sync now, or the schedule).

Unlike the CLI, a retry that names keys no longer in the ledger is not an error here: a
button names the keys the page showed, and a run may have synced some since. Those keys are
skipped (`missing_ok`) and the count says how many were marked. A drop of an entry that is
gone returns False (the page says nothing was dropped).
"""

from __future__ import annotations

from gzsync.console.views import record_action
from gzsync.ops import ledger
from gzsync.state.store import StateStore, StreamName


def mark_retry(store: StateStore, stream: StreamName | None, keys: list[str] | None) -> int:
    """Mark entries for retry by the next run (all of `stream`, or all, when keys is None)."""
    flt = ledger.LedgerFilter(stream=stream, keys=tuple(keys or ()))
    marked = ledger.request_retry(store, flt, missing_ok=True)
    if stream is not None and keys:
        for key in keys:
            record_action(store, stream, key, "marked for retry")
    return marked


def drop(store: StateStore, stream: StreamName, key: str) -> bool:
    """Give up on one entry: it is not retried until it changes in Galaxy."""
    try:
        ledger.drop(store, key, stream)
    except ledger.LedgerSelectionError:
        return False
    record_action(store, stream, key, "dropped from the ledger")
    return True
