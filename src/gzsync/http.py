"""The one HTTP layer both API clients use: client factory, retry policy, request logging.

- :func:`build_async_client` — an :class:`httpx.AsyncClient` with our timeout, a keep-alive
  pool, TLS verification (a CA bundle path becomes an SSL context) and DEBUG request logging
  (method, redacted URL, status, milliseconds to the response headers).
- :class:`RetryPolicy` — how often and how patiently to retry; production defaults, and
  :meth:`RetryPolicy.for_tests` so tests never sleep.
- :func:`send_with_retries` — one request, retried on transport errors, 5xx and 429 with
  exponential backoff and jitter (stamina), `Retry-After` honoured up to `wait_max`. It returns
  the final response; mapping statuses to errors is the caller's job.
- :func:`retry_attempts` and :class:`RetryableResponse` — the same loop for callers that
  stream a body and must retry the whole read (the Galaxy client).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import os
import ssl
import time
from collections.abc import AsyncIterable, Callable, Mapping
from dataclasses import dataclass

import httpx
import stamina

from gzsync.logs import redact

log = logging.getLogger("gzsync.http")

_T0 = "gzsync.t0"


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: `attempts` in all, exponential waits from `wait_initial` up to
    `wait_max` plus up to `wait_jitter` random seconds, and `timeout` seconds in all."""

    attempts: int = 6
    wait_initial: float = 0.5
    wait_max: float = 30.0
    wait_jitter: float = 1.0
    timeout: float | None = 300.0

    @classmethod
    def for_tests(cls) -> RetryPolicy:
        """The same number of attempts with no waiting at all."""
        return cls(wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)


def build_async_client(
    *,
    base_url: str,
    timeout_s: float,
    verify: bool | str = True,
    max_connections: int = 20,
    headers: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient for one service: `timeout_s` per phase, keep-alive pool, TLS as asked.

    `verify` is True (system CAs), a CA bundle file or directory path, or an explicit False.
    `transport` is the test seam (an :class:`httpx.MockTransport`).
    """
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout_s),
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
        ),
        verify=_ssl_verify(verify),
        headers=dict(headers or {}),
        transport=transport,
        event_hooks={"request": [_mark_start], "response": [_log_response]},
    )


def _ssl_verify(verify: bool | str) -> bool | ssl.SSLContext:
    if isinstance(verify, bool):
        return verify
    # httpx 0.28 deprecates verify=<path>; build the context ourselves.
    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


async def _mark_start(request: httpx.Request) -> None:
    request.extensions[_T0] = time.perf_counter()


async def _log_response(response: httpx.Response) -> None:
    if not log.isEnabledFor(logging.DEBUG):
        return
    request = response.request
    t0 = request.extensions.get(_T0)
    ms = (time.perf_counter() - t0) * 1000.0 if isinstance(t0, float) else -1.0
    log.debug(
        "%s %s -> %d in %.0f ms",
        request.method,
        redact(str(request.url)),
        response.status_code,
        ms,
    )


def parse_retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a `Retry-After` header (seconds or an HTTP date), if present."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def default_retry_on_status(response: httpx.Response) -> float | bool:
    """429 and 5xx are worth another try: the `Retry-After` wait when given, else True.

    Returning False means "final"; a float (even 0.0) or True means "retry".
    """
    if response.status_code == 429 or response.status_code >= 500:
        wait = parse_retry_after(response)
        return True if wait is None else wait
    return False


class RetryableResponse(Exception):
    """Raised inside a retry block for a response that deserves another try."""

    def __init__(self, response: httpx.Response, wait: float | None, endpoint: str) -> None:
        self.response = response
        self.wait = wait
        self.endpoint = endpoint
        super().__init__(f"{endpoint}: HTTP {response.status_code}")


def _is_retryable_transport_error(exc: httpx.TransportError) -> bool:
    # Our own mistakes and a certificate that does not verify will not heal by waiting.
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return False
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return False
        cause = cause.__cause__ or cause.__context__
    return True


#: Tries of a call whose connection is refused (nothing listens on that port). A closed
#: port is a wrong URL far more often than a blip, so it fails within about two seconds
#: instead of the whole policy (19 s by default); a service restarting meanwhile is caught
#: by the next run, as any failed call is.
REFUSED_ATTEMPTS = 3


def connection_refused(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) is a refused TCP connection."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def failure_text(exc: httpx.TransportError, policy: RetryPolicy) -> str:
    """`ConnectError after 6 attempts`, or `connection refused after 3 attempts`."""
    if connection_refused(exc):
        tries = min(policy.attempts, REFUSED_ATTEMPTS)
        return f"connection refused (nothing listens there) after {tries} attempts"
    return f"{type(exc).__name__} after {policy.attempts} attempts"


def _backoff_hook(policy: RetryPolicy, endpoint: str) -> Callable[[Exception], bool | float]:
    refused = 0

    def hook(exc: Exception) -> bool | float:
        nonlocal refused
        if isinstance(exc, RetryableResponse):
            log.info("%s answered HTTP %d; retrying", endpoint, exc.response.status_code)
            if exc.wait is None:
                return True
            # Honour Retry-After, but never beyond the policy's longest wait.
            return min(exc.wait, policy.wait_max)
        if isinstance(exc, httpx.TransportError) and _is_retryable_transport_error(exc):
            if connection_refused(exc):
                refused += 1
                if refused >= REFUSED_ATTEMPTS:
                    return False
            log.info("%s failed (%s); retrying", endpoint, type(exc).__name__)
            return True
        return False

    return hook


def retry_attempts(policy: RetryPolicy, *, endpoint: str) -> AsyncIterable[stamina.Attempt]:
    """stamina attempts that retry :class:`RetryableResponse` and transient transport errors.

    Use as ``async for attempt in retry_attempts(...): with attempt: ...``. After the last
    attempt the last exception propagates.
    """
    return stamina.retry_context(
        on=_backoff_hook(policy, endpoint),
        attempts=policy.attempts,
        timeout=policy.timeout,
        wait_initial=policy.wait_initial,
        wait_max=policy.wait_max,
        wait_jitter=policy.wait_jitter,
    )


def _unbound(response: httpx.Response) -> httpx.Response:
    """Break the cycle httpx leaves between a read response and its stream.

    httpx binds a response and its body stream to each other (`BoundAsyncStream`), so even a
    fully read response lives until the cyclic collector runs — which large byte strings do
    not trigger: a run reading COQL pages of ~1 MB (full reads, reconcile) grew by a page per
    call. Once the body is read and the stream closed, a plain byte stream of the same body
    serves every later use, and the response is freed when its last reference goes.
    """
    if response.is_closed and response.is_stream_consumed:
        response.stream = httpx.ByteStream(response.content)
    return response


async def send_with_retries(
    client: httpx.AsyncClient,
    request_factory: Callable[[], httpx.Request],
    *,
    policy: RetryPolicy,
    endpoint: str,
    retry_on_status: Callable[[httpx.Response], float | bool] = default_retry_on_status,
) -> httpx.Response:
    """Send a fresh request from `request_factory` until it gets a final answer.

    Transport errors (connect, read, timeouts, dropped connections), and responses for which
    `retry_on_status` returns a wait or True (by default 429 and 5xx), are retried under
    `policy`. Returns the final response, whatever its status — including the last retryable
    one when the policy gives up; raises the transport error when the last attempt failed so.
    `endpoint` names the call in logs (never a URL with secrets).
    """
    try:
        async for attempt in retry_attempts(policy, endpoint=endpoint):
            with attempt:
                response = _unbound(await client.send(request_factory()))
                decision = retry_on_status(response)
                if decision is not False:
                    wait = None if decision is True else float(decision)
                    raise RetryableResponse(response, wait, endpoint)
                return response
    except RetryableResponse as exc:
        log.warning(
            "%s still answered HTTP %d after %d attempts",
            endpoint,
            exc.response.status_code,
            policy.attempts,
        )
        return exc.response
    raise AssertionError("unreachable: stamina ends with a result or an exception")
