"""The Zoho CRM sandbox: one Starlette app that is both the accounts server
(`POST /oauth/v2/token`) and the CRM API (`/crm/...`), so `ZOHO_ACCOUNTS_URL` and
`ZOHO_API_URL` are the same base URL.

Routes (shapes from `reference/zoho-crm-api.md`):

    POST /oauth/v2/token                    refresh grant (query string or form body)
    POST /crm/v8/{module}/upsert            Accounts, Contacts; at most 100 records
    POST /crm/v8/coql                       see `gzsync.sandbox.coql`
    GET  /crm/v8/settings/fields?module=    field metadata
    GET  /crm/v8/{module}?ids=&fields=      `fields` mandatory; also a plain list read
    GET  /crm/v8/{module}/{id}
    POST /crm/v8/{module}                   insert, at most 100 records (a CRM user's write)
    PUT  /crm/v8/{module}/{id}              update one record by id
    DELETE /crm/v8/{module}?ids=            delete, at most 100 ids
    GET  /crm/v2/{module}?fields=&sort_by=&sort_order=&per_page=&page=   sort by any field
    /__sandbox/...                          control and inspection (not part of Zoho)
    Bulk Write (org, upload, jobs, result zip): see `gzsync.sandbox.zoho_bulk`

Decisions where the reference is silent or UNCONFIRMED (see also `zoho_records`,
`zoho_limits` and `coql`):

- **Token endpoint**: errors are HTTP 200 with `{"error": ...}`: `invalid_client` (unknown
  client id), `invalid_client_secret`, `invalid_code` (bad refresh token),
  `unsupported_grant_type`. The throttle answers 400 with the "too many requests" body.
  `api_domain` is this sandbox's own base URL as the request reached it, never a Zoho host
  (Zoho's SDK would switch data centre). `expires_in` is the configured lifetime in seconds.
- **Auth**: no `Authorization: Zoho-oauthtoken ...` header (or another scheme) is 401
  `AUTHENTICATION_FAILURE`; an unknown or expired token is 401 `INVALID_TOKEN`.
- **Order of checks** of an API call: faults, auth, request validation (a malformed
  request is answered 400 without touching the limits and costs nothing), concurrency,
  credits, latency, then the work.
- **Upsert status**: 200 when every record succeeded, 207 when some failed, 400 when all
  failed — each with the `data` array. `duplicate_check_fields` is read from the JSON body
  only; elsewhere (query string) it is ignored, which means Zoho's default matching.
  More than 100 records is a request-level 400 `LIMIT_EXCEEDED`; an empty or missing
  `data` is 400 `MANDATORY_NOT_FOUND`.
- **Credits**: upsert ceil(n/10) (at least 1), COQL 1/2/3 by LIMIT bracket, every other
  API call 1.
- **Calls and faults by name**: `token`, `upsert` (+ `upsert:<Module>`), `coql`,
  `records` (v8 reads), `fields`, and `v2` for v2 reads, which also answer to the fault
  name `records`.
- **A CRM user's writes** (`gzsync reconcile` tests and `gzsync demo --drift` tamper with
  Zoho through them): insert answers 201 when every record was added, 207 mixed, 400 all
  failed, each with the `data` array (upsert's record shapes, `message: record added`);
  update by id takes `{"data": [one record]}` and answers 200 or 400 with a one-element
  `data`; delete takes `ids` (comma-separated, at most 100; more is 400 `LIMIT_EXCEEDED`,
  none is 400 `REQUIRED_PARAM_MISSING`) and answers one `data` entry per id: `SUCCESS`
  with `details.id` and `message: record deleted`, or `INVALID_DATA` for an unknown id
  (200 / 207 / 400 as above). Credits: insert and update 1 per 10 records, delete 1.
  They count as the calls `insert`, `update`, `delete`.
- **Unknown URLs** are 404 `INVALID_URL_PATTERN`, a wrong method 405
  `INVALID_REQUEST_METHOD` (Zoho answers it with 400; 405 keeps Starlette's semantics).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gzsync.sandbox import credentials
from gzsync.sandbox.coql import CoqlError, Evaluator
from gzsync.sandbox.coql import parse as parse_coql
from gzsync.sandbox.faults import FaultInjector, parse_rules
from gzsync.sandbox.zoho_bulk import CALL_NAMES as BULK_CALL_NAMES
from gzsync.sandbox.zoho_bulk import BulkState, bulk_routes
from gzsync.sandbox.zoho_limits import (
    ConcurrencyGate,
    CreditBudget,
    LatencyModel,
    TokenIssuer,
    TokenThrottled,
)
from gzsync.sandbox.zoho_records import (
    FIELDS,
    MODULES,
    CrmStore,
    DuplicateCheckFieldError,
    field_metadata,
    project,
)

MAX_UPSERT_RECORDS = 100
MAX_PER_PAGE = 200
MAX_LIST_FIELDS = 50
CALL_NAMES = ("token", "upsert", "upsert:Accounts", "upsert:Contacts", "coql", "records",
              "fields", "v2", "insert", "update", "delete")  # fmt: skip
SCOPE = "ZohoCRM.modules.ALL ZohoCRM.settings.fields.ALL ZohoCRM.coql.READ"
THROTTLE_BODY = {
    "error_description": "You have made too many requests continuously. "
    "Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}


def api_error(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Zoho's request-level error envelope."""
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


INVALID_TOKEN = api_error("INVALID_TOKEN", "invalid oauth token")
AUTHENTICATION_FAILURE = api_error("AUTHENTICATION_FAILURE", "Authentication failed")

_STATUS_BODIES = {
    400: api_error("INVALID_DATA", "invalid data"),
    401: INVALID_TOKEN,
    403: api_error("NO_PERMISSION", "permission denied"),
    404: api_error(
        "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one"
    ),
    429: api_error("TOO_MANY_REQUESTS", "too many requests"),
    500: api_error("INTERNAL_ERROR", "Internal Server Error"),
    502: api_error("BAD_GATEWAY", "Bad Gateway"),
    503: api_error("SERVICE_UNAVAILABLE", "Service Unavailable"),
    504: api_error("GATEWAY_TIMEOUT", "Gateway Timeout"),
}


def default_error_body(status: int) -> dict[str, Any]:
    """The documented body of an API error status (used by faults without a body)."""
    return dict(_STATUS_BODIES.get(status, _STATUS_BODIES[500]))


def _token_error_body(status: int) -> dict[str, Any]:
    return dict(THROTTLE_BODY) if status in (400, 429) else default_error_body(status)


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def _bad(code: str, message: str, details: dict[str, Any] | None = None) -> JSONResponse:
    return _json(api_error(code, message, details), 400)


def _invalid_module(index: int = 0) -> JSONResponse:
    return _bad(
        "INVALID_MODULE",
        "the module name given seems to be invalid",
        {"resource_path_index": index},
    )


@dataclass(slots=True)
class Prepared:
    """A validated API call waiting for its turn: what it costs and how to answer it."""

    credits: int
    records: int
    respond: Callable[[], Response]


class ZohoState:
    """Everything the sandbox holds; tests and the demo use it in-process."""

    def __init__(
        self,
        *,
        latency_ms: tuple[float, float] = (0.0, 0.0),
        concurrency_limit: int = 10,
        daily_credits: int = 1_000_000,
        token_ttl_s: float = 3600.0,
        strict_fields: bool = False,
        seed: int = 0,
    ) -> None:
        self.faults = FaultInjector(seed)
        self.crm = CrmStore(seed=seed, strict_fields=strict_fields)
        self.tokens = TokenIssuer(ttl_s=token_ttl_s, seed=seed)
        self.gate = ConcurrencyGate(concurrency_limit)
        self.credits = CreditBudget(daily_credits)
        self.latency = LatencyModel(*latency_ms)
        self.calls: Counter[str] = Counter({name: 0 for name in CALL_NAMES + BULK_CALL_NAMES})
        self.bulk = BulkState()  # Bulk Write files and jobs (zoho_bulk)
        self.throttled_429 = 0
        self.records_upserted = 0

    def records(self, module: str) -> list[dict[str, Any]]:
        """Every stored record of a module, all fields including `id`, in id order."""
        return self.crm.snapshot(module)

    def clear(self, module: str) -> None:
        """Delete every record of a module."""
        self.crm.clear(module)

    def delete_record(self, module: str, record_id: str) -> bool:
        """Delete one record, as a CRM user would; True when it existed."""
        return self.crm.table(module).delete(record_id)

    def stats(self) -> dict[str, Any]:
        """Calls per endpoint, credits used, 429s served, peak concurrency and more."""
        return {
            "calls": dict(self.calls),
            "credits_used": self.credits.used,
            "credits_remaining": self.credits.remaining,
            "throttled_429": self.throttled_429,
            "peak_concurrency": self.gate.peak,
            "in_flight": self.gate.in_flight,
            "tokens_issued": self.tokens.tokens_issued,
            "records_upserted": self.records_upserted,
            "faults_fired": dict(self.faults.fired),
        }

    def set_limits(
        self,
        *,
        concurrency: int | None = None,
        daily_credits: int | None = None,
        latency_ms: tuple[float, float] | None = None,
        token_ttl_s: float | None = None,
    ) -> None:
        """Change limits at run time; a new `daily_credits` also starts a new day."""
        if concurrency is not None:
            self.gate.limit = concurrency
        if daily_credits is not None:
            self.credits.reset(daily_credits)
        if latency_ms is not None:
            self.latency = LatencyModel(*latency_ms)
        if token_ttl_s is not None:
            self.tokens.ttl_s = token_ttl_s

    def expire_tokens(self) -> None:
        """Every issued access token becomes invalid (a "token expiry mid-run")."""
        self.tokens.expire_all()

    def authenticate(self, request: Request) -> Response | None:
        """None when the call carries a valid access token, else the 401 to send."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme != "Zoho-oauthtoken" or not token.strip():
            return _json(AUTHENTICATION_FAILURE, 401)
        if not self.tokens.is_valid(token.strip()):
            return _json(INVALID_TOKEN, 401)
        return None

    def refuse(self, message: str) -> Response:
        self.throttled_429 += 1
        return _json(api_error("TOO_MANY_REQUESTS", message), 429)


def _state(request: Request) -> ZohoState:
    state: ZohoState = request.app.state.zoho
    return state


Preparer = Callable[[Request, ZohoState], Awaitable["Prepared | Response"]]


async def _serve_api(request: Request, names: Sequence[str], prepare: Preparer) -> Response:
    """The common path of every API call: faults, auth, validation, limits, latency."""
    state = _state(request)
    # v2 reads answer to the fault name `records` but are counted as `v2` only
    state.calls.update(["v2"] if names[0] == "v2" else names)
    fault = await state.faults.apply(names, default_error_body)
    if fault is not None:
        return fault
    refused = state.authenticate(request)
    if refused is not None:
        return refused
    prepared = await prepare(request, state)
    if isinstance(prepared, Response):
        return prepared
    if not state.gate.try_acquire():
        return state.refuse("the concurrency limit of the user for the app has been exceeded")
    try:
        if not state.credits.try_spend(prepared.credits):
            return state.refuse("the API credits for the day have been used up")
        delay = state.latency.delay_s(prepared.records)
        if delay > 0:
            await asyncio.sleep(delay)
        response = prepared.respond()
    finally:
        state.gate.release()
    header = state.credits.header()
    if header is not None:
        response.headers["X-API-CREDITS-REMAINING"] = header
    return response


# --- OAuth -------------------------------------------------------------------------------


async def token(request: Request) -> Response:
    """`POST /oauth/v2/token`: the refresh-token grant."""
    state = _state(request)
    state.calls["token"] += 1
    fault = await state.faults.apply(["token"], _token_error_body)
    if fault is not None:
        return fault
    params = dict(request.query_params)
    body = await request.body()
    if body and "json" not in request.headers.get("content-type", ""):
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if params.get("grant_type") != "refresh_token":
        return _json({"error": "unsupported_grant_type"})
    if params.get("client_id") != credentials.ZOHO_CLIENT_ID:
        return _json({"error": "invalid_client"})
    if params.get("client_secret") != credentials.ZOHO_CLIENT_SECRET:
        return _json({"error": "invalid_client_secret"})
    refresh_token = params.get("refresh_token", "")
    if refresh_token != credentials.ZOHO_REFRESH_TOKEN:
        return _json({"error": "invalid_code"})
    try:
        access_token = state.tokens.issue(refresh_token)
    except TokenThrottled:
        return _json(THROTTLE_BODY, 400)
    return _json(
        {
            "access_token": access_token,
            "scope": SCOPE,
            "api_domain": f"{request.url.scheme}://{request.url.netloc}",
            "token_type": "Bearer",
            "expires_in": math.ceil(state.tokens.ttl_s),
        }
    )


# --- upsert ------------------------------------------------------------------------------


async def upsert(request: Request) -> Response:
    """`POST /crm/v8/{module}/upsert`."""
    module = request.path_params["module"]
    return await _serve_api(request, ["upsert", f"upsert:{module}"], _prepare_upsert)


async def _prepare_upsert(request: Request, state: ZohoState) -> Prepared | Response:
    module = request.path_params["module"]
    if module not in MODULES:
        return _invalid_module()
    parsed = await _records_body(request, MAX_UPSERT_RECORDS)
    if isinstance(parsed, Response):
        return parsed
    body, data = parsed
    listed = body.get("duplicate_check_fields")
    if listed is not None and not isinstance(listed, list):
        return _bad(
            "INVALID_DATA",
            "invalid data",
            {"api_name": "duplicate_check_fields", "json_path": "$.duplicate_check_fields"},
        )
    try:
        state.crm.check_order(module, listed)
    except DuplicateCheckFieldError as exc:
        return _json(exc.body, 400)

    def respond() -> Response:
        outcome = state.crm.upsert(module, data, listed)
        state.records_upserted += outcome.succeeded
        return _json({"data": outcome.results}, outcome.http_status)

    return Prepared(max(1, math.ceil(len(data) / 10)), len(data), respond)


# --- a CRM user's writes: insert, update by id, delete -----------------------------------


async def insert(request: Request) -> Response:
    """`POST /crm/v8/{module}`: new records, no matching."""
    return await _serve_api(request, ["insert"], _prepare_insert)


async def _records_body(
    request: Request, limit: int
) -> tuple[dict[str, Any], list[Any]] | Response:
    """The JSON body and its `data` records (1..limit of them), or Zoho's error for it."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        return _bad("INVALID_DATA", "body is not a valid JSON")
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not data:
        return _bad(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            {"api_name": "data", "json_path": "$.data"},
        )
    if len(data) > limit:
        return _bad(
            "LIMIT_EXCEEDED",
            "Record insertion limit has been exceeded.",
            {"limit": limit, "api_name": "data", "json_path": "$.data"},
        )
    return body, data


async def _prepare_insert(request: Request, state: ZohoState) -> Prepared | Response:
    module = request.path_params["module"]
    if module not in MODULES:
        return _invalid_module()
    parsed = await _records_body(request, MAX_UPSERT_RECORDS)
    if isinstance(parsed, Response):
        return parsed
    _, data = parsed

    def respond() -> Response:
        outcome = state.crm.insert(module, data)
        return _json({"data": outcome.results}, outcome.http_status)

    return Prepared(max(1, math.ceil(len(data) / 10)), len(data), respond)


async def update_one(request: Request) -> Response:
    """`PUT /crm/v8/{module}/{id}`: change one record's fields."""
    return await _serve_api(request, ["update"], _prepare_update)


async def _prepare_update(request: Request, state: ZohoState) -> Prepared | Response:
    module = request.path_params["module"]
    if module not in MODULES:
        return _invalid_module()
    parsed = await _records_body(request, 1)
    if isinstance(parsed, Response):
        return parsed
    _, data = parsed
    record_id = request.path_params["record_id"]

    def respond() -> Response:
        outcome = state.crm.update(module, record_id, data[0])
        return _json({"data": outcome.results}, outcome.http_status)

    return Prepared(1, 1, respond)


async def delete_records(request: Request) -> Response:
    """`DELETE /crm/v8/{module}?ids=...`."""
    return await _serve_api(request, ["delete"], _prepare_delete)


async def _prepare_delete(request: Request, state: ZohoState) -> Prepared | Response:
    module = request.path_params["module"]
    if module not in MODULES:
        return _invalid_module()
    ids = [i.strip() for i in request.query_params.get("ids", "").split(",") if i.strip()]
    if not ids:
        return _bad(
            "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "ids"}
        )
    if len(ids) > MAX_UPSERT_RECORDS:
        return _bad("LIMIT_EXCEEDED", "limit exceeded", {"param": "ids", "limit": 100})

    def respond() -> Response:
        outcome = state.crm.delete(module, ids)
        return _json({"data": outcome.results}, outcome.http_status)

    return Prepared(1, len(ids), respond)


# --- COQL --------------------------------------------------------------------------------


def _kinds(module: str) -> dict[str, str]:
    return {
        s.api_name: "lookup" if s.data_type == "ownerlookup" else s.data_type
        for s in FIELDS[module]
    }


async def coql(request: Request) -> Response:
    """`POST /crm/v8/coql`."""
    return await _serve_api(request, ["coql"], _prepare_coql)


async def _prepare_coql(request: Request, state: ZohoState) -> Prepared | Response:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return _bad("INVALID_DATA", "body is not a valid JSON")
    text = body.get("select_query") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        return _bad(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            {"api_name": "select_query", "json_path": "$.select_query"},
        )
    try:
        query = parse_coql(text)
    except CoqlError as exc:
        return _json(exc.body(), 400)
    module = next((m for m in MODULES if m.lower() == query.module.lower()), None)
    if module is None:
        return _bad("INVALID_QUERY", "invalid module", {"module": query.module})

    def respond() -> Response:
        try:
            result = Evaluator(_kinds(module)).run(query, state.crm.iter_records(module))
        except CoqlError as exc:
            return _json(exc.body(), 400)
        if not result.rows:
            return Response(status_code=204)
        info = {"count": len(result.rows), "more_records": result.more_records}
        return _json({"data": result.rows, "info": info})

    return Prepared(query.credits, 0, respond)


# --- reads -------------------------------------------------------------------------------


async def fields(request: Request) -> Response:
    """`GET /crm/v8/settings/fields?module=...`."""
    return await _serve_api(request, ["fields"], _prepare_fields)


async def _prepare_fields(request: Request, state: ZohoState) -> Prepared | Response:
    module = request.query_params.get("module")
    if not module:
        return _bad(
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            {"param": "module"},
        )
    if module not in MODULES:
        return _bad(
            "INVALID_MODULE", "the module name given seems to be invalid", {"param": "module"}
        )
    return Prepared(1, 0, lambda: _json({"fields": field_metadata(module)}))


def _names(state: ZohoState) -> dict[str, str]:
    """Lookup targets' display names (lookups to Accounts show `Account_Name`)."""
    return {r["id"]: r.get("Account_Name") or "" for r in state.crm.iter_records("Accounts")}


def _int_param(request: Request, name: str, default: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def _page(
    rows: list[dict[str, Any]], page: int, per_page: int
) -> tuple[list[dict[str, Any]], bool]:
    start = (page - 1) * per_page
    return rows[start : start + per_page], len(rows) > start + per_page


def _sort_key(field: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    """Nulls sort as the smallest value (last when descending); ids numerically."""

    def key(record: dict[str, Any]) -> tuple[int, Any]:
        value = record.get(field)
        if isinstance(value, dict):
            value = value.get("id")
        if value is None:
            return (0, 0)
        if field == "id" or (isinstance(value, str) and value.isdigit() and len(value) > 15):
            return (1, int(value))
        return (1, value.casefold() if isinstance(value, str) else value)

    return key


def _list_params(request: Request) -> tuple[int, int] | Response:
    per_page = _int_param(request, "per_page", MAX_PER_PAGE)
    page = _int_param(request, "page", 1)
    if per_page is None or per_page > MAX_PER_PAGE:
        return _bad("INVALID_DATA", "invalid data", {"param_name": "per_page"})
    if page is None:
        return _bad("INVALID_DATA", "invalid data", {"param_name": "page"})
    return page, per_page


async def records_v8(request: Request) -> Response:
    """`GET /crm/v8/{module}?ids=&fields=` (and the plain list read)."""
    return await _serve_api(request, ["records"], _prepare_records_v8)


async def _prepare_records_v8(request: Request, state: ZohoState) -> Prepared | Response:
    module = request.path_params["module"]
    if module not in MODULES:
        return _invalid_module()
    wanted = [f for f in request.query_params.get("fields", "").split(",") if f.strip()]
    if not wanted:
        return _bad(
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            {"param": "fields"},
        )
    if len(wanted) > MAX_LIST_FIELDS:
        return _bad("LIMIT_EXCEEDED", "limit exceeded", {"param": "fields", "limit": 50})
    known = [f.strip() for f in wanted if f.strip() in _kinds(module) or f.strip() == "id"]
    ids = [i.strip() for i in request.query_params.get("ids", "").split(",") if i.strip()]
    sort_by = request.query_params.get("sort_by", "id")
    order = request.query_params.get(
        "sort_order", "desc" if "sort_by" in request.query_params else "asc"
    )
    if sort_by not in ("id", "Created_Time", "Modified_Time"):
        return _bad("INVALID_DATA", "invalid data", {"param_name": "sort_by"})
    paging = _list_params(request)
    if isinstance(paging, Response):
        return paging
    page, per_page = paging

    def respond() -> Response:
        if ids:
            rows = [r for r in (state.crm.get(module, i) for i in ids) if r is not None]
            more = False
        else:
            rows = sorted(state.crm.iter_records(module), key=_sort_key(sort_by),
                          reverse=order == "desc")  # fmt: skip
            rows, more = _page(rows, page, per_page)
        if not rows:
            return Response(status_code=204)
        names = _names(state)
        info = {"per_page": per_page, "count": len(rows), "page": page, "sort_by": sort_by,
                "sort_order": order, "more_records": more}  # fmt: skip
        return _json({"data": [project(r, known, names) for r in rows], "info": info})

    return Prepared(1, 0, respond)


async def record_v8(request: Request) -> Response:
    """`GET /crm/v8/{module}/{id}`: one record with all its fields."""
    return await _serve_api(request, ["records"], _prepare_record_v8)


async def _prepare_record_v8(request: Request, state: ZohoState) -> Prepared | Response:
    module = request.path_params["module"]
    if module not in MODULES:
        return _invalid_module()
    record_id = request.path_params["record_id"]

    def respond() -> Response:
        record = state.crm.get(module, record_id)
        if record is None:
            return Response(status_code=204)
        return _json({"data": [project(record, None, _names(state))]})

    return Prepared(1, 0, respond)


async def records_v2(request: Request) -> Response:
    """`GET /crm/v2/{module}`: v2 still sorts by any field."""
    return await _serve_api(request, ["v2", "records"], _prepare_records_v2)


async def _prepare_records_v2(request: Request, state: ZohoState) -> Prepared | Response:
    module = request.path_params["module"]
    if module not in MODULES:
        return _invalid_module()
    kinds = _kinds(module)
    raw_fields = request.query_params.get("fields")
    wanted = None if raw_fields is None else [f.strip() for f in raw_fields.split(",") if f.strip()]
    sort_by = request.query_params.get("sort_by", "id")
    order = request.query_params.get("sort_order", "desc")
    if sort_by != "id" and sort_by not in kinds:
        return _bad("INVALID_DATA", "invalid data", {"param_name": "sort_by"})
    if order not in ("asc", "desc"):
        return _bad("INVALID_DATA", "invalid data", {"param_name": "sort_order"})
    paging = _list_params(request)
    if isinstance(paging, Response):
        return paging
    page, per_page = paging

    def respond() -> Response:
        rows = sorted(state.crm.iter_records(module), key=_sort_key(sort_by),
                      reverse=order == "desc")  # fmt: skip
        rows, more = _page(rows, page, per_page)
        if not rows:
            return Response(status_code=204)
        names = _names(state)
        info = {"per_page": per_page, "count": len(rows), "page": page, "more_records": more}
        return _json({"data": [project(r, wanted, names) for r in rows], "info": info})

    return Prepared(1, 0, respond)


# --- control routes ----------------------------------------------------------------------


def _control_module(request: Request) -> str:
    module = request.path_params["module"]
    if module not in MODULES:
        raise HTTPException(404, f"unknown module {module!r}")
    return str(module)


async def control_records(request: Request) -> Response:
    """`GET|DELETE /__sandbox/records/{module}`."""
    state = _state(request)
    module = _control_module(request)
    if request.method == "DELETE":
        return _json({"deleted": state.crm.clear(module)})
    return _json(state.records(module))


async def control_stats(request: Request) -> Response:
    """`GET /__sandbox/stats`."""
    return _json(_state(request).stats())


async def control_limits(request: Request) -> Response:
    """`POST /__sandbox/limits` with `concurrency`, `daily_credits`, `latency_ms`, `token_ttl_s`."""
    state = _state(request)
    try:
        body = await request.json()
        latency = body.get("latency_ms")
        state.set_limits(
            concurrency=None if body.get("concurrency") is None else int(body["concurrency"]),
            daily_credits=None if body.get("daily_credits") is None else int(body["daily_credits"]),
            latency_ms=None if latency is None else (float(latency[0]), float(latency[1])),
            token_ttl_s=None if body.get("token_ttl_s") is None else float(body["token_ttl_s"]),
        )
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        return _json({"error": str(exc)}, 400)
    return _json(state.stats())


async def control_faults(request: Request) -> Response:
    """`POST /__sandbox/faults` adds rules; `DELETE` removes them all."""
    state = _state(request)
    if request.method == "DELETE":
        state.faults.clear()
        return _json({"active": 0})
    try:
        rules, seed = await parse_rules(request)
    except (ValueError, TypeError, KeyError) as exc:
        return _json({"error": str(exc)}, 400)
    state.faults.add(rules, seed)
    return _json({"active": state.faults.active})


async def control_expire_tokens(request: Request) -> Response:
    """`POST /__sandbox/tokens/expire`: every issued access token becomes invalid."""
    _state(request).expire_tokens()
    return _json({"expired": True})


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if request.url.path.startswith("/__sandbox/"):
        detail = exc.detail if isinstance(exc, HTTPException) else "error"
        return _json({"error": detail}, status)
    if status == 405:
        return _json(
            api_error("INVALID_REQUEST_METHOD", "The http request method type is not a valid one"),
            405,
        )
    return _json(default_error_body(status), status)


def create_zoho_app(
    *,
    latency_ms: tuple[float, float] = (0.0, 0.0),
    concurrency_limit: int = 10,
    daily_credits: int = 1_000_000,
    token_ttl_s: float = 3600.0,
    strict_fields: bool = False,
    seed: int = 0,
) -> Starlette:
    """The Zoho sandbox app; `app.state.zoho` is its ZohoState."""
    from gzsync.sandbox.zoho_quotes import inventory_routes  # Quotes, Products, org taxes

    routes = [
        *bulk_routes(),  # before /crm/v8/{module}: /crm/v8/org and /crm/v8/upload
        *inventory_routes(),
        Route("/oauth/v2/token", token, methods=["POST"]),
        Route("/crm/v8/coql", coql, methods=["POST"]),
        Route("/crm/v8/settings/fields", fields, methods=["GET"]),
        Route("/crm/v8/{module}/upsert", upsert, methods=["POST"]),
        Route("/crm/v8/{module}/{record_id}", record_v8, methods=["GET"]),
        Route("/crm/v8/{module}/{record_id}", update_one, methods=["PUT"]),
        Route("/crm/v8/{module}", records_v8, methods=["GET"]),
        Route("/crm/v8/{module}", insert, methods=["POST"]),
        Route("/crm/v8/{module}", delete_records, methods=["DELETE"]),
        Route("/crm/v2/{module}", records_v2, methods=["GET"]),
        Route("/__sandbox/records/{module}", control_records, methods=["GET", "DELETE"]),
        Route("/__sandbox/stats", control_stats, methods=["GET"]),
        Route("/__sandbox/limits", control_limits, methods=["POST"]),
        Route("/__sandbox/faults", control_faults, methods=["POST", "DELETE"]),
        Route("/__sandbox/tokens/expire", control_expire_tokens, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.zoho = ZohoState(
        latency_ms=latency_ms,
        concurrency_limit=concurrency_limit,
        daily_credits=daily_credits,
        token_ttl_s=token_ttl_s,
        strict_fields=strict_fields,
        seed=seed,
    )
    return app
