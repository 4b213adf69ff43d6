"""The Galaxy view filter grammar: parsing both spellings, errors, and comparison rules."""

from __future__ import annotations

from typing import Any

import pytest

from gzsync.sandbox.galaxy_filters import (
    Condition,
    FilterSyntaxError,
    UnknownColumnError,
    compile_predicate,
    parse_filters,
    resolve_columns,
)


@pytest.mark.parametrize(
    "text",
    [
        "[{THIRDPARTYREVNUM:[5339779,Greater]}]",
        '[{"THIRDPARTYREVNUM":[5339779,"Greater"]}]',
        '[ { "THIRDPARTYREVNUM" : [ 5339779 , Greater ] } ]',
        "[{THIRDPARTYREVNUM:[5339779,greater]}]",
    ],
)
def test_unquoted_quoted_and_spaced_spellings_parse_alike(text: str) -> None:
    assert parse_filters(text) == [Condition("THIRDPARTYREVNUM", 5339779, "Greater")]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('[{TRDRID:["abc",Equal]}]', "abc"),
        ('[{TRDRID:["say \\"hi\\"",Equal]}]', 'say "hi"'),
        ('[{TRDRID:["say ""hi""",Equal]}]', 'say "hi"'),
        ('[{TRDRID:["",Equal]}]', ""),
        ('[{TRDRID:["a,b:[c]{d}",Equal]}]', "a,b:[c]{d}"),
        ("[{TRDRID:[C000123,Equal]}]", "C000123"),
        ("[{TRDRID:[null,Equal]}]", None),
        ("[{BALANCE:[-12.5,Equal]}]", -12.5),
        ('[{BALANCE:["12",Equal]}]', "12"),
    ],
)
def test_values(text: str, value: Any) -> None:
    (condition,) = parse_filters(text)
    assert condition.value == value
    assert type(condition.value) is type(value)


def test_several_fields_and_several_objects_are_all_conditions() -> None:
    text = '[{A:[1,GreaterOrEqual],B:["x",NotEqual]},{C:[2,Less]}]'
    assert parse_filters(text) == [
        Condition("A", 1, "GreaterOrEqual"),
        Condition("B", "x", "NotEqual"),
        Condition("C", 2, "Less"),
    ]


@pytest.mark.parametrize("text", ["[]", "[{}]", " [ ] "])
def test_empty_filters_have_no_conditions(text: str) -> None:
    assert parse_filters(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{A:[1,Equal]}",
        "[{A:[1,Equal]}",
        "[{A:[1,Equal]}]x",
        "[{A:[1]}]",
        "[{A:[1,Equal,3]}]",
        "[{A:1}]",
        "[{:[1,Equal]}]",
        '[{A:["unterminated,Equal]}]',
        "[{A:[1,Like]}]",
        "[{A:[1,Equal]},]",
        "[{A:[1,Equal]};{B:[2,Equal]}]",
    ],
)
def test_malformed_filters_raise(text: str) -> None:
    with pytest.raises(FilterSyntaxError, match="Invalid filters"):
        parse_filters(text)


def test_columns_resolve_case_insensitively_and_unknown_ones_raise() -> None:
    conditions = parse_filters("[{thirdpartyrevnum:[1,Greater]}]")
    resolved = resolve_columns(conditions, ["TRDRID", "THIRDPARTYREVNUM"])
    assert resolved == [Condition("THIRDPARTYREVNUM", 1, "Greater")]
    with pytest.raises(UnknownColumnError) as caught:
        resolve_columns(parse_filters("[{NOPE:[1,Equal]}]"), ["TRDRID"])
    assert caught.value.column == "NOPE"


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("Equal", [20]),
        ("NotEqual", [10, 30]),
        ("Greater", [30]),
        ("GreaterOrEqual", [20, 30]),
        ("Less", [10]),
        ("LessOrEqual", [10, 20]),
    ],
)
def test_numeric_operators(op: str, expected: list[int]) -> None:
    rows = [{"R": 10}, {"R": 20}, {"R": 30}]
    predicate = compile_predicate([Condition("R", 20, op)])
    assert predicate is not None
    assert [row["R"] for row in rows if predicate(row)] == expected


@pytest.mark.parametrize(
    ("row_value", "condition", "matches"),
    [
        ("1234.50", Condition("B", 1000, "Greater"), True),  # numeric string vs number
        (9, Condition("B", 10, "Less"), True),  # numeric, not "9" > "10" as strings
        (1000, Condition("B", "999", "Greater"), True),  # number vs numeric string
        ("N/A", Condition("B", 0, "Greater"), False),  # not a number: no match
        ("N/A", Condition("B", 0, "NotEqual"), False),
        ("abc", Condition("B", "ABC", "Equal"), False),  # exact, case-sensitive
        ("b", Condition("B", "a", "Greater"), True),  # string order
        (None, Condition("B", 0, "NotEqual"), False),  # null never compares
        (None, Condition("B", None, "Equal"), True),
        ("", Condition("B", None, "Equal"), False),
        (True, Condition("B", 1, "Equal"), False),  # booleans are not numbers
    ],
)
def test_comparison_rules(row_value: Any, condition: Condition, matches: bool) -> None:
    assert condition.matches({"B": row_value}) is matches


def test_predicate_ands_every_condition() -> None:
    predicate = compile_predicate([Condition("A", 1, "Equal"), Condition("B", "x", "Equal")])
    assert predicate is not None
    assert predicate({"A": 1, "B": "x"})
    assert not predicate({"A": 1, "B": "y"})
    assert not predicate({"A": 2, "B": "x"})
    assert compile_predicate([]) is None
