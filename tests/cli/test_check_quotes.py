"""`gzsync check` for phase 2: Quotes/Products upsert keys and ZOHO_TAX_NAMES vs org taxes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from gzsync.cli import app
from gzsync.sandbox import zoho as zoho_sandbox
from gzsync.sandbox.galaxy import create_galaxy_app
from gzsync.sandbox.serve import SandboxUrls, serve_sandboxes

CHECK = "Zoho Quotes, Products and taxes"


@pytest.fixture
def urls() -> Iterator[SandboxUrls]:
    zoho_app = zoho_sandbox.create_zoho_app(seed=3)
    with serve_sandboxes(create_galaxy_app(customers=10, seed=3), zoho_app) as served:
        yield served


def _check(urls: SandboxUrls, tmp_path: Path, **extra: str) -> tuple[int, dict[str, Any]]:
    env = {**urls.env(), "STATE_DB": str(tmp_path / "state.db"), **extra}
    result = CliRunner().invoke(app, ["check", "--json"], env=env)
    return result.exit_code, json.loads(result.stdout)


def _line(data: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in data["checks"] if c["name"] == CHECK)


@pytest.mark.parametrize(
    ("mode", "words"), [("unique", "marked unique"), ("external", "an External ID field")]
)
def test_check_says_which_kind_of_key_product_code_is(
    urls: SandboxUrls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, words: str
) -> None:
    monkeypatch.chdir(tmp_path)
    httpx.post(f"{urls.zoho_api_url}/__sandbox/inventory", json={"product_code": mode})
    code, data = _check(urls, tmp_path)
    assert code == 0, data
    assert _line(data)["ok"] is True
    assert f"Products.Product_Code is {words}" in _line(data)["detail"]


def test_check_refuses_a_plain_product_code(
    urls: SandboxUrls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    httpx.post(f"{urls.zoho_api_url}/__sandbox/inventory", json={"product_code": "plain"})
    code, data = _check(urls, tmp_path)
    assert code == 1
    assert [p["field"] for p in data["problems"]] == ["Products.Product_Code"]
    assert "External ID" in data["problems"][0]["fix"]


def test_check_compares_tax_names_with_the_org_taxes(
    urls: SandboxUrls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    taxes = json.dumps({"24": "VAT 24%", "13": "ΦΠΑ 13", "6": "VAT 13%"})
    code, data = _check(urls, tmp_path, ZOHO_TAX_NAMES=taxes)
    assert code == 1
    problems = [p for p in data["problems"] if p["field"] == "ZOHO_TAX_NAMES"]
    assert len(problems) == 2  # an unknown name, and a name of another rate
    assert any("ΦΠΑ 13" in p["problem"] for p in problems)
    assert any("whose rate is 13" in p["problem"] for p in problems)


def test_check_reads_the_offers_view_and_the_lines_view(
    urls: SandboxUrls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, data = _check(urls, tmp_path)
    assert code == 0, data
    galaxy = next(c for c in data["checks"] if c["name"] == "Galaxy ERP")
    assert "zh_offers" in galaxy["detail"]
    assert "b6a2d6c9-e3bf-4d14-b000-269991c68dd5" in galaxy["detail"]
    code, data = _check(
        urls,
        tmp_path,
        GALAXY_OFFERS_VIEW="zh_offer",
        GALAXY_OFFER_LINES_VIEW="b6a2d6c9-0000-4d14-b000-269991c68dd5",
    )
    assert code == 1
    problems = {p["field"]: p for p in data["problems"]}
    assert set(problems) == {"GALAXY_OFFERS_VIEW", "GALAXY_OFFER_LINES_VIEW"}
    assert "404" in problems["GALAXY_OFFERS_VIEW"]["problem"]
    assert "GUID" in problems["GALAXY_OFFER_LINES_VIEW"]["fix"]
