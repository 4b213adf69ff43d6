"""Exit codes say what is new: old rejections waiting in the ledger do not fail every run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.process import gzsync
from tests.e2e.helpers import Env, make_env, sync


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path, customers=150, seed=3)


def _env(e: Env) -> dict[str, str]:
    return {**e.urls.env(), "STATE_DB": str(e.state_db)}


def test_only_new_rejections_fail_a_run(served: Env, tmp_path: Path) -> None:
    first = sync(served)
    assert first.status == "incomplete", first.message  # the sandbox has ~1% bad rows
    assert first.ledger_new_rejections > 0
    assert first.exit_code == 1

    again = gzsync("run", "--json", env=_env(served), cwd=tmp_path)
    report = json.loads(again.stdout)
    assert report["status"] == "incomplete"  # the old rejections still wait ...
    assert report["ledger_pending"] == first.ledger_pending
    assert report["ledger_new_rejections"] == 0
    assert report["ledger_transient"] == 0
    assert again.returncode == 0, again.stderr  # ... but nothing is new
    assert "already rejected earlier" in again.stderr
    assert "not new" in again.stderr

    strict = gzsync("run", "--strict", env=_env(served), cwd=tmp_path)
    assert strict.returncode == 1, strict.stderr


def test_json_logs_carry_run_id_stream_and_counts_as_fields(served: Env, tmp_path: Path) -> None:
    done = gzsync("run", "--log-format", "json", env=_env(served), cwd=tmp_path)
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert lines, done.stderr
    run_ids = {line.get("run_id") for line in lines}
    assert len(run_ids) == 1
    assert None not in run_ids  # every line of the run carries it
    reading = [line for line in lines if line.get("stream") == "customers"]
    assert reading, lines
    outcome = next(line for line in lines if "ledger_pending" in line)
    assert outcome["status"] == "incomplete"
    assert outcome["customers"]["fetched"] == 150
    assert outcome["exit_code"] == done.returncode == 1


def test_the_summary_has_no_python_values(served: Env, tmp_path: Path) -> None:
    done = gzsync("run", env={**_env(served), "COLUMNS": "100"}, cwd=tmp_path)
    assert "None" not in done.stderr
    assert "{'" not in done.stderr
    assert "watermarks customers none yet -> " in done.stderr
    assert "reading every revision (no watermark yet)" in done.stderr
