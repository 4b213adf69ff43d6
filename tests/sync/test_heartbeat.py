"""The run lock's heartbeat: a refresh the store cannot make is not a lost lock, until
LOCK_TTL has passed without a successful one."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gzsync.config import Settings
from gzsync.errors import LockHeldError, StateError
from gzsync.sync.budget import Budget
from gzsync.sync.context import RunContext
from gzsync.sync.options import RunOptions
from gzsync.sync.report import RunReport


class _LockStore:
    """Only what the heartbeat calls: refresh_lock, answering from a script."""

    def __init__(self, *answers: Exception | None) -> None:
        self.answers = list(answers)
        self.refreshes = 0

    def refresh_lock(self, owner: str, ttl_s: float) -> None:
        self.refreshes += 1
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer


def _context(store: Any, ttl_s: int = 60) -> RunContext:
    return RunContext(
        settings=Settings(LOCK_TTL=ttl_s),
        options=RunOptions(),
        store=store,
        galaxy=None,  # type: ignore[arg-type]
        zoho=None,  # type: ignore[arg-type]
        budget=Budget(),
        report=RunReport(run_id="r", started_at=0.0),
        owner="me",
    )


def test_a_transient_refresh_error_is_tried_again_not_a_lost_lock() -> None:
    store = _LockStore(StateError("Catalyst lock write failed: HTTP 503"), None)
    ctx = _context(store)
    ctx.heartbeat(force=True)
    assert ctx.lock_lost is None
    ctx.heartbeat(force=True)
    assert ctx.lock_lost is None
    assert store.refreshes == 2


def test_refresh_errors_past_the_lock_ttl_lose_the_lock() -> None:
    store = _LockStore(StateError("HTTP 503"), StateError("HTTP 503"))
    ctx = _context(store, ttl_s=60)
    ctx.heartbeat(force=True)
    assert ctx.lock_lost is None
    ctx._lock_refreshed = time.monotonic() - 61  # the last refresh that worked is too old
    with pytest.raises(LockHeldError):
        ctx.heartbeat()
    assert ctx.lock_lost is not None
    with pytest.raises(LockHeldError):
        ctx.heartbeat()


def test_another_holder_is_a_lost_lock_at_once() -> None:
    store = _LockStore(LockHeldError("other run", 0.0))
    ctx = _context(store)
    ctx.heartbeat(force=True)
    assert isinstance(ctx.lock_lost, LockHeldError)
    with pytest.raises(LockHeldError):
        ctx.heartbeat()
