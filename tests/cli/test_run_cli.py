"""`gzsync run`, `gzsync demo` and `gzsync sandbox` as users run them: real subprocesses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.process import gzsync, gzsync_popen
from tests.e2e.helpers import Env, make_env

from gzsync.state.sqlite import open_sqlite_store

REPORT_KEYS = {
    "status",
    "watermark_before",
    "watermark_after",
    "customers",
    "affiliates",
    "contacts",
    "linked",
    "ledger_pending",
    "zoho_calls",
    "zoho_credits",
    "galaxy_calls",
    "duration_s",
}
COUNT_KEYS = {"fetched", "inserted", "updated", "rejected", "failed"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path, customers=150, seed=3)


def _env(e: Env) -> dict[str, str]:
    return {**e.urls.env(), "STATE_DB": str(e.state_db)}


def test_missing_variable_is_one_line_exit_2_before_any_network_call(tmp_path: Path) -> None:
    result = gzsync("run", env={"STATE_DB": str(tmp_path / "s.db")}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("gzsync: 6 configuration problem(s)")
    assert lines[1].startswith("  BASE_URL: is not set · fix: set BASE_URL")


def test_malformed_value_names_the_variable(tmp_path: Path) -> None:
    required = {
        "BASE_URL": "http://127.0.0.1:9",
        "AUTH_USERNAME": "u",
        "AUTH_PASSWORD": "p",
        "ZOHO_CLIENT_ID": "c",
        "ZOHO_CLIENT_SECRET": "s",
        "ZOHO_REFRESH_TOKEN": "r",
    }
    result = gzsync("run", env={**required, "TIMEOUT_MS": "soon"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("gzsync: TIMEOUT_MS:")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "fix: set TIMEOUT_MS to a whole number" in result.stderr


def test_unknown_data_centre_is_a_configuration_error(tmp_path: Path) -> None:
    result = gzsync("run", env={"ZOHO_DC": "mars"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "ZOHO_DC" in result.stderr


def test_env_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TIMEOUT_MS=not-a-number\n")
    result = gzsync("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "TIMEOUT_MS" in result.stderr


def test_run_json_report_and_exit_code(served: Env, tmp_path: Path) -> None:
    result = gzsync("run", "--json", "--quiet", env=_env(served), cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # bad generated rows wait in the ledger
    report = json.loads(result.stdout)
    assert set(report) >= REPORT_KEYS
    for entity in ("customers", "affiliates", "contacts"):
        assert set(report[entity]) >= COUNT_KEYS
    assert report["status"] == "incomplete"
    assert report["customers"]["fetched"] == 150
    assert report["ledger_pending"] > 0
    assert report["zoho_calls"] > 0
    assert report["galaxy_calls"] >= 3


def test_a_galaxy_read_cut_at_the_budget_exits_0_partial_and_says_why(
    served: Env, tmp_path: Path
) -> None:
    """Issue 15: the customers view stalls 4 s, four times the whole budget."""
    from gzsync.sandbox.faults import FaultRule

    stall = {"endpoint": "view:zh_customers_fin", "action": "stall", "stall_ms": 4000, "count": 1}
    served.galaxy.faults.add([FaultRule.from_json(stall)])
    args = ("run", "--max-duration", "1", "--json", "--quiet")
    result = gzsync(*args, env=_env(served), cwd=tmp_path)
    assert result.returncode == 0, result.stderr  # like every budget stop
    report = json.loads(result.stdout)
    assert report["status"] == "partial"
    assert report["message"] == (
        "stopped at the time budget while reading the Galaxy view zh_Customers_fin; "
        "the next run carries on"
    )
    assert "zh_Customers_fin" in result.stderr  # the warning line an operator sees
    assert served.zoho.records("Accounts") == []


def test_dry_run_writes_nothing_from_the_cli(served: Env, tmp_path: Path) -> None:
    result = gzsync("run", "--dry-run", "--json", "--quiet", env=_env(served), cwd=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["dry_run"] is True
    assert report["customers"]["inserted"] > 0
    assert served.zoho.records("Accounts") == []
    assert not served.state_db.exists()  # not even an empty state file


def test_second_run_while_the_lock_is_held_exits_75_naming_the_holder(
    served: Env, tmp_path: Path
) -> None:
    store = open_sqlite_store(served.state_db)
    try:
        store.acquire_lock("cron-host pid 4242 run X", ttl_s=600)
        result = gzsync("run", env=_env(served), cwd=tmp_path)
    finally:
        store.close()
    assert result.returncode == 75
    assert "cron-host pid 4242 run X" in result.stderr


def test_unreachable_galaxy_aborts_with_exit_3(tmp_path: Path) -> None:
    env = {
        "BASE_URL": "http://127.0.0.1:9",
        "AUTH_USERNAME": "u",
        "AUTH_PASSWORD": "p",
        "ZOHO_CLIENT_ID": "c",
        "ZOHO_CLIENT_SECRET": "s",
        "ZOHO_REFRESH_TOKEN": "r",
        "ZOHO_API_URL": "http://127.0.0.1:9",
        "ZOHO_ACCOUNTS_URL": "http://127.0.0.1:9",
        "STATE_DB": str(tmp_path / "s.db"),
        "TIMEOUT_MS": "200",
        "HTTP_ATTEMPTS": "2",
        "HTTP_MAX_WAIT": "0.1",
    }
    result = gzsync("run", "--json", "--quiet", env=env, cwd=tmp_path)
    assert result.returncode == 3
    assert json.loads(result.stdout)["status"] == "aborted"


def test_demo_runs_with_no_configuration(tmp_path: Path) -> None:
    plain = gzsync("demo", "--customers", "50", cwd=tmp_path, timeout=300)
    assert plain.returncode == 0, plain.stderr
    last = plain.stderr.strip().splitlines()[-1]
    assert "STATE_DB=.gzsync-demo/state.db gzsync ledger" in last
    # a second demo starts from a fresh state (fresh sandboxes, no stale watermark)
    result = gzsync("demo", "--customers", "200", "--json", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["parity"]["ok"] is True
    assert data["full"]["customers"]["fetched"] == 200
    assert data["changed"]["customers"] == 20
    assert data["incremental"]["customers"]["fetched"] == 20
    assert not (tmp_path / ".gzsync").exists()  # not the real state file ...
    state_db = tmp_path / ".gzsync-demo" / "state.db"
    assert state_db.is_file()  # ... but one the operator can look at afterwards
    listed = gzsync("ledger", "--json", env={"STATE_DB": ".gzsync-demo/state.db"}, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["total"] == data["incremental"]["ledger_pending"]


def test_sandbox_prints_its_urls_first_and_serves(tmp_path: Path) -> None:
    proc = gzsync_popen("sandbox", "--customers", "50", cwd=tmp_path)
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert set(first) >= {
            "galaxy_url",
            "zoho_api_url",
            "zoho_accounts_url",
            "username",
            "password",
            "client_id",
            "client_secret",
            "refresh_token",
        }
        import httpx

        auth = httpx.get(
            f"{first['galaxy_url']}/auth",
            params={"username": first["username"], "password": first["password"]},
        )
        assert auth.status_code == 200
        token = httpx.post(
            f"{first['zoho_accounts_url']}/oauth/v2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": first["client_id"],
                "client_secret": first["client_secret"],
                "refresh_token": first["refresh_token"],
            },
        )
        assert "access_token" in token.json()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.returncode == 0


def test_version(tmp_path: Path) -> None:
    from gzsync import __version__

    result = gzsync("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"gzsync {__version__}"
