"""Zoho OAuth access tokens from a refresh token, cached in memory and in the state store.

Zoho throttles token minting (about 10 per 10 minutes per refresh token, zoho-crm-api.md
§1.2) and a token lives an hour, so a token is reused across runs — through the state store
key `zoho.token` — until `skew_s` before it expires. Concurrent callers share one refresh.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from gzsync.errors import ZohoAuthError, ZohoError
from gzsync.http import (
    RetryPolicy,
    build_async_client,
    default_retry_on_status,
    failure_text,
    send_with_retries,
)
from gzsync.logs import redact, register_secret
from gzsync.state.store import KeyValueStore

log = logging.getLogger("gzsync.zoho")

#: State store key: JSON `{"access_token": ..., "expires_at": epoch s, "api_domain": ...}`.
TOKEN_KEY = "zoho.token"  # noqa: S105 - a store key, not a secret
_ENDPOINT = "zoho token"

# Token endpoint `error` values and what the operator should do about them.
_ERRORS: dict[str, str] = {
    "invalid_client": (
        "Zoho does not know ZOHO_CLIENT_ID (invalid_client); check the client id and that "
        "ZOHO_DC is the data centre the client was registered in"
    ),
    "invalid_client_secret": "ZOHO_CLIENT_SECRET is wrong (invalid_client_secret)",
    "invalid_code": "ZOHO_REFRESH_TOKEN is invalid or revoked (invalid_code)",
}
_THROTTLED = (
    "Zoho refused to create an access token: token creation is throttled (Access Denied). "
    "Zoho allows about 10 new tokens per 10 minutes per refresh token; reuse the cached "
    "token and wait up to 10 minutes before retrying"
)


class TokenSource(Protocol):
    """What :class:`~gzsync.zoho.client.ZohoClient` needs to authorise its calls."""

    token_requests: int

    async def token(self) -> str:
        """A valid access token."""
        ...

    async def invalidate(self, token: str) -> None:
        """Zoho rejected `token`: do not hand it out again."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Token:
    access_token: str
    expires_at: float
    api_domain: str | None


class TokenProvider:
    """Hands out a valid access token, minting one only when the cached one is near expiry."""

    def __init__(
        self,
        *,
        accounts_base: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        store: KeyValueStore,
        timeout_s: float = 20.0,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing is safe
        skew_s: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        register_secret(client_secret)
        register_secret(refresh_token)
        self._form = {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        }
        self._store = store
        self._retry = retry
        self._skew_s = skew_s
        self._clock = clock
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        #: Requests sent to the token endpoint (retries included).
        self.token_requests = 0
        self._client = build_async_client(
            base_url=accounts_base, timeout_s=timeout_s, max_connections=2, transport=transport
        )

    def _fresh(self, token: _Token | None) -> bool:
        return token is not None and token.expires_at - self._skew_s > self._clock()

    async def token(self) -> str:
        """A valid access token: from memory, else the state store, else a refresh."""
        current = self._token
        if self._fresh(current):
            assert current is not None
            return current.access_token
        async with self._lock:
            current = self._token
            if not self._fresh(current):
                current = self._load()
            if not self._fresh(current):
                current = await self._refresh()
                self._save(current)
            assert current is not None
            self._token = current
            return current.access_token

    @property
    def api_domain(self) -> str | None:
        """The `api_domain` Zoho returned with the current token, if known."""
        return self._token.api_domain if self._token else None

    async def invalidate(self, token: str) -> None:
        """Forget `token` (Zoho answered INVALID_TOKEN) so the next :meth:`token` refreshes.

        A token that was already replaced is left alone, so many callers failing with the
        same old token cause one refresh, not many.
        """
        async with self._lock:
            if self._token is not None and self._token.access_token == token:
                self._token = None
            stored = self._load()
            if stored is not None and stored.access_token == token:
                self._store.kv_delete(TOKEN_KEY)

    def _load(self) -> _Token | None:
        raw = self._store.kv_get(TOKEN_KEY)
        if not raw:
            return None
        try:
            data = json.loads(raw)
            token = _Token(
                access_token=str(data["access_token"]),
                expires_at=float(data["expires_at"]),
                api_domain=data.get("api_domain"),
            )
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring an unreadable Zoho token in the state store")
            return None
        register_secret(token.access_token)
        return token

    def _save(self, token: _Token) -> None:
        value = json.dumps(
            {
                "access_token": token.access_token,
                "expires_at": token.expires_at,
                "api_domain": token.api_domain,
            }
        )
        self._store.kv_put(TOKEN_KEY, value, max(1.0, token.expires_at - self._clock()))

    async def _refresh(self) -> _Token:
        def request() -> httpx.Request:
            self.token_requests += 1
            return self._client.build_request("POST", "oauth/v2/token", data=self._form)

        try:
            response = await send_with_retries(
                self._client,
                request,
                policy=self._retry,
                endpoint=_ENDPOINT,
                retry_on_status=_retry_unless_throttled,
            )
        except httpx.TransportError as exc:
            raise ZohoError(
                f"Zoho accounts server unreachable: {failure_text(exc, self._retry)} "
                f"({redact(str(exc))[:200] or 'no detail'})",
                endpoint=_ENDPOINT,
            ) from None
        status = response.status_code
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ZohoAuthError(
                f"Zoho token endpoint answered HTTP {status} with a body that is not JSON",
                endpoint=_ENDPOINT,
                status=status,
            )
        error = body.get("error")
        if error == "Access Denied":
            raise ZohoAuthError(_THROTTLED, endpoint=_ENDPOINT, status=status, code="Access Denied")
        if error:
            code = str(error)
            message = _ERRORS.get(code, f"Zoho token endpoint refused the refresh: {code}")
            raise ZohoAuthError(redact(message), endpoint=_ENDPOINT, status=status, code=code)
        access_token = body.get("access_token")
        if not response.is_success or not isinstance(access_token, str) or not access_token:
            raise ZohoAuthError(
                f"Zoho token endpoint answered HTTP {status} without an access token",
                endpoint=_ENDPOINT,
                status=status,
            )
        register_secret(access_token)
        # Zoho's SDK reads `expires_in` as milliseconds when `expires_in_sec` is present.
        if "expires_in_sec" in body:
            lifetime = float(body["expires_in_sec"])
        else:
            lifetime = float(body.get("expires_in", 3600))
        api_domain = body.get("api_domain")
        log.info("obtained a new Zoho access token (valid %.0f s)", lifetime)
        return _Token(
            access_token=access_token,
            expires_at=self._clock() + lifetime,
            api_domain=str(api_domain) if api_domain else None,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


def _retry_unless_throttled(response: httpx.Response) -> float | bool:
    """5xx and 429 are retried, except Zoho's token throttle: asking again only extends it."""
    if b"Access Denied" in response.content:
        return False
    return default_retry_on_status(response)


class StaticTokenSource:
    """Access tokens minted by someone else (a Catalyst Connection), with no refresh grant.

    `fetch` returns the current token (it may cache and renew on its own). It takes the
    place of a :class:`TokenProvider` for :class:`~gzsync.zoho.client.ZohoClient`. A token
    Zoho rejected is never handed out again: if `fetch` still returns it, the call fails
    with ZohoAuthError instead of looping on INVALID_TOKEN.
    """

    def __init__(self, fetch: Callable[[], str] | str) -> None:
        self._fetch: Callable[[], str] = (lambda: fetch) if isinstance(fetch, str) else fetch
        self._rejected: set[str] = set()
        self._last: str | None = None
        #: Distinct tokens obtained from `fetch`.
        self.token_requests = 0

    async def token(self) -> str:
        """The token `fetch` gives now; ZohoAuthError if it is one Zoho already rejected."""
        token = self._fetch()
        reset = getattr(self._fetch, "reset", None)
        if token in self._rejected and callable(reset):
            reset()  # the source cached the rejected token: ask it for a fresh one
            token = self._fetch()
        register_secret(token)
        if token in self._rejected:
            raise ZohoAuthError(
                "Zoho rejected the access token from the connection (INVALID_TOKEN) and no "
                "new one is available; check the Catalyst Connection's authorisation",
                endpoint=_ENDPOINT,
                code="INVALID_TOKEN",
            )
        if token != self._last:
            self._last = token
            self.token_requests += 1
        return token

    async def invalidate(self, token: str) -> None:
        """Remember that Zoho rejected `token`."""
        self._rejected.add(token)

    async def aclose(self) -> None:
        """Nothing to close."""
