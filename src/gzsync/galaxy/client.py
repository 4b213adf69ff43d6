"""The Galaxy ERP client: `/auth` with a persisted session, and views streamed row by row.

Session: `GET /auth?username=&password=` (with `Cookie: ss-pid=` when known) gives a
`SessionId` and maybe a permanent `ss-pid` cookie (galaxy-api.md §2). Both are kept in the
state store under `galaxy.session`, so the next run reuses them instead of logging in again.
A view answering 401/403 means the session expired: we log in once more and repeat the read.

Views: `GET /api/glx/views/Customer/custom/{view}?filters=...` answers `{"Items": [...]}`,
possibly a very large one. We stream it through ijson's push parser and hand each row to a
callback, so memory stays flat whatever the size. A transfer that fails mid-way is retried
as a whole (bounded by the :class:`~gzsync.http.RetryPolicy`), so the callback may see some
rows twice: callers must deduplicate (by key, keeping the highest revision).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import httpx
import ijson

from gzsync.errors import GalaxyAuthError, GalaxyError, GalaxyResponseError
from gzsync.galaxy.filters import Condition, build_filter
from gzsync.http import (
    RetryableResponse,
    RetryPolicy,
    build_async_client,
    default_retry_on_status,
    failure_text,
    retry_attempts,
    send_with_retries,
)
from gzsync.logs import redact, register_secret
from gzsync.state.store import KeyValueStore

log = logging.getLogger("gzsync.galaxy")

#: State store key of the persisted session: JSON `{"session_id": ..., "ss_pid": ...}`.
SESSION_KEY = "galaxy.session"

_VIEW_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_AUTH_ENDPOINT = "galaxy /auth"
# While no row has arrived we keep the first bytes of the body, to tell `{"Items": []}` from
# an error body without an Items array. Bodies without rows are small; the cap bounds memory.
_HEAD_LIMIT = 1 << 20
# With rows, an error `ResponseStatus` can only be found near either end of the body: we keep
# that much of each and search it. `[{,]` before the key rules out text inside a string value.
_TAIL_LIMIT = 1 << 14
_STATUS_RE = re.compile(
    rb'[{,]\s*"ResponseStatus"\s*:\s*\{[^{}]*?"ErrorCode"\s*:\s*"([^"]+)"[^{}]*\}'
)
_MESSAGE_RE = re.compile(rb'"Message"\s*:\s*"((?:[^"\\]|\\.)*)"')
# Characters left readable in the `filters` query value; everything else is percent-encoded.
_FILTER_SAFE = "[]{}:,"

_tls_warned: set[str] = set()


class _SessionRejected(Exception):
    """A view answered 401/403: the session is no longer valid."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class GalaxyClient:
    """Reads Galaxy views with a session that survives between runs."""

    def __init__(
        self,
        *,
        base_url: str,
        username: str,
        password: str,
        store: KeyValueStore,
        timeout_s: float = 20.0,
        verify: bool | str = True,
        ss_pid: str | None = None,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing is safe
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        register_secret(password)
        register_secret(ss_pid)
        self._username = username
        self._password = password
        self._store = store
        self._retry = retry
        self._configured_ss_pid = ss_pid
        self._ss_pid: str | None = ss_pid
        self._session_id: str | None = None
        self._loaded = False
        self._auth_lock = asyncio.Lock()
        #: HTTP requests made (auth and views, retries included).
        self.calls = 0
        self._client = build_async_client(
            base_url=base_url,
            timeout_s=timeout_s,
            verify=verify,
            headers={"Accept": "application/json"},
            transport=transport,
        )
        if verify is False:
            host = self._client.base_url.host
            if host not in _tls_warned:
                _tls_warned.add(host)
                log.warning(
                    "TLS verification is OFF for Galaxy %s: the connection can be intercepted. "
                    "Prefer GALAXY_CA_BUNDLE with the server's CA certificate.",
                    host,
                )

    # -- session ----------------------------------------------------------------------------

    def _load_session(self) -> None:
        """Take the session persisted by an earlier run, once."""
        if self._loaded:
            return
        self._loaded = True
        raw = self._store.kv_get(SESSION_KEY)
        if not raw:
            return
        try:
            data = json.loads(raw)
        except ValueError:
            log.warning("ignoring an unreadable Galaxy session in the state store")
            return
        if not isinstance(data, dict):
            return
        session_id, ss_pid = data.get("session_id"), data.get("ss_pid")
        if isinstance(session_id, str) and session_id:
            register_secret(session_id)
            self._session_id = session_id
        if isinstance(ss_pid, str) and ss_pid:
            register_secret(ss_pid)
            self._ss_pid = ss_pid

    def _save_session(self) -> None:
        value = json.dumps({"session_id": self._session_id, "ss_pid": self._ss_pid})
        self._store.kv_put(SESSION_KEY, value)

    async def authenticate(self) -> None:
        """Log in with the configured user; keep and persist `SessionId` and `ss-pid`.

        Raises GalaxyAuthError when Galaxy refuses the credentials (401/403), GalaxyResponseError
        when it answers something else than a session, GalaxyError when it cannot be reached.
        """
        self._load_session()
        params = {"username": self._username, "password": self._password}
        ss_pid = self._ss_pid

        def request() -> httpx.Request:
            self.calls += 1
            headers = {"Cookie": f"ss-pid={ss_pid}"} if ss_pid else None
            return self._client.build_request("GET", "auth", params=params, headers=headers)

        try:
            response = await send_with_retries(
                self._client, request, policy=self._retry, endpoint=_AUTH_ENDPOINT
            )
        except httpx.TransportError as exc:
            raise _unreachable(_AUTH_ENDPOINT, exc, self._retry) from None
        finally:
            # Cookies are sent explicitly; the client's jar must not replay old ones.
            self._client.cookies.clear()

        status = response.status_code
        if status in (401, 403):
            raise GalaxyAuthError(
                f"Galaxy refused the login of user {self._username!r} "
                f"(HTTP {status}: {_status_message(response) or 'no message'})",
                endpoint="/auth",
                status=status,
                code=_error_code(response),
            )
        if not response.is_success:
            raise GalaxyResponseError(
                f"Galaxy /auth answered HTTP {status}: {_status_message(response) or 'no message'}",
                endpoint="/auth",
                status=status,
                code=_error_code(response),
            )
        session_id = _session_id_of(response)
        if not session_id:
            raise GalaxyResponseError(
                f"Galaxy /auth answered HTTP {status} without a SessionId",
                endpoint="/auth",
                status=status,
            )
        register_secret(session_id)
        self._session_id = session_id
        new_pid = response.cookies.get("ss-pid")
        if new_pid:
            register_secret(new_pid)
            self._ss_pid = new_pid
        self._save_session()
        log.debug("authenticated with Galaxy as %s", self._username)

    async def _renew_session(self, stale: str | None) -> None:
        """Log in again, unless a concurrent read already replaced the stale session."""
        async with self._auth_lock:
            if self._session_id is not None and self._session_id != stale:
                return
            try:
                await self.authenticate()
            except GalaxyError:
                self._session_id = None
                self._store.kv_delete(SESSION_KEY)
                raise

    # -- views ------------------------------------------------------------------------------

    async def read_view(
        self,
        view: str,
        conditions: Sequence[Condition],
        on_row: Callable[[dict[str, Any]], None],
        *,
        entity: str = "Customer",
    ) -> int:
        """Stream the rows of `view` matching `conditions` (AND) into `on_row`; return the count.

        Reuses the persisted session (logging in when there is none), and on 401/403 logs in
        once more and repeats the read. A read that fails mid-transfer is repeated whole, so
        `on_row` may see a row twice: deduplicate downstream. Raises GalaxyResponseError for
        an error status or a body that is not a view result (not JSON, truncated, no `Items`,
        an error in `ResponseStatus`), GalaxyError when Galaxy cannot be reached.
        """
        if not _VIEW_RE.match(view) or not _VIEW_RE.match(entity):
            raise ValueError(f"invalid Galaxy view name: {entity!r}/{view!r}")
        path = f"api/glx/views/{quote(entity, safe='')}/custom/{quote(view, safe='')}"
        if entity != "Customer":  # errors name the full path (see _view_path)
            view = f"/{path}"
        return await self._read(path, view, conditions, on_row)

    async def read_advanced_view(
        self,
        guid: str,
        conditions: Sequence[Condition],
        on_row: Callable[[dict[str, Any]], None],
        *,
        on_start: Callable[[], None] | None = None,
    ) -> int:
        """Like :meth:`read_view`, for `GET /api/glx/advancedcustomviews/{guid}` (SPEC §7).

        `on_start` is called before every transfer: a repeated read starts from the first
        row again, so a caller that collects rows (an offer's lines) drops what it has.
        """
        if not _VIEW_RE.match(guid):
            raise ValueError(f"invalid Galaxy advanced view id: {guid!r}")
        path = f"api/glx/advancedcustomviews/{quote(guid, safe='')}"
        return await self._read(path, f"/{path}", conditions, on_row, on_start)

    async def _read(
        self,
        path: str,
        view: str,
        conditions: Sequence[Condition],
        on_row: Callable[[dict[str, Any]], None],
        on_start: Callable[[], None] | None = None,
    ) -> int:
        query = b""
        if conditions:
            query = ("filters=" + quote(build_filter(conditions), safe=_FILTER_SAFE)).encode()
        url = httpx.URL(path, query=query) if query else httpx.URL(path)
        endpoint = f"galaxy view {view}"

        self._load_session()
        async with self._auth_lock:
            if self._session_id is None:
                await self.authenticate()
        started = time.perf_counter()
        renewed = False
        while True:
            session = self._session_id
            try:
                count = await self._read_with_retries(url, view, endpoint, on_row, on_start)
            except _SessionRejected as exc:
                if renewed:
                    raise GalaxyAuthError(
                        f"Galaxy view {view} refused a fresh session (HTTP {exc.status})",
                        endpoint=_view_path(view),
                        status=exc.status,
                    ) from None
                log.info("Galaxy session rejected (HTTP %d); logging in again", exc.status)
                renewed = True
                await self._renew_session(session)
                continue
            log.debug(
                "view %s: %d rows in %.0f ms", view, count, (time.perf_counter() - started) * 1e3
            )
            return count

    async def _read_with_retries(
        self,
        url: httpx.URL,
        view: str,
        endpoint: str,
        on_row: Callable[[dict[str, Any]], None],
        on_start: Callable[[], None] | None = None,
    ) -> int:
        try:
            async for attempt in retry_attempts(self._retry, endpoint=endpoint):
                with attempt:
                    if on_start is not None:
                        on_start()
                    return await self._read_once(url, view, on_row)
        except RetryableResponse as exc:
            raise GalaxyResponseError(
                f"Galaxy view {view} answered HTTP {exc.response.status_code} "
                f"after {self._retry.attempts} attempts: "
                f"{_status_message(exc.response) or 'no message'}",
                endpoint=_view_path(view),
                status=exc.response.status_code,
                code=_error_code(exc.response),
            ) from None
        except httpx.TransportError as exc:
            raise _unreachable(endpoint, exc, self._retry) from None
        raise AssertionError("unreachable: stamina ends with a result or an exception")

    async def _read_once(
        self, url: httpx.URL, view: str, on_row: Callable[[dict[str, Any]], None]
    ) -> int:
        self.calls += 1
        headers = {"Cookie": f"ss-id={self._session_id}"}
        request = self._client.build_request("GET", url, headers=headers)
        response = await self._client.send(request, stream=True)
        try:
            self._client.cookies.clear()
            status = response.status_code
            if status in (401, 403):
                raise _SessionRejected(status)
            decision = default_retry_on_status(response)
            if decision is not False:
                await response.aread()
                wait = None if decision is True else float(decision)
                raise RetryableResponse(response, wait, f"galaxy view {view}")
            if not response.is_success:
                await response.aread()
                raise GalaxyResponseError(
                    f"Galaxy view {view} answered HTTP {status}: "
                    f"{_status_message(response) or 'no message'}",
                    endpoint=_view_path(view),
                    status=status,
                    code=_error_code(response),
                )
            return await _stream_items(response, view, on_row)
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


async def _stream_items(
    response: httpx.Response, view: str, on_row: Callable[[dict[str, Any]], None]
) -> int:
    """Feed the body to ijson chunk by chunk; each element of `Items` goes to `on_row`.

    Only the `Items` array is parsed incrementally (a second parser for `ResponseStatus`
    would double the CPU cost of a million-row read). A body without rows is small and is
    inspected whole; a body with rows has its first and last bytes searched for a
    `ResponseStatus` carrying an `ErrorCode`.
    """
    rows = ijson.sendable_list()
    items = ijson.items_coro(rows, "Items.item", use_float=True)
    head = bytearray()
    tail = b""
    size = 0
    count = 0
    content_type = response.headers.get("content-type", "no content-type")

    def bad(problem: str) -> GalaxyResponseError:
        return GalaxyResponseError(
            f"Galaxy view {view} answered HTTP {response.status_code} with {problem} "
            f"({content_type}, {size} bytes)",
            endpoint=_view_path(view),
            status=response.status_code,
        )

    def deliver() -> None:
        nonlocal count
        for row in rows:
            if not isinstance(row, dict):
                raise bad("an Items element that is not an object")
            on_row(row)
        count += len(rows)
        del rows[:]

    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if len(head) < _HEAD_LIMIT:
                head += chunk[: _HEAD_LIMIT - len(head)]
            tail = (tail + chunk)[-_TAIL_LIMIT:]
            items.send(chunk)
            deliver()
        items.close()
        deliver()
    except ijson.JSONError:
        if bytes(head.lstrip()[:1]) in (b"{", b"["):
            raise bad("a truncated or malformed JSON body") from None
        raise bad("a body that is not JSON") from None

    document: Any = None
    if count == 0:
        if size > len(head):
            raise bad("no rows and a body too large to inspect")
        try:
            document = json.loads(bytes(head))
        except ValueError:
            raise bad("a body that is not JSON") from None
    status = _response_status(document, bytes(head[:_TAIL_LIMIT]), tail)
    if status is not None:
        code, message = status
        raise GalaxyResponseError(
            f"Galaxy view {view} answered HTTP {response.status_code} with error "
            f"{code}: {redact(message)[:300]}",
            endpoint=_view_path(view),
            status=response.status_code,
            code=code,
        )
    if count == 0 and (
        not isinstance(document, dict) or not isinstance(document.get("Items"), list)
    ):
        raise bad("no Items array")
    return count


def _response_status(document: Any, head: bytes, tail: bytes) -> tuple[str, str] | None:
    """(ErrorCode, Message) of an error `ResponseStatus` in the body, if there is one."""
    if isinstance(document, dict):
        status = document.get("ResponseStatus")
        if isinstance(status, dict) and status.get("ErrorCode"):
            return str(status["ErrorCode"]), str(status.get("Message") or "no message")
        return None
    for part in (head, tail):
        match = _STATUS_RE.search(part)
        if match is not None:
            code = match.group(1).decode("utf-8", "replace")
            message = _MESSAGE_RE.search(match.group(0))
            text = message.group(1).decode("utf-8", "replace") if message else "no message"
            return code, text
    return None


def _view_path(view: str) -> str:
    """The endpoint errors name: a customer view's name, or a full path (offers, lines)."""
    return view if view.startswith("/") else f"/api/glx/views/Customer/custom/{view}"


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError, httpx.ResponseNotRead):
        return None


def _status_message(response: httpx.Response) -> str | None:
    """`ResponseStatus.Message` of an error body, redacted, when there is one."""
    body = _json_body(response)
    if isinstance(body, dict):
        status = body.get("ResponseStatus") or body.get("responseStatus")
        if isinstance(status, dict) and status.get("Message"):
            return redact(str(status["Message"]))[:300]
    return None


def _error_code(response: httpx.Response) -> str | None:
    body = _json_body(response)
    if isinstance(body, dict):
        status = body.get("ResponseStatus")
        if isinstance(status, dict) and status.get("ErrorCode"):
            return str(status["ErrorCode"])
    return None


def _session_id_of(response: httpx.Response) -> str | None:
    body = _json_body(response)
    if isinstance(body, dict):
        session_id = body.get("SessionId")
        if isinstance(session_id, str) and session_id:
            return session_id
    # Some Galaxy clients read the session from the `ss-id` cookie instead (galaxy-api.md §2.1).
    return response.cookies.get("ss-id") or None


def _unreachable(endpoint: str, exc: httpx.TransportError, policy: RetryPolicy) -> GalaxyError:
    detail = redact(str(exc))[:200] or "no detail"
    return GalaxyError(
        f"{endpoint}: {failure_text(exc, policy)} ({detail})",
        endpoint=endpoint,
    )
