"""Crashes: `gzsync run` killed with SIGKILL at random points, then rerun until done.

The sandboxes run in the test process; `gzsync run` is a real child process. Zoho answers
with a latency, so a run lasts long enough to be cut anywhere: during the Galaxy reads,
between an affiliate batch and its customers, in the middle of the contacts. The kill point
is an observable event chosen by the seed — the child is killed as soon as the sandboxes
have served that many Galaxy view and Zoho upsert calls — not a guess about timing.

After the reruns: Zoho holds exactly what Galaxy implies (nothing missing, nothing
duplicated), the ledger holds only what the data causes, and the run lock is free. Faults
are off here, so the child's real (sleeping) retry backoffs never come into play.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.e2e.helpers import assert_parity, sync
from tests.faults.conftest import (
    FaultEnv,
    assert_nothing_duplicated_or_extra,
    expected_ledger,
    fault_env,
    ledger_keys,
    lock_row,
    subprocess_env,
)

from gzsync.state.sqlite import open_sqlite_store

SEEDS = list(range(1, 21))
CUSTOMERS = 300
DATA_SEED = 11
LATENCY_MS = (30.0, 0.3)  # per upsert call: base + per record
#: The crashes are placed among phase 1's events (the quotes stream has its own tests).
PHASE_1 = ("accounts", "contacts")


def _events(env: FaultEnv) -> int:
    """Galaxy view calls + Zoho upsert calls served so far (read from another thread)."""
    for _ in range(100):
        try:
            galaxy = dict(env.galaxy.stats()["calls"])
            break
        except RuntimeError:  # the server thread added a key while we copied
            continue
    views = sum(int(n) for name, n in galaxy.items() if name.startswith("view:"))
    return views + int(env.zoho.stats()["calls"]["upsert"])


@pytest.fixture(scope="module")
def events_per_run(tmp_path_factory: pytest.TempPathFactory) -> int:
    """How many events a complete run of this data makes (in-process, no latency)."""
    with fault_env(tmp_path_factory.mktemp("calibrate"), customers=CUSTOMERS, seed=DATA_SEED) as e:
        sync(e, entities=PHASE_1)
        return _events(e)


def _run(
    env: FaultEnv, cwd: Path, name: str, kill_after: int | None, **extra: str
) -> tuple[int, int | None, bool, Path, Path]:
    """One `gzsync run --json` child; killed once `kill_after` more events have happened.

    Returns (pid, exit code, whether it was killed, stdout file, stderr file).
    """
    out, err = cwd / f"{name}.out", cwd / f"{name}.err"
    base = _events(env)
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gzsync",
                "run",
                "--json",
                "--quiet",
                "--entities",
                "accounts,contacts",
            ],
            cwd=cwd,
            env=subprocess_env(env, **extra),
            stdout=stdout,
            stderr=stderr,
        )
        deadline = time.monotonic() + 60
        killed = False
        while True:
            try:
                child.wait(timeout=0.005)
                break
            except subprocess.TimeoutExpired:
                pass
            if kill_after is not None and _events(env) - base >= kill_after:
                child.kill()
                child.wait()
                killed = True
                break
            if time.monotonic() > deadline:
                child.kill()
                child.wait()
                raise AssertionError(f"{name}: the run did not finish within 60 s")
    return child.pid, child.returncode, killed, out, err


def _wait_for_lock_expiry(state_db: Path, deadline_s: float = 10.0) -> None:
    """The killed run's lock expires (LOCK_TTL); poll the state file until it has."""
    end = time.monotonic() + deadline_s
    while (held := lock_row(state_db)) is not None and held[1] > time.time():
        if time.monotonic() > end:
            raise AssertionError(f"the lock never expired: {held}")
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_killed_runs_rerun_to_the_same_end_state(
    tmp_path: Path, seed: int, events_per_run: int
) -> None:
    rng = random.Random(seed)
    kills = [rng.randrange(1, events_per_run)]
    if rng.random() < 0.35:
        kills.append(rng.randint(1, 4))  # the rerun is killed too, early on
    with fault_env(tmp_path, customers=CUSTOMERS, seed=DATA_SEED, latency_ms=LATENCY_MS) as env:
        codes: list[int | None] = []
        for attempt in range(4):
            kill_after = kills[attempt] if attempt < len(kills) else None
            pid, code, killed, out, err = _run(
                env, tmp_path, f"run{attempt}", kill_after, LOCK_TTL="1"
            )
            codes.append(code)
            if attempt == 0:
                assert killed, f"the first run finished before event {kill_after}"
            if killed:
                assert code == -9
                env.settle()  # requests the dead run left in flight finish on the server
                assert_nothing_duplicated_or_extra(env)
                holder = lock_row(env.state_db)  # the dead run died holding the lock
                assert holder is not None
                assert f" pid {pid} " in holder[0], holder
                _wait_for_lock_expiry(env.state_db)
                continue
            assert code != 75, err.read_text()
            if code in (0, 1):
                report = json.loads(out.read_text())
                break
        else:
            raise AssertionError(f"no run completed: exit codes {codes}")

        env.settle()
        assert code == 1, codes
        assert report["status"] == "incomplete", report["message"]
        assert lock_row(env.state_db) is None  # released, not left behind
        assert_parity(env)
        assert ledger_keys(env) == expected_ledger(env)
        store = open_sqlite_store(env.state_db)
        try:
            assert next(r.status for r in store.runs()) == "incomplete"
        finally:
            store.close()


def test_a_rerun_right_after_a_kill_is_not_locked_out(tmp_path: Path, events_per_run: int) -> None:
    """The dead run's lock must not refuse the operator's (or the next tick's) rerun.

    The killed child's pid is gone; a rerun on the same host can tell, and must not wait
    for LOCK_TTL (15 minutes by default) to pass. Default settings here.
    """
    with fault_env(tmp_path, customers=CUSTOMERS, seed=DATA_SEED, latency_ms=LATENCY_MS) as env:
        pid, code, killed, _, _ = _run(env, tmp_path, "killed", events_per_run // 2)
        assert killed
        assert code == -9
        holder = lock_row(env.state_db)
        assert holder is not None
        assert f" pid {pid} " in holder[0], holder
        env.settle()
        _, code, _, out, err = _run(env, tmp_path, "rerun", None)
        assert code != 75, f"stale lock of the killed run: {err.read_text().strip()}"
        assert code == 1, err.read_text()
        assert json.loads(out.read_text())["status"] == "incomplete"
        assert lock_row(env.state_db) is None
        assert_parity(env)
