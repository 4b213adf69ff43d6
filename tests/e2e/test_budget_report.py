"""The run report records the run's time budget (`budget_s`) and the console's
duration-vs-budget uses it instead of today's MAX_DURATION."""

from __future__ import annotations

from tests.e2e.helpers import Env, sync

from gzsync.console.views import run_row
from gzsync.state.sqlite import open_sqlite_store
from gzsync.state.store import RunRecord


def _stored(env: Env, run_id: str) -> RunRecord:
    store = open_sqlite_store(env.state_db)
    try:
        record = store.run(run_id)
    finally:
        store.close()
    assert record is not None
    return record


def test_budget_s_is_recorded_and_the_console_prefers_it(env: Env) -> None:
    unlimited = sync(env)
    assert unlimited.to_json()["budget_s"] is None
    capped = sync(env, env.with_settings(MAX_DURATION="900"), max_duration_s=450.0)
    assert capped.to_json()["budget_s"] == 450.0  # --max-duration wins over MAX_DURATION
    catalyst = sync(env, remaining_ms=lambda: 840_000.0)
    budget = catalyst.to_json()["budget_s"]
    assert 840.0 <= budget <= 840.0 + catalyst.duration_s  # its limit, seen from the start

    # the console: each run's own budget, not today's MAX_DURATION (here 60 s)
    today = 60.0
    assert run_row(_stored(env, capped.run_id), today).budget_s == 450.0
    assert run_row(_stored(env, catalyst.run_id), today).budget_s == budget
    assert run_row(_stored(env, unlimited.run_id), today).budget_s is None  # it had none
    # a report from before budget_s existed still falls back to MAX_DURATION
    old = _stored(env, unlimited.run_id)
    report = {k: v for k, v in old.report.items() if k != "budget_s"}
    assert (
        run_row(
            RunRecord(old.run_id, old.started_at, old.finished_at, old.status, report), today
        ).budget_s
        == today
    )
