"""`gzsync reconcile` as users run it: a real subprocess against the served sandboxes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina
from tests.cli.process import gzsync
from tests.e2e.helpers import Env, make_env, sync
from tests.e2e.quotes_helpers import quotes_parity
from tests.reconcile.quote_drift import make_quote_drift, remove_by_hand

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
    assert set(data["streams"]) == {"accounts", "contacts", "quotes", "products"}
    assert all(data["streams"][s] == dict.fromkeys(CLASSES, 0) for s in data["streams"])
    assert data["samples"] == {"accounts": {}, "contacts": {}, "quotes": {}, "products": {}}

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


def test_reconcile_unknown_entity_or_line_mode_is_a_usage_error(tmp_path: Path) -> None:
    for args in (("--entities", "invoices"), ("--quote-lines", "some")):
        result = gzsync("reconcile", *args, env={"STATE_DB": "x"}, cwd=tmp_path)
        assert result.returncode == 2, args
        assert result.stderr.count("\n") == 1


@pytest.fixture
def served_quotes(tmp_path: Path) -> Iterator[Env]:
    stamina.set_testing(True, attempts=6)
    yield from make_env(tmp_path, customers=120, seed=11, offers=40)
    stamina.set_testing(False)


def test_reconcile_quotes_finds_repairs_and_reports(served_quotes: Env, tmp_path: Path) -> None:
    env = served_quotes
    sync(env)
    drift = make_quote_drift(env)
    page = tmp_path / "quotes.html"
    args = ("reconcile", "--entities", "quotes")
    found = gzsync(*args, "--json", "--output", str(page), env=_env(env), cwd=tmp_path)
    assert found.returncode == 1, found.stderr
    data = json.loads(found.stdout)
    assert set(data["streams"]) == {"quotes", "products"}
    for section in ("quotes", "products"):
        assert data["streams"][section] == drift.counts(section, CLASSES), section
    assert data["quote_lines"]["mode"] == "auto"
    assert data["quote_lines"]["differ"] == 1
    assert "quote line items (auto)" in found.stderr
    html = page.read_text(encoding="utf-8")
    assert "<th>quotes</th>" in html
    assert "<th>products</th>" in html

    dry = gzsync(*args, "--repair", "--dry-run", "--json", "--quiet", env=_env(env))
    assert json.loads(dry.stdout)["repaired"]["quotes"]["sent"] == 4
    repaired = gzsync(*args, "--repair", "--json", "--quiet", env=_env(env))
    assert repaired.returncode == 1  # the orphan and the hand-made quote stay for a person
    assert json.loads(repaired.stdout)["repaired"]["quotes"]["confirmed"] == 4
    remove_by_hand(env, [drift.orphan_id, drift.unkeyed_id])
    after = gzsync(*args, "--quote-lines", "all", "--json", "--quiet", env=_env(env))
    assert after.returncode == 0, after.stdout
    assert json.loads(after.stdout)["quote_lines"]["compared"] == 39  # 40 less the gone offer
    result = quotes_parity(env)
    assert result.ok, result.summary()


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
