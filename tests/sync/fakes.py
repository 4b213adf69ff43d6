"""What the sync core's unit tests give a writer instead of the sandboxes: a scripted Zoho
and a run around a real SQLite store (the Zoho side is the seam, like httpx's MockTransport)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gzsync.state.sqlite import SqliteStore
from gzsync.state.store import BatchCommit
from gzsync.sync.failures import FailureCounter
from gzsync.sync.report import EntityCounts, RunReport
from gzsync.zoho.client import UpsertResult


class ScriptedZoho:
    """Answers upserts with SUCCESS; `gate(n)` holds the n-th call (0-based) until released,
    `fail(n, exc)` makes it raise. Records the payloads of every call in call order."""

    def __init__(self) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self._gates: dict[int, asyncio.Event] = {}
        self._failures: dict[int, BaseException] = {}
        self.started: dict[int, asyncio.Event] = {}
        #: called with the call's number as each upsert starts
        self.on_call: Callable[[int], None] = lambda n: None

    def gate(self, n: int) -> asyncio.Event:
        self._gates[n] = asyncio.Event()
        return self._gates[n]

    def fail(self, n: int, exc: BaseException) -> None:
        self._failures[n] = exc

    def call_started(self, n: int) -> asyncio.Event:
        return self.started.setdefault(n, asyncio.Event())

    async def upsert(
        self, module: str, payloads: Sequence[dict[str, Any]], *, duplicate_check_fields: list[str]
    ) -> list[UpsertResult]:
        n = len(self.calls)
        self.calls.append(list(payloads))
        self.call_started(n).set()
        self.on_call(n)
        if n in self._gates:
            await self._gates[n].wait()
        if n in self._failures:
            raise self._failures[n]
        return [
            UpsertResult(True, "insert", f"z-{p['Trader_ID']}", "SUCCESS", "", None, {})
            for p in payloads
        ]


@dataclass
class UnitRun:
    """A `WriteRun` on a real SQLite store that records every commit in order."""

    zoho: Any
    store: SqliteStore
    dry_run: bool = False
    concurrency: int = 4
    failures: FailureCounter = field(default_factory=FailureCounter)
    report: RunReport = field(default_factory=lambda: RunReport(run_id="unit", started_at=0.0))
    commits: list[BatchCommit] = field(default_factory=list)

    def __post_init__(self) -> None:
        commit: Callable[[BatchCommit], None] = self.store.commit_batch

        def recorded(batch: BatchCommit) -> None:
            self.commits.append(batch)
            commit(batch)

        self.store.commit_batch = recorded  # type: ignore[method-assign]

    def counts(self, stream: str) -> EntityCounts:
        return self.report.counts(stream)

    def advanced(self, stream: str, n: int) -> None:
        return None
