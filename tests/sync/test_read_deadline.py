"""Reads inside the time budget (issue 15): how long a read may take, and what cuts it."""

from __future__ import annotations

import asyncio

import pytest
from tests.sync.test_budget_seconds import Clock

from gzsync.sync.budget import CATALYST_MARGIN_S, Budget
from gzsync.sync.read_budget import ReadOutOfBudget, stopped_reading, within_budget
from gzsync.sync.report import RunReport


def test_a_read_may_take_the_time_until_no_new_batch_would_start() -> None:
    clock = Clock()
    budget = Budget(max_duration_s=100.0, clock=clock)  # margin: 10 s
    assert budget.read_seconds_left() == 90.0
    clock.now += 30.0
    assert budget.read_seconds_left() == 60.0
    clock.now += 61.0
    assert budget.read_seconds_left() == 0.0
    assert budget.exhausted()


def test_no_budget_no_limit_on_reads() -> None:
    assert Budget().read_seconds_left() is None


def test_catalyst_reads_ask_the_runtime_once() -> None:
    clock = Clock()
    asked: list[float] = []

    def remaining_ms() -> float:
        asked.append(clock.now)
        return 900_000.0 - (clock.now - 1000.0) * 1000.0  # the platform's 15 minutes

    budget = Budget(remaining_ms=remaining_ms, clock=clock)
    clock.now += 5.0
    assert budget.read_seconds_left() == 900.0 - 5.0 - CATALYST_MARGIN_S
    clock.now += 100.0
    assert budget.read_seconds_left() == 900.0 - 105.0 - CATALYST_MARGIN_S
    assert len(asked) == 1  # the limit is known from the first look


def test_the_lesser_limit_bounds_a_read() -> None:
    clock = Clock()
    budget = Budget(max_duration_s=300.0, remaining_ms=lambda: 120_000.0, clock=clock)
    assert budget.read_seconds_left() == 120.0 - CATALYST_MARGIN_S


def test_an_exhausted_budget_leaves_reads_no_time() -> None:
    clock = Clock()
    budget = Budget(max_duration_s=10.0, clock=clock)
    clock.now += 9.5
    assert budget.exhausted()
    clock.now -= 5.0  # even if the clock were to say otherwise: exhausted stays exhausted
    assert budget.read_seconds_left() == 0.0


def test_a_read_that_outlives_the_budget_is_cancelled_and_abandoned() -> None:
    clock = Clock()
    budget = Budget(max_duration_s=1.0, clock=clock)
    clock.now += 0.85  # 0.05 s left before the margin
    cancelled: list[bool] = []

    async def never_answers() -> int:
        try:
            await asyncio.Event().wait()  # nothing sets it: only the budget ends this read
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return 0

    async def main() -> None:
        await within_budget(budget, "contacts", "the Galaxy view ZH_CONTACTS", never_answers)

    with pytest.raises(ReadOutOfBudget) as raised:
        asyncio.run(main())
    assert cancelled == [True]
    assert raised.value.stream == "contacts"
    assert "ZH_CONTACTS" in raised.value.message
    assert budget.exhausted_at is not None  # no new batch starts either


def test_a_spent_budget_starts_no_read() -> None:
    clock = Clock()
    budget = Budget(max_duration_s=1.0, clock=clock)
    clock.now += 2.0
    started: list[bool] = []

    async def read() -> int:
        started.append(True)
        return 1

    with pytest.raises(ReadOutOfBudget):
        asyncio.run(within_budget(budget, "customers", "the Galaxy view V", read))
    assert started == []


def test_a_read_inside_the_budget_returns_its_result() -> None:
    async def read() -> int:
        return 42

    assert asyncio.run(within_budget(Budget(max_duration_s=600.0), "c", "v", read)) == 42
    assert asyncio.run(within_budget(Budget(), "c", "v", read)) == 42


def test_a_timeout_of_the_reads_own_is_not_the_budgets() -> None:
    async def read() -> int:
        raise TimeoutError("the read's own")

    with pytest.raises(TimeoutError, match="the read's own"):
        asyncio.run(within_budget(Budget(max_duration_s=600.0), "c", "v", read))


def test_an_abandoned_read_makes_the_run_partial_counting_only_what_was_processed() -> None:
    report = RunReport(run_id="r", started_at=0.0)
    report.quotes.fetched, report.quotes.inserted, report.quotes.failed = 800, 100, 2
    stopped_reading(report, ReadOutOfBudget("quotes", "offer lines from Galaxy"))
    assert report.status == "partial"
    assert report.exit_code == 0
    assert report.message == (
        "stopped at the time budget while reading offer lines from Galaxy; the next run carries on"
    )
    assert report.quotes.fetched == 102


def test_a_credit_stop_keeps_its_message_a_budget_stop_gives_way() -> None:
    credits = RunReport(run_id="r", started_at=0.0)
    credits.status, credits.message = "partial", "Zoho credits below the reserve; back at 18:00"
    stopped_reading(credits, ReadOutOfBudget("contacts", "the Galaxy view ZH_CONTACTS"))
    assert credits.message == "Zoho credits below the reserve; back at 18:00"
    budget = RunReport(run_id="r", started_at=0.0)
    budget.status, budget.message = "partial", "stopped at the time budget; the next run carries on"
    stopped_reading(budget, ReadOutOfBudget("contacts", "the Galaxy view ZH_CONTACTS"))
    assert "ZH_CONTACTS" in budget.message
