"""COQL in the Zoho sandbox: the grammar and the evaluator in-process, and the endpoint's
responses, errors and credits over HTTP."""

# ruff: noqa: S608 - the queries are COQL test input, not SQL sent to a database

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.sandbox.oauth import access_token

from gzsync.sandbox.coql import (
    Aggregate,
    BoolOp,
    Column,
    CoqlError,
    Evaluator,
    InList,
    IsNull,
    parse,
)
from gzsync.sandbox.serve import ServedApp
from gzsync.sandbox.zoho import ZohoState, create_zoho_app

KINDS = {"Account_Name": "text", "Trader_ID": "text", "Rev_Number": "integer",
         "Credit_Limit": "currency", "Affiliate_To": "lookup"}  # fmt: skip

RECORDS: list[dict[str, Any]] = [
    {"id": "100", "Account_Name": "Alpha", "Trader_ID": "T-1", "Rev_Number": 5,
     "Credit_Limit": 10.5, "Affiliate_To": None},
    {"id": "101", "Account_Name": "beta", "Trader_ID": "T-2", "Rev_Number": None,
     "Credit_Limit": 3, "Affiliate_To": {"id": "100"}},
    {"id": "102", "Account_Name": "O'Brien", "Trader_ID": "T-3", "Rev_Number": 9,
     "Credit_Limit": None, "Affiliate_To": {"id": "100"}},
    {"id": "103", "Account_Name": "Gamma", "Trader_ID": "T-4", "Rev_Number": 7,
     "Credit_Limit": 3, "Affiliate_To": None},
]  # fmt: skip


def run(query: str) -> list[dict[str, Any]]:
    return Evaluator(KINDS).run(parse(query), RECORDS).rows


def ids(query: str) -> list[str]:
    return [r["id"] for r in run(query)]


# --- grammar -----------------------------------------------------------------------------


def test_parse_builds_the_whole_query() -> None:
    query = parse(
        "SELECT Trader_ID, max(Rev_Number), Affiliate_To.id FROM Accounts "
        "WHERE (Rev_Number > 3 AND Trader_ID in ('a','b')) or Account_Name is not null "
        "ORDER BY Rev_Number DESC, Trader_ID limit 10, 50"
    )
    assert query.select == [
        Column("Trader_ID"),
        Aggregate("MAX", Column("Rev_Number")),
        Column("Affiliate_To", "id"),
    ]
    assert query.module == "Accounts"
    assert isinstance(query.where, BoolOp)
    assert query.where.op == "or"
    assert isinstance(query.where.left, BoolOp)
    assert query.where.left.op == "and"
    assert query.where.left.right == InList(Column("Trader_ID"), ("a", "b"), False)
    assert query.where.right == IsNull(Column("Account_Name"), True)
    assert query.order_by == [(Column("Rev_Number"), True), (Column("Trader_ID"), False)]
    assert (query.offset, query.limit) == (10, 50)


@pytest.mark.parametrize(
    ("text", "limit", "offset", "credits"),
    [
        ("select id from Accounts where id is not null", 200, 0, 1),
        ("select id from Accounts where id is not null limit 201", 201, 0, 2),
        ("select id from Accounts where id is not null limit 1000 offset 5", 1000, 5, 2),
        ("select id from Accounts where id is not null limit 2000", 2000, 0, 3),
        ("select id from Accounts where id is not null limit 40, 2", 2, 40, 1),
    ],
)
def test_limits_offsets_and_credit_brackets(
    text: str, limit: int, offset: int, credits: int
) -> None:
    query = parse(text)
    assert (query.limit, query.offset, query.credits) == (limit, offset, credits)


@pytest.mark.parametrize(
    ("text", "details"),
    [
        ("select id from Accounts", {"line": 1, "column": 24, "near": ""}),
        ("select id from Accounts limit 1", {"line": 1, "column": 25, "near": "limit"}),
        ("select id Accounts where id is not null", {"line": 1, "column": 11, "near": "Accounts"}),
        ("select id from Accounts\nwhere id ==", {"line": 2, "column": 11, "near": "="}),
        ("update Accounts set x = 1", {"line": 1, "column": 1, "near": "update"}),
        ("select id from Accounts where (id is null", {"line": 1, "column": 42, "near": ""}),
        (
            "select id from Accounts where id is not null limit x",
            {"line": 1, "column": 52, "near": "x"},
        ),
        ("select id from Accounts where Name = 'open", {"line": 1, "column": 38, "near": "'open"}),
    ],
)
def test_syntax_errors_name_line_column_and_near(text: str, details: dict[str, Any]) -> None:
    with pytest.raises(CoqlError) as caught:
        parse(text)
    assert caught.value.code == "SYNTAX_ERROR"
    assert caught.value.details == details


@pytest.mark.parametrize(
    "text",
    [
        "select id from Accounts where id is not null limit 2001",
        "select id from Accounts where id is not null limit 99999, 2000",
        "select id from Accounts where id in (" + ",".join(str(i) for i in range(101)) + ")",
    ],
)
def test_limit_exceeded(text: str) -> None:
    with pytest.raises(CoqlError) as caught:
        parse(text)
    assert caught.value.code == "LIMIT_EXCEEDED"


# --- evaluation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Rev_Number = 5", ["100"]),
        ("Rev_Number != 5", ["102", "103"]),  # null satisfies no comparison
        ("Rev_Number > 5", ["102", "103"]),
        ("Rev_Number >= 7", ["102", "103"]),
        ("Rev_Number < 7", ["100"]),
        ("Rev_Number <= 7", ["100", "103"]),
        ("Rev_Number is null", ["101"]),
        ("Rev_Number is not null", ["100", "102", "103"]),
        ("Trader_ID in ('T-1', 't-3')", ["100", "102"]),
        ("Trader_ID not in ('T-1', 'T-3')", ["101", "103"]),
        ("Account_Name = 'O''Brien'", ["102"]),
        ("Account_Name = 'BETA'", ["101"]),
        ("Account_Name like '%amm%'", ["103"]),
        ("Credit_Limit = 3", ["101", "103"]),
        ("Credit_Limit > 3.5", ["100"]),
        ("Affiliate_To = '100'", ["101", "102"]),
        ("Affiliate_To.id = 100", ["101", "102"]),
        ("id in ('101', 103)", ["101", "103"]),
        ("Rev_Number > 5 and Credit_Limit = 3", ["103"]),
        ("Rev_Number = 5 or Rev_Number = 9", ["100", "102"]),
        ("(Rev_Number = 5 or Rev_Number is null) and Credit_Limit > 3", ["100"]),
        ("Rev_Number = 5 or (Rev_Number is null and Credit_Limit > 3)", ["100"]),
        ("Rev_Number = 1", []),
    ],
)
def test_where_operators(where: str, expected: list[str]) -> None:
    assert ids(f"select Trader_ID from Accounts where {where}") == expected


def test_order_by_several_fields_and_paging() -> None:
    base = "select Credit_Limit from Accounts where id is not null order by Credit_Limit desc"
    assert ids(base) == ["100", "101", "103", "102"]  # nulls last when descending, ties by id
    assert ids(base.replace("desc", "asc")) == ["102", "101", "103", "100"]
    assert ids(base + ", Trader_ID desc") == ["100", "103", "101", "102"]
    assert ids(base + " limit 1, 2") == ["101", "103"]
    assert ids(base + " limit 2 offset 3") == ["102"]
    result = Evaluator(KINDS).run(parse(base + " limit 3"), RECORDS)
    assert result.more_records is True


def test_rows_carry_id_and_lookups_as_objects() -> None:
    rows = run("select Trader_ID, Affiliate_To, Affiliate_To.id from Accounts where id = 101")
    assert rows == [
        {"Trader_ID": "T-2", "Affiliate_To": {"id": "100"}, "Affiliate_To.id": "100", "id": "101"}
    ]


def test_aggregates() -> None:
    rows = run(
        "select max(Rev_Number), MIN(Rev_Number), count(*), COUNT(Rev_Number), "
        "sum(Credit_Limit) from Accounts where id is not null"
    )
    assert rows == [
        {
            "MAX(Rev_Number)": 9,
            "MIN(Rev_Number)": 5,
            "COUNT(*)": 4,
            "COUNT(Rev_Number)": 3,
            "SUM(Credit_Limit)": 16.5,
        }
    ]
    assert run("select max(Rev_Number) from Accounts where Rev_Number > 100") == []


@pytest.mark.parametrize(
    ("text", "details"),
    [
        ("select Nope from Accounts where id is not null", {"column_name": "Nope"}),
        ("select id from Accounts where Nope = 1", {"column_name": "Nope"}),
        ("select id from Accounts where id is not null order by Nope", {"column_name": "Nope"}),
        ("select id from Accounts where Rev_Number = 'abc'", {"column_name": "Rev_Number"}),
        ("select id from Accounts where Trader_ID = 5", {"column_name": "Trader_ID"}),
        ("select Trader_ID.id from Accounts where id is not null", {"column_name": "Trader_ID.id"}),
        (
            "select Trader_ID, max(Rev_Number) from Accounts where id is not null",
            {"clause": "select"},
        ),
    ],
)
def test_invalid_query(text: str, details: dict[str, Any]) -> None:
    with pytest.raises(CoqlError) as caught:
        run(text)
    assert caught.value.code == "INVALID_QUERY"
    assert caught.value.details == details


# --- over HTTP ---------------------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[httpx.Client, ZohoState]]:
    app = create_zoho_app(seed=5)
    with ServedApp(app) as server, httpx.Client(base_url=server.url, timeout=10.0) as http:
        token = access_token(http)
        http.headers["Authorization"] = f"Zoho-oauthtoken {token}"
        data = [
            {"Account_Name": f"Acc {i}", "Trader_ID": f"T-{i}", "Rev_Number": 1000000 + i}
            for i in range(30)
        ]
        assert http.post("/crm/v8/Accounts/upsert", json={"data": data}).status_code == 200
        yield http, app.state.zoho


def coql(http: httpx.Client, query: str) -> httpx.Response:
    return http.post("/crm/v8/coql", json={"select_query": query})


def test_watermark_query_over_http(served: tuple[httpx.Client, ZohoState]) -> None:
    http, state = served
    response = coql(
        http,
        "select Rev_Number from Accounts where Rev_Number is not null "
        "order by Rev_Number desc limit 1",
    )
    assert response.status_code == 200
    body = response.json()
    top = state.records("Accounts")[-1]
    assert body == {
        "data": [{"Rev_Number": 1000029, "id": top["id"]}],
        "info": {"count": 1, "more_records": True},
    }
    maximum = coql(http, "select max(Rev_Number) from Accounts where Rev_Number is not null")
    assert maximum.json() == {
        "data": [{"MAX(Rev_Number)": 1000029}],
        "info": {"count": 1, "more_records": False},
    }


def test_no_match_is_204_with_an_empty_body(served: tuple[httpx.Client, ZohoState]) -> None:
    http, _ = served
    response = coql(http, "select id from Accounts where Trader_ID = 'missing'")
    assert response.status_code == 204
    assert response.content == b""


def test_lookup_by_trader_ids_in_one_call(served: tuple[httpx.Client, ZohoState]) -> None:
    http, _ = served
    wanted = ", ".join(f"'T-{i}'" for i in range(0, 30, 3))
    response = coql(http, f"select Trader_ID from Accounts where Trader_ID in ({wanted}) limit 5")
    body = response.json()
    assert [r["Trader_ID"] for r in body["data"]] == ["T-0", "T-3", "T-6", "T-9", "T-12"]
    assert body["info"] == {"count": 5, "more_records": True}


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("select id from Accounts", "SYNTAX_ERROR"),
        ("select Nope from Accounts where id is not null", "INVALID_QUERY"),
        ("select id from Leads where id is not null", "INVALID_QUERY"),
        ("select id from Accounts where id is not null limit 2001", "LIMIT_EXCEEDED"),
    ],
)
def test_errors_over_http(served: tuple[httpx.Client, ZohoState], query: str, code: str) -> None:
    http, _ = served
    response = coql(http, query)
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["status"]) == (code, "error")
    assert set(body) == {"code", "details", "message", "status"}


def test_coql_credits_follow_the_limit_bracket(served: tuple[httpx.Client, ZohoState]) -> None:
    http, state = served
    before = state.stats()["credits_used"]
    for limit in (200, 1000, 2000):
        coql(http, f"select id from Accounts where id is not null limit {limit}")
    assert state.stats()["credits_used"] - before == 1 + 2 + 3
    assert state.stats()["calls"]["coql"] == 3
