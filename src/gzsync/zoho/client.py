"""The Zoho CRM client: upsert, COQL, the watermark read, key look-ups, field metadata.

Every call carries `Authorization: Zoho-oauthtoken <token>` from a token source (the
:class:`~gzsync.zoho.auth.TokenProvider`, or a Catalyst Connection's token);
a 401 `INVALID_TOKEN` drops that token, refreshes once and repeats the call. 429 and 5xx are
retried by the shared HTTP layer (backoff, jitter, `Retry-After`); when it gives up the call
fails with a :class:`~gzsync.errors.ZohoRequestError` carrying Zoho's code and the status.
A 429 that means "credits used up" (:func:`gzsync.zoho.credits.credits_used_up`) is not
retried: it raises :class:`~gzsync.errors.ZohoCreditsExhausted` at once.

A record Zoho refuses inside a batch is not an exception: :meth:`ZohoClient.upsert` returns
one :class:`UpsertResult` per input record, in input order.

:class:`ZohoStats` counts our calls by endpoint and what they cost in API credits by Zoho's
table (zoho-crm-api.md §3.2): upsert ceil(n/10), COQL 1/2/3 by LIMIT bracket, others 1. A
call refused with 429 or a 5xx is not counted as a credit (Zoho does not say it costs one).
It also keeps the last `X-API-CREDITS-REMAINING` and our count when it was read, from which
:func:`gzsync.zoho.credits.estimated_left` tells the credits left now. The Bulk Write calls
(`org`, `upload`, `bulk_write` 500, `bulk_status`, `bulk_download`) go through the same
:meth:`ZohoClient._call` (:mod:`gzsync.zoho.bulk`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from gzsync.errors import ZohoCreditsExhausted, ZohoRequestError
from gzsync.http import (
    RetryPolicy,
    build_async_client,
    default_retry_on_status,
    failure_text,
    send_with_retries,
)
from gzsync.logs import redact
from gzsync.zoho import coql
from gzsync.zoho.auth import TokenSource
from gzsync.zoho.credits import credits_used_up, estimated_left

log = logging.getLogger("gzsync.zoho")

#: Most records one upsert call takes.
MAX_UPSERT = 100

Endpoint = Literal[
    "token", "upsert", "coql", "v2", "records", "fields", "update", "taxes",
    "org", "upload", "bulk_write", "bulk_status", "bulk_download",
]  # fmt: skip
_ENDPOINTS: tuple[Endpoint, ...] = ("token", "upsert", "coql", "v2", "records", "fields",
                                    "update", "taxes", "org", "upload", "bulk_write",
                                    "bulk_status", "bulk_download")  # fmt: skip


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What Zoho did with one record of an upsert batch."""

    ok: bool
    action: Literal["insert", "update"] | None
    zoho_id: str | None
    code: str  # "SUCCESS", or Zoho's error code ("INVALID_DATA", "DUPLICATE_DATA", ...)
    message: str
    api_name: str | None  # the field an error is about, when Zoho names one
    details: dict[str, Any]


@dataclass
class ZohoStats:
    """Calls by endpoint, credits they cost, the last credits-remaining header, 429s seen."""

    calls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_ENDPOINTS, 0))
    credits: int = 0
    credits_remaining: int | None = None
    throttled: int = 0
    #: 429s that meant "the day's credits are used up" (not retried; see zoho/credits.py)
    credits_exhausted: int = 0
    #: our own `credits` count when `credits_remaining` was last read, so the credits
    #: left now are estimated as `credits_remaining - (credits - credits_at_header)`
    credits_at_header: int = 0


class ZohoClient:
    """Zoho CRM v8 (and the v2 sorted read) over one keep-alive connection pool."""

    def __init__(
        self,
        *,
        api_base: str,
        tokens: TokenSource,
        timeout_s: float = 20.0,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing is safe
        max_connections: int = 20,
        max_in_flight: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._tokens = tokens
        # Every endpoint shares these slots, so this client alone never has more calls in
        # flight than Zoho's concurrency limit allows (upserts, COQL look-ups, reads).
        self._slots = asyncio.Semaphore(max_in_flight) if max_in_flight else None
        self._retry = retry
        self._stats = ZohoStats()
        self._client = build_async_client(
            base_url=api_base,
            timeout_s=timeout_s,
            max_connections=max_connections,
            headers={"Accept": "application/json"},
            transport=transport,
        )

    @property
    def stats(self) -> ZohoStats:
        """Counters of this client; `calls["token"]` is its token provider's request count."""
        self._stats.calls["token"] = self._tokens.token_requests
        return self._stats

    # -- the calls --------------------------------------------------------------------------

    async def upsert(
        self,
        module: str,
        records: Sequence[Mapping[str, Any]],
        *,
        duplicate_check_fields: Sequence[str],
        trigger: Sequence[str] | None = None,
    ) -> list[UpsertResult]:
        """Insert or update up to 100 records matched on `duplicate_check_fields`.

        Returns one result per record, in input order; a refused record is a result with
        `ok=False`, not an exception. `trigger` None leaves out the `trigger` key, so Zoho runs
        the org's workflows, approvals and blueprints as it would for any API write; pass
        `[]` to run none. Raises ZohoRequestError when the request fails as a whole.
        """
        if not records:
            return []
        if len(records) > MAX_UPSERT:
            raise ValueError(f"an upsert takes at most {MAX_UPSERT} records, not {len(records)}")
        body: dict[str, Any] = {
            "data": [dict(r) for r in records],
            "duplicate_check_fields": [coql.name(f) for f in duplicate_check_fields],
        }
        if trigger is not None:
            body["trigger"] = list(trigger)
        path = f"/crm/v8/{coql.name(module)}/upsert"
        response = await self._call(
            "upsert", "POST", path, json=body, credits=math.ceil(len(records) / 10)
        )
        return _write_results("upsert", module, response, len(records))

    async def coql(self, query: str) -> list[dict[str, Any]]:
        """The rows a COQL `select` returns (one page, at most its LIMIT); 204 gives []."""
        response = await self._call(
            "coql",
            "POST",
            "/crm/v8/coql",
            json={"select_query": query},
            credits=coql.credits_for(query),
        )
        if response.status_code == 204:
            return []
        payload = _json(response)
        if response.is_success and isinstance(payload, dict):
            data = payload.get("data", [])
            if isinstance(data, list):
                return [row for row in data if isinstance(row, dict)]
        raise _request_error("coql", response)

    async def max_value(
        self, module: str, field: str, *, method: Literal["coql", "v2"] = "coql"
    ) -> int | None:
        """The highest value of a numeric field in `module`, or None when no record has one.

        `coql` orders by the field, descending, limit 1; `v2` uses the v2 list read sorted by
        the field (v3+ cannot sort by a custom field).
        """
        if method == "coql":
            rows = await self.coql(coql.max_value_query(module, field))
        else:
            params = {
                "fields": coql.name(field),
                "sort_by": field,
                "sort_order": "desc",
                "per_page": "1",
            }
            response = await self._call("v2", "GET", f"/crm/v2/{coql.name(module)}", params=params)
            if response.status_code in (204, 304):
                return None
            payload = _json(response)
            if not response.is_success or not isinstance(payload, dict):
                raise _request_error("v2", response)
            data = payload.get("data", [])
            rows = [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []
        if not rows or rows[0].get(field) is None:
            return None
        return _as_int(rows[0][field], endpoint=method, what=f"{module}.{field}")

    async def ids_by_key(self, module: str, key_field: str, keys: Sequence[str]) -> dict[str, str]:
        """Zoho ids of the records whose `key_field` is one of `keys`: key -> id.

        Looks up in COQL `in (...)` chunks of 100, sent concurrently. Keys Zoho does not hold
        are absent from the result; so are keys COQL cannot carry safely (a backslash), with
        a warning.
        """
        wanted: list[str] = []
        for key in dict.fromkeys(keys):
            try:
                coql.quote(key)
            except ValueError:
                log.warning(
                    "cannot look up %s %s=%r in COQL; treated as not found", module, key_field, key
                )
                continue
            wanted.append(key)
        chunks = [
            wanted[start : start + coql.MAX_IN_VALUES]
            for start in range(0, len(wanted), coql.MAX_IN_VALUES)
        ]
        # the chunks go out together; the client's slots bound how many are in flight
        answers = await asyncio.gather(
            *(self.coql(coql.ids_by_key_query(module, key_field, c)) for c in chunks)
        )
        found: dict[str, str] = {}
        for chunk, rows in zip(chunks, answers, strict=True):
            # COQL compares text case-insensitively; answer in the caller's spelling.
            spelling = {k.casefold(): k for k in chunk}
            for row in rows:
                value, zoho_id = row.get(key_field), row.get("id")
                if value is None or zoho_id is None:
                    continue
                key = spelling.get(str(value).casefold(), str(value))
                if key in found and found[key] != str(zoho_id):
                    log.warning("%s has several records with %s=%s", module, key_field, key)
                    continue
                found[key] = str(zoho_id)
        return found

    async def fields(self, module: str) -> list[dict[str, Any]]:
        """Field metadata of `module` (`api_name`, `data_type`, `length`, ...)."""
        response = await self._call(
            "fields", "GET", "/crm/v8/settings/fields", params={"module": coql.name(module)}
        )
        payload = _json(response)
        if (
            response.is_success
            and isinstance(payload, dict)
            and isinstance(payload.get("fields"), list)
        ):
            return [f for f in payload["fields"] if isinstance(f, dict)]
        raise _request_error("fields", response)

    # -- phase 2: Quotes and Products (reference zoho-quotes.md) ---------------------------

    async def get_record(self, module: str, record_id: str) -> dict[str, Any] | None:
        """One record with every field, by id (`GET /crm/v8/{module}/{id}`), or None when
        Zoho has no such record (204). For Quotes this is the only read that returns the
        `Quoted_Items` rows with their ids (reference §5); `fields` is left out on purpose.
        """
        if not record_id.isdigit():
            raise ValueError(f"a Zoho record id is a number, not {record_id!r}")
        path = f"/crm/v8/{coql.name(module)}/{record_id}"
        response = await self._call("records", "GET", path)
        if response.status_code == 204:
            return None
        payload = _json(response)
        data = payload.get("data") if isinstance(payload, dict) else None
        if response.is_success and isinstance(data, list):
            return data[0] if data and isinstance(data[0], dict) else None
        if _code(response) == "INVALID_DATA" and response.status_code in (400, 404):
            return None  # an id Zoho does not know
        raise _request_error("records", response)

    async def update(
        self,
        module: str,
        records: Sequence[Mapping[str, Any]],
        *,
        trigger: Sequence[str] | None = None,
    ) -> list[UpsertResult]:
        """Update up to 100 records by the `id` each one carries (`PUT /crm/v8/{module}`).

        One result per record, in input order, like :meth:`upsert`. This is how line items
        are changed: the diff of :mod:`gzsync.mapping.line_items` goes in `Quoted_Items`.
        """
        if not records:
            return []
        if len(records) > MAX_UPSERT:
            raise ValueError(f"an update takes at most {MAX_UPSERT} records, not {len(records)}")
        if any(not r.get("id") for r in records):
            raise ValueError("every record of an update needs its Zoho id")
        body: dict[str, Any] = {"data": [dict(r) for r in records]}
        if trigger is not None:
            body["trigger"] = list(trigger)
        path = f"/crm/v8/{coql.name(module)}"
        response = await self._call(
            "update", "PUT", path, json=body, credits=math.ceil(len(records) / 10)
        )
        return _write_results("update", module, response, len(records))

    async def org_taxes(self) -> list[dict[str, Any]]:
        """The org's taxes (`GET /crm/v8/org/taxes`): `name`, `value` (the percentage), ..."""
        response = await self._call("taxes", "GET", "/crm/v8/org/taxes")
        if response.status_code == 204:
            return []
        payload = _json(response)
        taxes = payload.get("taxes") if isinstance(payload, dict) else None
        if response.is_success and isinstance(taxes, list):
            return [t for t in taxes if isinstance(t, dict)]
        raise _request_error("taxes", response)

    async def aclose(self) -> None:
        """Close the connection pool (the token provider is closed by its owner)."""
        await self._client.aclose()

    # -- the one way a call is made ---------------------------------------------------------

    async def _call(
        self,
        name: Endpoint,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        credits: int = 1,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with a token, retries, and one token refresh on 401 INVALID_TOKEN.

        Returns the final response of any status except 429 and 5xx after the retries, which
        raise ZohoRequestError. A 429 that means "the day's credits are used up" is not
        retried: it raises ZohoCreditsExhausted at once (:mod:`gzsync.zoho.credits`).
        `path` may be an absolute URL (the upload host, a result's download URL); `files`
        is httpx's multipart argument, re-read from the start on each attempt.
        """
        stats = self._stats

        def judge(response: httpx.Response) -> float | bool:
            remaining = response.headers.get("X-API-CREDITS-REMAINING")
            if remaining is not None and remaining.strip().isdigit():
                stats.credits_remaining = int(remaining)
                stats.credits_at_header = stats.credits
            if response.status_code == 429:
                stats.throttled += 1
                if credits_used_up(response, estimated_left(stats)):
                    stats.credits_exhausted += 1
                    return False  # final: waiting minutes does not bring credits back
            decision = default_retry_on_status(response)
            if decision is False and response.status_code != 429:
                stats.credits += credits
            return decision

        for refreshed in (False, True):
            token = await self._tokens.token()
            sent = {**(headers or {}), "Authorization": f"Zoho-oauthtoken {token}"}

            def request(sent: dict[str, str] = sent) -> httpx.Request:
                stats.calls[name] = stats.calls.get(name, 0) + 1
                return self._client.build_request(
                    method, path, json=json, params=params, headers=sent, files=files
                )

            try:
                async with self._slots or contextlib.nullcontext():
                    response = await send_with_retries(
                        self._client,
                        request,
                        policy=self._retry,
                        endpoint=f"zoho {name}",
                        retry_on_status=judge,
                    )
            except httpx.TransportError as exc:
                raise ZohoRequestError(
                    f"Zoho {name}: {failure_text(exc, self._retry)} "
                    f"({redact(str(exc))[:200] or 'no detail'})",
                    endpoint=name,
                    code="network_error",
                ) from None
            if response.status_code == 401 and _code(response) == "INVALID_TOKEN" and not refreshed:
                log.info("Zoho rejected the access token (INVALID_TOKEN); refreshing it once")
                await self._tokens.invalidate(token)
                continue
            if response.status_code == 429 and credits_used_up(response, estimated_left(stats)):
                raise ZohoCreditsExhausted(
                    f"Zoho {name}: the org's API credits for the rolling 24 hours are used up "
                    "(HTTP 429 TOO_MANY_REQUESTS); not retried",
                    endpoint=name,
                    status=429,
                    code="TOO_MANY_REQUESTS",
                )
            if response.status_code == 429 or response.status_code >= 500:
                raise _request_error(name, response)
            return response
        raise _request_error(name, response)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def _code(response: httpx.Response) -> str | None:
    payload = _json(response)
    if isinstance(payload, dict) and payload.get("code"):
        return str(payload["code"])
    return None


def _request_error(name: str, response: httpx.Response) -> ZohoRequestError:
    """A request-level failure, named by Zoho's `code` (or `TOO_MANY_REQUESTS` / `http_NNN`)."""
    status = response.status_code
    payload = _json(response)
    code = _code(response)
    if code is None:
        code = "TOO_MANY_REQUESTS" if status == 429 else f"http_{status}"
    message = ""
    if isinstance(payload, dict) and payload.get("message"):
        message = ": " + redact(str(payload["message"]))[:300]
    return ZohoRequestError(
        f"Zoho {name} failed with HTTP {status} {code}{message}",
        endpoint=name,
        status=status,
        code=code,
    )


def _write_results(
    name: Endpoint, module: str, response: httpx.Response, sent: int
) -> list[UpsertResult]:
    """One result per record sent, from an upsert's or update's `data` array."""
    payload = _json(response)
    data = payload.get("data") if isinstance(payload, dict) else None
    if response.status_code in (200, 201, 202, 207, 400) and isinstance(data, list):
        if len(data) != sent:
            raise ZohoRequestError(
                f"Zoho {name} {module} answered {len(data)} results for {sent} records",
                endpoint=name,
                status=response.status_code,
                code="RESULT_COUNT_MISMATCH",
            )
        return [_upsert_result(item) for item in data]
    raise _request_error(name, response)


def _upsert_result(item: Any) -> UpsertResult:
    if not isinstance(item, dict):
        return UpsertResult(False, None, None, "MALFORMED_RESULT", "not an object", None, {})
    details = item.get("details") if isinstance(item.get("details"), dict) else {}
    assert isinstance(details, dict)
    code = str(item.get("code") or "")
    message = str(item.get("message") or "")
    if item.get("status") == "success":
        action = item.get("action")
        zoho_id = details.get("id")
        return UpsertResult(
            ok=True,
            action=action if action in ("insert", "update") else None,
            zoho_id=str(zoho_id) if zoho_id is not None else None,
            code=code or "SUCCESS",
            message=message,
            api_name=None,
            details=details,
        )
    api_name = details.get("api_name")
    return UpsertResult(
        ok=False,
        action=None,
        zoho_id=None,
        code=code or "UNKNOWN_ERROR",
        message=message,
        api_name=str(api_name) if api_name is not None else None,
        details=details,
    )


def _as_int(value: Any, *, endpoint: str, what: str) -> int:
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        return value
    elif isinstance(value, float) and value.is_integer():
        return int(value)
    elif isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if number.is_integer():
                return int(number)
    raise ZohoRequestError(
        f"Zoho {endpoint}: {what} is not an integer ({type(value).__name__})",
        endpoint=endpoint,
        code="UNEXPECTED_VALUE",
    )
