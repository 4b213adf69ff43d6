"""COQL text: quoted values, checked names, in-lists of at most 100, credit brackets."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gzsync.zoho import coql

# A COQL string literal as the grammar reads it: quotes, with '' standing for one quote.
_LITERAL = re.compile(r"'((?:[^']|'')*)'")


def _unquote(literal: str) -> str:
    match = _LITERAL.fullmatch(literal)
    assert match is not None, literal
    return match.group(1).replace("''", "'")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ABC", "'ABC'"),
        ("O'Brien", "'O''Brien'"),
        ("'; delete from Accounts", "'''; delete from Accounts'"),
        (42, "42"),
        (-1.5, "-1.5"),
        ("Ελληνικά", "'Ελληνικά'"),
    ],
)
def test_quote(value: str | int | float, expected: str) -> None:
    assert coql.quote(value) == expected


@given(st.text().filter(lambda s: "\\" not in s and "\x00" not in s))
def test_any_string_round_trips_as_one_literal(value: str) -> None:
    assert _unquote(coql.quote(value)) == value


@pytest.mark.parametrize("value", ["a\\", "\\'", "x\x00y", True, float("inf")])
def test_quote_refuses_what_it_cannot_carry_safely(value: object) -> None:
    with pytest.raises(ValueError, match=r"backslash|boolean|finite"):
        coql.quote(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "1a", "a b", "Trader_ID;", "x'y", "a.b", "Accounts--"])
def test_names_are_checked(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid COQL name"):
        coql.name(bad)
    with pytest.raises(ValueError, match="invalid COQL name"):
        coql.max_value_query("Accounts", bad)


def test_in_list_bounds() -> None:
    assert coql.in_list(["A", "B'C"]) == "('A', 'B''C')"
    assert coql.in_list(list(range(100))).count(",") == 99
    with pytest.raises(ValueError, match="at most 100"):
        coql.in_list([str(i) for i in range(101)])
    with pytest.raises(ValueError, match="at least one"):
        coql.in_list([])


def test_queries() -> None:
    assert coql.max_value_query("Accounts", "Rev_Number") == (
        "select Rev_Number from Accounts where Rev_Number is not null "
        "order by Rev_Number desc limit 1"
    )
    assert coql.ids_by_key_query("Accounts", "Trader_ID", ["A1", "B'2"]) == (
        "select id, Trader_ID from Accounts where Trader_ID in ('A1', 'B''2') limit 2"
    )


@pytest.mark.parametrize(
    ("query", "credits"),
    [
        ("select id from Accounts where id is not null", 1),
        ("select id from Accounts where id is not null limit 200", 1),
        ("select id from Accounts where id is not null limit 201", 2),
        ("select id from Accounts where id is not null limit 0, 1000", 2),
        ("select id from Accounts where id is not null LIMIT 2000 offset 10", 3),
    ],
)
def test_credit_brackets(query: str, credits: int) -> None:
    assert coql.credits_for(query) == credits
