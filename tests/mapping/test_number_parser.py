"""The number parser of Greek ERP views (normalize.parse_number), with Hypothesis.

Two properties: it never raises, whatever the text; and a float printed in each of the
four formats a Greek ERP view renders (``1234.56``, ``1234,56``, ``1.234,56``,
``1,234.56``) parses back to that very float.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gzsync.mapping.normalize import DecimalMark, parse_number

# Floats whose shortest repr has no exponent: what a view prints.
floats = st.floats(min_value=-1e15, max_value=1e15, allow_nan=False).filter(
    lambda x: "e" not in repr(x)
)


def dot_decimal(x: float) -> str:  # 1234.56
    return repr(x)


def comma_decimal(x: float) -> str:  # 1234,56
    return repr(x).replace(".", ",")


def english_grouped(x: float) -> str:  # 1,234.56
    return format(x, ",")


def greek_grouped(x: float) -> str:  # 1.234,56
    return format(x, ",").translate(str.maketrans(",.", ".,"))


FORMATS = [dot_decimal, comma_decimal, english_grouped, greek_grouped]


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40), st.sampled_from(["comma", "dot"]))
def test_never_raises(text: str, decimal: DecimalMark) -> None:
    result = parse_number(text, decimal)
    assert result is None or (isinstance(result, int | float) and math.isfinite(result))


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="0123456789.,-+ €$()EURn/a\u00a0", max_size=25),
    st.sampled_from(["comma", "dot"]),
)
def test_never_raises_on_number_like_text(text: str, decimal: DecimalMark) -> None:
    result = parse_number(text, decimal)
    assert result is None or math.isfinite(result)


@settings(max_examples=300, deadline=None)
@given(floats, st.sampled_from(FORMATS))
def test_a_float_printed_in_each_format_parses_back_to_itself(x: float, fmt: object) -> None:
    assert callable(fmt)
    text = fmt(x)
    assert parse_number(text) == x, text
    # with spaces around and a currency sign, too
    assert parse_number(f"  {text} €  ") == x
    assert parse_number(f"EUR {text}") == x


@settings(max_examples=200, deadline=None)
@given(floats, st.sampled_from([dot_decimal, english_grouped]))
def test_dot_mode_reads_point_decimals_back_too(x: float, fmt: object) -> None:
    assert callable(fmt)
    assert parse_number(fmt(x), "dot") == x


@pytest.mark.parametrize(
    ("text", "comma", "dot"),
    [
        ("1,234", 1.234, 1234),
        ("12,345", 12.345, 12345),
        ("-999,000", -999.0, -999000),
        ("1,2345", 1.2345, 1.2345),  # four digits: a decimal comma in both modes
        ("1234,567", 1234.567, 1234.567),  # four digits before: not a thousands group
        ("1.234", 1.234, 1.234),  # a single point is always a decimal point
        ("1,234,567", 1234567, 1234567),
        ("1.234.567", 1234567, 1234567),
    ],
)
def test_only_a_lone_comma_with_three_digits_depends_on_number_decimal(
    text: str, comma: float, dot: float
) -> None:
    assert parse_number(text, "comma") == comma
    assert parse_number(text, "dot") == dot


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" 1.234,56 € ", 1234.56),
        ("€1,234.56", 1234.56),
        ("-€ 12,50", -12.5),
        ("€ -12,50", -12.5),
        ("\u221212,5", -12.5),  # a typographic minus
        ("(1.234,56)", -1234.56),  # accounting negative
        ("1\u00a0234\u00a0567,89", 1234567.89),
        ("1 234.5", 1234.5),
        ("usd 7", 7),
    ],
)
def test_signs_currency_and_space_groups(text: str, expected: float) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    "text",
    ["N/A", "n/a", "-", "—", "abc", "", "  ", "1e5", "1,23,4", "1.23.4", "--1", "€", "9" * 101],
)
def test_what_is_no_number(text: str) -> None:
    assert parse_number(text) is None
