"""Sync now: one run at a time, started from the console, with its live progress.

A run started here is an ordinary :func:`~gzsync.sync.pipeline.run_sync` in a worker thread,
on its own store connection, so it takes **the same run lock** as cron, `gzsync schedule` or a
Catalyst job: if any of them holds it, the press is answered "another run holds the lock",
and a second press while the console's own run works is answered "a run is already in
progress" without touching the store.

:meth:`SyncRunner.start` waits until the run has either taken the lock (its run id is then
known, and the caller redirects to the run's page) or failed to start; it never sleeps.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from gzsync import logs
from gzsync.config import Settings
from gzsync.errors import GzsyncError, LockHeldError
from gzsync.state.store import StateStore

log = logging.getLogger("gzsync.console")

Outcome = Literal["started", "busy", "held", "error"]


class ConsoleProgress:
    """A ProgressSink that remembers done/total per stream, for the progress endpoint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[str, list[int]] = {}

    def start(self, stream: str, total: int) -> None:
        with self._lock:
            self._streams[stream] = [0, total]

    def advance(self, stream: str, n: int) -> None:
        with self._lock:
            self._streams.setdefault(stream, [0, 0])[0] += n

    def close(self) -> None:
        return None

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {s: {"done": d, "total": t} for s, (d, t) in self._streams.items()}


@dataclass
class _Job:
    progress: ConsoleProgress = field(default_factory=ConsoleProgress)
    settled: threading.Event = field(default_factory=threading.Event)  # lock taken, or failed
    run_id: str | None = None
    outcome: Outcome = "started"
    status: str = "starting"
    message: str = ""
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None


class _SignallingStore:
    """The run's store, telling the job when the run has taken the lock and got its id."""

    def __init__(self, inner: StateStore, job: _Job) -> None:
        self._inner = inner
        self._job = job

    def run_started(self, run_id: str, started_at: float) -> None:
        self._inner.run_started(run_id, started_at)
        self._job.run_id = run_id
        self._job.status = "running"
        self._job.settled.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@dataclass(frozen=True, slots=True)
class StartResult:
    outcome: Outcome
    run_id: str | None
    message: str


class SyncRunner:
    """Starts runs in a worker thread, one at a time, and reports on the current one."""

    def __init__(self, settings: Settings, open_store: Callable[[], StateStore]) -> None:
        self._settings = settings
        self._open_store = open_store
        self._guard = threading.Lock()
        self._job: _Job | None = None
        self._thread: threading.Thread | None = None

    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, wait_s: float = 30.0) -> StartResult:
        with self._guard:
            if self.busy():
                job = self._job
                assert job is not None
                return StartResult(
                    "busy",
                    job.run_id,
                    "A run started from this console is already in progress"
                    + (f" ({job.run_id})" if job.run_id else "")
                    + ": wait for it to finish.",
                )
            job = _Job()
            self._job = job
            self._thread = threading.Thread(
                target=self._work, args=(job,), name="gzsync-console-run", daemon=True
            )
            self._thread.start()
        job.settled.wait(wait_s)
        if job.outcome == "started":
            return StartResult("started", job.run_id, "Run started.")
        return StartResult(job.outcome, None, job.message)

    def snapshot(self) -> dict[str, Any]:
        """The console's current or last run: id, status, message, progress per stream."""
        job = self._job
        if job is None:
            return {"active": False, "run_id": None, "status": None, "progress": {}}
        return {
            "active": self.busy(),
            "run_id": job.run_id,
            "status": job.status,
            "message": job.message,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
            "progress": job.progress.snapshot(),
        }

    def join(self, timeout: float | None = None) -> None:
        """Wait for the current run (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _work(self, job: _Job) -> None:
        from gzsync.sync.options import RunOptions
        from gzsync.sync.pipeline import run_sync

        store: StateStore | None = None
        try:
            store = self._open_store()
            proxy = cast(StateStore, _SignallingStore(store, job))
            report = run_sync(self._settings, RunOptions(), store=proxy, progress=job.progress)
            job.status = report.status
            job.message = report.message
        except LockHeldError as exc:
            job.outcome, job.status = "held", "not started"
            job.message = f"Not started: {logs.redact(str(exc))}."
        except GzsyncError as exc:
            job.outcome = "error" if job.run_id is None else job.outcome
            job.status = "not started" if job.run_id is None else "aborted"
            job.message = f"Not started: {logs.redact(str(exc))}"
        except Exception as exc:  # a crash: shown, logged, never silent
            log.exception("console run crashed")
            job.outcome = "error" if job.run_id is None else job.outcome
            job.status = "crashed"
            job.message = f"crashed: {type(exc).__name__}: {logs.redact(str(exc))[:300]}"
        finally:
            job.finished_at = time.time()
            if store is not None:
                store.close()
            job.settled.set()
