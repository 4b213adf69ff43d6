"""The compiled fill functions of records.py give what the plain rule loop gives.

Each plan's fill function is generated straight-line code (for speed); these tests hold
it to a plain loop over the same plan that uses only the general path (``_resolve``):
same payload in the same order, same warnings in the same order, same rejections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gzsync.config import DEFAULT_CONTACT_COLUMNS
from gzsync.mapping import records
from gzsync.mapping.records import Mapped, Rejected, map_affiliate, map_contact, map_customer
from gzsync.mapping.tables import AFFILIATE, CONTACT, CUSTOMER, Table, contact_table
from gzsync.mapping.warnings import FieldWarning


def loop_mapping(table: Table, row: dict[str, Any]) -> Mapped | Rejected:
    """The mapping as a plain loop over the plan, general path only: the reference."""
    plan = records._plan(table)
    warnings: list[FieldWarning] = []
    key_and_rev = records._key_and_revision(plan, row, warnings)
    if isinstance(key_and_rev, Rejected):
        return key_and_rev
    key, rev = key_and_rev
    payload: dict[str, Any] = {plan.key.field: key, plan.revision.field: rev}
    try:
        for field, _column, _family, _limit, _nullable, step in plan.hot:
            present, value = records._resolve(step, row, warnings)
            if present:
                payload[field] = value
        for field, original in plan.copies:
            if original in payload:
                payload[field] = payload[original]
                cut = [w for w in warnings if w.field == original and w.reason == "value_truncated"]
                if cut:
                    detail = f"{field}: cut like {original}"
                    warnings.append(FieldWarning(field, cut[0].reason, cut[0].value, detail))
            else:
                first = next(w for w in warnings if w.field == original)
                detail = f"{field} dropped: same value as {original}"
                warnings.append(FieldWarning(field, first.reason, first.value, detail))
        if plan.name_fallback and payload.get("Last_Name") is None:
            records._fallback_last_name(plan, payload, warnings)
        parent = None
        if plan.parent is not None:
            parent = records._parent_key(plan.parent, row, warnings)
    except records._Refused as refused:
        return Rejected(key, rev, refused.reason, refused.field, refused.detail)
    card_holder = plan.card_holders and rev > 0 and records.has_member_card(row)
    return Mapped(key, rev, payload, tuple(warnings), parent, card_holder)


def assert_same(result: Mapped | Rejected, expected: Mapped | Rejected) -> None:
    assert result == expected
    if isinstance(result, Mapped) and isinstance(expected, Mapped):
        assert list(result.payload) == list(expected.payload)  # the order Zoho receives


# Values that take every branch of the fast paths: clean, absent, dropped, rejected.
cells = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            "  ",
            " Ερμού 1 ",
            "GR",
            "x" * 300,
            "bad \ud800",
            "tab\there",
            "n/a",
            "-",
            "+30 210-123-4567",
            "EL 069766124",
            "069766124",
            "1.234,50",
            "-1.234.567,5",
            "1234,56",
            "-0,5",
            "1,234",
            "1,234.50",
            "€ 1.234,56",
            "—",
            "Ω" * 300,
            "Ω " * 130,
            "12.5",
            "-300",
            "9" * 17,
            "s@example.com",
            "s@",
        ]
    ),
    st.text(max_size=12),
    st.integers(min_value=-(10**17), max_value=10**17),
    st.floats(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)


def rows(table: Table, good: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A valid row with some of the table's columns changed or removed."""
    columns = sorted({c for rule in table.rules for c in rule.sources})
    if table.parent_column is not None:
        columns.append(table.parent_column)
    changes = st.dictionaries(st.sampled_from(columns), cells, max_size=6)
    removed = st.sets(st.sampled_from(columns), max_size=3)
    return st.builds(
        lambda c, r: {k: v for k, v in {**good, **c}.items() if k not in r}, changes, removed
    )


GOOD_CUSTOMER: dict[str, Any] = {
    "TRDRID": "8049a100-ac67",
    "TRDRNAME": "ΑΛΦΑ Α.Ε.",
    "COMPTITLE": "ΑΛΦΑ",
    "TIN": "069766124",
    "TRDSPHONE1": "210 1234567",
    "TRDSSTREET": "Ερμού 1",
    "PREFDESCR": "ΑΤΤΙΚΗΣ",
    "CNTRCODE": "GR",
    "BALANCE": 10.5,
    "MAXBALANCE": "1.234,50",
    "THIRDPARTYREVNUM": 1_000_001,
    "ZH_CUSTOMERS_MEMBER_CARDNO": "0001",
}
GOOD_AFFILIATE: dict[str, Any] = {
    "AFFILIATES_TRDRID": "aff-1",
    "AFF_NAME": "Aff",
    "AFF_TIN": "094259216",
    "AFFILIATES_REVNUM": 1_000_001,
    "AFFILIATES_CUST_TRDRID": "c-1",
}
GOOD_CONTACT: dict[str, Any] = {
    "CONTACTID": "c-1",
    "TRDRID": "t-1",
    "LASTNAME": "Smith",
    "EMAIL": "s@example.com",
    "PHONE": "210 1234567",
    "CONTACTS_REVNUM": 7,
}

_settings = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(
    table: Table, mapper: Callable[[dict[str, Any]], Mapped | Rejected], row: dict[str, Any]
) -> None:
    assert_same(mapper(row), loop_mapping(table, row))


@_settings
@given(rows(CUSTOMER, GOOD_CUSTOMER))
def test_customer_fill_matches_the_rule_loop(row: dict[str, Any]) -> None:
    check(CUSTOMER, map_customer, row)


@_settings
@given(rows(AFFILIATE, GOOD_AFFILIATE))
def test_affiliate_fill_matches_the_rule_loop(row: dict[str, Any]) -> None:
    check(AFFILIATE, map_affiliate, row)


@_settings
@given(rows(CONTACT, GOOD_CONTACT))
def test_contact_fill_matches_the_rule_loop(row: dict[str, Any]) -> None:
    check(CONTACT, map_contact, row)


def test_a_long_address_is_cut_and_its_copy_too_with_warnings_after_the_others() -> None:
    street = "Odos " + "Ermou " * 60  # 365 characters, words of 5
    row = {**GOOD_CUSTOMER, "TRDSSTREET": street, "TRDSPHONE1": "n/a"}
    result = map_customer(row)
    assert isinstance(result, Mapped)
    cut = result.payload["Billing_Street"]
    assert len(cut) <= 255
    assert street.startswith(cut)
    assert cut.endswith("Ermou")  # on a word boundary
    assert result.payload["Shipping_Street"] == cut
    assert tuple(str(w) for w in result.warnings) == (
        "Phone dropped: TRDSPHONE1 'n/a' is not a phone number (8-15 digits)",
        f"Billing_Street: TRDSSTREET cut from {len(street.strip())} to {len(cut)} characters",
        "Shipping_Street: cut like Billing_Street",
    )
    assert [(w.field, w.reason) for w in result.warnings] == [
        ("Phone", "invalid_phone"),
        ("Billing_Street", "value_truncated"),
        ("Shipping_Street", "value_truncated"),
    ]
    assert_same(result, loop_mapping(CUSTOMER, row))


def test_an_address_that_is_no_text_drops_its_copy_with_a_warning() -> None:
    row = {**GOOD_CUSTOMER, "TRDSSTREET": ["not", "text"]}
    result = map_customer(row)
    assert isinstance(result, Mapped)
    assert [(w.field, w.reason) for w in result.warnings] == [
        ("Billing_Street", "invalid_text"),
        ("Shipping_Street", "invalid_text"),
    ]
    assert "Billing_Street" not in result.payload
    assert "Shipping_Street" not in result.payload
    assert list(result.payload)[-2:] == ["Shipping_State", "Shipping_Country"]


def test_column_names_from_configuration_never_reach_generated_code() -> None:
    odd = "LAST'), __import__('os').getpid(), ('"
    columns = {**DEFAULT_CONTACT_COLUMNS, "LASTNAME": odd}
    row = {**GOOD_CONTACT, odd: "  Smith "}
    result = map_contact(row, columns)
    assert isinstance(result, Mapped)
    assert result.payload["Last_Name"] == "Smith"
    assert_same(result, loop_mapping(contact_table(columns), row))
