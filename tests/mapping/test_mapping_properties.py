"""Hypothesis: any row shape Galaxy could send maps to a sendable record or a rejection.

Never an exception; a Mapped payload always passes Zoho's rules (validate.py) and encodes
the way httpx sends it (UTF-8 JSON, NaN refused); a Rejected always has a reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gzsync.config import DEFAULT_CONTACT_COLUMNS
from gzsync.mapping import records
from gzsync.mapping.records import Mapped, Rejected, map_affiliate, map_contact, map_customer
from gzsync.mapping.tables import AFFILIATE, CONTACT, CUSTOMER, Table
from gzsync.mapping.validate import validate_payload
from gzsync.mapping.warnings import FieldWarning
from gzsync.sync.linking import is_card_holder

CUSTOMER_COLUMNS = (
    *dict.fromkeys(c for rule in CUSTOMER.rules for c in rule.sources),
    "ZH_CUSTOMERS_MEMBER_CARDNO",
)
AFFILIATE_COLUMNS = (
    *dict.fromkeys(c for rule in AFFILIATE.rules for c in rule.sources),
    "AFFILIATES_CUST_TRDRID",
)
CONTACT_COLUMNS = tuple(DEFAULT_CONTACT_COLUMNS.values())

_odd_strings = st.sampled_from(
    [
        "",
        "   ",
        "\t\n",
        "N/A",
        "n/a",
        "-",
        "ΔΕΝ ΕΧΕΙ",
        "1.234,50",
        "1,234.50",
        "1e5",
        "NaN",
        "Infinity",
        "x" * 100_000,
        "Ω" * 256,
        "🚀" * 300,
        "bad \ud800 surrogate",
        "\ud83d",
        "\x00",
        "maria@@example.gr",
        "maria@example.gr",
        "+30 210-123-4567",
        "9" * 17,
        "-5",
        "0",
        "5339779",
    ]
)
_odd_numbers = st.sampled_from(
    [0.1234567891234, 1e-300, 1e16, -1e16, 9999999999999998.0, 10**16, 10**16 - 1, 2**63, -0.0]
)
values = st.one_of(
    _odd_numbers,
    st.none(),
    st.text(max_size=60),
    st.text(st.characters(codec="utf-8"), max_size=20),
    _odd_strings,
    st.from_regex(r"[+-]?[0-9][0-9.,]{0,24}", fullmatch=True),
    st.from_regex(r"\+?[0-9 ().-]{6,20}", fullmatch=True),
    st.emails(),
    st.integers(),
    st.integers(min_value=0, max_value=2_000_000_000),
    st.floats(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def rows(columns: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """Rows with any subset of the view's columns, any values, and stray extra keys."""
    known = st.fixed_dictionaries({}, optional=dict.fromkeys(columns, values))
    extra = st.dictionaries(st.text(max_size=8), values, max_size=3)
    return st.builds(lambda a, b: {**b, **a}, known, extra)


def mostly_good(
    base: dict[str, Any], columns: tuple[str, ...]
) -> st.SearchStrategy[dict[str, Any]]:
    """A valid row with a few columns replaced: reaches the deeper branches more often."""
    # Odd strings get half the draws here: they are what breaks fast paths.
    changes = st.dictionaries(
        st.sampled_from(columns), st.one_of(_odd_strings, _odd_numbers, values), max_size=4
    )
    return changes.map(lambda c: {**base, **c})


GOOD_CUSTOMER: dict[str, Any] = {
    "TRDRID": "8049a100-ac67",
    "TRDRNAME": "ΑΛΦΑ Α.Ε.",
    "TIN": "069766124",
    "TRDSPHONE1": "210 1234567",
    "TRDSSTREET": "Ερμού 1",
    "BALANCE": 10.5,
    "THIRDPARTYREVNUM": 1_000_001,
    "ZH_CUSTOMERS_MEMBER_CARDNO": "0001",
}
GOOD_AFFILIATE: dict[str, Any] = {
    "AFFILIATES_TRDRID": "aff-1",
    "AFF_NAME": "Aff",
    "AFF_TIN": "094259216",
    "AFFILIATES_REVNUM": 1_000_001,
}
GOOD_CONTACT: dict[str, Any] = {
    "CONTACTID": "c-1",
    "TRDRID": "t-1",
    "LASTNAME": "Smith",
    "EMAIL": "s@example.com",
    "CONTACTS_REVNUM": 7,
}

_REASON = re.compile(r"[a-z_]+")


def check_result(table: Table, result: Mapped | Rejected) -> None:
    if isinstance(result, Rejected):
        assert _REASON.fullmatch(result.reason)
        assert result.key
        assert isinstance(result.rev, int)
        assert result.rev >= 0
        assert 0 < len(result.detail) <= 300
        return
    assert isinstance(result, Mapped)
    assert validate_payload(table, result.payload) == []
    assert result.payload[table.key.zoho_field] == result.key != ""
    assert result.payload["Rev_Number"] == result.rev
    name = "Last_Name" if table is CONTACT else "Account_Name"
    assert isinstance(result.payload[name], str)
    assert result.payload[name]
    # What httpx does with a JSON body: must not raise (surrogates, NaN, infinities).
    json.dumps(result.payload, ensure_ascii=False, allow_nan=False).encode("utf-8")
    assert all(len(str(w)) <= 300 and len(w.value) <= 120 for w in result.warnings)


def general_path(table: Table, row: Mapping[str, Any]) -> Mapped | Rejected:
    """The same mapping done by the general path only (no fast paths), for comparison."""
    warnings: list[FieldWarning] = []
    plan = records._plan(table)
    key_and_rev = records._key_and_revision(plan, row, warnings)
    if isinstance(key_and_rev, Rejected):
        return key_and_rev
    key, rev = key_and_rev
    payload: dict[str, Any] = {table.key.zoho_field: key, "Rev_Number": rev}
    try:
        for rule in table.fields:
            if plan.name_fallback and rule.zoho_field == "Last_Name":
                rule = replace(rule, required=False)
            present, value = records._resolve(records._step(rule), row, warnings)
            if present:
                payload[rule.zoho_field] = value
        if plan.name_fallback and payload.get("Last_Name") is None:
            records._fallback_last_name(plan, payload, warnings)
        parent = None
        if plan.parent is not None:
            parent = records._parent_key(plan.parent, row, warnings)
    except records._Refused as refused:
        return Rejected(key, rev, refused.reason, refused.field, refused.detail)
    return Mapped(key, rev, payload, (), parent, False)


def check_same_as_general_path(
    table: Table, mapper: Callable[[dict[str, Any]], Mapped | Rejected], row: dict[str, Any]
) -> None:
    fast, slow = mapper(row), general_path(table, row)
    assert type(fast) is type(slow)
    if isinstance(fast, Mapped):
        assert isinstance(slow, Mapped)
        assert (fast.key, fast.rev, fast.parent_key) == (slow.key, slow.rev, slow.parent_key)
        assert fast.payload == slow.payload
    else:
        assert fast == slow


_settings = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(st.one_of(rows(CUSTOMER_COLUMNS), mostly_good(GOOD_CUSTOMER, CUSTOMER_COLUMNS)))
def test_any_customer_row_maps_or_is_rejected(row: dict[str, Any]) -> None:
    result = map_customer(row)
    check_result(CUSTOMER, result)
    check_same_as_general_path(CUSTOMER, map_customer, row)
    if isinstance(result, Mapped):
        assert result.card_holder is is_card_holder(row)


@_settings
@given(st.one_of(rows(AFFILIATE_COLUMNS), mostly_good(GOOD_AFFILIATE, AFFILIATE_COLUMNS)))
def test_any_affiliate_row_maps_or_is_rejected(row: dict[str, Any]) -> None:
    check_result(AFFILIATE, map_affiliate(row))
    check_same_as_general_path(AFFILIATE, map_affiliate, row)


@_settings
@given(st.one_of(rows(CONTACT_COLUMNS), mostly_good(GOOD_CONTACT, CONTACT_COLUMNS)))
def test_any_contact_row_maps_or_is_rejected(row: dict[str, Any]) -> None:
    result = map_contact(row)
    check_result(CONTACT, result)
    check_same_as_general_path(CONTACT, map_contact, row)
    if isinstance(result, Mapped):
        assert result.parent_key


@settings(max_examples=50, deadline=None)
@given(values)
def test_any_value_as_a_whole_row_is_rejected_not_raised(row: Any) -> None:
    for mapper in (map_customer, map_affiliate, map_contact):
        result = mapper(row)
        if not isinstance(row, dict):
            assert isinstance(result, Rejected)
            assert result.reason == "invalid_row"
