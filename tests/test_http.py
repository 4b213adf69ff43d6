"""The shared HTTP layer: retries on transport errors, 5xx and 429, Retry-After, logging."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import gc
import io
import logging
import ssl
import weakref
from collections.abc import Callable, Iterator

import certifi
import httpx
import pytest
import stamina
from stamina.instrumentation import RetryDetails, set_on_retry_hooks

from gzsync.http import (
    RetryPolicy,
    build_async_client,
    parse_retry_after,
    send_with_retries,
)
from gzsync.logs import configure_logging, forget_secrets, register_secret

Handler = Callable[[httpx.Request], httpx.Response]


def _scripted(*steps: int | Exception | httpx.Response) -> tuple[Handler, list[httpx.Request]]:
    """A MockTransport handler answering each request with the next step (the last repeats)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = steps[min(len(seen), len(steps)) - 1]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return httpx.Response(step, json={"n": len(seen)})

    return handler, seen


def _send(handler: Handler, policy: RetryPolicy | None = None, **kwargs: object) -> httpx.Response:
    async def go() -> httpx.Response:
        client = build_async_client(
            base_url="http://svc.test/prefix",
            timeout_s=5,
            transport=httpx.MockTransport(handler),
        )
        async with client:
            return await send_with_retries(
                client,
                lambda: client.build_request("GET", "/thing", params={"a": "1"}),
                policy=policy or RetryPolicy.for_tests(),
                endpoint="test thing",
                **kwargs,  # type: ignore[arg-type]
            )

    return asyncio.run(go())


@pytest.fixture(autouse=True)
def _real_policy() -> Iterator[None]:
    """These tests check attempts and waits themselves: no stamina testing mode here.

    The policies used never sleep more than a few milliseconds.
    """
    was_testing = stamina.is_testing()
    stamina.set_testing(False)
    yield
    stamina.set_testing(was_testing, attempts=6)


@pytest.fixture
def retry_waits() -> Iterator[list[float]]:
    """The waits stamina schedules between attempts."""
    waits: list[float] = []

    def hook(details: RetryDetails) -> None:
        waits.append(details.wait_for)

    set_on_retry_hooks([hook])
    yield waits
    set_on_retry_hooks(None)


def test_503_then_200_is_retried(retry_waits: list[float]) -> None:
    handler, seen = _scripted(503, 200)
    response = _send(handler)
    assert response.status_code == 200
    assert len(seen) == 2
    assert str(seen[0].url) == "http://svc.test/prefix/thing?a=1"
    assert retry_waits == [0.0]


def test_429_with_retry_after_waits_as_told(retry_waits: list[float]) -> None:
    throttled = httpx.Response(
        429, headers={"Retry-After": "0.02"}, json={"code": "TOO_MANY_REQUESTS"}
    )
    handler, seen = _scripted(throttled, 200)
    # A default backoff of 5 s would be used without the header.
    policy = RetryPolicy(wait_initial=5.0, wait_max=10.0, wait_jitter=0.0)
    response = _send(handler, policy)
    assert response.status_code == 200
    assert len(seen) == 2
    assert retry_waits == [pytest.approx(0.02)]


def test_retry_after_is_capped_at_wait_max(retry_waits: list[float]) -> None:
    throttled = httpx.Response(429, headers={"Retry-After": "3600"})
    handler, _ = _scripted(throttled, 200)
    policy = RetryPolicy(wait_initial=0.0, wait_max=0.01, wait_jitter=0.0)
    assert _send(handler, policy).status_code == 200
    assert retry_waits == [pytest.approx(0.01)]


def test_transport_errors_are_retried() -> None:
    handler, seen = _scripted(
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("cut"),
        200,
    )
    assert _send(handler).status_code == 200
    assert len(seen) == 4


def test_gives_up_after_the_policy_with_the_last_response() -> None:
    handler, seen = _scripted(503)
    response = _send(handler, RetryPolicy(attempts=4, wait_initial=0, wait_max=0, wait_jitter=0))
    assert response.status_code == 503
    assert len(seen) == 4


def test_gives_up_after_the_policy_raising_the_transport_error() -> None:
    handler, seen = _scripted(httpx.ConnectError("refused"))
    with pytest.raises(httpx.ConnectError):
        _send(handler)
    assert len(seen) == RetryPolicy().attempts


@pytest.mark.parametrize("status", [200, 201, 204, 400, 401, 404, 409])
def test_final_statuses_are_not_retried(status: int) -> None:
    handler, seen = _scripted(status, 200)
    assert _send(handler).status_code == status
    assert len(seen) == 1


def test_certificate_failure_is_not_retried() -> None:
    error = httpx.ConnectError("certificate verify failed")
    error.__cause__ = ssl.SSLCertVerificationError("self-signed")
    handler, seen = _scripted(error, 200)
    with pytest.raises(httpx.ConnectError):
        _send(handler)
    assert len(seen) == 1


def test_custom_status_rule() -> None:
    handler, seen = _scripted(409, 200)
    response = _send(handler, retry_on_status=lambda r: r.status_code == 409)
    assert response.status_code == 200
    assert len(seen) == 2


def test_parse_retry_after() -> None:
    def response(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value})

    assert parse_retry_after(response("7")) == 7.0
    assert parse_retry_after(response("-3")) == 0.0
    assert parse_retry_after(response("soon")) is None
    assert parse_retry_after(httpx.Response(429)) is None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    waited = parse_retry_after(response(email.utils.format_datetime(later, usegmt=True)))
    assert waited is not None
    assert 100 < waited <= 120


def test_debug_log_has_method_redacted_url_status_and_ms() -> None:
    forget_secrets()
    register_secret("hunter22")
    stream = io.StringIO()
    configure_logging(debug=True, stream=stream)
    try:

        async def go() -> None:
            client = build_async_client(
                base_url="http://svc.test/pre",
                timeout_s=5,
                transport=httpx.MockTransport(lambda r: httpx.Response(204)),
            )
            async with client:
                await client.get("/auth", params={"username": "bob", "password": "hunter22"})

        asyncio.run(go())
    finally:
        logging.getLogger("gzsync").handlers.clear()
        forget_secrets()
    out = stream.getvalue()
    assert "hunter22" not in out
    assert "GET http://svc.test/pre/auth?username=bob&password=*** -> 204 in" in out
    assert " ms" in out


def test_client_factory_settings() -> None:
    async def go() -> None:
        client = build_async_client(
            base_url="https://erp.test/apitest",
            timeout_s=7.5,
            verify=certifi.where(),
            headers={"Accept": "application/json"},
        )
        async with client:
            assert client.timeout.read == 7.5
            assert client.timeout.connect == 7.5
            assert client.headers["Accept"] == "application/json"
            assert str(client.build_request("GET", "/auth").url) == "https://erp.test/apitest/auth"

    asyncio.run(go())


def test_a_read_response_is_freed_without_the_cycle_collector() -> None:
    """A large page must not wait for the cyclic collector (which big byte strings do not
    trigger): once read, nothing ties the response to its stream any more."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 1_000_000)

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        response = _send(handler)
        assert response.content == b"x" * 1_000_000  # the body still reads after the send
        gone = weakref.ref(response)
        del response
        assert gone() is None
    finally:
        if was_enabled:
            gc.enable()
