"""`gzsync reconcile` as users run it: a real subprocess against the served sandboxes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina
from tests.cli.process import gzsync
from tests.e2e.helpers import Env, make_env, sync

from gzsync.reconcile.classify import CLASSES
from gzsync.sandbox.drift import CrmUser, make_drift


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Env]:
    stamina.set_testing(True, attempts=6)
    yield from make_env(tmp_path, customers=120, seed=5)
    stamina.set_testing(False)


def _env(e: Env, **extra: str) -> dict[str, str]:
    return {**e.urls.env(), "STATE_DB": str(e.state_db), **extra}


def test_reconcile_json_html_and_exit_codes(served: Env, tmp_path: Path) -> None:
    sync(served)
    clean = gzsync("reconcile", "--json", "--quiet", env=_env(served), cwd=tmp_path)
    assert clean.returncode == 0, clean.stderr
    data = json.loads(clean.stdout)
    assert set(data["streams"]) == {"accounts", "contacts"}
    assert all(data["streams"][s] == dict.fromkeys(CLASSES, 0) for s in data["streams"])
    assert data["samples"] == {"accounts": {}, "contacts": {}}

    with CrmUser(served.urls.zoho_api_url) as user:
        make_drift(
            user,
            customers=served.galaxy.rows("zh_Customers_fin"),
            affiliates=served.galaxy.rows("ZH_AFFILIATE"),
            contacts=served.galaxy.rows("ZH_CONTACTS"),
        )
    page = tmp_path / "reconcile.html"
    found = gzsync("reconcile", "--output", str(page), env=_env(served), cwd=tmp_path)
    assert found.returncode == 1  # differences
    assert "missing" in found.stderr
    assert "merge Zoho ids" in found.stderr
    html = page.read_text(encoding="utf-8")
    assert "<h2>Keys by class</h2>" in html
    assert "Duplicates to merge in the CRM" in html
    assert "<script" not in html

    repaired = gzsync(
        "reconcile", "--repair", "--json", "--quiet", env=_env(served, ORPHAN_ACTION="tag")
    )
    assert repaired.returncode == 1  # the duplicates are left for a person to merge
    data = json.loads(repaired.stdout)
    assert data["repaired"]["accounts"]["confirmed"] == 4
    assert data["repaired"]["accounts"]["tagged"] == 1
    after = json.loads(gzsync("reconcile", "--json", "--quiet", env=_env(served)).stdout)
    for stream in ("accounts", "contacts"):
        counts = after["streams"][stream]
        assert [counts[c] for c in ("missing", "stale", "drifted", "link_wrong")] == [0, 0, 0, 0]


def test_reconcile_unknown_entity_is_a_usage_error(tmp_path: Path) -> None:
    result = gzsync("reconcile", "--entities", "quotes", env={"STATE_DB": "x"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1


def test_demo_drift_shows_reconcile_finding_and_repairing_every_class(tmp_path: Path) -> None:
    result = gzsync("demo", "--customers", "200", "--drift", "--json", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    drift = json.loads(result.stdout)["drift"]
    assert drift["ok"] is True
    for stream in ("accounts", "contacts"):
        assert drift["found"][stream] == drift["made"][stream]
        assert all(drift["made"][stream][c] == 1 for c in CLASSES)
        assert drift["after"][stream]["missing"] == 0
    assert drift["repaired"]["accounts"]["confirmed"] == 4
