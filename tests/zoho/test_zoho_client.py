"""ZohoClient: against a scripted CRM (MockTransport), then against the Zoho sandbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from tests.kvstore import MemoryStore

from gzsync.errors import ZohoRequestError
from gzsync.http import RetryPolicy
from gzsync.sandbox import credentials
from gzsync.sandbox.serve import ServedApp
from gzsync.sandbox.zoho import create_zoho_app
from gzsync.zoho.auth import TokenProvider
from gzsync.zoho.client import ZohoClient

# -- scripted CRM ------------------------------------------------------------------------


class FakeCrm:
    """Token endpoint plus a CRM whose answers each test scripts by path."""

    def __init__(self) -> None:
        self.minted = 0
        self.valid: set[str] = set()
        self.requests: list[httpx.Request] = []
        self.routes: dict[str, Callable[[httpx.Request], httpx.Response]] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/v2/token":
            self.minted += 1
            token = f"1000.tok-{self.minted}"
            self.valid.add(token)
            return httpx.Response(200, json={"access_token": token, "expires_in": 3600})
        self.requests.append(request)
        auth = request.headers.get("Authorization", "")
        if auth.removeprefix("Zoho-oauthtoken ") not in self.valid:
            return httpx.Response(
                401,
                json={
                    "code": "INVALID_TOKEN",
                    "details": {},
                    "message": "invalid oauth token",
                    "status": "error",
                },
            )
        route = self.routes.get(request.url.path)
        return (
            route(request) if route else httpx.Response(404, json={"code": "INVALID_URL_PATTERN"})
        )


def _zoho(crm: FakeCrm) -> tuple[ZohoClient, TokenProvider]:
    transport = httpx.MockTransport(crm.handler)
    tokens = TokenProvider(
        accounts_base="https://accounts.zoho.test",
        client_id="1000.C",
        client_secret="secret-value",
        refresh_token="1000.refresh-value",
        store=MemoryStore(),
        retry=RetryPolicy.for_tests(),
        transport=transport,
    )
    client = ZohoClient(
        api_base="https://www.zohoapis.test",
        tokens=tokens,
        retry=RetryPolicy.for_tests(),
        transport=transport,
    )
    return client, tokens


def _run(crm: FakeCrm, work: Callable[[ZohoClient], Any]) -> tuple[Any, ZohoClient]:
    client, tokens = _zoho(crm)

    async def go() -> Any:
        try:
            return await work(client)
        finally:
            await client.aclose()
            await tokens.aclose()

    return asyncio.run(go()), client


def _success(i: int, action: str) -> dict[str, Any]:
    return {
        "code": "SUCCESS",
        "duplicate_field": "Trader_ID" if action == "update" else None,
        "action": action,
        "details": {"id": f"55500000000{i}", "Modified_Time": "2026-01-01T00:00:00+00:00"},
        "message": "record updated" if action == "update" else "record added",
        "status": "success",
    }


def test_upsert_request_and_results_in_input_order() -> None:
    crm = FakeCrm()
    refused = {
        "code": "INVALID_DATA",
        "details": {
            "expected_data_type": "phone",
            "api_name": "Phone",
            "json_path": "$.data[1].Phone",
        },
        "message": "invalid data",
        "status": "error",
    }
    crm.routes["/crm/v8/Accounts/upsert"] = lambda r: httpx.Response(
        207, json={"data": [_success(0, "insert"), refused, _success(2, "update")]}
    )
    records = [{"Trader_ID": f"T{i}", "Account_Name": f"N{i}"} for i in range(3)]
    results, client = _run(
        crm, lambda c: c.upsert("Accounts", records, duplicate_check_fields=["Trader_ID"])
    )

    (request,) = crm.requests
    assert request.method == "POST"
    assert request.headers["Authorization"] == "Zoho-oauthtoken 1000.tok-1"
    assert json.loads(request.content) == {"data": records, "duplicate_check_fields": ["Trader_ID"]}
    assert [(r.ok, r.action, r.zoho_id, r.code, r.api_name) for r in results] == [
        (True, "insert", "555000000000", "SUCCESS", None),
        (False, None, None, "INVALID_DATA", "Phone"),
        (True, "update", "555000000002", "SUCCESS", None),
    ]
    assert results[1].details["json_path"] == "$.data[1].Phone"
    assert client.stats.calls["upsert"] == 1
    assert client.stats.calls["token"] == 1
    assert client.stats.credits == 1


def test_upsert_bounds_and_trigger() -> None:
    crm = FakeCrm()
    crm.routes["/crm/v8/Accounts/upsert"] = lambda r: httpx.Response(
        200,
        json={"data": [_success(i, "insert") for i in range(len(json.loads(r.content)["data"]))]},
    )

    async def work(client: ZohoClient) -> None:
        assert await client.upsert("Accounts", [], duplicate_check_fields=["Trader_ID"]) == []
        with pytest.raises(ValueError, match="at most 100"):
            await client.upsert("Accounts", [{}] * 101, duplicate_check_fields=["Trader_ID"])
        results = await client.upsert(
            "Accounts",
            [{"Trader_ID": str(i)} for i in range(100)],
            duplicate_check_fields=["Trader_ID"],
            trigger=[],
        )
        assert len(results) == 100
        assert all(r.ok for r in results)

    _, client = _run(crm, work)
    assert len(crm.requests) == 1
    assert json.loads(crm.requests[0].content)["trigger"] == []
    assert client.stats.credits == 10


def test_request_level_error_carries_code_and_status() -> None:
    crm = FakeCrm()
    crm.routes["/crm/v8/Accounts/upsert"] = lambda r: httpx.Response(
        400,
        json={
            "code": "INVALID_MODULE",
            "details": {},
            "message": "the module name given seems to be invalid",
            "status": "error",
        },
    )
    with pytest.raises(ZohoRequestError, match="HTTP 400 INVALID_MODULE") as info:
        _run(
            crm,
            lambda c: c.upsert(
                "Accounts", [{"Trader_ID": "A"}], duplicate_check_fields=["Trader_ID"]
            ),
        )
    assert info.value.code == "INVALID_MODULE"
    assert info.value.status == 400
    assert info.value.endpoint == "upsert"


def test_invalid_token_is_refreshed_once_and_repeated() -> None:
    crm = FakeCrm()
    crm.routes["/crm/v8/coql"] = lambda r: httpx.Response(
        200, json={"data": [{"id": "1"}], "info": {}}
    )

    async def work(client: ZohoClient) -> list[Any]:
        first = await client.coql("select id from Accounts where id is not null limit 1")
        crm.valid.clear()  # every token expires
        second = await client.coql("select id from Accounts where id is not null limit 1")
        return [first, second]

    (first, second), client = _run(crm, work)
    assert first == second == [{"id": "1"}]
    assert crm.minted == 2
    assert [r.headers["Authorization"][-5:] for r in crm.requests] == ["tok-1", "tok-1", "tok-2"]
    assert client.stats.calls["coql"] == 3


def test_invalid_token_twice_is_an_error() -> None:
    crm = FakeCrm()
    crm.routes["/crm/v8/coql"] = lambda r: httpx.Response(
        401, json={"code": "INVALID_TOKEN", "message": "invalid oauth token"}
    )
    with pytest.raises(ZohoRequestError, match="INVALID_TOKEN") as info:
        _run(crm, lambda c: c.coql("select id from Accounts where id is not null"))
    assert info.value.status == 401
    assert crm.minted == 2


def test_429_is_retried_counted_and_finally_reported() -> None:
    crm = FakeCrm()
    answers = iter([429, 429, 503, 200])

    def coql(request: httpx.Request) -> httpx.Response:
        status = next(answers, 429)
        if status == 200:
            return httpx.Response(
                200, json={"data": []}, headers={"X-API-CREDITS-REMAINING": "4321"}
            )
        return httpx.Response(status, json={"code": "TOO_MANY_REQUESTS"} if status == 429 else {})

    crm.routes["/crm/v8/coql"] = coql
    rows, client = _run(
        crm, lambda c: c.coql("select id from Accounts where id is not null limit 1500")
    )
    assert rows == []
    stats = client.stats
    assert stats.throttled == 2
    assert stats.calls["coql"] == 4
    assert stats.credits == 3
    assert stats.credits_remaining == 4321

    # A storm that outlasts the policy.
    with pytest.raises(ZohoRequestError, match="TOO_MANY_REQUESTS") as info:
        _run(crm, lambda c: c.coql("select id from Accounts where id is not null"))
    assert info.value.status == 429

    crm.routes["/crm/v8/coql"] = lambda r: httpx.Response(503, text="busy")
    with pytest.raises(ZohoRequestError) as info:
        _run(crm, lambda c: c.coql("select id from Accounts where id is not null"))
    assert info.value.code == "http_503"


def test_coql_204_and_max_value_both_ways() -> None:
    crm = FakeCrm()
    crm.routes["/crm/v8/coql"] = lambda r: httpx.Response(204)
    crm.routes["/crm/v2/Accounts"] = lambda r: httpx.Response(
        200, json={"data": [{"Rev_Number": "5339779", "id": "9"}], "info": {"per_page": 1}}
    )

    async def work(client: ZohoClient) -> list[Any]:
        return [
            await client.coql("select id from Accounts where id is not null"),
            await client.max_value("Accounts", "Rev_Number"),
            await client.max_value("Accounts", "Rev_Number", method="v2"),
        ]

    (rows, by_coql, by_v2), client = _run(crm, work)
    assert rows == []
    assert by_coql is None
    assert by_v2 == 5339779
    coql_request = crm.requests[1]
    assert json.loads(coql_request.content) == {
        "select_query": "select Rev_Number from Accounts where Rev_Number is not null "
        "order by Rev_Number desc limit 1"
    }
    v2 = crm.requests[2]
    assert dict(v2.url.params) == {
        "fields": "Rev_Number",
        "sort_by": "Rev_Number",
        "sort_order": "desc",
        "per_page": "1",
    }
    assert client.stats.calls["v2"] == 1
    assert client.stats.calls["coql"] == 2


def test_ids_by_key_chunks_quotes_and_skips_unsafe_keys() -> None:
    crm = FakeCrm()
    queries: list[str] = []

    def coql(request: httpx.Request) -> httpx.Response:
        query = json.loads(request.content)["select_query"]
        queries.append(query)
        inside = query.split(" in (", 1)[1].rsplit(")", 1)[0]
        keys = [k.strip()[1:-1].replace("''", "'") for k in inside.split(", ")]
        data = [
            {"id": f"id-{k}", "Trader_ID": k.lower()} for k in keys if not k.startswith("MISSING")
        ]
        return httpx.Response(200 if data else 204, json={"data": data} if data else None)

    crm.routes["/crm/v8/coql"] = coql
    keys = [f"K{i}" for i in range(230)] + ["O'NEIL", "BAD\\KEY", "MISSING1", "K1"]
    found, _ = _run(crm, lambda c: c.ids_by_key("Accounts", "Trader_ID", keys))
    assert len(queries) == 3
    assert all(q.count("'") >= 2 for q in queries)
    assert "'O''NEIL'" in queries[-1]
    assert "BAD" not in "".join(queries)
    assert found["K0"] == "id-K0"
    assert found["O'NEIL"] == "id-O'NEIL"
    assert "MISSING1" not in found
    assert "BAD\\KEY" not in found
    assert len(found) == 231


# -- against the Zoho sandbox ------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[tuple[str, Any]]:
    app = create_zoho_app(seed=3)
    with ServedApp(app) as served:
        yield served.url, app.state.zoho


def _sandbox_client(url: str, store: MemoryStore | None = None) -> tuple[ZohoClient, TokenProvider]:
    tokens = TokenProvider(
        accounts_base=url,
        client_id=credentials.ZOHO_CLIENT_ID,
        client_secret=credentials.ZOHO_CLIENT_SECRET,
        refresh_token=credentials.ZOHO_REFRESH_TOKEN,
        store=store or MemoryStore(),
        retry=RetryPolicy.for_tests(),
    )
    return ZohoClient(
        api_base=url, tokens=tokens, retry=RetryPolicy.for_tests(), max_connections=10
    ), tokens


def _accounts(n: int, rev0: int = 100, prefix: str = "TR") -> list[dict[str, Any]]:
    return [
        {"Trader_ID": f"{prefix}{i:05d}", "Account_Name": f"Customer {i}", "Rev_Number": rev0 + i}
        for i in range(n)
    ]


def test_sandbox_upsert_coql_max_value_ids(sandbox: tuple[str, Any]) -> None:
    url, state = sandbox
    client, tokens = _sandbox_client(url)

    async def go() -> None:
        try:
            assert await client.max_value("Accounts", "Rev_Number") is None
            records = _accounts(250)
            batches = [records[i : i + 100] for i in range(0, 250, 100)]
            results = await asyncio.gather(
                *(
                    client.upsert("Accounts", b, duplicate_check_fields=["Trader_ID"])
                    for b in batches
                )
            )
            flat = [r for batch in results for r in batch]
            assert [r.action for r in flat] == ["insert"] * 250
            assert all(r.zoho_id for r in flat)

            # Again: every record is matched on Trader_ID and updated, none duplicated.
            changed = [{**r, "Account_Name": r["Account_Name"] + " Ltd"} for r in records[:100]]
            again = await client.upsert("Accounts", changed, duplicate_check_fields=["Trader_ID"])
            assert [r.action for r in again] == ["update"] * 100
            assert [r.zoho_id for r in again] == [r.zoho_id for r in flat[:100]]

            assert await client.max_value("Accounts", "Rev_Number") == 349
            assert await client.max_value("Accounts", "Rev_Number", method="v2") == 349

            keys = [r["Trader_ID"] for r in records] + ["NOPE", "O'BRIEN"]
            ids = await client.ids_by_key("Accounts", "Trader_ID", keys)
            assert ids == {
                rec["Trader_ID"]: res.zoho_id for rec, res in zip(records, flat, strict=True)
            }

            fields = await client.fields("Accounts")
            assert any(f.get("api_name") == "Trader_ID" for f in fields)
        finally:
            await client.aclose()
            await tokens.aclose()

    asyncio.run(go())
    stored = state.records("Accounts")
    assert len(stored) == 250
    assert sorted(r["Trader_ID"] for r in stored) == [f"TR{i:05d}" for i in range(250)]
    assert {r["Account_Name"] for r in stored if r["Trader_ID"] == "TR00007"} == {"Customer 7 Ltd"}
    stats = client.stats
    assert stats.calls["upsert"] == 4
    assert stats.calls["token"] == 1
    assert stats.calls["coql"] == 2 + 3
    assert stats.calls["v2"] == 1
    # 10 + 10 + 5 + 10 for the upserts, 1 per COQL, 1 for v2, 1 for fields
    assert stats.credits == 35 + 5 + 1 + 1
    assert state.stats()["credits_used"] == stats.credits


def test_sandbox_per_record_errors_are_results(sandbox: tuple[str, Any]) -> None:
    url, state = sandbox
    client, tokens = _sandbox_client(url)
    records = [
        {"Trader_ID": "OK1", "Account_Name": "Fine"},
        {"Trader_ID": "BAD1"},  # no Account_Name: mandatory in Zoho
    ]

    async def go() -> list[Any]:
        try:
            return await client.upsert("Accounts", records, duplicate_check_fields=["Trader_ID"])
        finally:
            await client.aclose()
            await tokens.aclose()

    ok, bad = asyncio.run(go())
    assert ok.ok
    assert ok.action == "insert"
    assert not bad.ok
    assert bad.code == "MANDATORY_NOT_FOUND"
    assert bad.api_name == "Account_Name"
    assert [r["Trader_ID"] for r in state.records("Accounts")] == ["OK1"]


def test_sandbox_token_expiry_mid_run_refreshes_once_and_is_shared_by_the_store(
    sandbox: tuple[str, Any],
) -> None:
    url, state = sandbox
    store = MemoryStore()

    async def go() -> None:
        client, tokens = _sandbox_client(url, store)
        try:
            await client.upsert("Accounts", _accounts(10), duplicate_check_fields=["Trader_ID"])
            state.expire_tokens()
            # Ten calls in flight all meet INVALID_TOKEN: still one refresh.
            await asyncio.gather(
                *(
                    client.upsert(
                        "Accounts",
                        _accounts(10, 1000 + 10 * i, f"X{i}-"),
                        duplicate_check_fields=["Trader_ID"],
                    )
                    for i in range(10)
                )
            )
            assert tokens.token_requests == 2
        finally:
            await client.aclose()
            await tokens.aclose()
        # The next run (new client, same store) reuses the refreshed token.
        client2, tokens2 = _sandbox_client(url, store)
        try:
            assert await client2.max_value("Accounts", "Rev_Number") == 1099
            assert tokens2.token_requests == 0
        finally:
            await client2.aclose()
            await tokens2.aclose()

    asyncio.run(go())
    assert state.stats()["tokens_issued"] == 2
    assert len(state.records("Accounts")) == 110


def test_sandbox_429_storm_is_retried_until_it_passes(sandbox: tuple[str, Any]) -> None:
    url, state = sandbox
    state.faults.add(
        [
            _rule({"endpoint": "upsert", "status": 429, "count": 8}),
            _rule({"endpoint": "coql", "status": 503, "count": 2}),
        ],
        seed=11,
    )
    client, tokens = _sandbox_client(url)

    async def go() -> list[Any]:
        try:
            batches = [_accounts(100, 100 * i, f"B{i}-") for i in range(4)]
            results = await asyncio.gather(
                *(
                    client.upsert("Accounts", b, duplicate_check_fields=["Trader_ID"])
                    for b in batches
                )
            )
            top = await client.max_value("Accounts", "Rev_Number")
            return [results, top]
        finally:
            await client.aclose()
            await tokens.aclose()

    results, top = asyncio.run(go())
    assert all(r.ok for batch in results for r in batch)
    assert top == 399
    assert len(state.records("Accounts")) == 400
    assert client.stats.throttled == 8
    assert client.stats.calls["upsert"] == 4 + 8
    assert client.stats.calls["coql"] == 1 + 2


def test_sandbox_storm_longer_than_the_policy_fails_the_call(sandbox: tuple[str, Any]) -> None:
    url, state = sandbox
    state.faults.add([_rule({"endpoint": "coql", "status": 429})], seed=1)
    client, tokens = _sandbox_client(url)

    async def go() -> None:
        try:
            await client.max_value("Accounts", "Rev_Number")
        finally:
            await client.aclose()
            await tokens.aclose()

    with pytest.raises(ZohoRequestError) as info:
        asyncio.run(go())
    assert info.value.code == "TOO_MANY_REQUESTS"
    assert info.value.status == 429
    assert client.stats.calls["coql"] == RetryPolicy.for_tests().attempts


def _rule(data: dict[str, Any]) -> Any:
    from gzsync.sandbox.faults import FaultRule

    return FaultRule.from_json(data)


def test_static_token_source_is_used_and_a_rejected_token_is_not_retried_forever() -> None:
    from gzsync.errors import ZohoAuthError
    from gzsync.zoho.auth import StaticTokenSource

    crm = FakeCrm()
    crm.valid.add("1000.from-connection")
    crm.routes["/crm/v8/coql"] = lambda r: httpx.Response(200, json={"data": [{"id": "7"}]})
    source = StaticTokenSource(lambda: "1000.from-connection")
    client = ZohoClient(
        api_base="https://www.zohoapis.test",
        tokens=source,
        retry=RetryPolicy.for_tests(),
        transport=httpx.MockTransport(crm.handler),
    )

    async def go() -> None:
        try:
            assert await client.coql("select id from Accounts where id is not null") == [
                {"id": "7"}
            ]
            crm.valid.clear()
            with pytest.raises(ZohoAuthError, match="INVALID_TOKEN"):
                await client.coql("select id from Accounts where id is not null")
        finally:
            await client.aclose()

    asyncio.run(go())
    assert len(crm.requests) == 2
    assert client.stats.calls["token"] == 1
