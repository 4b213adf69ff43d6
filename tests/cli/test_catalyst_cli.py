"""`gzsync sandbox --catalyst` and `gzsync demo --catalyst`, as users run them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from tests.cli.process import gzsync, gzsync_popen


def test_sandbox_with_catalyst_serves_a_console_a_run_can_keep_its_state_in(
    tmp_path: Path,
) -> None:
    proc = gzsync_popen(
        "sandbox", "--customers", "60", "--catalyst", "--catalyst-latency-ms", "2", cwd=tmp_path
    )
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        catalyst = first["catalyst"]
        console = catalyst["console_url"]
        assert catalyst["env"]["X_ZOHO_CATALYST_CONSOLE_URL"] == console
        assert {"CATALYST_AUTH", "CATALYST_OPTIONS"} <= set(catalyst["env"])
        faults = httpx.post(
            console + "/__sandbox/faults",
            json={
                "rules": [
                    {"endpoint": "nosql:insert", "status": 429, "probability": 0.3},
                    {"endpoint": "nosql:fetch", "status": 503, "probability": 0.3},
                ],
                "seed": 3,
            },
        )
        assert faults.json() == {"active": 2}
        env = {
            "BASE_URL": first["galaxy_url"],
            "AUTH_USERNAME": first["username"],
            "AUTH_PASSWORD": first["password"],
            "ZOHO_CLIENT_ID": first["client_id"],
            "ZOHO_CLIENT_SECRET": first["client_secret"],
            "ZOHO_REFRESH_TOKEN": first["refresh_token"],
            "ZOHO_API_URL": first["zoho_api_url"],
            "ZOHO_ACCOUNTS_URL": first["zoho_accounts_url"],
            "HTTP_MAX_WAIT": "0",
            "HTTP_ATTEMPTS": "12",
            **catalyst["env"],
        }
        run = gzsync("run", "--json", "--quiet", env=env, cwd=tmp_path, timeout=300)
        assert run.returncode in (0, 1), run.stderr  # 1: bad sandbox rows in the ledger
        report = json.loads(run.stdout)
        assert report["customers"]["fetched"] == 60
        stats = httpx.get(console + "/__sandbox/stats").json()
        for name in ("nosql:insert", "nosql:fetch", "nosql:query", "cache:get", "cache:put"):
            assert stats["calls"][name] > 0, name
        assert stats["faults_fired"]
        assert stats["latency_ms"] == 2
        assert not (tmp_path / ".gzsync").exists()  # no SQLite state: it is in the console
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.returncode == 0


def test_demo_on_the_catalyst_backend(tmp_path: Path) -> None:
    result = gzsync("demo", "--customers", "150", "--catalyst", "--json", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["parity"]["ok"] is True
    assert data["incremental"]["customers"]["fetched"] == 15
    assert data["catalyst"]["calls"]["nosql:insert"] > 0
    assert data["catalyst"]["items"]  # the state is in the console's table
