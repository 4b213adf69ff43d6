"""`gzsync check`: the pure metadata comparison, and the command against the sandboxes."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from typer.testing import CliRunner

from gzsync.cli import app
from gzsync.ops.check import check_metadata, is_unique, lookup_module
from gzsync.sandbox import zoho as zoho_sandbox
from gzsync.sandbox.galaxy import create_galaxy_app
from gzsync.sandbox.serve import SandboxUrls, serve_sandboxes
from gzsync.sandbox.zoho_records import field_metadata

Metadata = dict[str, list[dict[str, Any]]]


def sandbox_metadata() -> Metadata:
    return {m: field_metadata(m) for m in ("Accounts", "Contacts")}


def _field(meta: Metadata, module: str, name: str) -> dict[str, Any]:
    return next(f for f in meta[module] if f["api_name"] == name)


def _drop(meta: Metadata, module: str, name: str) -> None:
    meta[module] = [f for f in meta[module] if f["api_name"] != name]


def test_the_sandbox_metadata_fits_our_mappings() -> None:
    assert check_metadata(sandbox_metadata()) == []


def _no_unique_trader_id(meta: Metadata) -> None:
    _field(meta, "Accounts", "Trader_ID")["unique"] = {}


def _no_unique_contact_id(meta: Metadata) -> None:
    _field(meta, "Contacts", "Galaxy_Contact_ID").pop("unique")


def _affiliate_to_contacts(meta: Metadata) -> None:
    _field(meta, "Accounts", "Affiliate_To")["lookup"]["module"] = {"api_name": "Contacts"}


def _affiliate_to_text(meta: Metadata) -> None:
    _field(meta, "Accounts", "Affiliate_To")["data_type"] = "text"


def _integer_balance(meta: Metadata) -> None:
    _field(meta, "Accounts", "Credit_Limit")["data_type"] = "integer"


def _email_as_text(meta: Metadata) -> None:
    _field(meta, "Contacts", "Email")["data_type"] = "text"


def _extra_mandatory(meta: Metadata) -> None:
    meta["Accounts"].append(
        {"api_name": "Region", "data_type": "picklist", "system_mandatory": True}
    )


def _read_only_rev(meta: Metadata) -> None:
    _field(meta, "Contacts", "Rev_Number")["read_only"] = True


@pytest.mark.parametrize(
    ("breakage", "field", "words"),
    [
        (lambda m: _drop(m, "Accounts", "Phone"), "Accounts.Phone", "does not exist"),
        (lambda m: _drop(m, "Contacts", "Rev_Number"), "Contacts.Rev_Number", "does not exist"),
        (_no_unique_trader_id, "Accounts.Trader_ID", "not a unique field"),
        (_no_unique_contact_id, "Contacts.Galaxy_Contact_ID", "not a unique field"),
        (_affiliate_to_contacts, "Accounts.Affiliate_To", "lookup to Contacts"),
        (_affiliate_to_text, "Accounts.Affiliate_To", "has type text"),
        (_integer_balance, "Accounts.Credit_Limit", "has type integer"),
        (_email_as_text, "Contacts.Email", "has type text"),
        (_extra_mandatory, "Accounts.Region", "mandatory"),
        (_read_only_rev, "Contacts.Rev_Number", "read-only"),
    ],
)
def test_each_breakage_is_one_problem_with_a_fix(
    breakage: Callable[[Metadata], None], field: str, words: str
) -> None:
    meta = sandbox_metadata()
    breakage(meta)
    problems = check_metadata(meta)
    assert [p.field for p in problems] == [field]
    assert words in problems[0].problem
    assert problems[0].fix.endswith(".")
    assert len(problems[0].fix) > 20


def test_zoho_metadata_shapes_are_understood() -> None:
    # v8: unique as an object, lookup module as an object; older: true / a string.
    assert is_unique({"unique": {"casesensitive": "false"}})
    assert is_unique({"unique": True})
    not_unique: tuple[object, ...] = ({}, None, False, "false")
    assert not any(is_unique({"unique": v}) for v in not_unique)
    assert not is_unique({})
    assert lookup_module({"lookup": {"module": {"api_name": "Accounts", "id": "1"}}}) == "Accounts"
    assert lookup_module({"lookup": {"module": "Accounts", "api_name": "Account_Name"}}) == (
        "Accounts"
    )
    assert lookup_module({"lookup": {}}) is None

    meta = sandbox_metadata()
    _field(meta, "Accounts", "Trader_ID")["unique"] = True
    _field(meta, "Contacts", "Account_Name")["lookup"] = {"module": "Accounts"}
    assert check_metadata(meta) == []


def test_a_missing_module_lists_every_mapped_field() -> None:
    problems = check_metadata({"Accounts": field_metadata("Accounts")})
    assert {p.field.split(".")[0] for p in problems} == {"Contacts"}
    assert "Contacts.Galaxy_Contact_ID" in {p.field for p in problems}


# -- the command, against the sandboxes -------------------------------------------------


def _served(zoho_app: Any) -> Iterator[SandboxUrls]:
    with serve_sandboxes(create_galaxy_app(customers=10, seed=3), zoho_app) as urls:
        yield urls


@pytest.fixture
def urls() -> Iterator[SandboxUrls]:
    yield from _served(zoho_sandbox.create_zoho_app(seed=3))


def _without_trader_id_unique() -> Any:
    """A Zoho sandbox whose Accounts metadata lacks Trader_ID's unique flag.

    The real handler still runs (token check, credits, call counts); only its answer is
    edited, by a route placed before the sandbox's own.
    """
    app = zoho_sandbox.create_zoho_app(seed=3)
    # the sandbox's own first fields route (the inventory's: it also knows Quotes, Products)
    own = next(r for r in app.router.routes if getattr(r, "path", "") == "/crm/v8/settings/fields")

    async def fields(request: Request) -> Response:
        response = await own.endpoint(request)
        body = json.loads(bytes(response.body))
        if response.status_code == 200 and request.query_params.get("module") == "Accounts":
            body = copy.deepcopy(body)
            for field in body["fields"]:
                if field["api_name"] == "Trader_ID":
                    field["unique"] = {}
        return JSONResponse(body, status_code=response.status_code)

    app.router.routes.insert(0, Route("/crm/v8/settings/fields", fields, methods=["GET"]))
    return app


def _environ(urls: SandboxUrls, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**urls.env(), "STATE_DB": str(tmp_path / "state.db"), **extra}


def test_check_passes_against_the_sandboxes_as_a_subprocess(
    urls: SandboxUrls, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gzsync", "check"],
        env={**os.environ, **_environ(urls, tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Ready to sync." in result.stdout
    assert "ok   Zoho field metadata" in result.stdout
    # the probes used a throwaway store: the real state was not even created
    assert not (tmp_path / "state.db").exists()


def test_check_lists_a_missing_unique_flag_with_its_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for served in _served(_without_trader_id_unique()):
        result = CliRunner().invoke(app, ["check", "--json"], env=_environ(served, tmp_path))
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert [p["field"] for p in data["problems"]] == ["Accounts.Trader_ID"]
    assert "Do not allow duplicate values" in data["problems"][0]["fix"]
    assert {c["name"]: c["ok"] for c in data["checks"]} == {
        "Galaxy ERP": True,
        "Zoho CRM": True,
        "Zoho field metadata": False,
        "State store": True,
        "Zoho Quotes, Products and taxes": True,
    }


def test_check_names_refused_galaxy_credentials(
    urls: SandboxUrls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = _environ(urls, tmp_path, AUTH_PASSWORD="not-the-password")
    result = CliRunner().invoke(app, ["check"], env=env)
    assert result.exit_code == 1
    assert "- AUTH_USERNAME Galaxy refused the credentials" in result.stdout
    assert "not-the-password" not in result.output


def test_check_exits_2_on_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("BASE_URL", "AUTH_USERNAME", "AUTH_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["check"], env={"STATE_DB": str(tmp_path / "s.db")})
    assert result.exit_code == 2
    assert "BASE_URL" in result.stderr


# -- what a run needs beyond credentials: views, the state store, the lock ------------------


def test_check_reads_one_row_of_each_view_and_names_a_misnamed_one(
    urls: SandboxUrls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ok = CliRunner().invoke(app, ["check"], env=_environ(urls, tmp_path))
    assert "views answer: zh_Customers_fin, ZH_AFFILIATE, ZH_CONTACTS" in ok.stdout
    env = _environ(urls, tmp_path, GALAXY_CONTACTS_VIEW="ZH_CONTACT")
    result = CliRunner().invoke(app, ["check", "--json"], env=env)
    assert result.exit_code == 1, result.output
    problems = json.loads(result.stdout)["problems"]
    assert [p["field"] for p in problems] == ["GALAXY_CONTACTS_VIEW"]
    assert "ZH_CONTACT" in problems[0]["problem"]
    assert "Set GALAXY_CONTACTS_VIEW" in problems[0]["fix"]


def test_check_finds_a_corrupt_state_file_and_points_at_the_recovery(
    urls: SandboxUrls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "state.db").write_bytes(b"this is not a database, just bytes " * 200)
    result = CliRunner().invoke(app, ["check", "--json"], env=_environ(urls, tmp_path))
    assert result.exit_code == 1, result.output
    problems = json.loads(result.stdout)["problems"]
    assert [p["field"] for p in problems] == ["STATE_DB"]
    assert "gzsync state restore" in problems[0]["fix"]
    assert "gzsync state reset" in problems[0]["fix"]


def test_check_says_whose_the_run_lock_is(
    urls: SandboxUrls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    from gzsync.state.sqlite import open_sqlite_store

    store = open_sqlite_store(tmp_path / "state.db")
    store.acquire_lock("host-a pid 4242 run R1", 600)
    store.close()
    result = CliRunner().invoke(app, ["check"], env=_environ(urls, tmp_path))
    assert result.exit_code == 0, result.output
    assert "the run lock is held by host-a pid 4242 run R1 until 20" in result.stdout


def test_check_lists_a_misspelled_setting_name(
    urls: SandboxUrls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("GALAXY_CUSTOMER_VIEW=zh_Customers_fin\n")
    result = CliRunner().invoke(app, ["check", "--json"], env=_environ(urls, tmp_path))
    assert result.exit_code == 1, result.output
    problems = json.loads(result.stdout)["problems"]
    assert problems[0]["field"] == "GALAXY_CUSTOMER_VIEW"
    assert problems[0]["fix"] == "Rename it to GALAXY_CUSTOMERS_VIEW."
