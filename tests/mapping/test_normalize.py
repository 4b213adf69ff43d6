"""Normalisation of single Galaxy values (gzsync.mapping.normalize)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from gzsync.mapping import normalize
from gzsync.mapping.normalize import InvalidValue


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  ΑΛΦΑ Α.Ε.  ", "ΑΛΦΑ Α.Ε."),
        ("plain", "plain"),
        ("", None),
        ("   \t\n", None),
        (None, None),
        (12345, "12345"),
        (12.0, "12"),
        (1.5, "1.5"),
        ("emoji 🚀 ok", "emoji 🚀 ok"),
    ],
)
def test_text_trims_and_treats_blank_as_absent(raw: Any, expected: str | None) -> None:
    assert normalize.text(raw) == expected


@pytest.mark.parametrize("raw", [True, False, [1], {"a": 1}, math.nan, math.inf, "bad \ud800"])
def test_text_refuses_values_that_are_not_text(raw: Any) -> None:
    with pytest.raises(InvalidValue):
        normalize.text(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" 8049a100-ac67-489c ", "8049A100-AC67-489C"),
        (42, "42"),
        ("", None),
        (None, None),
    ],
)
def test_identifier_is_trimmed_and_upper_cased(raw: Any, expected: str | None) -> None:
    assert normalize.identifier(raw) == expected


@pytest.mark.parametrize("raw", [4.2, True, ["x"]])
def test_identifier_refuses_floats_and_non_text(raw: Any) -> None:
    with pytest.raises(InvalidValue):
        normalize.identifier(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234.50", 1234.5),
        ("1234", 1234),
        ("-12.5", -12.5),
        ("+7", 7),
        ("1.234,50", 1234.5),  # Greek: points group thousands, comma is the decimal point
        ("1.234.567,5", 1234567.5),
        ("1.234.567", 1234567),
        ("1234,5", 1234.5),
        ("1,234", 1.234),  # ambiguous: read the Greek way
        ("1,234,567.25", 1234567.25),
        ("  99.90 ", 99.9),
        (1234.5, 1234.5),
        (10, 10),
        ("0.1234567891234", 0.1234567891234),  # as it comes: Zoho rounds to the field
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_number_reads_the_formats_of_a_greek_erp(raw: Any, expected: float | None) -> None:
    assert normalize.number(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "N/A",
        "1e5",
        "12.5.3,1",
        "١٢٣",
        "nan",
        "inf",
        "1 23",
        "n/a",
        "-",
        "—",
        "abc",
        True,
        math.nan,
        -math.inf,
        [1],
    ],
)
def test_number_refuses_what_is_not_a_number(raw: Any) -> None:
    with pytest.raises(InvalidValue) as info:
        normalize.number(raw)
    assert info.value.note  # a note the report can show


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(5339779, 5339779), ("5339779", 5339779), (5339779.0, 5339779), (0, 0), (None, None)],
)
def test_revision_is_a_whole_number(raw: Any, expected: int | None) -> None:
    assert normalize.revision(raw) == expected


@pytest.mark.parametrize("raw", [-1, "12.5", "abc", True, 1.5])
def test_revision_refuses_negative_fractional_and_text(raw: Any) -> None:
    with pytest.raises(InvalidValue):
        normalize.revision(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("069766124", "069766124"),
        ("EL 069-766-124", "069766124"),
        ("1234567X", "1234567"),  # a Cypriot TIN keeps its digits only (SPEC §3)
        (69766124, "69766124"),  # the leading zero the ERP lost is not guessed back
        ("", None),
        (None, None),
    ],
)
def test_digits_keeps_ascii_digits_only(raw: Any, expected: str | None) -> None:
    assert normalize.digits(raw) == expected


@pytest.mark.parametrize("raw", ["N/A", "ΑΦΜ", -5, True])
def test_digits_refuses_values_without_digits(raw: Any) -> None:
    with pytest.raises(InvalidValue):
        normalize.digits(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("210 1234567", "2101234567"),
        ("+30 210-123-4567", "+302101234567"),
        ("(210) 123.4567", "2101234567"),
        ("6912345678", "6912345678"),
        (2101234567, "2101234567"),
        ("-", None),  # only separators: no phone at all
        ("", None),
        (None, None),
    ],
)
def test_phone_is_cleaned_per_spec(raw: Any, expected: str | None) -> None:
    assert normalize.phone(raw) == expected


@pytest.mark.parametrize(
    "raw", ["n/a", "ΔΕΝ ΕΧΕΙ", "1234567", "1234567890123456", "210+1234567", "21o1234567", 2.5]
)
def test_phone_refuses_what_zoho_would(raw: Any) -> None:
    with pytest.raises(InvalidValue):
        normalize.phone(raw)


@pytest.mark.parametrize(
    "address",
    [
        "maria.papadopoulou1@example.gr",
        "first+tag@mail.example.com",
        "o'brien@example.co.uk",
        "γιώργος@παράδειγμα.ελ",  # Unicode letters are allowed by Zoho
        "x_y-z@sub-domain.example.com.cy",
    ],
)
def test_is_email_accepts_real_addresses(address: str) -> None:
    assert normalize.is_email(address)
    assert normalize.email(f"  {address} ") == address


@pytest.mark.parametrize(
    "address",
    [
        "maria@",
        "maria.at.example.gr",
        "maria@@example.gr",
        "maria @example.gr",
        "maria@example",
        "maria@-example.gr",
        ".maria@example.gr",
        "maria..x@example.gr",
        "maria@example.g",
        "maria@example.123",
        "a@b.c",
        "x" * 95 + "@example.gr",  # longer than the 100 we send
        "bad\ud800@example.gr",
    ],
)
def test_is_email_refuses_malformed_addresses(address: str) -> None:
    assert not normalize.is_email(address)
    with pytest.raises(InvalidValue):
        normalize.email(address)


def test_email_check_is_fast_on_huge_input() -> None:
    # The length lookaheads stop backtracking before it starts.
    assert not normalize.is_email("a" * 200_000 + "@" + "b." * 100_000)


def test_echo_cuts_long_values() -> None:
    shown = normalize.echo("Ω" * 1000)
    assert len(shown) <= 40
    assert shown.endswith("…")
