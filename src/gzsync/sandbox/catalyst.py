"""A local Catalyst console: NoSQL items, Cache, Connections and the job runtime endpoints.

It answers the paths zcatalyst-sdk 1.4.0 calls, as the SDK builds them, and the job
data/callback endpoints of Catalyst's Python job runtime (zcatalyst-runtime-311 2.0.0).
Point the SDK at it with the environment :func:`sdk_environment` gives
(`X_ZOHO_CATALYST_CONSOLE_URL` is read when zcatalyst_sdk is imported; :func:`point_sdk_at`
also re-points an SDK already imported). Facts: `shared/reference/catalyst-and-sdks.md` §2.

What it does, including the inconvenient parts a client must survive:

- paths `/baas/v1/project/{project_id}/nosqltable/{table}/item[/fetch|/query]` and
  `/baas/v1/project/{project_id}[/segment/{id}]/cache`; answers `{"status", "data"}`, errors
  `{"status": "failure", "data": {"error_code", "message"}}` (the shape the SDK parses);
- every call must carry `Authorization: Zoho-oauthtoken <admin token>` and `PROJECT_ID`;
- **limits**: at most 25 items per insert/update/delete call, 100 keys per fetch, a query
  `limit` of at most 100 (default 100), an item of at most 400 KB (its JSON), a Cache value of
  at most 16,000 characters and an expiry of 1-48 whole hours: beyond them, HTTP 400
  `INVALID_INPUT` and nothing is written;
- **concurrency**: more than `concurrency` calls in flight answer HTTP 429
  `TOO_MANY_REQUESTS` "Concurrency limit reached for the feature COMPONENT" (Catalyst's FAQ);
- **replica lag**: a fetch or query without `consistent_read: true` reads a replica that
  sees writes `replica_lag_s` seconds late (Catalyst: "a minor delay"); a consistent read
  sees every write;
- an insert replaces the item with the same keys; its `condition` is evaluated against the
  existing item and ignored when there is none; a failed condition answers HTTP 400
  `CONDITION_FAILED` and writes nothing (the wording is undocumented: clients read back);
- query: `key_condition` on the partition key, items in sort-key order (`forward_scan`),
  `limit` and `start_key` paging;
- Cache: POST/PUT store, GET `?cacheKey=` answers 404 for an absent or expired key, DELETE.

Calls and faults are named `nosql:insert`, `nosql:update`, `nosql:fetch`, `nosql:query`,
`nosql:delete` (each also `<name>:<table>`), `cache:get`, `cache:put` (POST and PUT),
`cache:delete`, `connections:get`, `job:data`, `job:callback`. Control routes:
`GET /__sandbox/stats` (calls by name, request and response bytes, 429s, peak concurrency,
items per table, faults fired), `POST/DELETE /__sandbox/faults` (rules of
:mod:`gzsync.sandbox.faults`; the action `partial` makes every second item of an
insert/delete call, or its only one, fail on its own: the call answers 200 with that item's
`status` `"failure"` and does not write it), `POST /__sandbox/limits` (`latency_ms`,
`concurrency`, `replica_lag_s`).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gzsync.sandbox.faults import FaultInjector, FaultRule, parse_rules, respond
from gzsync.sandbox.zoho_limits import ConcurrencyGate

ADMIN_TOKEN = "sandbox-catalyst-admin-token-0001"  # noqa: S105 - a sandbox credential
PROJECT_ID = "4000000000001"
PROJECT_KEY = "50000001"
PROJECT_DOMAIN = "gzsync-sandbox.catalystserverless.com"

MAX_WRITE_ITEMS = 25
MAX_FETCH_KEYS = 100
MAX_QUERY_LIMIT = 100
MAX_ITEM_BYTES = 400 * 1024
MAX_CACHE_VALUE = 16_000
CONCURRENCY_BODY = {
    "status": "failure",
    "data": {
        "error_code": "TOO_MANY_REQUESTS",
        "message": "Concurrency limit reached for the feature COMPONENT",
    },
}

Keys = tuple[Any, Any]
Table = dict[Keys, dict[str, Any]]


@dataclass
class ConsoleState:
    """Everything the sandbox holds; tests read and seed it directly (under `lock`)."""

    tables: dict[str, Table] = field(default_factory=dict)
    cache: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    connections: dict[str, str] = field(default_factory=dict)  # link name -> access token
    job_data: dict[str, Any] = field(default_factory=dict)
    job_statuses: list[int] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stats: Counter[str] = field(default_factory=Counter)
    bytes_in: int = 0
    bytes_out: int = 0
    bytes_by_call: dict[str, list[int]] = field(default_factory=dict)  # name -> [in, out]
    throttled: int = 0
    latency_ms: float = 0.0
    replica_lag_s: float = 1.0
    faults: FaultInjector = field(default_factory=FaultInjector)
    gate: ConcurrencyGate = field(default_factory=lambda: ConcurrencyGate(10))
    clock: Callable[[], float] = time.monotonic
    # the replica: what a non-consistent read sees, and the writes it has not seen yet
    replicas: dict[str, Table] = field(default_factory=dict)
    _pending: deque[tuple[float, str, Keys, dict[str, Any] | None]] = field(default_factory=deque)

    def write(self, table: str, key: Keys, item: dict[str, Any] | None) -> None:
        """Put (or, with None, delete) an item; the replica sees it `replica_lag_s` later."""
        primary = self.tables.setdefault(table, {})
        if item is None:
            primary.pop(key, None)
        else:
            primary[key] = item
        self._pending.append((self.clock(), table, key, item))

    def replica(self, table: str) -> Table:
        """The replica of `table` as a non-consistent read sees it now."""
        horizon = self.clock() - self.replica_lag_s
        while self._pending and self._pending[0][0] <= horizon:
            _, name, key, item = self._pending.popleft()
            copy = self.replicas.setdefault(name, {})
            if item is None:
                copy.pop(key, None)
            else:
                copy[key] = item
        return self.replicas.setdefault(table, {})

    def reset_calls(self) -> None:
        self.calls.clear()
        self.stats.clear()
        self.bytes_by_call.clear()
        self.bytes_in = self.bytes_out = self.throttled = 0

    def stats_json(self) -> dict[str, Any]:
        return {
            "calls": dict(self.stats),
            "nosql_calls": sum(n for k, n in self.stats.items() if k.startswith("nosql:")),
            "cache_calls": sum(n for k, n in self.stats.items() if k.startswith("cache:")),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "bytes_by_call": {k: list(v) for k, v in self.bytes_by_call.items()},
            "throttled": self.throttled,
            "peak_concurrency": self.gate.peak,
            "in_flight": self.gate.in_flight,
            "items": {name: len(table) for name, table in self.tables.items()},
            "faults_active": self.faults.active,
            "faults_fired": dict(self.faults.fired),
            "latency_ms": self.latency_ms,
            "replica_lag_s": self.replica_lag_s,
        }


def _ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data}, status_code=status)


def _fail(status: int, code: str, message: str) -> JSONResponse:
    body = {"status": "failure", "data": {"error_code": code, "message": message}}
    return JSONResponse(body, status_code=status)


def default_error_body(status: int) -> dict[str, Any]:
    """The body of an error status a fault rule gives without one."""
    if status == 429:
        return dict(CONCURRENCY_BODY)
    code = "INTERNAL_SERVER_ERROR" if status >= 500 else "INVALID_INPUT"
    return {"status": "failure", "data": {"error_code": code, "message": f"HTTP {status}"}}


def _value(typed: dict[str, Any]) -> Any:
    kind, raw = next(iter(typed.items()))
    return Decimal(raw) if kind == "N" else raw


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None or type(left) is not type(right):
        return op == "not_equals"
    checks: dict[str, Callable[[], bool]] = {
        "equals": lambda: left == right,
        "not_equals": lambda: left != right,
        "less_than": lambda: left < right,
        "less_equal": lambda: left <= right,
        "greater_than": lambda: left > right,
        "greater_equal": lambda: left >= right,
        "begins_with": lambda: str(left).startswith(str(right)),
    }
    return checks[op]()


def evaluate(condition: dict[str, Any], item: dict[str, Any]) -> bool:
    """A Catalyst NoSQL condition (attribute, function or group) against a typed item."""
    if "group_operator" in condition:
        results = [evaluate(c, item) for c in condition["group"]]
        outcome = all(results) if condition["group_operator"] == "AND" else any(results)
        return not outcome if condition.get("negate") else outcome
    if "function" in condition:
        function = condition["function"]
        path = function["args"][0]["attribute_path"]
        name = path[0] if isinstance(path, list) else path
        exists = name in item
        return exists if function["function_name"] == "attribute_exists" else not exists
    name = condition["attribute"]
    name = name[0] if isinstance(name, list) else name
    left = _value(item[name]) if name in item else None
    return _compare(condition["operator"], left, _value(condition["value"]))


def _keys_of(typed_keys: dict[str, Any]) -> Keys:
    return (_value(typed_keys["pk"]), _value(typed_keys["sk"]))


def _fails(index: int, count: int, partial: bool) -> bool:
    """Whether item `index` of `count` fails on its own under a `partial` fault."""
    return partial and (count == 1 or index % 2 == 1)


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def create_catalyst_app(
    state: ConsoleState | None = None,
    *,
    latency_ms: float = 0.0,
    concurrency: int = 10,
    replica_lag_s: float = 1.0,
    seed: int = 0,
) -> Starlette:
    """The sandbox console; `app.state.console` is its :class:`ConsoleState`."""
    console = state or ConsoleState()
    if state is None:
        console.latency_ms = latency_ms
        console.gate.limit = concurrency
        console.replica_lag_s = replica_lag_s
        console.faults = FaultInjector(seed)
    prefix = "/baas/v1/project/{project_id}"

    def authorised(request: Request) -> bool:
        return (
            request.headers.get("authorization") == f"Zoho-oauthtoken {ADMIN_TOKEN}"
            and request.headers.get("project_id") == PROJECT_KEY
            and request.path_params.get("project_id") == PROJECT_ID
        )

    async def serve(
        request: Request,
        names: Sequence[str],
        call: tuple[str, str],
        work: Callable[[Any, FaultRule | None], Response],
        *,
        body: bool = True,
    ) -> Response:
        """Count, faults, auth, concurrency, latency, then the work (under the lock)."""
        raw = await request.body()
        console.stats[names[0]] += 1
        console.bytes_in += len(raw)
        console.calls.append(call)
        rule = console.faults.pick(names)
        if rule is not None:
            faulted = await respond(rule, default_error_body)
            if faulted is not None:
                return faulted
        if not authorised(request):
            return _fail(401, "INVALID_OAUTHTOKEN", "invalid oauth token")
        if not console.gate.try_acquire():
            console.throttled += 1
            return JSONResponse(CONCURRENCY_BODY, status_code=429)
        try:
            if console.latency_ms > 0:
                await asyncio.sleep(console.latency_ms / 1000.0)
            try:
                payload = json.loads(raw) if body else None
            except ValueError:
                return _fail(400, "INVALID_INPUT", "the body is not JSON")
            with console.lock:
                try:
                    response = work(payload, rule if rule and rule.action == "partial" else None)
                except _Refused as refused:
                    response = refused.response
                except (KeyError, TypeError, ValueError, IndexError, StopIteration) as exc:
                    response = _fail(400, "INVALID_INPUT", f"malformed request ({exc!r})")
        finally:
            console.gate.release()
        console.bytes_out += len(response.body)
        sizes = console.bytes_by_call.setdefault(names[0], [0, 0])
        sizes[0] += len(raw)
        sizes[1] += len(response.body)
        return response

    def check_items(body: Any, what: str) -> list[dict[str, Any]]:
        if not isinstance(body, list) or not body:
            raise _Refused(_fail(400, "INVALID_INPUT", f"{what}: a non-empty list is expected"))
        if len(body) > MAX_WRITE_ITEMS:
            raise _Refused(
                _fail(400, "INVALID_INPUT", f"{what}: at most {MAX_WRITE_ITEMS} items per call")
            )
        return body

    def check_size(item: dict[str, Any]) -> None:
        if len(json.dumps(item)) > MAX_ITEM_BYTES:
            raise _Refused(_fail(400, "INVALID_INPUT", "an item exceeds the 400 KB limit"))

    def table_of(request: Request) -> str:
        return str(request.path_params["table"])

    async def items(request: Request) -> Response:
        table_name = table_of(request)
        verb = {"POST": "insert", "PUT": "update", "DELETE": "delete"}[request.method]
        names = [f"nosql:{verb}", f"nosql:{verb}:{table_name}"]

        def work(body: Any, partial: FaultRule | None) -> Response:
            body = check_items(body, verb)
            table = console.tables.setdefault(table_name, {})
            if verb == "insert":
                return insert(table_name, table, body, partial is not None)
            if verb == "update":
                return update(table_name, table, body)
            return delete(table_name, table, body, partial is not None)

        return await serve(request, names, (request.method, f"nosql/{table_name}"), work)

    def condition_fails(request_item: dict[str, Any], existing: dict[str, Any] | None) -> bool:
        condition = request_item.get("condition")
        if not condition or existing is None:
            return False
        return not evaluate(condition, existing)

    def insert(name: str, table: Table, body: list[dict[str, Any]], partial: bool) -> Response:
        for request_item in body:
            check_size(request_item["item"])
            if condition_fails(request_item, table.get(_keys_of(request_item["item"]))):
                return _fail(400, "CONDITION_FAILED", "the condition was not satisfied")
        created = []
        for index, request_item in enumerate(body):
            item = dict(request_item["item"])
            if _fails(index, len(body), partial):
                created.append({"status": "failure", "error_code": "INTERNAL_SERVER_ERROR"})
                continue
            key = _keys_of(item)
            old = table.get(key)
            console.write(name, key, item)
            answer: dict[str, Any] = {"status": "success"}
            if request_item.get("return") == "NEW":
                answer["item"] = item
            elif request_item.get("return") == "OLD" and old is not None:
                answer["old_item"] = old
            created.append(answer)
        return _ok({"size": len(created), "create": created})

    def update(name: str, table: Table, body: list[dict[str, Any]]) -> Response:
        for request_item in body:
            if condition_fails(request_item, table.get(_keys_of(request_item["keys"]))):
                return _fail(400, "CONDITION_FAILED", "the condition was not satisfied")
        updated = []
        for request_item in body:
            key = _keys_of(request_item["keys"])
            item = dict(table.get(key) or request_item["keys"])
            for change in request_item.get("update_attributes", []):
                attribute = change["attribute_path"][0]
                if change.get("operation_type") == "DELETE":
                    item.pop(attribute, None)
                else:
                    item[attribute] = change["update_value"]
            check_size(item)
            console.write(name, key, item)
            updated.append({"status": "success", "item": item})
        return _ok({"size": len(updated), "update": updated})

    def delete(name: str, table: Table, body: list[dict[str, Any]], partial: bool) -> Response:
        for request_item in body:
            if condition_fails(request_item, table.get(_keys_of(request_item["keys"]))):
                return _fail(400, "CONDITION_FAILED", "the condition was not satisfied")
        deleted: list[dict[str, Any]] = []
        for index, request_item in enumerate(body):
            key = _keys_of(request_item["keys"])
            if _fails(index, len(body), partial):
                deleted.append({"status": "failure", "error_code": "INTERNAL_SERVER_ERROR"})
                continue
            existing = table.get(key)
            if existing is not None:
                console.write(name, key, None)
                deleted.append({"status": "success", "old_item": existing})
            else:
                deleted.append({"status": "success"})
        return _ok({"size": len(deleted), "delete": deleted})

    def read_view(table_name: str, body: dict[str, Any]) -> Table:
        if body.get("consistent_read") is True:
            return console.tables.setdefault(table_name, {})
        return console.replica(table_name)

    async def fetch(request: Request) -> Response:
        table_name = table_of(request)

        def work(body: Any, _partial: FaultRule | None) -> Response:
            keys = body["keys"]
            if not isinstance(keys, list) or not keys or len(keys) > MAX_FETCH_KEYS:
                return _fail(400, "INVALID_INPUT", f"fetch: 1 to {MAX_FETCH_KEYS} keys per call")
            table = read_view(table_name, body)
            found = [
                {"status": "success", "item": table[_keys_of(k)]}
                for k in keys
                if _keys_of(k) in table
            ]
            return _ok({"size": len(found), "get": found})

        names = ["nosql:fetch", f"nosql:fetch:{table_name}"]
        return await serve(request, names, ("FETCH", f"nosql/{table_name}"), work)

    async def query(request: Request) -> Response:
        table_name = table_of(request)

        def work(body: Any, _partial: FaultRule | None) -> Response:
            limit = int(body.get("limit") or MAX_QUERY_LIMIT)
            if not 1 <= limit <= MAX_QUERY_LIMIT:
                return _fail(400, "INVALID_INPUT", f"query: limit is 1 to {MAX_QUERY_LIMIT}")
            table = read_view(table_name, body)
            matching = sorted(
                (item for item in table.values() if evaluate(body["key_condition"], item)),
                key=lambda item: _value(item["sk"]),
                reverse=not body.get("forward_scan", True),
            )
            start = body.get("start_key")
            if start:
                after = _keys_of(start)
                order = [_keys_of(i) for i in matching]
                forward = body.get("forward_scan", True)
                matching = [
                    item
                    for item, k in zip(matching, order, strict=True)
                    if (k[1] > after[1] if forward else k[1] < after[1])
                ]
            page, rest = matching[:limit], matching[limit:]
            data: dict[str, Any] = {
                "size": len(page),
                "get": [{"status": "success", "item": item} for item in page],
            }
            if rest:
                data["start_key"] = {"pk": page[-1]["pk"], "sk": page[-1]["sk"]}
            return _ok(data)

        names = ["nosql:query", f"nosql:query:{table_name}"]
        return await serve(request, names, ("QUERY", f"nosql/{table_name}"), work)

    async def cache(request: Request) -> Response:
        segment_name = request.path_params.get("segment", "default")
        verb = {"POST": "put", "PUT": "put", "GET": "get", "DELETE": "delete"}[request.method]
        writes = request.method in ("POST", "PUT")

        def work(body: Any, _partial: FaultRule | None) -> Response:
            segment = console.cache.setdefault(segment_name, {})
            now = time.time()
            if writes:
                hours = body.get("expiry_in_hours")
                if hours is not None and not 1 <= int(hours) <= 48:
                    return _fail(400, "INVALID_INPUT", "expiry_in_hours must be 1-48")
                value = body["cache_value"]
                if not isinstance(value, str) or len(value) > MAX_CACHE_VALUE:
                    return _fail(400, "INVALID_INPUT", "cache_value: at most 16000 characters")
                ttl_h = int(hours) if hours is not None else 48
                entry = {
                    "cache_name": body["cache_name"],
                    "cache_value": value,
                    "expiry_in_hours": hours,
                    "ttl_in_milliseconds": ttl_h * 3_600_000,
                    "expires_at": now + ttl_h * 3600,
                }
                segment[body["cache_name"]] = entry
                return _ok(entry, 201 if request.method == "POST" else 200)
            key = request.query_params["cacheKey"]
            live = segment.get(key)
            if live is not None and live["expires_at"] <= now:
                segment.pop(key, None)
                live = None
            if request.method == "DELETE":
                if live is None:
                    return _fail(404, "NOT_FOUND", "no such cache key")
                segment.pop(key, None)
                return _ok({"cache_name": key})
            if live is None:
                return _fail(404, "NOT_FOUND", "no such cache key")
            return _ok(live)

        return await serve(request, [f"cache:{verb}"], (request.method, "cache"), work, body=writes)

    async def connection_details(request: Request) -> Response:
        def work(_body: Any, _partial: FaultRule | None) -> Response:
            name = request.query_params.get("connection-link-name", "")
            if name not in console.connections:
                return _fail(400, "INVALID_INPUT", "no such connection")
            headers = {"Authorization": f"Zoho-oauthtoken {console.connections[name]}"}
            return _ok({"connections": {"headers": headers, "parameters": {}}})

        return await serve(
            request, ["connections:get"], ("GET", "connection-details"), work, body=False
        )

    async def job_data(request: Request) -> Response:
        console.stats["job:data"] += 1
        console.calls.append(("GET", "job-data"))
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return _fail(401, "UNAUTHORIZED", "no bearer token")
        return JSONResponse({"data": console.job_data})

    async def job_callback(request: Request) -> Response:
        console.stats["job:callback"] += 1
        body = await request.json()
        console.job_statuses.append(int(body["job_status"]))
        return JSONResponse({"status": "success"})

    async def control_stats(request: Request) -> Response:
        return JSONResponse(console.stats_json())

    async def control_faults(request: Request) -> Response:
        if request.method == "DELETE":
            console.faults.clear()
            return JSONResponse({"active": 0})
        try:
            rules, seed = await parse_rules(request)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        console.faults.add(rules, seed)
        return JSONResponse({"active": console.faults.active})

    async def control_limits(request: Request) -> Response:
        body = await request.json()
        if body.get("latency_ms") is not None:
            console.latency_ms = float(body["latency_ms"])
        if body.get("concurrency") is not None:
            console.gate.limit = int(body["concurrency"])
        if body.get("replica_lag_s") is not None:
            console.replica_lag_s = float(body["replica_lag_s"])
        return JSONResponse(console.stats_json())

    routes = [
        Route(prefix + "/nosqltable/{table}/item", items, methods=["POST", "PUT", "DELETE"]),
        Route(prefix + "/nosqltable/{table}/item/fetch", fetch, methods=["POST"]),
        Route(prefix + "/nosqltable/{table}/item/query", query, methods=["POST"]),
        Route(prefix + "/cache", cache, methods=["GET", "POST", "PUT", "DELETE"]),
        Route(prefix + "/segment/{segment}/cache", cache, methods=["GET", "POST", "PUT", "DELETE"]),
        Route(prefix + "/connection-details", connection_details, methods=["GET"]),
        Route("/job/data", job_data, methods=["GET"]),
        Route("/job/callback", job_callback, methods=["POST"]),
        Route("/__sandbox/stats", control_stats, methods=["GET"]),
        Route("/__sandbox/faults", control_faults, methods=["POST", "DELETE"]),
        Route("/__sandbox/limits", control_limits, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.console = console
    return app


def sdk_environment(console_url: str) -> dict[str, str]:
    """Environment for zcatalyst_sdk outside Catalyst, pointed at the sandbox console."""
    return {
        "X_ZOHO_CATALYST_CONSOLE_URL": console_url,
        "CATALYST_AUTH": json.dumps({"access_token": ADMIN_TOKEN}),
        "CATALYST_OPTIONS": json.dumps(
            {
                "project_id": PROJECT_ID,
                "project_key": PROJECT_KEY,
                "project_domain": PROJECT_DOMAIN,
                "environment": "Development",
            }
        ),
    }


def point_sdk_at(console_url: str) -> None:
    """Make zcatalyst_sdk in this process call `console_url`, even if already imported (it
    copies `X_ZOHO_CATALYST_CONSOLE_URL` into module constants at import time)."""
    import os
    import sys

    os.environ.update(sdk_environment(console_url))
    for name in ("zcatalyst_sdk._constants", "zcatalyst_sdk._http_client"):
        module = sys.modules.get(name)
        if module is not None:
            module.APP_DOMAIN = console_url  # type: ignore[attr-defined]


def runtime_headers() -> dict[str, str]:
    """The `x-zc-*` headers the job runtime copies from the job meta details for the SDK."""
    return {
        "x-zc-projectid": PROJECT_ID,
        "x-zc-project-key": PROJECT_KEY,
        "x-zc-project-domain": PROJECT_DOMAIN,
        "x-zc-environment": "Development",
        "x-zc-admin-cred-type": "token",
        "x-zc-admin-cred-token": ADMIN_TOKEN,
        "x-zc-user-cred-type": "token",
        "x-zc-user-cred-token": "sandbox-catalyst-user-token-0001",
        "x-zc-user-type": "admin",
    }
