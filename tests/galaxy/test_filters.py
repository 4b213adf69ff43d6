"""The filter builder: known operators only, and no value can change the filter's meaning.

Every built string is parsed back with the sandbox's server-side parser, which reads the
grammar as Galaxy's JSV binding would.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gzsync.galaxy.filters import Condition, Op, build_filter, quote_value
from gzsync.sandbox.galaxy_filters import parse_filters


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (
            [Condition("THIRDPARTYREVNUM", Op.Greater, 5339779)],
            "[{THIRDPARTYREVNUM:[5339779,Greater]}]",
        ),
        (
            [Condition("AFFILIATES_REVNUM", Op.GreaterOrEqual, 5339779)],
            "[{AFFILIATES_REVNUM:[5339779,GreaterOrEqual]}]",
        ),
        ([Condition("DOC_ID", Op.Equal, "ab-12")], '[{DOC_ID:["ab-12",Equal]}]'),
        (
            [Condition("A", Op.Greater, 1), Condition("B", Op.LessOrEqual, 2.5)],
            "[{A:[1,Greater],B:[2.5,LessOrEqual]}]",
        ),
    ],
)
def test_builds_the_seed_grammar(conditions: list[Condition], expected: str) -> None:
    assert build_filter(conditions) == expected


HOSTILE = [
    "1,Greater]}]",
    '"',
    '""',
    '\\"',
    "\\",
    'x", Equal]},{OTHER:[1,Greater',
    "Ελληνικά ΑΦΜ 0697",
    "emoji 🎉 & = ? # %",
    "  spaced  ",
    "null",
    "12",
    "",
    "[{}]:,",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_string_stays_one_condition(value: str) -> None:
    text = build_filter([Condition("TRDRID", Op.Equal, value)])
    (parsed,) = parse_filters(text)
    assert (parsed.field, parsed.value, parsed.op) == ("TRDRID", value, "Equal")


@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True),
            st.sampled_from(list(Op)),
            st.one_of(
                st.text(),
                st.integers(),
                st.floats(allow_nan=False, allow_infinity=False),
            ),
        ),
        min_size=1,
        max_size=4,
        unique_by=lambda c: c[0],
    )
)
def test_any_values_parse_back_to_the_same_conditions(
    triples: list[tuple[str, Op, int | float | str]],
) -> None:
    text = build_filter([Condition(f, op, v) for f, op, v in triples])
    parsed = parse_filters(text)
    assert [(c.field, c.op, c.value) for c in parsed] == [(f, op.value, v) for f, op, v in triples]


@pytest.mark.parametrize("field", ["", "1ABC", "A B", "A:B", "A]", 'A"', "ÄBC", "A-B"])
def test_rejects_field_names_that_are_not_identifiers(field: str) -> None:
    with pytest.raises(ValueError, match="field name"):
        build_filter([Condition(field, Op.Equal, 1)])


def test_rejects_unknown_operators_and_bad_values() -> None:
    with pytest.raises(ValueError, match="operator"):
        build_filter([Condition("A", "Like", 1)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="operator"):
        build_filter([Condition("A", "Greater]}]", 1)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="boolean"):
        quote_value(True)
    with pytest.raises(ValueError, match="finite"):
        quote_value(float("nan"))
    with pytest.raises(ValueError, match="at least one"):
        build_filter([])
    with pytest.raises(ValueError, match="twice"):
        build_filter([Condition("A", Op.Greater, 1), Condition("A", Op.Less, 5)])
