"""The Zoho CRM sandbox over HTTP: OAuth, upsert semantics, validation, reads, limits,
faults and control routes, asserted against `reference/zoho-crm-api.md`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gzsync.sandbox import credentials
from gzsync.sandbox.serve import ServedApp
from gzsync.sandbox.zoho import ZohoState, create_zoho_app
from gzsync.sandbox.zoho_limits import MAX_ACTIVE_TOKENS, TokenIssuer, TokenThrottled
from gzsync.sandbox.zoho_records import CrmStore

REFRESH = {
    "grant_type": "refresh_token",
    "client_id": credentials.ZOHO_CLIENT_ID,
    "client_secret": credentials.ZOHO_CLIENT_SECRET,
    "refresh_token": credentials.ZOHO_REFRESH_TOKEN,
}


class Zoho:
    """A served sandbox, an authenticated client and the in-process state."""

    def __init__(self, served: ServedApp, state: ZohoState) -> None:
        self.url = served.url
        self.state = state
        self.http = httpx.Client(base_url=served.url, timeout=10.0)
        self.token = self.new_token()

    def new_token(self) -> str:
        response = self.http.post("/oauth/v2/token", data=REFRESH)
        token: str = response.json()["access_token"]
        return token

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Zoho-oauthtoken {self.token}"}

    def upsert(self, module: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
        return self.http.post(f"/crm/v8/{module}/upsert", json=body, headers=self.auth, **kw)

    def coql(self, query: str) -> httpx.Response:
        return self.http.post("/crm/v8/coql", json={"select_query": query}, headers=self.auth)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.auth)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Starlette, ServedApp]]:
    """One served app for the module; each test gets a fresh ZohoState in it."""
    app = create_zoho_app()
    with ServedApp(app) as served:
        yield app, served


@pytest.fixture
def serve(server: tuple[Starlette, ServedApp]) -> Iterator[Callable[..., Zoho]]:
    """Start a fresh sandbox state with the given options (create_zoho_app's keywords)."""
    app, served = server
    clients: list[Zoho] = []

    def start(**options: Any) -> Zoho:
        app.state.zoho = ZohoState(**options)
        clients.append(Zoho(served, app.state.zoho))
        return clients[-1]

    yield start
    for client in clients:
        client.http.close()


@pytest.fixture
def zoho(serve: Callable[..., Zoho]) -> Zoho:
    return serve(seed=1)


@pytest.fixture
def strict_zoho() -> Iterator[Zoho]:
    # its own server: the test compares it with the non-strict one side by side
    app = create_zoho_app(seed=1, strict_fields=True)
    with ServedApp(app) as served:
        client = Zoho(served, app.state.zoho)
        yield client
        client.http.close()


def account(name: str, trader_id: str, **fields: Any) -> dict[str, Any]:
    return {"Account_Name": name, "Trader_ID": trader_id, **fields}


# --- OAuth -------------------------------------------------------------------------------


@pytest.mark.parametrize("form", [True, False], ids=["form-body", "query-string"])
def test_token_success_body_names_the_sandbox_as_api_domain(zoho: Zoho, form: bool) -> None:
    if form:
        response = zoho.http.post("/oauth/v2/token", data=REFRESH)
    else:
        response = zoho.http.post("/oauth/v2/token", params=REFRESH)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "api_domain", "token_type", "scope"}
    assert body["expires_in"] == 3600
    assert body["token_type"] == "Bearer"
    assert body["api_domain"] == zoho.url
    assert body["access_token"].startswith("1000.")


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"client_id": "1000.OTHER"}, "invalid_client"),
        ({"client_secret": "wrong"}, "invalid_client_secret"),
        ({"refresh_token": "1000.revoked"}, "invalid_code"),
    ],
)
def test_token_errors_are_http_200_with_an_error_key(
    zoho: Zoho, override: dict[str, str], error: str
) -> None:
    response = zoho.http.post("/oauth/v2/token", data={**REFRESH, **override})
    assert response.status_code == 200
    assert response.json() == {"error": error}


def test_token_creation_is_throttled_after_ten_in_ten_minutes(zoho: Zoho) -> None:
    for _ in range(9):  # the fixture already took one
        assert zoho.http.post("/oauth/v2/token", data=REFRESH).status_code == 200
    response = zoho.http.post("/oauth/v2/token", data=REFRESH)
    assert response.status_code == 400
    assert response.json() == {
        "error_description": "You have made too many requests continuously. "
        "Please try again after some time.",
        "error": "Access Denied",
        "status": "failure",
    }
    assert zoho.state.stats()["tokens_issued"] == 10
    assert zoho.get("/crm/v8/settings/fields", module="Accounts").status_code == 200


def test_token_window_rolls_and_the_sixteenth_token_evicts_the_oldest() -> None:
    now = [0.0]
    issuer = TokenIssuer(clock=lambda: now[0])
    tokens = []
    for _ in range(MAX_ACTIVE_TOKENS + 1):
        try:
            tokens.append(issuer.issue("r"))
        except TokenThrottled:
            now[0] += 601.0  # the rolling window has moved on
            tokens.append(issuer.issue("r"))
    assert not issuer.is_valid(tokens[0])
    assert all(issuer.is_valid(t) for t in tokens[1:])
    assert issuer.tokens_issued == 16


def test_api_calls_need_a_valid_zoho_oauthtoken(zoho: Zoho) -> None:
    path = "/crm/v8/settings/fields?module=Accounts"
    missing = zoho.http.get(path)
    assert missing.status_code == 401
    assert missing.json() == {
        "code": "AUTHENTICATION_FAILURE",
        "details": {},
        "message": "Authentication failed",
        "status": "error",
    }
    bearer = zoho.http.get(path, headers={"Authorization": f"Bearer {zoho.token}"})
    assert bearer.json()["code"] == "AUTHENTICATION_FAILURE"
    unknown = zoho.http.get(path, headers={"Authorization": "Zoho-oauthtoken 1000.nope"})
    assert unknown.status_code == 401
    assert unknown.json() == {
        "code": "INVALID_TOKEN",
        "details": {},
        "message": "invalid oauth token",
        "status": "error",
    }


def test_expired_tokens_are_invalid_token_until_refreshed(zoho: Zoho) -> None:
    path = "/crm/v8/settings/fields?module=Accounts"
    assert zoho.http.get(path, headers=zoho.auth).status_code == 200
    assert zoho.http.post("/__sandbox/tokens/expire").status_code == 200
    assert zoho.http.get(path, headers=zoho.auth).json()["code"] == "INVALID_TOKEN"
    zoho.token = zoho.new_token()
    assert zoho.http.get(path, headers=zoho.auth).status_code == 200


def test_token_lifetime_is_configurable(serve: Callable[..., Zoho]) -> None:
    client = serve(token_ttl_s=0.0)
    response = client.get("/crm/v8/settings/fields", module="Accounts")
    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_TOKEN"


# --- upsert semantics --------------------------------------------------------------------


def test_duplicate_check_on_trader_id_keeps_two_customers_with_the_same_name(zoho: Zoho) -> None:
    for trader_id in ("C-1", "C-2"):
        body = {"data": [account("Acme", trader_id)], "duplicate_check_fields": ["Trader_ID"]}
        result = zoho.upsert("Accounts", body).json()["data"][0]
        assert result["action"] == "insert"
    assert sorted(r["Trader_ID"] for r in zoho.state.records("Accounts")) == ["C-1", "C-2"]


@pytest.mark.parametrize("where", ["omitted", "query-string"])
def test_default_matching_merges_two_customers_with_the_same_name(zoho: Zoho, where: str) -> None:
    params = {"duplicate_check_fields": "Trader_ID"} if where == "query-string" else None
    first = zoho.upsert("Accounts", {"data": [account("Acme", "C-1")]}, params=params)
    second = zoho.upsert("Accounts", {"data": [account("Acme", "C-2")]}, params=params)
    assert first.json()["data"][0]["action"] == "insert"
    result = second.json()["data"][0]
    assert result["action"] == "update"
    assert result["duplicate_field"] == "Account_Name"
    # The second customer overwrote the first: one record is left, and C-1 is gone.
    stored = zoho.state.records("Accounts")
    assert [r["Trader_ID"] for r in stored] == ["C-2"]


def test_listed_unique_field_matches_before_the_system_field(zoho: Zoho) -> None:
    zoho.upsert("Accounts", {"data": [account("Old name", "C-1")]})
    body = {"data": [account("New name", "C-1")], "duplicate_check_fields": ["Account_Name"]}
    result = zoho.upsert("Accounts", body).json()["data"][0]
    # Account_Name "New name" matches nothing, then the user-unique Trader_ID is checked.
    assert (result["action"], result["duplicate_field"]) == ("update", "Trader_ID")


def test_success_result_shape(zoho: Zoho) -> None:
    response = zoho.upsert(
        "Accounts", {"data": [account("A", "T-1")], "duplicate_check_fields": ["Trader_ID"]}
    )
    assert response.status_code == 200
    (result,) = response.json()["data"]
    assert set(result) == {"code", "duplicate_field", "action", "details", "message", "status"}
    assert (result["code"], result["status"], result["message"]) == (
        "SUCCESS",
        "success",
        "record added",
    )
    assert result["duplicate_field"] is None
    details = result["details"]
    assert set(details) == {"Modified_Time", "Modified_By", "Created_Time", "id", "Created_By"}
    assert len(details["id"]) == 19
    assert details["id"].isdigit()
    assert set(details["Created_By"]) == {"name", "id"}
    assert details["Created_Time"].endswith("+00:00")
    update = zoho.upsert(
        "Accounts", {"data": [account("B", "T-1")], "duplicate_check_fields": ["Trader_ID"]}
    ).json()["data"][0]
    assert (update["message"], update["details"]["id"]) == ("record updated", details["id"])


def test_same_key_twice_in_one_batch_inserts_then_updates(zoho: Zoho) -> None:
    body = {
        "data": [account("First", "T-1", Rev_Number=1), account("Second", "T-1", Rev_Number=2)],
        "duplicate_check_fields": ["Trader_ID"],
    }
    results = zoho.upsert("Accounts", body).json()["data"]
    assert [r["action"] for r in results] == ["insert", "update"]
    assert results[0]["details"]["id"] == results[1]["details"]["id"]
    (stored,) = zoho.state.records("Accounts")
    assert (stored["Account_Name"], stored["Rev_Number"]) == ("Second", 2)


def test_mixed_batch_is_207_and_all_failed_is_400_with_data(zoho: Zoho) -> None:
    mixed = zoho.upsert("Accounts", {"data": [account("A", "T-1"), {"Trader_ID": "T-2"}]})
    assert mixed.status_code == 207
    assert [r["status"] for r in mixed.json()["data"]] == ["success", "error"]
    failed = zoho.upsert("Accounts", {"data": [{"Trader_ID": "T-3"}]})
    assert failed.status_code == 400
    assert failed.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"


def test_unique_value_held_by_another_record_is_duplicate_data(zoho: Zoho) -> None:
    ids = [
        r["details"]["id"]
        for r in zoho.upsert(
            "Accounts", {"data": [account("A", "T-1"), account("B", "T-2")]}
        ).json()["data"]
    ]
    # Default matching finds "A" by name, but T-2 belongs to "B".
    result = zoho.upsert("Accounts", {"data": [account("A", "T-2")]}).json()["data"][0]
    assert result == {
        "code": "DUPLICATE_DATA",
        "details": {
            "api_name": "Trader_ID",
            "json_path": "$.data[0].Trader_ID",
            "duplicate_record": {"id": ids[1], "module": {"api_name": "Accounts"}},
            "more_records": False,
        },
        "message": "duplicate data",
        "status": "error",
    }


def invalid(field: str, index: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "code": "INVALID_DATA",
        "details": {**extra, "api_name": field, "json_path": f"$.data[{index}].{field}"},
        "message": "invalid data",
        "status": "error",
    }


@pytest.mark.parametrize(
    ("module", "record", "expected"),
    [
        (
            "Accounts",
            {"Trader_ID": "T-1"},
            {
                "code": "MANDATORY_NOT_FOUND",
                "details": {"api_name": "Account_Name", "json_path": "$.data[0].Account_Name"},
                "message": "required field not found",
                "status": "error",
            },
        ),
        (
            "Contacts",
            {"First_Name": "Ann", "Last_Name": None},
            {
                "code": "MANDATORY_NOT_FOUND",
                "details": {"api_name": "Last_Name", "json_path": "$.data[0].Last_Name"},
                "message": "required field not found",
                "status": "error",
            },
        ),
        ("Accounts", account("x" * 256, "T"), invalid("Account_Name", maximum_length=255)),
        ("Accounts", account("A", "T", Phone="1" * 31), invalid("Phone", maximum_length=30)),
        (
            "Accounts",
            account("A", "T", Phone="call me"),
            invalid("Phone", expected_data_type="phone"),
        ),
        (
            "Contacts",
            {"Last_Name": "L", "Email": "not-an-email"},
            invalid("Email", expected_data_type="email"),
        ),
        (
            "Accounts",
            account("A", "T", Rev_Number="1000001"),
            invalid("Rev_Number", expected_data_type="integer"),
        ),
        (
            "Accounts",
            account("A", "T", Rev_Number=12.5),
            invalid("Rev_Number", expected_data_type="integer"),
        ),
        (
            "Accounts",
            account("A", "T", Credit_Limit="12,50"),
            invalid("Credit_Limit", expected_data_type="currency"),
        ),
        ("Accounts", account("A", "T", Watt=True), invalid("Watt", expected_data_type="double")),
        (
            "Accounts",
            account("A", "T", Account_AFM=123456789),
            invalid("Account_AFM", expected_data_type="text"),
        ),
        (
            "Accounts",
            account("A", "T", Affiliate_To={"id": "5725767000000000001"}),
            {
                "code": "INVALID_DATA",
                "details": {
                    "api_name": "Affiliate_To",
                    "json_path": "$.data[0].Affiliate_To",
                    "id": "5725767000000000001",
                },
                "message": "the related id given seems to be invalid",
                "status": "error",
            },
        ),
        (
            "Contacts",
            {"Last_Name": "L", "Account_Name": "Acme"},
            invalid("Account_Name", expected_data_type="jsonobject"),
        ),
    ],
)
def test_validation_error_bodies(
    zoho: Zoho, module: str, record: dict[str, Any], expected: dict[str, Any]
) -> None:
    response = zoho.upsert(module, {"data": [record]})
    assert response.status_code == 400
    assert response.json() == {"data": [expected]}
    assert zoho.state.records(module) == []


def test_valid_values_of_every_type_are_stored(zoho: Zoho) -> None:
    record = account(
        "Ελληνική Εταιρεία",
        "T-1",
        Rev_Number=5339779,
        Phone="+30 (210) 555-12.34",
        Credit_Limit=1500,
        Watt=12.75,
        Industry="A brand new value",
    )
    assert zoho.upsert("Accounts", {"data": [record]}).status_code == 200
    (stored,) = zoho.state.records("Accounts")
    assert {k: stored[k] for k in record} == record
    contact = {"Last_Name": "Παπαδόπουλος", "Email": "ι.π@παράδειγμα.gr"}
    assert zoho.upsert("Contacts", {"data": [contact]}).status_code == 200


def test_null_clears_a_field_and_lookups_link_records(zoho: Zoho) -> None:
    parent = zoho.upsert("Accounts", {"data": [account("Parent", "P")]}).json()["data"][0]
    parent_id = parent["details"]["id"]
    body: dict[str, Any] = {
        "data": [account("Child", "C", Affiliate_To={"id": parent_id}, Phone="2101234567")]
    }
    assert zoho.upsert("Accounts", body).status_code == 200
    child = next(r for r in zoho.state.records("Accounts") if r["Trader_ID"] == "C")
    assert child["Affiliate_To"] == {"id": parent_id}
    body = {
        "data": [account("Child", "C", Affiliate_To=None)],
        "duplicate_check_fields": ["Trader_ID"],
    }
    assert zoho.upsert("Accounts", body).json()["data"][0]["action"] == "update"
    child = next(r for r in zoho.state.records("Accounts") if r["Trader_ID"] == "C")
    assert child["Affiliate_To"] is None
    assert child["Phone"] == "2101234567"  # fields not sent are kept


def test_unknown_fields_are_ignored_unless_strict(zoho: Zoho, strict_zoho: Zoho) -> None:
    record = account("A", "T-1", Trader_Id_typo="x")
    assert zoho.upsert("Accounts", {"data": [record]}).status_code == 200
    assert "Trader_Id_typo" not in zoho.state.records("Accounts")[0]
    response = strict_zoho.upsert("Accounts", {"data": [record]})
    assert response.json() == {"data": [invalid("Trader_Id_typo")]}


def test_contacts_match_on_galaxy_contact_id_and_link_their_account(zoho: Zoho) -> None:
    acc = zoho.upsert("Accounts", {"data": [account("Acme", "T-1")]}).json()["data"][0]
    contact = {
        "Last_Name": "Doe",
        "Email": "jd@example.com",
        "Galaxy_Contact_ID": "K-1",
        "Account_Name": {"id": acc["details"]["id"]},
    }
    body = {"data": [contact], "duplicate_check_fields": ["Galaxy_Contact_ID"]}
    assert zoho.upsert("Contacts", body).json()["data"][0]["action"] == "insert"
    moved = {**contact, "Email": "other@example.com", "Last_Name": "Doe-Smith"}
    result = zoho.upsert("Contacts", {**body, "data": [moved]}).json()["data"][0]
    assert (result["action"], result["duplicate_field"]) == ("update", "Galaxy_Contact_ID")
    # Without the list, Zoho's system field (Email) is checked first.
    other = {"Last_Name": "X", "Email": "OTHER@example.com", "Galaxy_Contact_ID": "K-2"}
    result = zoho.upsert("Contacts", {"data": [other]}).json()
    assert result["data"][0]["duplicate_field"] == "Email"
    assert result["data"][0]["code"] == "SUCCESS"


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (
            "/crm/v8/Leads/upsert",
            {"data": [{"Last_Name": "x"}]},
            {
                "code": "INVALID_MODULE",
                "details": {"resource_path_index": 0},
                "message": "the module name given seems to be invalid",
                "status": "error",
            },
        ),
        (
            "/crm/v8/Accounts/upsert",
            {"data": [account("A", f"T-{i}") for i in range(101)]},
            {
                "code": "LIMIT_EXCEEDED",
                "details": {"limit": 100, "api_name": "data", "json_path": "$.data"},
                "message": "Record insertion limit has been exceeded.",
                "status": "error",
            },
        ),
        (
            "/crm/v8/Accounts/upsert",
            {"data": [account("A", "T")], "duplicate_check_fields": ["Phone"]},
            {
                "code": "INVALID_DATA",
                "details": {"api_name": "Phone", "json_path": "$.duplicate_check_fields[0]"},
                "message": "invalid data",
                "status": "error",
            },
        ),
        (
            "/crm/v8/Accounts/upsert",
            {"records": []},
            {
                "code": "MANDATORY_NOT_FOUND",
                "details": {"api_name": "data", "json_path": "$.data"},
                "message": "required field not found",
                "status": "error",
            },
        ),
    ],
)
def test_request_level_upsert_errors(
    zoho: Zoho, path: str, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    response = zoho.http.post(path, json=body, headers=zoho.auth)
    assert response.status_code == 400
    assert response.json() == expected
    assert zoho.state.stats()["credits_used"] == 0


def test_unknown_url_is_invalid_url_pattern(zoho: Zoho) -> None:
    response = zoho.get("/crm/v8/Accounts/upsert/extra/path")
    assert response.status_code == 404
    assert response.json()["code"] == "INVALID_URL_PATTERN"


# --- reads -------------------------------------------------------------------------------


def test_field_metadata_shows_our_custom_fields(zoho: Zoho) -> None:
    accounts = {
        f["api_name"]: f
        for f in zoho.get("/crm/v8/settings/fields", module="Accounts").json()["fields"]
    }
    assert accounts["Trader_ID"]["unique"] == {"casesensitive": "false"}
    assert accounts["Trader_ID"]["custom_field"] is True
    assert accounts["Account_Name"]["system_mandatory"] is True
    assert accounts["Account_Name"]["length"] == 255
    assert accounts["Affiliate_To"]["data_type"] == "lookup"
    assert accounts["Affiliate_To"]["lookup"]["module"]["api_name"] == "Accounts"
    assert accounts["Rev_Number"]["json_type"] == "integer"
    assert accounts["Phone"]["length"] == 30
    for name in ("Account_AFM", "SALESNAME", "Watt", "Turnover_YTD", "Turnover_LTD",
                 "Turnover_LY", "Credit_Limit", "Open_Balance", "Account_Category"):  # fmt: skip
        assert accounts[name]["custom_field"] is True
    contacts = {
        f["api_name"]: f
        for f in zoho.get("/crm/v8/settings/fields", module="Contacts").json()["fields"]
    }
    assert contacts["Galaxy_Contact_ID"]["unique"] == {"casesensitive": "false"}
    assert contacts["Account_Name"]["lookup"]["module"]["api_name"] == "Accounts"
    assert contacts["Last_Name"]["system_mandatory"] is True
    assert zoho.get("/crm/v8/settings/fields", module="Leads").status_code == 400


def seed_accounts(zoho: Zoho, revs: list[int | None]) -> list[str]:
    data = [account(f"Acc {i}", f"T-{i}", Rev_Number=rev) for i, rev in enumerate(revs)]
    return [r["details"]["id"] for r in zoho.upsert("Accounts", {"data": data}).json()["data"]]


def test_v2_sorts_by_a_custom_field(zoho: Zoho) -> None:
    assert zoho.get("/crm/v2/Accounts", fields="Rev_Number").status_code == 204
    seed_accounts(zoho, [1000005, None, 1000009, 1000001])
    response = zoho.get(
        "/crm/v2/Accounts", fields="Rev_Number", sort_by="Rev_Number", sort_order="desc", per_page=1
    )
    assert response.status_code == 200
    body = response.json()
    assert [r["Rev_Number"] for r in body["data"]] == [1000009]
    assert set(body["data"][0]) == {"id", "Rev_Number"}
    assert body["info"] == {"per_page": 1, "count": 1, "page": 1, "more_records": True}
    ascending = zoho.get(
        "/crm/v2/Accounts", fields="Rev_Number", sort_by="Rev_Number", sort_order="asc",
        per_page=2, page=2,
    ).json()  # fmt: skip
    assert [r["Rev_Number"] for r in ascending["data"]] == [1000005, 1000009]
    assert ascending["info"]["more_records"] is False
    assert zoho.get("/crm/v2/Accounts", per_page=201).status_code == 400
    assert zoho.get("/crm/v2/Accounts", page=9).status_code == 204
    assert zoho.state.stats()["calls"]["v2"] == 5


def test_v8_reads_by_ids_need_fields(zoho: Zoho) -> None:
    ids = seed_accounts(zoho, [1, 2, 3])
    missing = zoho.get("/crm/v8/Accounts", ids=ids[0])
    assert missing.status_code == 400
    assert missing.json()["code"] == "REQUIRED_PARAM_MISSING"
    response = zoho.get("/crm/v8/Accounts", ids=f"{ids[2]},{ids[0]}", fields="Trader_ID")
    assert [r["Trader_ID"] for r in response.json()["data"]] == ["T-2", "T-0"]
    assert set(response.json()["data"][0]) == {"id", "Trader_ID"}
    assert (
        zoho.get("/crm/v8/Accounts", ids="5725767000000000001", fields="Trader_ID").status_code
        == 204
    )
    one = zoho.get(f"/crm/v8/Accounts/{ids[1]}").json()["data"][0]
    assert (one["id"], one["Rev_Number"]) == (ids[1], 2)


# --- limits ------------------------------------------------------------------------------


def test_calls_above_the_concurrency_limit_get_429(serve: Callable[..., Zoho]) -> None:
    zoho = serve(latency_ms=(800.0, 0.0), concurrency_limit=10)

    async def burst(url: str, auth: dict[str, str]) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
            calls = [
                client.get("/crm/v8/settings/fields?module=Accounts", headers=auth)
                for _ in range(12)
            ]
            return list(await asyncio.gather(*calls))

    responses = asyncio.run(burst(zoho.url, zoho.auth))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 10 + [429] * 2
    refused = next(r for r in responses if r.status_code == 429).json()
    assert refused["code"] == "TOO_MANY_REQUESTS"
    assert refused["status"] == "error"
    stats = zoho.state.stats()
    assert (stats["peak_concurrency"], stats["throttled_429"]) == (10, 2)
    assert stats["credits_used"] == 10  # refused calls cost nothing


def test_credit_budget_and_the_remaining_header(serve: Callable[..., Zoho]) -> None:
    zoho = serve(daily_credits=10)
    first = zoho.get("/crm/v8/settings/fields", module="Accounts")  # 1 credit
    assert "X-API-CREDITS-REMAINING" not in first.headers
    data = [account(f"A{i}", f"T-{i}") for i in range(41)]
    upsert = zoho.upsert("Accounts", {"data": data})  # ceil(41/10) = 5 credits
    assert upsert.headers["X-API-CREDITS-REMAINING"] == "4"
    coql = zoho.coql("select id from Accounts where id is not null limit 1500")  # 3
    assert coql.headers["X-API-CREDITS-REMAINING"] == "1"
    refused = zoho.upsert("Accounts", {"data": data[:20]})  # 2 > 1 left
    assert refused.status_code == 429
    assert refused.json()["code"] == "TOO_MANY_REQUESTS"
    last = zoho.get("/crm/v8/settings/fields", module="Accounts")
    assert last.headers["X-API-CREDITS-REMAINING"] == "0"
    assert zoho.get("/crm/v8/settings/fields", module="Accounts").status_code == 429
    stats = zoho.state.stats()
    assert (stats["credits_used"], stats["throttled_429"]) == (10, 2)
    zoho.http.post("/__sandbox/limits", json={"daily_credits": 100})
    assert zoho.get("/crm/v8/settings/fields", module="Accounts").status_code == 200


def test_latency_grows_with_records(serve: Callable[..., Zoho]) -> None:
    zoho = serve(latency_ms=(0.0, 2.0))
    data = [account(f"A{i}", f"T-{i}") for i in range(100)]
    started = time.perf_counter()
    zoho.upsert("Accounts", {"data": data})
    assert time.perf_counter() - started >= 0.2  # 100 records x 2 ms


def test_store_matches_by_index_at_100k_records() -> None:
    store = CrmStore(seed=3)
    for start in range(0, 110_000, 100):  # 100k inserts, then 10k updates
        first = start % 100_000
        data = [account(f"N{i}", f"T-{i}", Rev_Number=start + i) for i in range(first, first + 100)]
        outcome = store.upsert("Accounts", data, ["Trader_ID"])
        assert outcome.succeeded == 100
    assert len(store.table("Accounts").records) == 100_000


# --- faults and control ------------------------------------------------------------------


def test_faults_hit_one_module_for_a_count_of_calls(zoho: Zoho) -> None:
    rules = {"rules": [{"endpoint": "upsert:Contacts", "status": 500, "count": 1}]}
    assert zoho.http.post("/__sandbox/faults", json=rules).json() == {"active": 1}
    contact = {"data": [{"Last_Name": "L"}]}
    assert zoho.upsert("Accounts", {"data": [account("A", "T")]}).status_code == 200
    failed = zoho.upsert("Contacts", contact)
    assert failed.status_code == 500
    assert failed.json() == {
        "code": "INTERNAL_ERROR",
        "details": {},
        "message": "Internal Server Error",
        "status": "error",
    }
    assert zoho.upsert("Contacts", contact).status_code == 200
    zoho.http.post("/__sandbox/faults", json={"rules": [{"endpoint": "*", "status": 429}]})
    throttled = zoho.coql("select id from Accounts where id is not null")
    assert (throttled.status_code, throttled.json()["code"]) == (429, "TOO_MANY_REQUESTS")
    token = zoho.http.post("/oauth/v2/token", data=REFRESH)
    assert token.json()["error"] == "Access Denied"
    zoho.http.delete("/__sandbox/faults")
    assert zoho.coql("select id from Accounts where id is not null").status_code == 200


def test_dropped_connection_fault(zoho: Zoho) -> None:
    zoho.http.post("/__sandbox/faults", json={"rules": [{"endpoint": "coql", "action": "drop"}]})
    with pytest.raises(httpx.TransportError):  # RemoteProtocolError or a reset
        zoho.coql("select id from Accounts where id is not null")


def test_control_routes(zoho: Zoho) -> None:
    zoho.upsert("Accounts", {"data": [account("A", "T-1"), account("B", "T-2")]})
    listed = zoho.http.get("/__sandbox/records/Accounts").json()
    assert [r["Trader_ID"] for r in listed] == ["T-1", "T-2"]
    assert all({"id", "Created_Time", "Modified_Time"} <= set(r) for r in listed)
    stats = zoho.http.get("/__sandbox/stats").json()
    assert stats["calls"]["upsert"] == 1
    assert stats["calls"]["upsert:Accounts"] == 1
    assert stats["calls"]["token"] == 1
    assert stats["records_upserted"] == 2
    assert stats["credits_used"] == 1
    assert zoho.http.delete("/__sandbox/records/Accounts").json() == {"deleted": 2}
    assert zoho.state.records("Accounts") == []
    assert zoho.http.get("/__sandbox/records/Leads").status_code == 404
    limits = {"concurrency": 3, "daily_credits": 50, "latency_ms": [1, 0], "token_ttl_s": 60}
    assert zoho.http.post("/__sandbox/limits", json=limits).status_code == 200
    assert zoho.state.gate.limit == 3
    assert zoho.state.credits.total == 50
    assert zoho.state.tokens.ttl_s == 60
    assert zoho.http.post("/__sandbox/limits", json={"latency_ms": "x"}).status_code == 400
