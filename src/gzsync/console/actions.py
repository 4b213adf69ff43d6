"""The console's ledger actions: mark for retry, drop.

A small seam of its own so that, once the ops layer has its ledger module, these two
functions call it instead of the store (the console's routes do not change). Both act on the
state store only; a retry is done by the next run (the console's Sync now, or the schedule).
"""

from __future__ import annotations

from gzsync.console.views import record_action
from gzsync.state.store import StateStore, StreamName


def mark_retry(store: StateStore, stream: StreamName | None, keys: list[str] | None) -> int:
    """Mark entries for retry by the next run (all of `stream`, or all, when keys is None)."""
    marked = store.ledger_request_retry(stream, keys)
    if stream is not None and keys:
        for key in keys:
            record_action(store, stream, key, "marked for retry")
    return marked


def drop(store: StateStore, stream: StreamName, key: str) -> bool:
    """Give up on one entry: it is not retried until it changes in Galaxy."""
    dropped = store.ledger_drop(stream, key)
    if dropped:
        record_action(store, stream, key, "dropped from the ledger")
    return dropped
