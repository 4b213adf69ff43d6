"""The budget a run records (`budget_s`): MAX_DURATION / --max-duration, Catalyst's limit."""

from __future__ import annotations

from gzsync.sync.budget import Budget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_no_budget_is_none() -> None:
    assert Budget().seconds() is None


def test_max_duration_is_the_budget() -> None:
    assert Budget(max_duration_s=600.0).seconds() == 600.0


def test_catalyst_budget_is_its_limit_seen_from_the_start() -> None:
    clock = Clock()
    left = [840_000.0]
    budget = Budget(remaining_ms=lambda: left[0], clock=clock)
    clock.now += 12.0  # reading Galaxy before the first batch
    left[0] -= 12_000.0
    assert not budget.exhausted()
    clock.now += 100.0
    left[0] -= 100_000.0
    assert budget.seconds() == 840.0  # not 728: the limit counts from the run's start
    # the lesser of both
    assert Budget(max_duration_s=300.0, remaining_ms=lambda: 840_000.0).seconds() == 300.0


def test_a_run_that_never_checked_asks_catalyst_at_the_end() -> None:
    clock = Clock()
    budget = Budget(remaining_ms=lambda: 830_000.0, clock=clock)
    clock.now += 10.0
    assert budget.seconds() == 840.0
