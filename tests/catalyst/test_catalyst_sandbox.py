"""The Catalyst sandbox console itself: the limits, refusals and delays Catalyst documents,
as zcatalyst-sdk's requests meet them."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import zcatalyst_sdk
from fake_console import ConsoleState
from zcatalyst_sdk.exceptions import CatalystAPIError

from gzsync.sandbox.catalyst import (
    ADMIN_TOKEN,
    PROJECT_ID,
    PROJECT_KEY,
    create_catalyst_app,
)
from gzsync.sandbox.faults import FaultRule

HEADERS = {"Authorization": f"Zoho-oauthtoken {ADMIN_TOKEN}", "PROJECT_ID": PROJECT_KEY}


def _base(url: str, table: str) -> str:
    return f"{url}/baas/v1/project/{PROJECT_ID}/nosqltable/{table}/item"


def _item(sk: str, **extra: Any) -> dict[str, Any]:
    return {"item": {"pk": {"S": "p"}, "sk": {"S": sk}, **extra}}


@pytest.fixture
def url(console_server: tuple[str, ConsoleState], console: ConsoleState) -> str:
    return console_server[0]


def test_write_and_read_limits(url: str, table_name: str) -> None:
    base = _base(url, table_name)
    too_many = httpx.post(base, json=[_item(str(n)) for n in range(26)], headers=HEADERS)
    assert too_many.status_code == 400
    assert too_many.json()["data"]["error_code"] == "INVALID_INPUT"
    ok = httpx.post(base, json=[_item(str(n)) for n in range(25)], headers=HEADERS)
    assert ok.json()["data"]["size"] == 25
    keys = [{"pk": {"S": "p"}, "sk": {"S": str(n)}} for n in range(101)]
    assert httpx.post(base + "/fetch", json={"keys": keys}, headers=HEADERS).status_code == 400
    fetched = httpx.post(
        base + "/fetch", json={"keys": keys[:100], "consistent_read": True}, headers=HEADERS
    )
    assert fetched.json()["data"]["size"] == 25
    big = _item("big", blob={"S": "x" * (400 * 1024)})
    assert httpx.post(base, json=[big], headers=HEADERS).status_code == 400
    query = {"key_condition": {"attribute": "pk", "operator": "equals", "value": {"S": "p"}}}
    assert (
        httpx.post(base + "/query", json={**query, "limit": 101}, headers=HEADERS).status_code
        == 400
    )


def test_non_consistent_reads_see_a_late_replica(
    url: str, console: ConsoleState, table_name: str
) -> None:
    base = _base(url, table_name)
    httpx.post(base, json=[_item("a")], headers=HEADERS).raise_for_status()
    keys = {"keys": [{"pk": {"S": "p"}, "sk": {"S": "a"}}]}
    assert httpx.post(base + "/fetch", json=keys, headers=HEADERS).json()["data"]["size"] == 0
    consistent = {**keys, "consistent_read": True}
    assert httpx.post(base + "/fetch", json=consistent, headers=HEADERS).json()["data"]["size"] == 1
    console.replica_lag_s = 0.0
    try:
        assert httpx.post(base + "/fetch", json=keys, headers=HEADERS).json()["data"]["size"] == 1
    finally:
        console.replica_lag_s = 3600.0


def test_partial_fault_fails_items_on_their_own(
    url: str, console: ConsoleState, table_name: str
) -> None:
    console.faults.add([FaultRule.from_json({"endpoint": "nosql:insert", "action": "partial"})])
    answer = httpx.post(
        _base(url, table_name), json=[_item(str(n)) for n in range(4)], headers=HEADERS
    )
    assert answer.status_code == 200
    statuses = [a["status"] for a in answer.json()["data"]["create"]]
    assert statuses == ["success", "failure", "success", "failure"]
    with console.lock:
        assert set(console.tables[table_name]) == {("p", "0"), ("p", "2")}


def test_calls_are_counted_by_operation(url: str, console: ConsoleState, table_name: str) -> None:
    app = zcatalyst_sdk.initialize_app(name="sandbox-stats")
    table = app.nosql().get_table(table_name)
    table.insert_items(_item("a"))
    table.fetch_item({"keys": [{"pk": {"S": "p"}, "sk": {"S": "a"}}]})
    table.delete_items({"keys": {"pk": {"S": "p"}, "sk": {"S": "a"}}})
    segment = app.cache().segment()
    segment.put("k", "v", 1)
    segment.get("k")
    stats = httpx.get(url + "/__sandbox/stats").json()
    assert stats["calls"] == {
        "nosql:insert": 1,
        "nosql:fetch": 1,
        "nosql:delete": 1,
        "cache:put": 1,
        "cache:get": 1,
    }
    assert stats["nosql_calls"] == 3
    assert stats["bytes_in"] > 0
    assert stats["bytes_out"] > 0


def test_cache_value_and_expiry_limits(url: str) -> None:
    app = zcatalyst_sdk.initialize_app(name="sandbox-cache")
    segment = app.cache().segment()
    with pytest.raises(CatalystAPIError) as too_long:
        segment.put("k", "x" * 16_001, 1)
    assert too_long.value.status_code == 400
    with pytest.raises(CatalystAPIError):
        segment.put("k", "v", 49)
    with pytest.raises(CatalystAPIError) as absent:
        segment.get("absent")
    assert absent.value.status_code == 404


def test_calls_above_the_concurrency_limit_get_429() -> None:
    """Two calls in flight against a limit of one: the second is refused, not queued."""
    app = create_catalyst_app(latency_ms=200, concurrency=1)
    transport = httpx.ASGITransport(app=app)
    body = [_item("a")]

    async def both() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            path = _base("", "t")
            return await asyncio.gather(
                client.post(path, json=body, headers=HEADERS),
                client.post(path, json=body, headers=HEADERS),
            )

    statuses = sorted(r.status_code for r in asyncio.run(both()))
    assert statuses == [200, 429]
    console = app.state.console
    assert console.throttled == 1
    assert console.stats_json()["calls"]["nosql:insert"] == 2
