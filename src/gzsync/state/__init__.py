"""What gzsync keeps between runs: watermarks, the ledger, the id cache, the run lock.

:class:`StateStore` (in :mod:`gzsync.state.store`) is the interface the pipeline, the CLI and
the clients use; :class:`SqliteStore` is the default backend (one local file, `STATE_DB`) and
:mod:`gzsync.state.catalyst` the one for Catalyst functions, whose disks do not persist.
:func:`open_store` picks the backend from the settings (`STATE_BACKEND`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gzsync.state.sqlite import SqliteStore, open_sqlite_store
from gzsync.state.store import (
    RETRIED_EVERY_RUN,
    BatchCommit,
    Confirmed,
    LedgerEntry,
    LedgerKind,
    RunRecord,
    StateStore,
    StreamName,
)

if TYPE_CHECKING:
    from gzsync.config import Settings

__all__ = [
    "RETRIED_EVERY_RUN",
    "BatchCommit",
    "Confirmed",
    "LedgerEntry",
    "LedgerKind",
    "RunRecord",
    "SqliteStore",
    "StateStore",
    "StreamName",
    "open_sqlite_store",
    "open_store",
]


def open_store(settings: Settings) -> StateStore:
    """The state store the settings ask for (`STATE_BACKEND`): SQLite at `STATE_DB`, or
    Catalyst."""
    if settings.state_backend == "catalyst":
        # Imported here: only Catalyst deployments need the Catalyst SDK.
        from gzsync.state.catalyst import open_catalyst_store

        return open_catalyst_store(settings)
    return open_sqlite_store(settings.state_db)
