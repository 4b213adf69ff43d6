"""A view of a state store that writes nothing: what `gzsync run --dry-run` runs on.

Reads go to the real store; every write is dropped, except key/value entries (a Galaxy
session, a Zoho token), which are kept in memory for the run so it can authenticate.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from gzsync.state.store import (
    BatchCommit,
    LedgerEntry,
    LedgerKind,
    RunRecord,
    StateStore,
    StreamName,
    WarningRecord,
)


class ReadOnlyStore:
    """Wraps a StateStore; implements the same protocol without writing to it."""

    def __init__(self, inner: StateStore) -> None:
        self._inner = inner
        self._kv: dict[str, tuple[str, float | None]] = {}

    def kv_get(self, key: str) -> str | None:
        if key in self._kv:
            value, expires = self._kv[key]
            return value if expires is None or expires > time.time() else None
        return self._inner.kv_get(key)

    def kv_put(self, key: str, value: str, ttl_s: float | None = None) -> None:
        self._kv[key] = (value, None if ttl_s is None else time.time() + ttl_s)

    def kv_delete(self, key: str) -> None:
        self._kv[key] = ("", 0.0)

    def get_watermark(self, stream: StreamName) -> int | None:
        return self._inner.get_watermark(stream)

    def set_watermark(self, stream: StreamName, rev: int) -> None:
        return None

    def commit_batch(self, commit: BatchCommit) -> None:
        return None

    def ledger_list(
        self,
        stream: StreamName | None = None,
        *,
        kind: LedgerKind | None = None,
        reason: str | None = None,
        limit: int | None = None,
    ) -> list[LedgerEntry]:
        return self._inner.ledger_list(stream, kind=kind, reason=reason, limit=limit)

    def ledger_counts(self) -> dict[tuple[str, str, str], int]:
        return self._inner.ledger_counts()

    def ledger_request_retry(self, stream: StreamName | None, keys: Iterable[str] | None) -> int:
        return 0

    def ledger_drop(self, stream: StreamName, key: str) -> bool:
        return False

    def ids_get(self, module: str, keys: Iterable[str]) -> dict[str, str]:
        return self._inner.ids_get(module, keys)

    def ids_put(self, module: str, ids: dict[str, str]) -> None:
        return None

    def ids_evict(self, module: str, keys: Iterable[str]) -> None:
        return None

    def acquire_lock(self, owner: str, ttl_s: float) -> None:
        return None

    def refresh_lock(self, owner: str, ttl_s: float) -> None:
        return None

    def release_lock(self, owner: str) -> None:
        return None

    def run_started(self, run_id: str, started_at: float) -> None:
        return None

    def run_finished(self, run_id: str, finished_at: float, report: dict[str, object]) -> None:
        return None

    def runs(self, limit: int = 20) -> list[RunRecord]:
        return self._inner.runs(limit)

    def run(self, run_id: str) -> RunRecord | None:
        return self._inner.run(run_id)

    def warnings_add(self, run_id: str, warnings: Sequence[WarningRecord]) -> None:
        return None

    def warnings_list(
        self,
        run_id: str,
        *,
        stream: StreamName | None = None,
        reason: str | None = None,
        limit: int | None = None,
    ) -> list[WarningRecord]:
        return self._inner.warnings_list(run_id, stream=stream, reason=reason, limit=limit)

    def meta_get(self, name: str) -> str | None:
        return self._inner.meta_get(name)

    def meta_put(self, name: str, value: str) -> None:
        return None

    def close(self) -> None:
        return None
