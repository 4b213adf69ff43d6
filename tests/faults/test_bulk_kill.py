"""A run killed (SIGKILL, as Catalyst kills a function at its limit) while Zoho works on its
Bulk Write job: the next run collects that job instead of submitting it again (issue 15).

`gzsync run --bulk` is a real child process; the Zoho sandbox's job never completes while
it runs (`polls_to_complete` huge), and the child is killed once it has polled the job:
by then the job id must be in the state store. The kill point is an observable event
(the sandbox served a status call), not a guess about timing.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from pathlib import Path

from tests.e2e.helpers import assert_parity, sync
from tests.faults.conftest import fault_env, run_gzsync, start_gzsync

from gzsync.state.sqlite import open_sqlite_store
from gzsync.sync.bulk_path import pending_key


def _status_calls(env: object) -> int:
    for _ in range(100):
        try:
            return int(dict(env.zoho.stats()["calls"]).get("bulk_status", 0))  # type: ignore[attr-defined]
        except RuntimeError:  # the server thread added a key while we copied
            continue
    raise AssertionError("could not read the sandbox's counters")


def test_a_killed_run_s_job_is_collected_by_the_next_run(tmp_path: Path) -> None:
    with fault_env(tmp_path, customers=200, seed=5) as env:
        env.zoho.bulk.polls_to_complete = 10**9  # Zoho "works" until we say
        child = start_gzsync(
            env, "run", "--bulk", "--quiet", "--entities", "accounts",
            cwd=tmp_path, BULK_POLL="0",
        )  # fmt: skip
        deadline = time.monotonic() + 60
        try:
            while _status_calls(env) < 1:
                assert child.poll() is None, child.stderr.read() if child.stderr else b""
                assert time.monotonic() < deadline, "the run never polled its job"
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=0.005)
        finally:
            child.kill()
            child.wait()
        jobs = dict(env.zoho.bulk.jobs)
        assert len(jobs) == 1  # the affiliates' file: customers wait for their links
        store = open_sqlite_store(env.state_db)
        try:
            pending = json.loads(store.meta_get(pending_key("affiliates")) or "{}")
            assert not store.get_watermark("customers")  # no customer committed
        finally:
            store.close()
        assert pending["job_id"] in jobs
        # what an operator sees meanwhile
        status = run_gzsync(env, "status", "--json", cwd=tmp_path)
        assert json.loads(status.stdout)["bulk_jobs"] == {
            "affiliates": {"job_id": pending["job_id"], "records": pending["records"]}
        }
        assert env.zoho.records("Accounts") == []  # Zoho has not processed it yet

        # Zoho finishes the job; the next run collects it, then writes the customers
        env.zoho.bulk.polls_to_complete = 1
        report = sync(
            env,
            env.with_settings(BULK_POLL=0),
            bulk=True,
            entities=("accounts",),
        )
        assert report.status in ("success", "incomplete"), report.message
        assert report.bulk["affiliates"]["collected"] == 1
        assert report.bulk["affiliates"]["jobs"] == 0
        assert env.zoho.stats()["calls"]["bulk_write"] == 2  # + the customers' job only
        assert_parity(env, contacts=False)
