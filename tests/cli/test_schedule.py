"""`gzsync schedule`: fixed rate, never overlapping, lock-held ticks skipped, clean stops."""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.e2e.helpers import Env, make_env
from typer.testing import CliRunner

from gzsync.cli import app
from gzsync.errors import ConfigError, LockHeldError, StateError
from gzsync.ops.schedule import Scheduler, StopRequest, parse_every, stop_on_signals
from gzsync.state.sqlite import open_sqlite_store
from gzsync.sync.report import RunReport


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("1h30m", 5400), ("1h0m5s", 3605), (" 2H ", 7200)],
)
def test_parse_every(text: str, seconds: float) -> None:
    assert parse_every(text) == seconds


@pytest.mark.parametrize("text", ["", "90", "2d", "0s", "1m1h", "-5m", "h", "1.5h"])
def test_parse_every_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="--every"):
        parse_every(text)


class FakeTime:
    """A clock that only moves when a run works or the loop waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


def runs_taking(
    fake: FakeTime, durations: list[float], starts: list[float], running: list[bool]
) -> Callable[[], RunReport]:
    def run_once() -> RunReport:
        assert not any(running), "two runs at once"
        running.append(True)
        starts.append(fake.now)
        fake.now += durations[len(starts) - 1]
        running.clear()
        return RunReport(run_id=f"r{len(starts)}", started_at=fake.now)

    return run_once


def test_fixed_rate_from_each_start_and_no_overlap() -> None:
    fake = FakeTime()
    starts: list[float] = []
    durations = [3.0, 15.0, 2.0, 1.0]  # the second run overruns its 10 s slot
    scheduler = Scheduler(
        runs_taking(fake, durations, starts, []),
        10.0,
        max_runs=4,
        clock=fake.clock,
        wait=fake.wait,
    )
    ticks = scheduler.run()
    assert starts == [0.0, 10.0, 25.0, 35.0]  # 25: right after the overrun, not 20 or 30
    assert fake.waits == [7.0, 8.0]  # no wait after the overrun
    assert [t.report.run_id for t in ticks if t.report] == ["r1", "r2", "r3", "r4"]


def test_jitter_delays_each_tick_within_bounds() -> None:
    fake = FakeTime()
    starts: list[float] = []
    scheduler = Scheduler(
        runs_taking(fake, [0.0] * 5, starts, []),
        60.0,
        max_runs=5,
        jitter_s=30.0,
        rng=random.Random(4),
        clock=fake.clock,
        wait=fake.wait,
    )
    scheduler.run()
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(60.0 <= g <= 90.0 for g in gaps)
    assert len(set(gaps)) > 1


def test_a_held_lock_or_a_state_error_skips_the_tick() -> None:
    fake = FakeTime()
    outcomes: list[Exception | None] = [
        LockHeldError("other host pid 1", 0.0),
        StateError("disk full"),
        None,
    ]

    def run_once() -> RunReport:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return RunReport(run_id="ok", started_at=0.0)

    ticks = Scheduler(run_once, 5.0, max_runs=3, clock=fake.clock, wait=fake.wait).run()
    assert [t.skipped for t in ticks] == ["lock held", "disk full", ""]
    assert ticks[2].report is not None


def test_a_configuration_error_is_fatal() -> None:
    def run_once() -> RunReport:
        raise ConfigError("BASE_URL", "is not set")

    fake = FakeTime()
    with pytest.raises(ConfigError):
        Scheduler(run_once, 5.0, clock=fake.clock, wait=fake.wait).run()


def test_a_stop_during_a_run_ends_the_loop_after_it() -> None:
    fake = FakeTime()
    scheduler: Scheduler

    def run_once() -> RunReport:
        scheduler.stop.set()  # as the signal handler does
        return RunReport(run_id="last", started_at=0.0)

    scheduler = Scheduler(run_once, 5.0, clock=fake.clock, wait=fake.wait)
    ticks = scheduler.run()
    assert [t.report.run_id for t in ticks if t.report] == ["last"]
    assert fake.waits == []


def test_first_signal_requests_a_stop_and_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    scheduler = Scheduler(lambda: RunReport(run_id="x", started_at=0.0), 5.0)
    with stop_on_signals(scheduler.stop):
        os.kill(os.getpid(), signal.SIGTERM)
        assert scheduler.stop.is_set()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)  # the second one interrupts
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_signal_ends_the_wait_between_runs_at_once() -> None:
    stop = StopRequest()
    with stop_on_signals(stop):
        threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGTERM)).start()
        started = time.monotonic()
        assert stop.wait(30.0) is True
    assert time.monotonic() - started < 10.0
    stop.close()


# -- the command -------------------------------------------------------------------------


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path, customers=30, seed=7)


def _env(sandboxes: Env) -> dict[str, str]:
    return {**os.environ, **sandboxes.urls.env(), "STATE_DB": str(sandboxes.state_db)}


def _runs(sandboxes: Env) -> list[str]:
    store = open_sqlite_store(sandboxes.state_db)
    try:
        return [r.status for r in store.runs()]
    finally:
        store.close()


def test_schedule_runs_to_max_runs_as_a_subprocess(sandboxes: Env, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gzsync",
            "schedule",
            "--every",
            "1s",
            "--max-runs",
            "2",
            "--log-format",
            "json",
        ],
        env=_env(sandboxes),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert _runs(sandboxes) == ["success", "success"]
    logs = [json.loads(line) for line in result.stderr.splitlines()]
    finished = [e for e in logs if e.get("status") and e["logger"] == "gzsync.schedule"]
    assert [entry["status"] for entry in finished] == ["success", "success"]
    # the run's own outcome line carries the same fields, and the counts
    outcomes = [e for e in logs if e.get("status") and e["logger"] == "gzsync.sync"]
    assert [e["run_id"] for e in outcomes] == [e["run_id"] for e in finished]
    assert all(entry["logger"].startswith("gzsync") for entry in logs)


@pytest.mark.timeout(60)
def test_schedule_stops_cleanly_on_sigterm(sandboxes: Env, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "gzsync", "schedule", "--every", "1h"],
        env=_env(sandboxes),
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:  # the first run is over when the next one is planned
            if "next run in" in line:
                break
        process.send_signal(signal.SIGTERM)
        rest = process.stderr.read()
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "SIGTERM received" in rest
    assert _runs(sandboxes) == ["success"]


def test_schedule_skips_ticks_while_another_process_holds_the_lock(
    sandboxes: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_sqlite_store(sandboxes.state_db)
    store.acquire_lock("another host pid 42", 600)
    store.close()
    env = {**sandboxes.urls.env(), "STATE_DB": str(sandboxes.state_db)}
    result = CliRunner().invoke(
        app, ["schedule", "--every", "1s", "--max-runs", "2", "--quiet"], env=env
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.count("skipped: another gzsync run holds the lock") == 2
    assert _runs(sandboxes) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--every", "soon"], "--every"), (["--every", "1h", "--entities", "deals"], "entities")],
)
def test_schedule_bad_usage_exits_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["schedule", *args])
    assert result.exit_code == 2
    assert message in result.stderr
