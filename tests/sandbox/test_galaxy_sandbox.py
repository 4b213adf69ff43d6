"""The Galaxy sandbox over real HTTP on loopback: auth, views, filters, control, faults."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import ijson
import pytest

from gzsync.sandbox import credentials
from gzsync.sandbox.galaxy import GalaxyState, create_galaxy_app
from gzsync.sandbox.serve import ServedApp

CUSTOMERS = "/api/glx/views/Customer/custom/zh_Customers_fin"
AFFILIATES = "/api/glx/views/Customer/custom/ZH_AFFILIATE"
CONTACTS = "/api/glx/views/Customer/custom/ZH_CONTACTS"
LOGIN = {"username": credentials.GALAXY_USERNAME, "password": credentials.GALAXY_PASSWORD}


class Galaxy:
    """A served sandbox, its state and a logged-in client."""

    def __init__(self, served: ServedApp, state: GalaxyState) -> None:
        self.url = served.url
        self.state = state
        self.client = httpx.Client(base_url=served.url, timeout=10)
        self.session = self.client.get("/auth", params=LOGIN).json()["SessionId"]

    def view(self, path: str, filters: str | None = None) -> httpx.Response:
        url = path if filters is None else f"{path}?filters={quote(filters)}"
        return self.client.get(url, headers={"X-ss-id": self.session})

    def items(self, path: str, filters: str | None = None) -> list[dict[str, Any]]:
        response = self.view(path, filters)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["Items"]
        return items


def _serve(**kwargs: Any) -> Iterator[Galaxy]:
    app = create_galaxy_app(**kwargs)
    with ServedApp(app) as served:
        galaxy = Galaxy(served, app.state.galaxy)
        yield galaxy
        galaxy.client.close()


@pytest.fixture(scope="module")
def shared() -> Iterator[Galaxy]:
    """A sandbox that tests only read from."""
    yield from _serve(customers=400, seed=5)


@pytest.fixture
def galaxy() -> Iterator[Galaxy]:
    """A sandbox of this test's own, free to change."""
    yield from _serve(customers=200, seed=9)


def _cookies(response: httpx.Response) -> dict[str, str]:
    cookies = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";", 1)[0]
    return cookies


# -- auth ----------------------------------------------------------------------------------


def _assert_session_id(value: str) -> None:
    assert len(value) == 20
    assert "+" not in value
    assert "/" not in value


def test_get_auth_returns_session_and_cookies(shared: Galaxy) -> None:
    response = httpx.get(f"{shared.url}/auth", params=LOGIN)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"SessionId", "UserName", "UserId", "DisplayName", "ResponseStatus"}
    assert body["UserName"] == credentials.GALAXY_USERNAME
    assert body["ResponseStatus"] == {}
    _assert_session_id(body["SessionId"])
    cookies = _cookies(response)
    assert cookies["ss-id"] == body["SessionId"]
    _assert_session_id(cookies["ss-pid"])
    assert cookies["ss-opt"] == "temp"


@pytest.mark.parametrize(
    "payload",
    [LOGIN, {"UserName": LOGIN["username"], "Password": LOGIN["password"]}],
)
def test_post_auth_with_json_body(shared: Galaxy, payload: dict[str, str]) -> None:
    response = httpx.post(f"{shared.url}/auth", json=payload)
    assert response.status_code == 200
    session = response.json()["SessionId"]
    rows = httpx.get(f"{shared.url}{CONTACTS}", cookies={"ss-id": session})
    assert rows.status_code == 200


def test_ss_pid_sent_by_the_client_is_honoured(shared: Galaxy) -> None:
    response = httpx.get(f"{shared.url}/auth", params=LOGIN, headers={"Cookie": "ss-pid=Mine12345"})
    assert _cookies(response)["ss-pid"] == "Mine12345"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_wrong_password_is_401_with_servicestack_body(shared: Galaxy, method: str) -> None:
    wrong = {"username": LOGIN["username"], "password": "nope"}
    if method == "GET":
        response = httpx.get(f"{shared.url}/auth", params=wrong)
    else:
        response = httpx.post(f"{shared.url}/auth", json=wrong)
    assert response.status_code == 401
    assert response.json() == {
        "ResponseStatus": {"ErrorCode": "Unauthorized", "Message": "Invalid Username or Password"}
    }
    assert "set-cookie" not in response.headers


def test_empty_credentials_return_the_current_session_or_401(shared: Galaxy) -> None:
    current = httpx.get(f"{shared.url}/auth", headers={"X-ss-id": shared.session})
    assert current.status_code == 200
    assert current.json()["SessionId"] == shared.session
    anonymous = httpx.get(f"{shared.url}/auth")
    assert anonymous.status_code == 401
    assert anonymous.json()["ResponseStatus"]["Message"] == "Not Authenticated"


# -- sessions ------------------------------------------------------------------------------

NOT_AUTHENTICATED = {
    "ResponseStatus": {"ErrorCode": "Unauthorized", "Message": "Not Authenticated"}
}


@pytest.mark.parametrize(
    "headers", [{}, {"X-ss-id": "unknownunknownunknow"}, {"Cookie": "ss-id=x"}]
)
def test_views_need_a_session(shared: Galaxy, headers: dict[str, str]) -> None:
    response = httpx.get(f"{shared.url}{CUSTOMERS}", headers=headers)
    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED


def test_cookie_and_header_sessions_both_work(shared: Galaxy) -> None:
    by_cookie = httpx.get(f"{shared.url}{CONTACTS}", headers={"Cookie": f"ss-id={shared.session}"})
    by_header = httpx.get(f"{shared.url}{CONTACTS}", headers={"X-ss-id": shared.session})
    assert by_cookie.status_code == by_header.status_code == 200
    assert by_cookie.json() == by_header.json()


def test_expired_sessions_are_401_until_login_again(galaxy: Galaxy) -> None:
    assert galaxy.view(CUSTOMERS).status_code == 200
    assert galaxy.client.post("/__sandbox/sessions/expire").json() == {"expired": 1}
    response = galaxy.view(CUSTOMERS)
    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED
    galaxy.session = galaxy.client.get("/auth", params=LOGIN).json()["SessionId"]
    assert galaxy.view(CUSTOMERS).status_code == 200


def test_session_ttl_is_configurable() -> None:
    for galaxy in _serve(customers=5, session_ttl_s=0.0):
        assert galaxy.view(CUSTOMERS).status_code == 401


# -- views ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["zh_Customers_fin", "ZH_CUSTOMERS_FIN", "zh_customers_fin"])
def test_view_names_are_case_insensitive(shared: Galaxy, name: str) -> None:
    items = shared.items(f"/api/glx/views/Customer/custom/{name}")
    assert items == shared.state.rows("zh_Customers_fin")
    assert len(items) == 400


def test_unknown_view_is_404(shared: Galaxy) -> None:
    response = shared.view("/api/glx/views/Customer/custom/zh_nothing")
    assert response.status_code == 404
    assert response.json()["ResponseStatus"]["ErrorCode"] == "NotFound"


@pytest.mark.parametrize(
    ("path", "revision"),
    [
        (CUSTOMERS, "THIRDPARTYREVNUM"),
        (AFFILIATES, "AFFILIATES_REVNUM"),
        (CONTACTS, "CONTACTS_REVNUM"),
    ],
)
def test_rows_are_ordered_by_revision(shared: Galaxy, path: str, revision: str) -> None:
    revisions = [row[revision] for row in shared.items(path)]
    assert revisions
    assert revisions == sorted(revisions)


@pytest.mark.parametrize(
    ("op", "keep"),
    [
        ("Equal", lambda r, p: r == p),
        ("NotEqual", lambda r, p: r != p),
        ("Greater", lambda r, p: r > p),
        ("GreaterOrEqual", lambda r, p: r >= p),
        ("Less", lambda r, p: r < p),
        ("LessOrEqual", lambda r, p: r <= p),
    ],
)
def test_every_operator_on_revisions(shared: Galaxy, op: str, keep: Any) -> None:
    every = [row["THIRDPARTYREVNUM"] for row in shared.state.rows("zh_Customers_fin")]
    pivot = every[len(every) // 2]
    items = shared.items(CUSTOMERS, f"[{{THIRDPARTYREVNUM:[{pivot},{op}]}}]")
    assert [row["THIRDPARTYREVNUM"] for row in items] == [r for r in every if keep(r, pivot)]


def test_string_equal_on_a_quoted_id(shared: Galaxy) -> None:
    target = shared.state.rows("zh_Customers_fin")[17]
    items = shared.items(CUSTOMERS, f'[{{TRDRID:["{target["TRDRID"]}",Equal]}}]')
    assert items == [target]


def test_fields_in_one_object_and_several_objects_are_anded(shared: Galaxy) -> None:
    every = shared.state.rows("zh_Customers_fin")
    low, high = every[100]["THIRDPARTYREVNUM"], every[160]["THIRDPARTYREVNUM"]
    expected = [
        r for r in every if low < r["THIRDPARTYREVNUM"] <= high and r["CATEGDISCOUNT"] == "A"
    ]
    filters = (
        f'[{{THIRDPARTYREVNUM:[{low},Greater],CATEGDISCOUNT:["A",Equal]}},'
        f"{{THIRDPARTYREVNUM:[{high},LessOrEqual]}}]"
    )
    assert shared.items(CUSTOMERS, filters) == expected
    assert 0 < len(expected) < 60


def test_affiliate_filter_by_customer_id(shared: Galaxy) -> None:
    link = shared.state.rows("ZH_AFFILIATE")[3]
    items = shared.items(
        AFFILIATES, f'[{{AFFILIATES_CUST_TRDRID:["{link["AFFILIATES_CUST_TRDRID"]}",Equal]}}]'
    )
    assert link in items
    assert {row["AFFILIATES_CUST_TRDRID"] for row in items} == {link["AFFILIATES_CUST_TRDRID"]}


def _raw_get(galaxy: Galaxy, target: str) -> tuple[int, Any]:
    """A request whose target goes on the wire exactly as written (no client re-encoding)."""
    host, port = galaxy.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", target, headers={"X-ss-id": galaxy.session})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_raw_quoted_and_percent_encoded_filters_agree(shared: Galaxy) -> None:
    pivot = shared.state.rows("zh_Customers_fin")[350]["THIRDPARTYREVNUM"]
    unquoted = f"[{{THIRDPARTYREVNUM:[{pivot},Greater]}}]"
    quoted = f'[{{"THIRDPARTYREVNUM":[{pivot},"Greater"]}}]'
    results = [
        _raw_get(shared, f"{CUSTOMERS}?filters={unquoted}"),
        _raw_get(shared, f"{CUSTOMERS}?filters={quote(unquoted)}"),
        _raw_get(shared, f"{CUSTOMERS}?filters={quote(quoted)}"),
    ]
    assert results[0][0] == 200
    assert results[0][1]["Items"]
    assert all(result == results[0] for result in results)


def test_malformed_filter_is_400_serialization_exception(shared: Galaxy) -> None:
    response = shared.view(CUSTOMERS, "[{THIRDPARTYREVNUM:[1,Greater]")
    assert response.status_code == 400
    status = response.json()["ResponseStatus"]
    assert status["ErrorCode"] == "SerializationException"
    assert "Invalid filters" in status["Message"]


def test_unknown_column_is_400_argument_exception_naming_it(shared: Galaxy) -> None:
    response = shared.view(CUSTOMERS, "[{NO_SUCH_COLUMN:[1,Equal]}]")
    assert response.status_code == 400
    status = response.json()["ResponseStatus"]
    assert status["ErrorCode"] == "ArgumentException"
    assert "NO_SUCH_COLUMN" in status["Message"]


# -- the affiliate join --------------------------------------------------------------------


def test_affiliate_rows_carry_their_card_holders_current_revision(shared: Galaxy) -> None:
    customers = {r["TRDRID"]: r for r in shared.state.rows("zh_Customers_fin")}
    links = shared.items(AFFILIATES)
    assert links
    for link in links:
        customer = customers[link["AFFILIATES_CUST_TRDRID"]]
        assert link["AFFILIATES_REVNUM"] == customer["THIRDPARTYREVNUM"]
        assert customer["ZH_CUSTOMERS_MEMBER_CARDNO"]
    revisions_per_affiliate: dict[str, set[int]] = {}
    for link in links:
        revisions_per_affiliate.setdefault(link["AFFILIATES_TRDRID"], set()).add(
            link["AFFILIATES_REVNUM"]
        )
    assert any(len(revs) > 1 for revs in revisions_per_affiliate.values())  # shared affiliates


def test_touch_re_revisions_customers_contacts_and_their_affiliate_rows(galaxy: Galaxy) -> None:
    before_max = galaxy.state.stats()["next_rev"]
    before = {r["TRDRID"]: r for r in galaxy.state.rows("zh_Customers_fin")}
    touched = galaxy.client.post(
        "/__sandbox/touch", json={"customers": 30, "contacts": 5, "seed": 1}
    ).json()
    assert len(touched["customers"]) == 30
    assert len(touched["contacts"]) == 5
    after = {r["TRDRID"]: r for r in galaxy.state.rows("zh_Customers_fin")}
    for trdrid in touched["customers"]:
        assert after[trdrid]["THIRDPARTYREVNUM"] >= before_max
        assert after[trdrid] != before[trdrid] | {
            "THIRDPARTYREVNUM": after[trdrid]["THIRDPARTYREVNUM"]
        }
    changed = galaxy.items(CUSTOMERS, f"[{{THIRDPARTYREVNUM:[{before_max},GreaterOrEqual]}}]")
    assert [r["TRDRID"] for r in changed] == touched["customers"]
    contacts = galaxy.items(CONTACTS, f"[{{CONTACTS_REVNUM:[{before_max},GreaterOrEqual]}}]")
    assert [c["CONTACTID"] for c in contacts] == touched["contacts"]
    # The affiliate rows of touched card holders moved with them, and only those.
    moved = galaxy.items(AFFILIATES, f"[{{AFFILIATES_REVNUM:[{before_max},GreaterOrEqual]}}]")
    holders = {t for t in touched["customers"] if after[t]["ZH_CUSTOMERS_MEMBER_CARDNO"]}
    assert holders
    assert {row["AFFILIATES_CUST_TRDRID"] for row in moved} == holders
    for row in moved:
        assert row["AFFILIATES_REVNUM"] == after[row["AFFILIATES_CUST_TRDRID"]]["THIRDPARTYREVNUM"]
    revisions = [row["AFFILIATES_REVNUM"] for row in galaxy.items(AFFILIATES)]
    assert revisions == sorted(revisions)


def test_touch_is_deterministic_by_seed() -> None:
    keys = []
    for _ in range(2):
        for galaxy in _serve(customers=100, seed=3):
            keys.append(galaxy.state.touch(5, 5, seed=42))
    assert keys[0] == keys[1]


# -- control: rows -------------------------------------------------------------------------


def _customer(trdrid: str, rev: int | None, card: str = "C1") -> dict[str, Any]:
    row: dict[str, Any] = {
        "TRDRID": trdrid,
        "TRDRNAME": f"Name {trdrid}",
        "ZH_CUSTOMERS_MEMBER_CARDNO": card,
    }
    if rev is not None:
        row["THIRDPARTYREVNUM"] = rev
    return row


def test_put_rows_and_the_affiliate_join_semantics(galaxy: Galaxy) -> None:
    client = galaxy.client
    customers = [_customer("A", 2000010), _customer("B", 2000020), _customer("N", 2000030, card="")]
    assert client.put("/__sandbox/rows/zh_customers_fin", json=customers).json() == {"rows": 3}
    affiliates = [
        {
            "AFFILIATES_TRDRID": "X",
            "AFF_NAME": "Follows B",
            "AFF_TIN": "094259216",
            "AFFILIATES_REVNUM": 2000020,
        },
        {
            "AFFILIATES_TRDRID": "Y",
            "AFF_NAME": "Orphan",
            "AFF_TIN": "",
            "AFFILIATES_REVNUM": 2000025,
        },
        {
            "AFFILIATES_TRDRID": "Z",
            "AFF_NAME": "Non-card",
            "AFF_TIN": "",
            "AFFILIATES_REVNUM": 2000030,
        },
        {
            "AFFILIATES_TRDRID": "W",
            "AFF_NAME": "By id",
            "AFF_TIN": "",
            "AFFILIATES_CUST_TRDRID": "A",
        },
    ]
    client.put("/__sandbox/rows/ZH_AFFILIATE", json=affiliates)
    served = galaxy.items(AFFILIATES)
    assert [
        (r["AFFILIATES_TRDRID"], r["AFFILIATES_REVNUM"], r["AFFILIATES_CUST_TRDRID"])
        for r in served
    ] == [
        ("W", 2000010, "A"),
        ("X", 2000020, "B"),
        ("Y", 2000025, None),
        ("Z", 2000030, "N"),
    ]
    assert client.get("/__sandbox/rows/zh_affiliate").json() == served
    # B changes (posted without a revision): its affiliate follows; the orphan does not.
    posted = client.post("/__sandbox/rows/zh_Customers_fin", json=[_customer("B", None)]).json()[
        "rows"
    ]
    new_rev = posted[0]["THIRDPARTYREVNUM"]
    assert new_rev > 2000030
    served = galaxy.items(AFFILIATES)
    assert [(r["AFFILIATES_TRDRID"], r["AFFILIATES_REVNUM"]) for r in served] == [
        ("W", 2000010),
        ("Y", 2000025),
        ("Z", 2000030),
        ("X", new_rev),
    ]
    assert [r["TRDRID"] for r in galaxy.items(CUSTOMERS)] == ["A", "N", "B"]


def test_put_rows_fills_missing_columns_and_revisions(galaxy: Galaxy) -> None:
    galaxy.client.put("/__sandbox/rows/ZH_CONTACTS", json=[{"CONTACTID": "K1", "TRDRID": "A"}])
    (row,) = galaxy.items(CONTACTS)
    assert row["CONTACTID"] == "K1"
    assert row["EMAIL"] is None
    assert isinstance(row["CONTACTS_REVNUM"], int)


def test_post_rows_adds_or_replaces_by_key(galaxy: Galaxy) -> None:
    client = galaxy.client
    first = galaxy.state.rows("zh_Customers_fin")[0]
    count = len(galaxy.state.rows("zh_Customers_fin"))
    top = max(r["THIRDPARTYREVNUM"] for r in galaxy.state.rows("zh_Customers_fin"))
    rows = [first | {"TRDRNAME": "Renamed", "THIRDPARTYREVNUM": None}, _customer("NEW-1", None)]
    posted = client.post("/__sandbox/rows/zh_Customers_fin", json=rows).json()["rows"]
    assert [r["TRDRID"] for r in posted] == [first["TRDRID"], "NEW-1"]
    assert top < posted[0]["THIRDPARTYREVNUM"] < posted[1]["THIRDPARTYREVNUM"]
    after = galaxy.items(CUSTOMERS)
    assert len(after) == count + 1
    assert after[-2]["TRDRNAME"] == "Renamed"
    # An explicit revision is kept and moves the counter past it.
    client.post(
        "/__sandbox/rows/ZH_CONTACTS",
        json={"rows": [{"CONTACTID": "K", "CONTACTS_REVNUM": 7000000}]},
    )
    assert galaxy.items(CONTACTS)[-1]["CONTACTID"] == "K"
    assert (
        galaxy.state.add_rows("ZH_CONTACTS", [{"CONTACTID": "L"}])[0]["CONTACTS_REVNUM"] == 7000001
    )


def test_post_affiliate_replaces_by_trader_and_customer(galaxy: Galaxy) -> None:
    link = galaxy.state.rows("ZH_AFFILIATE")[0]
    count = len(galaxy.state.rows("ZH_AFFILIATE"))
    changed = {k: v for k, v in link.items() if k != "AFFILIATES_REVNUM"} | {"AFF_NAME": "Changed"}
    galaxy.client.post("/__sandbox/rows/ZH_AFFILIATE", json=[changed])
    rows = galaxy.state.rows("ZH_AFFILIATE")
    assert len(rows) == count
    assert link | {"AFF_NAME": "Changed"} in rows


@pytest.mark.parametrize(
    ("method", "body"),
    [("PUT", {"not": "a list"}), ("POST", [1, 2]), ("PUT", "nonsense")],
)
def test_bad_control_bodies_are_400(galaxy: Galaxy, method: str, body: Any) -> None:
    response = galaxy.client.request(method, "/__sandbox/rows/zh_contacts", json=body)
    assert response.status_code == 400
    assert galaxy.client.get("/__sandbox/rows/nothing").status_code == 404


def test_stats_count_calls_rows_sessions_and_faults(galaxy: Galaxy) -> None:
    galaxy.items(CONTACTS)
    galaxy.items(CUSTOMERS, "[{THIRDPARTYREVNUM:[0,Greater]}]")
    galaxy.client.post(
        "/__sandbox/faults", json={"rules": [{"endpoint": "view", "status": 500, "count": 1}]}
    )
    assert galaxy.view(CUSTOMERS).status_code == 500
    stats = galaxy.client.get("/__sandbox/stats").json()
    assert stats["calls"] == {"auth": 1, "view:zh_contacts": 1, "view:zh_customers_fin": 2}
    assert stats["rows_served"] == {
        "ZH_CONTACTS": stats["rows"]["ZH_CONTACTS"],
        "zh_Customers_fin": 200,
    }
    assert stats["sessions_issued"] == 1
    assert stats["faults_fired"] == {"status:500": 1}
    assert stats["faults_active"] == 0


# -- faults --------------------------------------------------------------------------------


def _faults(galaxy: Galaxy, *rules: dict[str, Any], seed: int | None = None) -> None:
    body: dict[str, Any] = {"rules": list(rules)}
    if seed is not None:
        body["seed"] = seed
    assert galaxy.client.post("/__sandbox/faults", json=body).status_code == 200


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, "Unauthorized"),
        (403, "Forbidden"),
        (500, "InternalServerError"),
        (503, "ServiceUnavailable"),
    ],
)
def test_status_fault_with_default_body(galaxy: Galaxy, status: int, code: str) -> None:
    _faults(galaxy, {"endpoint": "view:zh_customers_fin", "status": status, "count": 2})
    for _ in range(2):
        response = galaxy.view(CUSTOMERS)
        assert response.status_code == status
        assert response.json()["ResponseStatus"]["ErrorCode"] == code
    assert galaxy.view(CUSTOMERS).status_code == 200


def test_fault_on_one_view_leaves_the_others_alone(galaxy: Galaxy) -> None:
    _faults(galaxy, {"endpoint": "view:zh_affiliate", "status": 500, "body": {"custom": True}})
    assert galaxy.view(CUSTOMERS).status_code == 200
    response = galaxy.view(AFFILIATES)
    assert (response.status_code, response.json()) == (500, {"custom": True})
    galaxy.client.delete("/__sandbox/faults")
    assert galaxy.view(AFFILIATES).status_code == 200


def test_auth_and_wildcard_faults(galaxy: Galaxy) -> None:
    _faults(galaxy, {"endpoint": "auth", "status": 503, "count": 1})
    assert galaxy.client.get("/auth", params=LOGIN).status_code == 503
    assert galaxy.client.get("/auth", params=LOGIN).status_code == 200
    _faults(galaxy, {"endpoint": "*", "status": 429, "count": 2})
    assert galaxy.client.get("/auth", params=LOGIN).status_code == 429
    assert galaxy.view(CONTACTS).status_code == 429
    assert galaxy.view(CONTACTS).status_code == 200


def test_drop_fault_breaks_the_connection(galaxy: Galaxy) -> None:
    _faults(galaxy, {"endpoint": "view", "action": "drop", "count": 1})
    with pytest.raises(httpx.TransportError):
        galaxy.view(CUSTOMERS)
    assert galaxy.view(CUSTOMERS).status_code == 200


def test_stall_fault_delays_then_answers(galaxy: Galaxy) -> None:
    _faults(galaxy, {"endpoint": "view", "action": "stall", "stall_ms": 300, "count": 1})
    started = time.monotonic()
    assert galaxy.view(CONTACTS).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_probability_faults_replay_with_the_same_seed(galaxy: Galaxy) -> None:
    patterns = []
    for _ in range(2):
        galaxy.client.delete("/__sandbox/faults")
        _faults(galaxy, {"endpoint": "view", "status": 500, "probability": 0.5}, seed=123)
        patterns.append([galaxy.view(CONTACTS).status_code for _ in range(16)])
    assert patterns[0] == patterns[1]
    assert set(patterns[0]) == {200, 500}


def test_bad_fault_rules_are_400(galaxy: Galaxy) -> None:
    response = galaxy.client.post(
        "/__sandbox/faults", json={"rules": [{"endpoint": "view", "action": "explode"}]}
    )
    assert response.status_code == 400


# -- streaming -----------------------------------------------------------------------------


def test_large_response_is_streamed_and_parses_incrementally() -> None:
    for galaxy in _serve(customers=5000, seed=2):
        items = ijson.sendable_list()
        parser = ijson.items_coro(items, "Items.item")
        count = chunks = 0
        with galaxy.client.stream(
            "GET", CUSTOMERS, headers={"X-ss-id": galaxy.session}
        ) as response:
            assert response.status_code == 200
            assert "content-length" not in response.headers
            for chunk in response.iter_raw():
                chunks += 1
                parser.send(chunk)
                count += len(items)
                del items[:]
        parser.close()
        count += len(items)
        assert count == 5000
        assert chunks > 1
        assert galaxy.state.stats()["rows_served"]["zh_Customers_fin"] == 5000
