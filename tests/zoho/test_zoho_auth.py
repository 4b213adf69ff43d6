"""TokenProvider: cached across instances through the store, one refresh for many callers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.kvstore import MemoryStore

from gzsync.errors import ZohoAuthError, ZohoError
from gzsync.http import RetryPolicy
from gzsync.zoho.auth import TOKEN_KEY, StaticTokenSource, TokenProvider

SECRET = "client-secret-XYZ"
REFRESH = "1000.refresh-ABC"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class TokenServer:
    """A scripted /oauth/v2/token: mints tok-1, tok-2, ... unless told to answer otherwise."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answer: Callable[[httpx.Request], httpx.Response] | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answer is not None:
            return self.answer(request)
        return httpx.Response(
            200,
            json={
                "access_token": f"1000.tok-{len(self.requests)}",
                "expires_in": 3600,
                "api_domain": "https://www.zohoapis.eu",
                "token_type": "Bearer",
            },
        )


def _provider(
    server: TokenServer, store: MemoryStore, clock: Clock, **kwargs: Any
) -> TokenProvider:
    return TokenProvider(
        accounts_base="https://accounts.zoho.test",
        client_id="1000.CLIENT",
        client_secret=SECRET,
        refresh_token=REFRESH,
        store=store,
        retry=RetryPolicy.for_tests(),
        transport=httpx.MockTransport(server.handler),
        clock=clock,
        **kwargs,
    )


def test_refresh_request_shape_and_store_entry() -> None:
    server, store, clock = TokenServer(), MemoryStore(), Clock()
    provider = _provider(server, store, clock)
    assert asyncio.run(provider.token()) == "1000.tok-1"
    (request,) = server.requests
    assert request.method == "POST"
    assert str(request.url) == "https://accounts.zoho.test/oauth/v2/token"
    form = dict(httpx.QueryParams(request.content.decode()))
    assert form == {
        "grant_type": "refresh_token",
        "client_id": "1000.CLIENT",
        "client_secret": SECRET,
        "refresh_token": REFRESH,
    }
    saved = json.loads(store.kv[TOKEN_KEY])
    assert saved == {
        "access_token": "1000.tok-1",
        "expires_at": clock.now + 3600,
        "api_domain": "https://www.zohoapis.eu",
    }
    assert store.ttls[TOKEN_KEY] == 3600
    assert provider.token_requests == 1


def test_token_is_reused_across_instances_until_near_expiry() -> None:
    server, store, clock = TokenServer(), MemoryStore(), Clock()

    async def go() -> list[str]:
        out = [await _provider(server, store, clock).token()]
        clock.now += 3000  # 600 s left: still beyond the 300 s skew
        second = _provider(server, store, clock)
        out.append(await second.token())
        out.append(await second.token())
        clock.now += 400  # 200 s left: refresh
        out.append(await second.token())
        out.append(await _provider(server, store, clock).token())
        return out

    assert asyncio.run(go()) == ["1000.tok-1"] * 3 + ["1000.tok-2"] * 2
    assert len(server.requests) == 2


def test_concurrent_callers_share_one_refresh() -> None:
    server, store, clock = TokenServer(), MemoryStore(), Clock()
    provider = _provider(server, store, clock)

    async def go() -> list[str]:
        return await asyncio.gather(*(provider.token() for _ in range(50)))

    assert set(asyncio.run(go())) == {"1000.tok-1"}
    assert len(server.requests) == 1


def test_invalidate_drops_only_the_current_token() -> None:
    server, store, clock = TokenServer(), MemoryStore(), Clock()
    provider = _provider(server, store, clock)

    async def go() -> list[str]:
        first = await provider.token()
        await provider.invalidate(first)
        assert TOKEN_KEY not in store.kv
        second = await provider.token()
        # Late callers still holding the first token must not throw the new one away.
        await asyncio.gather(*(provider.invalidate(first) for _ in range(10)))
        third = await provider.token()
        return [first, second, third]

    assert asyncio.run(go()) == ["1000.tok-1", "1000.tok-2", "1000.tok-2"]
    assert len(server.requests) == 2


def test_expires_in_sec_variant() -> None:
    server, store, clock = TokenServer(), MemoryStore(), Clock()
    server.answer = lambda r: httpx.Response(
        200, json={"access_token": "1000.t", "expires_in": 3600000, "expires_in_sec": 3600}
    )
    asyncio.run(_provider(server, store, clock).token())
    assert json.loads(store.kv[TOKEN_KEY])["expires_at"] == clock.now + 3600


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        ({"error": "invalid_client"}, 200, "invalid_client", "ZOHO_CLIENT_ID"),
        (
            {"error": "invalid_client_secret"},
            200,
            "invalid_client_secret",
            "ZOHO_CLIENT_SECRET is wrong",
        ),
        (
            {"error": "invalid_code"},
            200,
            "invalid_code",
            "ZOHO_REFRESH_TOKEN is invalid or revoked",
        ),
        (
            {
                "error_description": "You have made too many requests continuously.",
                "error": "Access Denied",
                "status": "failure",
            },
            400,
            "Access Denied",
            "wait up to 10 minutes",
        ),
        ({"error": "Access Denied"}, 200, "Access Denied", "throttled"),
    ],
)
def test_token_endpoint_errors(body: dict[str, Any], status: int, code: str, words: str) -> None:
    server, store, clock = TokenServer(), MemoryStore(), Clock()
    server.answer = lambda r: httpx.Response(status, json=body)
    with pytest.raises(ZohoAuthError, match=words) as info:
        asyncio.run(_provider(server, store, clock).token())
    assert info.value.code == code
    assert info.value.endpoint == "zoho token"
    assert SECRET not in str(info.value)
    assert REFRESH not in str(info.value)
    assert len(server.requests) == 1  # never retried: asking again prolongs a throttle
    assert TOKEN_KEY not in store.kv


def test_throttle_with_429_is_not_retried_either() -> None:
    server, store, clock = TokenServer(), MemoryStore(), Clock()
    server.answer = lambda r: httpx.Response(429, json={"error": "Access Denied"})
    with pytest.raises(ZohoAuthError, match="throttled"):
        asyncio.run(_provider(server, store, clock).token())
    assert len(server.requests) == 1


def test_server_errors_are_retried_and_unreachable_is_a_zoho_error() -> None:
    server, store, clock = TokenServer(), MemoryStore(), Clock()
    answers = iter([httpx.Response(503), httpx.Response(502)])
    server.answer = lambda r: (
        next(answers, None)
        or httpx.Response(200, json={"access_token": "1000.late", "expires_in": 3600})
    )
    assert asyncio.run(_provider(server, store, clock).token()) == "1000.late"
    assert len(server.requests) == 3

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    server.answer = refuse
    store.kv.clear()
    with pytest.raises(ZohoError, match="unreachable"):
        asyncio.run(_provider(server, store, clock).token())


def test_non_json_answer() -> None:
    server, store, clock = TokenServer(), MemoryStore(), Clock()
    server.answer = lambda r: httpx.Response(200, text="<html>maintenance</html>")
    with pytest.raises(ZohoAuthError, match="not JSON"):
        asyncio.run(_provider(server, store, clock).token())


class _CachingSource:
    """A token source that caches its token (like a Catalyst Connection) until reset."""

    def __init__(self, tokens: list[str]) -> None:
        self._tokens = iter(tokens)
        self._current: str | None = None
        self.resets = 0

    def __call__(self) -> str:
        if self._current is None:
            self._current = next(self._tokens)
        return self._current

    def reset(self) -> None:
        self.resets += 1
        self._current = None


def test_static_source_asks_a_caching_source_anew_after_zoho_rejects_its_token() -> None:
    source = _CachingSource(["1000.conn-1", "1000.conn-2"])
    tokens = StaticTokenSource(source)

    async def go() -> list[str]:
        first = await tokens.token()
        await tokens.invalidate(first)
        return [first, await tokens.token()]

    assert asyncio.run(go()) == ["1000.conn-1", "1000.conn-2"]
    assert source.resets == 1


def test_static_source_refuses_a_token_zoho_rejected_when_no_new_one_comes() -> None:
    tokens = StaticTokenSource("1000.fixed")

    async def go() -> None:
        await tokens.invalidate(await tokens.token())
        await tokens.token()

    with pytest.raises(ZohoAuthError):
        asyncio.run(go())
