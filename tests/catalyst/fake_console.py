"""A fake Catalyst platform on loopback: the console API paths zcatalyst-sdk 1.4.0 calls for
NoSQL items, Cache and Connections, plus the job data/callback endpoints of the Python
job runtime (zcatalyst-runtime-311 2.0.0).

Serve it with :class:`gzsync.sandbox.serve.ServedApp` and point the SDK at it with
`X_ZOHO_CATALYST_CONSOLE_URL` (read when zcatalyst_sdk is imported).

Semantics emulated (from the SDK source and the Catalyst NoSQL docs):
- paths `/baas/v1/project/{project_id}/nosqltable/{table}/item[/fetch|/query]` and
  `/baas/v1/project/{project_id}[/segment/{id}]/cache`; answers `{"status", "data"}`;
- every call must carry `Authorization: Zoho-oauthtoken <admin token>` and `PROJECT_ID`;
- an insert replaces the item with the same keys; its `condition` is evaluated against the
  existing item and ignored when there is none (Catalyst docs, "Insert Items with
  Conditional Functions"); a failed condition answers HTTP 400 `CONDITION_FAILED` and writes
  nothing (Catalyst's exact failure wording is not documented; the store reads back and does
  not depend on it);
- query: `key_condition` on the partition key, items in sort-key order (`forward_scan`),
  `limit` and `start_key` paging;
- Cache: POST/PUT store, GET `?cacheKey=` answers 404 for an absent key, DELETE.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ADMIN_TOKEN = "fake-admin-token-0001"
PROJECT_ID = "4000000000001"
PROJECT_KEY = "50000001"

Keys = tuple[str, str]


@dataclass
class ConsoleState:
    """Everything the fake platform holds; tests read and seed it directly."""

    tables: dict[str, dict[Keys, dict[str, Any]]] = field(default_factory=dict)
    cache: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    connections: dict[str, str] = field(default_factory=dict)  # link name -> access token
    job_data: dict[str, Any] = field(default_factory=dict)
    job_statuses: list[int] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data}, status_code=status)


def _fail(status: int, code: str, message: str) -> JSONResponse:
    body = {"status": "failure", "data": {"error_code": code, "message": message}}
    return JSONResponse(body, status_code=status)


def _value(typed: dict[str, Any]) -> Any:
    kind, raw = next(iter(typed.items()))
    return Decimal(raw) if kind == "N" else raw


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None:
        return op == "not_equals"
    if type(left) is not type(right):
        return op == "not_equals"
    return {
        "equals": lambda: left == right,
        "not_equals": lambda: left != right,
        "less_than": lambda: left < right,
        "less_equal": lambda: left <= right,
        "greater_than": lambda: left > right,
        "greater_equal": lambda: left >= right,
        "begins_with": lambda: str(left).startswith(str(right)),
    }[op]()


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


def create_console_app(state: ConsoleState | None = None) -> Starlette:
    """The fake console; `app.state.console` is its :class:`ConsoleState`."""
    console = state or ConsoleState()
    prefix = "/baas/v1/project/{project_id}"

    def authorised(request: Request) -> bool:
        return (
            request.headers.get("authorization") == f"Zoho-oauthtoken {ADMIN_TOKEN}"
            and request.headers.get("project_id") == PROJECT_KEY
            and request.path_params.get("project_id") == PROJECT_ID
        )

    def keys_of(table: str, typed_keys: dict[str, Any]) -> Keys:
        return (_value(typed_keys["pk"]), _value(typed_keys["sk"]))

    async def items(request: Request) -> JSONResponse:
        if not authorised(request):
            return _fail(401, "INVALID_OAUTHTOKEN", "invalid oauth token")
        table_name = request.path_params["table"]
        body = await request.json()
        console.calls.append((request.method, f"nosql/{table_name}"))
        with console.lock:
            table = console.tables.setdefault(table_name, {})
            if request.method == "POST":
                return insert(table, body)
            if request.method == "PUT":
                return update(table, body)
            return delete(table, body)

    def insert(table: dict[Keys, dict[str, Any]], body: list[dict[str, Any]]) -> JSONResponse:
        for request_item in body:
            key = keys_of("", request_item["item"])
            existing = table.get(key)
            condition = request_item.get("condition")
            if condition and existing is not None and not evaluate(condition, existing):
                return _fail(400, "CONDITION_FAILED", "the condition was not satisfied")
        created = []
        for request_item in body:
            item = dict(request_item["item"])
            old = table.get(keys_of("", item))
            table[keys_of("", item)] = item
            answer: dict[str, Any] = {"status": "success"}
            if request_item.get("return") == "NEW":
                answer["item"] = item
            elif request_item.get("return") == "OLD" and old is not None:
                answer["old_item"] = old
            created.append(answer)
        return _ok({"size": len(created), "create": created})

    def update(table: dict[Keys, dict[str, Any]], body: list[dict[str, Any]]) -> JSONResponse:
        updated = []
        for request_item in body:
            key = keys_of("", request_item["keys"])
            existing = table.get(key)
            condition = request_item.get("condition")
            if condition and existing is not None and not evaluate(condition, existing):
                return _fail(400, "CONDITION_FAILED", "the condition was not satisfied")
            item = dict(existing or request_item["keys"])
            for change in request_item.get("update_attributes", []):
                name = change["attribute_path"][0]
                if change.get("operation_type") == "DELETE":
                    item.pop(name, None)
                else:
                    item[name] = change["update_value"]
            table[key] = item
            updated.append({"status": "success", "item": item})
        return _ok({"size": len(updated), "update": updated})

    def delete(table: dict[Keys, dict[str, Any]], body: list[dict[str, Any]]) -> JSONResponse:
        deleted = []
        for request_item in body:
            key = keys_of("", request_item["keys"])
            existing = table.get(key)
            condition = request_item.get("condition")
            if condition and existing is not None and not evaluate(condition, existing):
                return _fail(400, "CONDITION_FAILED", "the condition was not satisfied")
            if table.pop(key, None) is not None:
                deleted.append({"status": "success", "old_item": existing})
        return _ok({"size": len(deleted), "delete": deleted})

    async def fetch(request: Request) -> JSONResponse:
        if not authorised(request):
            return _fail(401, "INVALID_OAUTHTOKEN", "invalid oauth token")
        body = await request.json()
        console.calls.append(("FETCH", f"nosql/{request.path_params['table']}"))
        with console.lock:
            table = console.tables.setdefault(request.path_params["table"], {})
            found = [
                {"status": "success", "item": table[keys_of("", k)]}
                for k in body["keys"]
                if keys_of("", k) in table
            ]
        return _ok({"size": len(found), "get": found})

    async def query(request: Request) -> JSONResponse:
        if not authorised(request):
            return _fail(401, "INVALID_OAUTHTOKEN", "invalid oauth token")
        body = await request.json()
        console.calls.append(("QUERY", f"nosql/{request.path_params['table']}"))
        with console.lock:
            table = console.tables.setdefault(request.path_params["table"], {})
            matching = sorted(
                (item for item in table.values() if evaluate(body["key_condition"], item)),
                key=lambda item: _value(item["sk"]),
                reverse=not body.get("forward_scan", True),
            )
        start = body.get("start_key")
        if start:
            after = keys_of("", start)
            position = [keys_of("", i) for i in matching].index(after)
            matching = matching[position + 1 :]
        limit = int(body.get("limit") or 100)
        page, rest = matching[:limit], matching[limit:]
        data: dict[str, Any] = {
            "size": len(page),
            "get": [{"status": "success", "item": item} for item in page],
        }
        if rest:
            data["start_key"] = {"pk": page[-1]["pk"], "sk": page[-1]["sk"]}
        return _ok(data)

    async def cache(request: Request) -> JSONResponse:
        if not authorised(request):
            return _fail(401, "INVALID_OAUTHTOKEN", "invalid oauth token")
        segment = console.cache.setdefault(request.path_params.get("segment", "default"), {})
        console.calls.append((request.method, "cache"))
        if request.method in ("POST", "PUT"):
            body = await request.json()
            hours = body.get("expiry_in_hours")
            if hours is not None and not 1 <= int(hours) <= 48:
                return _fail(400, "INVALID_INPUT", "expiry_in_hours must be 1-48")
            entry = {
                "cache_name": body["cache_name"],
                "cache_value": body["cache_value"],
                "expiry_in_hours": hours,
            }
            segment[body["cache_name"]] = entry
            return _ok(entry, 201 if request.method == "POST" else 200)
        key = request.query_params["cacheKey"]
        if request.method == "DELETE":
            if segment.pop(key, None) is None:
                return _fail(404, "NOT_FOUND", "no such cache key")
            return _ok({"cache_name": key})
        if key not in segment:
            return _fail(404, "NOT_FOUND", "no such cache key")
        return _ok(segment[key])

    async def connection_details(request: Request) -> JSONResponse:
        if not authorised(request):
            return _fail(401, "INVALID_OAUTHTOKEN", "invalid oauth token")
        name = request.query_params.get("connection-link-name", "")
        console.calls.append(("GET", "connection-details"))
        if name not in console.connections:
            return _fail(400, "INVALID_INPUT", "no such connection")
        headers = {"Authorization": f"Zoho-oauthtoken {console.connections[name]}"}
        return _ok({"connections": {"headers": headers, "parameters": {}}})

    async def job_data(request: Request) -> JSONResponse:
        console.calls.append(("GET", "job-data"))
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return _fail(401, "UNAUTHORIZED", "no bearer token")
        return JSONResponse({"data": console.job_data})

    async def job_callback(request: Request) -> JSONResponse:
        body = await request.json()
        console.job_statuses.append(int(body["job_status"]))
        return JSONResponse({"status": "success"})

    routes = [
        Route(prefix + "/nosqltable/{table}/item", items, methods=["POST", "PUT", "DELETE"]),
        Route(prefix + "/nosqltable/{table}/item/fetch", fetch, methods=["POST"]),
        Route(prefix + "/nosqltable/{table}/item/query", query, methods=["POST"]),
        Route(prefix + "/cache", cache, methods=["GET", "POST", "PUT", "DELETE"]),
        Route(prefix + "/segment/{segment}/cache", cache, methods=["GET", "POST", "PUT", "DELETE"]),
        Route(prefix + "/connection-details", connection_details, methods=["GET"]),
        Route("/job/data", job_data, methods=["GET"]),
        Route("/job/callback", job_callback, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.console = console
    return app


def sdk_environment(console_url: str) -> dict[str, str]:
    """Environment for zcatalyst_sdk outside Catalyst, pointed at the fake console."""
    import json

    return {
        "X_ZOHO_CATALYST_CONSOLE_URL": console_url,
        "CATALYST_AUTH": json.dumps({"access_token": ADMIN_TOKEN}),
        "CATALYST_OPTIONS": json.dumps(
            {
                "project_id": PROJECT_ID,
                "project_key": PROJECT_KEY,
                "project_domain": "gzsync-test.catalystserverless.com",
                "environment": "Development",
            }
        ),
    }


def runtime_headers() -> dict[str, str]:
    """The `x-zc-*` headers the job runtime copies from the job meta details for the SDK."""
    return {
        "x-zc-projectid": PROJECT_ID,
        "x-zc-project-key": PROJECT_KEY,
        "x-zc-project-domain": "gzsync-test.catalystserverless.com",
        "x-zc-environment": "Development",
        "x-zc-admin-cred-type": "token",
        "x-zc-admin-cred-token": ADMIN_TOKEN,
        "x-zc-user-cred-type": "token",
        "x-zc-user-cred-token": "fake-user-token-0001",
        "x-zc-user-type": "admin",
    }
