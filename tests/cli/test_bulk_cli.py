"""`gzsync run --bulk / --no-bulk / --dry-run` as users run them: real subprocesses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.process import gzsync
from tests.e2e.helpers import Env, assert_parity, make_env


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path, customers=150, seed=3)


def _env(e: Env, **extra: str) -> dict[str, str]:
    return {**e.urls.env(), "STATE_DB": str(e.state_db), "BULK_POLL": "0", **extra}


def test_dry_run_says_it_would_use_bulk_write_and_writes_nothing(served: Env) -> None:
    result = gzsync(
        "run", "--dry-run", "--json", "--entities", "accounts,contacts",
        env=_env(served, BULK_THRESHOLD="50"), cwd=served.state_db.parent,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert report["dry_run"] is True
    assert set(report["bulk"]) == {"customers", "contacts"}
    assert report["bulk"]["customers"]["jobs"] == 0
    assert "would go through Zoho Bulk Write" in result.stderr
    assert served.zoho.stats()["calls"].get("upload", 0) == 0
    assert served.zoho.records("Accounts") == []


def test_bulk_flag_writes_through_jobs_and_no_bulk_forbids_them(served: Env) -> None:
    no = gzsync(
        "run", "--no-bulk", "--json", "--entities", "accounts",
        env=_env(served, BULK_THRESHOLD="0"), cwd=served.state_db.parent,
    )  # fmt: skip
    assert no.returncode in (0, 1), no.stderr
    assert json.loads(no.stdout)["bulk"] == {}
    assert served.zoho.stats()["calls"].get("bulk_write", 0) == 0
    yes = gzsync(
        "run", "--bulk", "--json", "--entities", "accounts,contacts",
        env=_env(served), cwd=served.state_db.parent,
    )  # fmt: skip
    assert yes.returncode in (0, 1), yes.stderr
    report = json.loads(yes.stdout)
    # accounts were written by the first run: unchanged ones are not sent again, so the
    # contacts (never written) are what goes through a job here
    assert report["bulk"]["contacts"]["jobs"] == 1
    assert served.zoho.stats()["calls"]["bulk_write"] == 1
    assert "through Zoho Bulk Write" in yes.stderr
    assert_parity(served)


def test_schedule_takes_the_bulk_flag_too(served: Env) -> None:
    result = gzsync(
        "schedule", "--every", "1h", "--max-runs", "1", "--bulk", "--quiet",
        "--entities", "accounts",
        env=_env(served), cwd=served.state_db.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert served.zoho.stats()["calls"]["bulk_write"] >= 1
    assert_parity(served, contacts=False)
