"""GalaxyClient against a scripted Galaxy (httpx.MockTransport): session, views, bad bodies."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from tests.kvstore import MemoryStore

from gzsync.errors import GalaxyAuthError, GalaxyError, GalaxyResponseError
from gzsync.galaxy import client as galaxy_client
from gzsync.galaxy.client import SESSION_KEY, GalaxyClient
from gzsync.galaxy.filters import Condition, Op
from gzsync.http import RetryPolicy
from gzsync.logs import configure_logging
from gzsync.sandbox import credentials
from gzsync.sandbox.serve import ServedApp

PASSWORD = "pw-Sekr3t&="


class FakeGalaxy:
    """Just enough Galaxy: /auth issuing sessions, one view, expirable sessions."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.sessions: set[str] = set()
        self.requests: list[httpx.Request] = []
        self.auth_count = 0
        self.view_response: Callable[[httpx.Request], httpx.Response] | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path.endswith("/auth"):
            if request.url.params.get("password") != PASSWORD:
                return httpx.Response(
                    401,
                    json={
                        "ResponseStatus": {
                            "ErrorCode": "Unauthorized",
                            "Message": "Invalid Username or Password",
                        }
                    },
                )
            self.auth_count += 1
            session = f"sess-{self.auth_count}-abcdef"
            self.sessions.add(session)
            return httpx.Response(
                200,
                json={"SessionId": session, "UserName": "bob"},
                headers={"Set-Cookie": "ss-pid=pid-XYZ-0001; path=/; max-age=630720000"},
            )
        if "/api/glx/views/Customer/custom/" in path:
            cookie = request.headers.get("Cookie", "")
            if not any(cookie == f"ss-id={s}" for s in self.sessions):
                return httpx.Response(401, json={"ResponseStatus": {"ErrorCode": "Unauthorized"}})
            if self.view_response is not None:
                return self.view_response(request)
            return httpx.Response(200, json={"Items": self.rows})
        return httpx.Response(404)


ROWS = [{"TRDRID": f"id{i}", "THIRDPARTYREVNUM": i} for i in range(1, 6)]


def _client(fake: FakeGalaxy, store: MemoryStore, **kwargs: Any) -> GalaxyClient:
    options: dict[str, Any] = {
        "base_url": "https://erp.test/apitest",
        "username": "bob",
        "password": PASSWORD,
        "store": store,
        "retry": RetryPolicy.for_tests(),
        "transport": httpx.MockTransport(fake.handler),
    }
    options.update(kwargs)
    return GalaxyClient(**options)


def _read(
    client: GalaxyClient, view: str = "zh_Customers_fin", conditions: Any = ()
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    async def go() -> None:
        try:
            count = await client.read_view(view, conditions, rows.append)
            # A read repeated after a cut transfer delivers some rows twice.
            assert count <= len(rows)
        finally:
            await client.aclose()

    asyncio.run(go())
    return rows


def test_session_is_persisted_and_reused_by_the_next_client() -> None:
    fake, store = FakeGalaxy(ROWS), MemoryStore()
    first = _client(fake, store)
    assert _read(first) == ROWS
    assert first.calls == 2
    assert fake.auth_count == 1
    saved = json.loads(store.kv[SESSION_KEY])
    assert saved == {"session_id": "sess-1-abcdef", "ss_pid": "pid-XYZ-0001"}

    second = _client(fake, store)
    assert _read(second) == ROWS
    assert second.calls == 1
    assert fake.auth_count == 1


def test_auth_request_shape_and_path_prefix() -> None:
    fake, store = FakeGalaxy(ROWS), MemoryStore()
    _read(_client(fake, store, ss_pid="pid-configured-1"))
    auth, view = fake.requests
    assert auth.url.path == "/apitest/auth"
    assert auth.url.params["username"] == "bob"
    assert auth.url.params["password"] == PASSWORD
    assert auth.headers["Accept"] == "application/json"
    assert auth.headers["Cookie"] == "ss-pid=pid-configured-1"
    assert view.url.path == "/apitest/api/glx/views/Customer/custom/zh_Customers_fin"
    assert view.headers["Cookie"] == "ss-id=sess-1-abcdef"
    assert "filters" not in view.url.params


def test_filters_are_sent_in_the_seed_grammar() -> None:
    fake, store = FakeGalaxy(ROWS), MemoryStore()
    _read(
        _client(fake, store),
        "ZH_AFFILIATE",
        [Condition("AFFILIATES_REVNUM", Op.GreaterOrEqual, 5339779)],
    )
    view = fake.requests[-1]
    assert view.url.query == b"filters=[{AFFILIATES_REVNUM:[5339779,GreaterOrEqual]}]"
    assert view.url.params["filters"] == "[{AFFILIATES_REVNUM:[5339779,GreaterOrEqual]}]"


def test_string_filter_values_are_percent_encoded_and_decode_back() -> None:
    fake, store = FakeGalaxy(ROWS), MemoryStore()
    _read(_client(fake, store), "ZH_AFFILIATE", [Condition("TRDRID", Op.Equal, 'a&b "c"#%')])
    view = fake.requests[-1]
    assert view.url.params["filters"] == '[{TRDRID:["a&b ""c""#%",Equal]}]'


def test_expired_session_is_renewed_once() -> None:
    fake, store = FakeGalaxy(ROWS), MemoryStore()
    _read(_client(fake, store))
    fake.sessions.clear()  # Galaxy restarted: every session is gone
    client = _client(fake, store)
    assert _read(client) == ROWS
    assert client.calls == 3  # view (401), auth, view
    assert fake.auth_count == 2
    assert json.loads(store.kv[SESSION_KEY])["session_id"] == "sess-2-abcdef"


def test_session_refused_again_after_renewal_is_an_auth_error() -> None:
    fake, store = FakeGalaxy(ROWS), MemoryStore()
    fake.view_response = lambda request: httpx.Response(403, json={})
    client = _client(fake, store)
    with pytest.raises(GalaxyAuthError, match="refused a fresh session") as info:
        _read(client)
    assert info.value.status == 403
    assert fake.auth_count == 2


def test_wrong_password_names_the_problem_not_the_password() -> None:
    fake, store = FakeGalaxy(ROWS), MemoryStore()
    client = _client(fake, store, password="wrong-password-123")
    with pytest.raises(GalaxyAuthError) as info:
        _read(client)
    message = str(info.value)
    assert "Invalid Username or Password" in message
    assert "bob" in message
    assert "wrong-password-123" not in message
    assert info.value.status == 401
    assert info.value.code == "Unauthorized"
    assert SESSION_KEY not in store.kv


def _chunked(*chunks: bytes, fail_after: int | None = None) -> httpx.Response:
    async def body() -> AsyncIterator[bytes]:
        for i, chunk in enumerate(chunks):
            if fail_after is not None and i == fail_after:
                raise httpx.ReadError("connection reset")
            yield chunk

    return httpx.Response(200, content=body(), headers={"Content-Type": "application/json"})


def test_rows_are_streamed_as_they_arrive() -> None:
    fake, store = FakeGalaxy(ROWS), MemoryStore()
    seen_at_chunk: list[int] = []
    rows: list[dict[str, Any]] = []

    def view(request: httpx.Request) -> httpx.Response:
        async def body() -> AsyncIterator[bytes]:
            for chunk in (
                b'{"Items": [{"A": 1}, ',
                b'{"A": 2.5}, {"A": "x"}',
                b"], ",
                b'"Total": 3}',
            ):
                seen_at_chunk.append(len(rows))
                yield chunk

        return httpx.Response(200, content=body())

    fake.view_response = view
    client = _client(fake, store)

    async def go() -> int:
        async with asyncio.timeout(5):
            return await client.read_view("v", [], rows.append)

    assert asyncio.run(go()) == 3
    assert rows == [{"A": 1}, {"A": 2.5}, {"A": "x"}]
    # The first row reached us before the second chunk was even produced.
    assert seen_at_chunk == [0, 1, 3, 3]


def test_a_transfer_cut_midway_is_read_again_whole() -> None:
    fake, store = FakeGalaxy(ROWS), MemoryStore()
    attempts: list[int] = []
    chunks = (b'{"Items": [{"A": 1},', b'{"A": 2},', b'{"A": 3}]}')

    def view(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        return _chunked(*chunks, fail_after=2 if len(attempts) == 1 else None)

    fake.view_response = view
    rows = _read(_client(fake, store), "v")
    assert len(attempts) == 2
    # Rows of the cut transfer were delivered once already: callers deduplicate.
    assert rows == [{"A": 1}, {"A": 2}, {"A": 1}, {"A": 2}, {"A": 3}]


def test_server_errors_are_retried_then_reported() -> None:
    fake, store = FakeGalaxy(ROWS), MemoryStore()
    statuses = iter([503, 502, 200])

    def view(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        return httpx.Response(status, json={"Items": ROWS} if status == 200 else {})

    fake.view_response = view
    assert _read(_client(fake, store), "v") == ROWS

    fake.view_response = lambda request: httpx.Response(
        500, json={"ResponseStatus": {"ErrorCode": "SqlException", "Message": "deadlock"}}
    )
    with pytest.raises(GalaxyResponseError, match="HTTP 500 after 6 attempts: deadlock") as info:
        _read(_client(fake, store), "v")
    assert info.value.status == 500
    assert info.value.code == "SqlException"


def test_unreachable_galaxy_is_a_galaxy_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    client = GalaxyClient(
        base_url="https://erp.test",
        username="bob",
        password=PASSWORD,
        store=MemoryStore(),
        retry=RetryPolicy.for_tests(),
        transport=httpx.MockTransport(refuse),
    )
    with pytest.raises(GalaxyError, match="ConnectError after 6 attempts") as info:
        _read(client)
    assert PASSWORD not in str(info.value)


BAD_BODIES = [
    (
        httpx.Response(
            200,
            text="<html><body>Server Error</body></html>",
            headers={"Content-Type": "text/html"},
        ),
        "not JSON",
    ),
    (httpx.Response(200, text='{"Items": [{"A": 1}, {"A"'), "truncated"),
    (httpx.Response(200, text=""), "not JSON"),
    (httpx.Response(200, json={"Results": [1, 2]}), "no Items array"),
    (httpx.Response(200, json={"Items": {"A": 1}}), "no Items array"),
    (httpx.Response(200, json={"Items": [1, 2]}), "not an object"),
    (
        httpx.Response(
            200,
            json={
                "ResponseStatus": {"ErrorCode": "ArgumentException", "Message": "Unknown column"}
            },
        ),
        "error ArgumentException: Unknown column",
    ),
    (
        httpx.Response(
            400,
            json={
                "ResponseStatus": {"ErrorCode": "SerializationException", "Message": "bad filters"}
            },
        ),
        "HTTP 400: bad filters",
    ),
    (httpx.Response(404, text="Not Found"), "HTTP 404: no message"),
]


@pytest.mark.parametrize(("response", "problem"), BAD_BODIES)
def test_bodies_that_are_not_view_results(response: httpx.Response, problem: str) -> None:
    fake, store = FakeGalaxy(ROWS), MemoryStore()
    fake.view_response = lambda request: response
    with pytest.raises(GalaxyResponseError, match=problem) as info:
        _read(_client(fake, store), "zh_Customers_fin")
    assert info.value.endpoint == "/api/glx/views/Customer/custom/zh_Customers_fin"
    assert info.value.status == response.status_code


def test_empty_items_is_zero_rows() -> None:
    fake, store = FakeGalaxy([]), MemoryStore()
    assert _read(_client(fake, store)) == []


def test_invalid_view_name_is_refused() -> None:
    with pytest.raises(ValueError, match="view name"):
        _read(_client(FakeGalaxy(ROWS), MemoryStore()), "../auth")


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(debug=True, stream=stream)
    yield stream
    logging.getLogger("gzsync").handlers.clear()


def test_tls_off_warns_once_per_host_and_debug_logs_hold_no_secret(log_stream: io.StringIO) -> None:
    galaxy_client._tls_warned.discard("erp.test")
    fake, store = FakeGalaxy(ROWS), MemoryStore()
    _read(_client(fake, store, verify=False))
    _read(_client(fake, store, verify=False))
    out = log_stream.getvalue()
    assert out.count("TLS verification is OFF for Galaxy erp.test") == 1
    assert "GET https://erp.test/apitest/auth?username=bob&password=*** -> 200" in out
    for secret in (PASSWORD, "sess-1-abcdef", "pid-XYZ-0001", "Sekr3t"):
        assert secret not in out


# -- against the Galaxy sandbox ----------------------------------------------------------

CUSTOMERS = "zh_Customers_fin"


@pytest.fixture(scope="module")
def galaxy_app() -> Any:
    from gzsync.sandbox.galaxy import create_galaxy_app

    return create_galaxy_app(customers=20_000, seed=5)


@pytest.fixture
def galaxy(galaxy_app: Any) -> Iterator[tuple[str, Any]]:
    state = galaxy_app.state.galaxy
    state.faults.clear()
    state.expire_sessions()
    with ServedApp(galaxy_app) as served:
        yield served.url, state
    state.faults.clear()


def _sandbox_client(url: str, store: MemoryStore, **kwargs: Any) -> GalaxyClient:
    options: dict[str, Any] = {
        "base_url": url,
        "username": credentials.GALAXY_USERNAME,
        "password": credentials.GALAXY_PASSWORD,
        "store": store,
        "retry": RetryPolicy.for_tests(),
    }
    options.update(kwargs)
    return GalaxyClient(**options)


def _read_all(
    client: GalaxyClient, view: str, conditions: Any = ()
) -> tuple[int, list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []

    async def go() -> int:
        try:
            return await client.read_view(view, conditions, rows.append)
        finally:
            await client.aclose()

    return asyncio.run(go()), rows


def test_sandbox_streams_a_20000_row_view_and_reuses_the_session(galaxy: tuple[str, Any]) -> None:
    url, state = galaxy
    store = MemoryStore()
    issued = state.stats()["sessions_issued"]
    count, rows = _read_all(_sandbox_client(url, store), CUSTOMERS)
    assert count == 20_000
    assert rows == state.rows(CUSTOMERS)

    # The next run: the stored session is reused, no new login.
    client = _sandbox_client(url, store)
    cut = rows[15_000]["THIRDPARTYREVNUM"]
    count, newer = _read_all(client, CUSTOMERS, [Condition("THIRDPARTYREVNUM", Op.Greater, cut)])
    assert newer == [r for r in rows if r["THIRDPARTYREVNUM"] > cut]
    assert count == 4_999
    assert client.calls == 1
    assert state.stats()["sessions_issued"] == issued + 1


def test_sandbox_session_expiry_costs_one_login(galaxy: tuple[str, Any]) -> None:
    url, state = galaxy
    store = MemoryStore()
    _read_all(
        _sandbox_client(url, store),
        "ZH_AFFILIATE",
        [Condition("AFFILIATES_REVNUM", Op.Greater, 10**9)],
    )
    issued = state.stats()["sessions_issued"]
    state.expire_sessions()
    client = _sandbox_client(url, store)
    count, rows = _read_all(client, "ZH_AFFILIATE")
    assert rows == state.rows("ZH_AFFILIATE")
    assert count == len(rows) > 0
    assert client.calls == 3  # 401, /auth, the read again
    assert state.stats()["sessions_issued"] == issued + 1
    # The new permanent id and session are what the store now holds.
    assert json.loads(store.kv[SESSION_KEY])["session_id"] != ""


def test_sandbox_wrong_password(galaxy: tuple[str, Any]) -> None:
    url, _ = galaxy
    client = _sandbox_client(url, MemoryStore(), password="not-the-password")
    with pytest.raises(GalaxyAuthError, match="Invalid Username or Password") as info:
        _read_all(client, CUSTOMERS)
    assert "not-the-password" not in str(info.value)


def _faults(state: Any, *rules: dict[str, Any]) -> None:
    from gzsync.sandbox.faults import FaultRule

    state.faults.add([FaultRule.from_json(r) for r in rules], seed=3)


def test_sandbox_transient_faults_are_retried(galaxy: tuple[str, Any]) -> None:
    url, state = galaxy
    store = MemoryStore()
    _faults(
        state,
        {"endpoint": "auth", "status": 503, "count": 1},
        {"endpoint": "view", "action": "drop", "count": 1},
        {"endpoint": "view", "status": 502, "count": 1},
        {"endpoint": "view", "action": "stall", "stall_ms": 4_000, "count": 1},
    )
    # a read timeout well above a loaded machine's answer time, far below the stall
    client = _sandbox_client(url, store, timeout_s=1.5)
    count, rows = _read_all(client, "ZH_AFFILIATE")
    assert rows == state.rows("ZH_AFFILIATE")
    assert count == len(rows)
    assert client.calls == 2 + 4  # auth twice, the view four times (drop, 502, stall, ok)


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"status": 200, "body": {"Results": []}}, "no Items array"),
        (
            {
                "status": 200,
                "body": {"ResponseStatus": {"ErrorCode": "SqlException", "Message": "timeout"}},
            },
            "error SqlException: timeout",
        ),
        (
            {
                "status": 500,
                "body": {"ResponseStatus": {"ErrorCode": "Exception", "Message": "boom"}},
            },
            "HTTP 500 after 6 attempts: boom",
        ),
        ({"status": 404}, "HTTP 404"),
    ],
)
def test_sandbox_bad_answers_are_clear_errors(
    galaxy: tuple[str, Any], rule: dict[str, Any], problem: str
) -> None:
    url, state = galaxy
    _faults(state, {"endpoint": "view", **rule})
    with pytest.raises(GalaxyResponseError, match=problem) as info:
        _read_all(_sandbox_client(url, MemoryStore()), CUSTOMERS)
    assert info.value.status == rule["status"]


def test_rows_followed_by_an_error_status_are_an_error() -> None:
    fake, store = FakeGalaxy(ROWS), MemoryStore()
    fake.view_response = lambda request: httpx.Response(
        200,
        json={
            "Items": ROWS,
            "ResponseStatus": {"ErrorCode": "TimeoutException", "Message": "query cut short"},
        },
    )
    with pytest.raises(GalaxyResponseError, match="TimeoutException: query cut short") as info:
        _read(_client(fake, store), "v")
    assert info.value.code == "TimeoutException"


def test_error_text_inside_a_row_value_is_just_data() -> None:
    trick = [{"NOTE": '{"ResponseStatus":{"ErrorCode":"X","Message":"y"}}'}]
    fake, store = FakeGalaxy(trick), MemoryStore()
    fake.view_response = lambda request: httpx.Response(
        200, json={"Items": trick, "ResponseStatus": {"ErrorCode": None}}
    )
    assert _read(_client(fake, store), "v") == trick
