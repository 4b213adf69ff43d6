"""Credits: the reserve, the stop decision, and the two kinds of 429 told apart."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.zoho.sandbox_client import sandbox_tokens

from gzsync.errors import ZohoCreditsExhausted, ZohoRequestError
from gzsync.http import RetryPolicy
from gzsync.sandbox.faults import FaultRule
from gzsync.sandbox.serve import ServedApp
from gzsync.sandbox.zoho import ZohoState, create_zoho_app
from gzsync.zoho.client import ZohoClient, ZohoStats
from gzsync.zoho.credits import (
    BASE_ALLOWANCE,
    CreditReserve,
    credits_used_up,
    estimated_left,
    reserve_stop,
)

T0 = dt.datetime(2026, 12, 1, 14, 2, tzinfo=dt.UTC)


def test_reserve_is_a_share_or_a_number() -> None:
    assert CreditReserve.parse("10%").credits(60_000) == 6_000
    assert CreditReserve.parse(" 12.5 % ").credits(1_000) == 125
    assert CreditReserve.parse("10%").credits(None) == BASE_ALLOWANCE // 10
    assert CreditReserve.parse("5000").credits(60_000) == 5_000
    for bad in ("ten", "-5", "150%", "5 000"):
        with pytest.raises(ValueError, match="reserve"):
            CreditReserve.parse(bad)


def test_stop_says_why_and_when_the_window_frees_up() -> None:
    reserve = CreditReserve.parse("10%")
    assert reserve_stop(left=None, reserve=reserve, daily_allowance=60_000) is None
    assert reserve_stop(left=6_500, reserve=reserve, daily_allowance=60_000, next_cost=500) is None
    stop = reserve_stop(
        left=6_400, reserve=reserve, daily_allowance=60_000, next_cost=500, first_spent=T0
    )
    assert stop is not None
    assert (stop.left, stop.reserve) == (6_400, 6_000)
    assert stop.frees_from == T0 + dt.timedelta(hours=24)
    assert "6,000 (10% of 60,000)" in stop.message
    assert "2026-12-02 14:02 UTC" in stop.message
    assert "ZOHO_CREDIT_RESERVE" in stop.message


@given(
    left=st.integers(-10, 200_000),
    cost=st.integers(0, 600),
    amount=st.integers(0, 100_000),
)
def test_stop_exactly_when_the_next_call_would_cross_the_reserve(
    left: int, cost: int, amount: int
) -> None:
    stop = reserve_stop(
        left=left, reserve=CreditReserve(amount, False), daily_allowance=None, next_cost=cost
    )
    assert (stop is not None) == (left - cost < amount)


def test_credits_left_from_the_header_and_our_own_count() -> None:
    stats = ZohoStats()
    assert estimated_left(stats) is None
    assert estimated_left(stats, daily_allowance=1_000) == 1_000
    stats.credits = 40
    assert estimated_left(stats, daily_allowance=1_000) == 960
    stats.credits_remaining, stats.credits_at_header, stats.credits = 300, 40, 100
    assert estimated_left(stats, daily_allowance=1_000) == 240  # Zoho's figure wins


def _429(body: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(429, json=body, headers=headers)


@pytest.mark.parametrize(
    ("response", "left", "used_up"),
    [
        (_429({"code": "TOO_MANY_REQUESTS", "message": "too many requests"}), None, False),
        (_429({"code": "TOO_MANY_REQUESTS", "message": "API credits exhausted"}), None, True),
        (_429({"code": "TOO_MANY_REQUESTS", "details": {"reason": "credit limit"}}), None, True),
        (_429({"code": "TOO_MANY_REQUESTS"}, **{"X-API-CREDITS-REMAINING": "0"}), None, True),
        (_429({"code": "TOO_MANY_REQUESTS"}, **{"X-API-CREDITS-REMAINING": "90"}), None, False),
        (_429({"code": "TOO_MANY_REQUESTS"}), 0, True),  # our own count says none left
        (_429({"code": "TOO_MANY_REQUESTS"}), 50, False),
        (httpx.Response(200, json={}), 0, False),
    ],
)
def test_which_429_means_credits_used_up(
    response: httpx.Response, left: int | None, used_up: bool
) -> None:
    assert credits_used_up(response, left) is used_up


@pytest.fixture
def sandbox() -> Iterator[tuple[str, ZohoState]]:
    app = create_zoho_app()
    with ServedApp(app) as served:
        yield served.url, app.state.zoho


def _upsert(url: str, batches: int) -> tuple[ZohoClient, BaseException | None]:
    tokens = sandbox_tokens(url)
    client = ZohoClient(api_base=url, tokens=tokens, retry=RetryPolicy.for_tests())

    async def go() -> BaseException | None:
        try:
            for b in range(batches):
                records = [{"Trader_ID": f"T{b}-{i}", "Account_Name": "N"} for i in range(100)]
                await client.upsert("Accounts", records, duplicate_check_fields=["Trader_ID"])
        except ZohoRequestError as exc:
            return exc
        finally:
            await client.aclose()
            await tokens.aclose()
        return None

    return client, asyncio.run(go())


def test_credits_used_up_is_not_retried_and_says_so(sandbox: tuple[str, ZohoState]) -> None:
    url, state = sandbox
    state.set_limits(daily_credits=35)  # three batches of 100 (10 credits each), not four
    client, error = _upsert(url, 5)
    assert isinstance(error, ZohoCreditsExhausted)
    assert "credits" in str(error)
    assert client.stats.calls["upsert"] == 4  # the fourth was refused once, never retried
    assert client.stats.credits_exhausted == 1
    assert client.stats.credits == 30 == state.credits.used
    assert client.stats.credits_remaining == 5  # the header Zoho sent past half the budget


def test_a_concurrency_429_is_still_retried(sandbox: tuple[str, ZohoState]) -> None:
    url, state = sandbox
    state.faults.add([FaultRule.from_json({"endpoint": "upsert", "status": 429, "count": 3})], 5)
    client, error = _upsert(url, 2)
    assert error is None
    assert client.stats.calls["upsert"] == 2 + 3
    assert (client.stats.throttled, client.stats.credits_exhausted) == (3, 0)
    assert len(state.records("Accounts")) == 200
