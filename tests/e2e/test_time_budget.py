"""A run with a time budget stops cleanly and the next one carries on (Catalyst's 15 min)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.e2e.helpers import assert_parity, make_env, sync

from gzsync.sync import accounts


def _upserted(tmp_path: Path, name: str, *, budget: float | None) -> tuple[int, list[str]]:
    statuses: list[str] = []
    for env in make_env(tmp_path / name, customers=400, seed=11, latency_ms=(15.0, 0.0)):
        for _ in range(40):
            report = sync(env, max_duration_s=budget)
            statuses.append(report.status)
            if report.status != "partial":
                break
        assert_parity(env)
        return env.zoho.stats()["records_upserted"], statuses
    raise AssertionError("unreachable")


def test_budgeted_runs_complete_a_load_without_losing_or_repeating_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts, "WINDOW", 100)  # several windows in a small load
    once, statuses = _upserted(tmp_path, "once", budget=None)
    assert statuses == ["incomplete"]  # the generator's bad rows wait in the ledger
    piecewise, statuses = _upserted(tmp_path, "piecewise", budget=0.3)
    assert statuses.count("partial") >= 2, statuses
    assert statuses[-1] == "incomplete"
    # the same records written the same number of times: nothing lost, nothing repeated
    assert piecewise == once
