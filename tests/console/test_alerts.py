"""Alerts: the conditions (pure), once per cause, and delivery through Apprise to a loopback
JSON receiver, also from a real run's pipeline hook."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tests.e2e.helpers import ledger, make_env, sync

from gzsync.alerts import active_conditions, check_and_notify
from gzsync.config import Settings
from gzsync.sandbox.serve import ServedApp
from gzsync.state.sqlite import SqliteStore, open_sqlite_store
from gzsync.state.store import RunRecord
from gzsync.sync.read_budget import ReadOutOfBudget

HOUR = 3600.0


def _run(n: int, status: str, pending: int | None = 0, at: float = 0.0, **report: Any) -> RunRecord:
    return RunRecord(
        run_id=f"r{n}",
        started_at=at or 1000.0 * n,
        finished_at=(at or 1000.0 * n) + 10,
        status=status,
        report={"status": status, "ledger_pending": pending, **report},
    )


def _conditions(runs: list[RunRecord], **kwargs: Any) -> dict[str, str]:
    options: dict[str, Any] = {"now": 10_000.0, "stale_after_s": 6 * HOUR, "growth_runs": 3}
    options.update(kwargs)
    failures = options.pop("failures", {})
    return {a.condition: a.fingerprint for a in active_conditions(runs, failures, **options)}


def test_an_abort_streak_has_one_fingerprint_its_first_run() -> None:
    runs = [
        _run(3, "aborted", message="Galaxy unreachable"),
        _run(2, "aborted"),
        _run(1, "success"),
    ]
    assert _conditions(runs) == {"run_aborted": "r2"}
    assert _conditions(runs[1:]) == {"run_aborted": "r2"}
    assert _conditions([_run(4, "incomplete"), *runs]) == {}


def test_ledger_growth_needs_n_runs_in_a_row() -> None:
    grow = [_run(5, "incomplete", 9), _run(4, "incomplete", 7), _run(3, "incomplete", 4)]
    assert "ledger_growth" not in _conditions([*grow, _run(2, "incomplete", 4)])
    assert _conditions([*grow, _run(2, "incomplete", 3)])["ledger_growth"] == "r3"
    longer = [_run(6, "incomplete", 10), *grow, _run(2, "incomplete", 3), _run(1, "success", 1)]
    assert _conditions(longer)["ledger_growth"] == "r2"  # the same streak, one fingerprint


def test_stale_when_no_success_for_the_window() -> None:
    now = 100 * HOUR
    ok = _run(1, "success", at=now - 7 * HOUR)
    assert _conditions([ok], now=now) == {"stale": "r1"}
    assert _conditions([ok], now=now, stale_after_s=8 * HOUR) == {}
    aborted = _run(2, "aborted", at=now - 1 * HOUR)
    assert _conditions([aborted, ok], now=now) == {"run_aborted": "r2", "stale": "r1"}
    assert _conditions([aborted], now=now + 6 * HOUR)["stale"] == "never"
    assert _conditions([], now=now) == {}
    partial = _run(3, "partial", at=now - HOUR)
    assert _conditions([partial, ok], now=now) == {}  # a partial run moved the sync on


def test_a_read_cut_at_the_budget_run_after_run_alerts_once_per_streak() -> None:
    cut = ReadOutOfBudget("customers", "the Galaxy view zh_Customers_fin").message
    other = ReadOutOfBudget("quotes", "offer lines from Galaxy").message
    streak = [_run(n, "partial", message=cut) for n in (5, 4, 3)]
    assert _conditions(streak[:2]) == {}  # two in a row: a slow day, not yet stuck
    assert _conditions(streak) == {"read_stuck": "r3"}
    assert _conditions([_run(6, "partial", message=cut), *streak]) == {"read_stuck": "r3"}
    assert _conditions([_run(6, "success"), *streak]) == {}  # it got through: cleared
    mixed = [streak[0], _run(4, "partial", message=other), streak[2]]
    assert _conditions(mixed) == {}  # different reads: each one progressed
    budget = "stopped at the time budget; the next run carries on"  # between batches: progress
    assert _conditions([_run(n, "partial", message=budget) for n in (5, 4, 3)]) == {}
    (alert,) = active_conditions(streak, {}, now=10_000.0, stale_after_s=6 * HOUR, growth_runs=3)
    assert "the Galaxy view zh_Customers_fin" in alert.title
    assert "MAX_DURATION" in alert.body


def test_new_failures_name_the_run_and_where_to_look() -> None:
    alerts = active_conditions(
        [_run(2, "incomplete")],
        {"INVALID_DATA": 2, "missing_name": 1},
        now=3000.0,
        stale_after_s=HOUR,
        growth_runs=3,
        console_url="https://sync.example/",
    )
    assert [a.condition for a in alerts] == ["new_failures"]
    assert alerts[0].fingerprint == "r2"
    assert "3 new records" in alerts[0].title
    assert "INVALID_DATA 2, missing_name 1" in alerts[0].body
    assert "`gzsync ledger`" in alerts[0].body
    assert "https://sync.example/ledger?run=r2" in alerts[0].body


@dataclass
class Receiver:
    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A loopback webhook that records Apprise's JSON notifications."""
    holder: list[Receiver] = []

    async def hook(request: Request) -> JSONResponse:
        if holder[0].fail:
            return JSONResponse({"error": "down"}, status_code=500)
        holder[0].posts.append(await request.json())
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    with ServedApp(app) as served:
        holder.append(Receiver(url=f"json://{served.host}:{served.port}/hook"))
        yield holder[0]


def _record(store: SqliteStore, run: RunRecord) -> None:
    store.run_started(run.run_id, run.started_at)
    store.run_finished(run.run_id, run.finished_at or run.started_at, run.report)


def test_each_alert_once_and_again_after_it_cleared(tmp_path: Path, receiver: Receiver) -> None:
    settings = Settings.from_values(ALERT_URLS=receiver.url, STATE_DB=tmp_path / "s.db")
    store = open_sqlite_store(tmp_path / "s.db")
    try:
        now = 50 * HOUR
        _record(store, _run(1, "success", at=now - 2 * HOUR))
        _record(store, _run(2, "aborted", at=now - HOUR, message="Zoho refused our credentials"))
        sent = check_and_notify(settings, store, now=now)
        assert [a.condition for a in sent] == ["run_aborted"]
        assert len(receiver.posts) == 1
        assert receiver.posts[0]["title"] == "gzsync: run r2 aborted"
        assert "Zoho refused our credentials" in receiver.posts[0]["message"]
        assert "gzsync report r2" in receiver.posts[0]["message"]

        _record(store, _run(3, "aborted", at=now - HOUR / 2))
        assert check_and_notify(settings, store, now=now) == []  # same streak: not again
        assert len(receiver.posts) == 1

        _record(store, _run(4, "success", at=now - HOUR / 4))
        _record(store, _run(5, "aborted", at=now - HOUR / 8))
        receiver.fail = True
        assert check_and_notify(settings, store, now=now) == []  # not delivered ...
        receiver.fail = False
        sent = check_and_notify(settings, store, now=now)  # ... so tried again
        assert [a.fingerprint for a in sent] == ["r5"]
        assert len(receiver.posts) == 2
    finally:
        store.close()


def test_a_real_run_alerts_through_the_pipeline(tmp_path: Path, receiver: Receiver) -> None:
    import stamina

    stamina.set_testing(True, attempts=2)
    try:
        for env in make_env(tmp_path, customers=60, seed=5):
            settings = env.with_settings(ALERT_URLS=receiver.url, CONSOLE_URL="http://console:8765")
            first = sync(env, settings)
            assert first.status == "incomplete"  # the generator's bad rows
            failures = [e for e in ledger(env) if e.kind != "waiting_parent"]
            assert failures
            assert [p["title"] for p in receiver.posts] == [
                f"gzsync: {len(failures)} new records wait in the ledger"
            ]
            assert f"http://console:8765/ledger?run={first.run_id}" in receiver.posts[0]["message"]
            sync(env, settings)  # nothing new: no alert
            assert len(receiver.posts) == 1
            down = env.with_settings(ALERT_URLS=receiver.url, BASE_URL="http://127.0.0.1:9/galaxy")
            aborted = sync(env, down)
            assert aborted.status == "aborted"
            assert len(receiver.posts) == 2
            assert receiver.posts[1]["title"] == f"gzsync: run {aborted.run_id} aborted"
            assert "`gzsync status`" in receiver.posts[1]["message"]
            message = receiver.posts[1]["message"]
            assert "galaxy view zh_Customers_fin: connection refused" in message
    finally:
        stamina.set_testing(False)
