"""The classification rules, pure: one key, its expected record, its Zoho records."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gzsync.reconcile.classify import Expected, ZohoRecord, classify, same_value

PAYLOAD = {"Trader_ID": "C1", "Rev_Number": 10, "Account_Name": "Acme", "Phone": None, "Watt": 1.5}


def _expected(rev: int = 10, link: str | None = None, link_ids: tuple[str, ...] = ()) -> Expected:
    return Expected("C1", rev, PAYLOAD, link, frozenset(link_ids))


def _record(rev: int | None = 10, link: str | None = None, **fields: Any) -> ZohoRecord:
    return ZohoRecord("100", rev, {**PAYLOAD, **fields}, link)


@pytest.mark.parametrize(
    ("expected", "records", "in_galaxy", "cls"),
    [
        (_expected(), [], True, "missing"),
        (None, [], True, None),
        (None, [_record()], False, "orphan"),
        (None, [_record()], True, None),  # rejected by our mapping: the ledger's business
        (_expected(), [_record(), ZohoRecord("101", 10, PAYLOAD)], True, "duplicate"),
        (None, [_record(), ZohoRecord("101", 10, PAYLOAD)], False, "duplicate"),
        (_expected(), [_record(rev=9, Account_Name="Old")], True, "stale"),
        (_expected(), [_record(rev=None, Account_Name="Old")], True, "stale"),
        (_expected(), [_record(rev=10, Account_Name="Edited")], True, "drifted"),
        (_expected(), [_record(rev=11, Account_Name="Edited")], True, "drifted"),
        (_expected(), [_record(rev=3)], True, None),  # lower revision, equal fields: in sync
        (_expected(), [_record(rev=12)], True, None),
        (_expected(), [_record(link="500")], True, "link_wrong"),
        (_expected(link="A1", link_ids=("500",)), [_record(link="500")], True, None),
        (_expected(link="A1", link_ids=("500",)), [_record(link="501")], True, "link_wrong"),
        (_expected(link="A1", link_ids=("500",)), [_record()], True, "link_wrong"),
        (_expected(link="A1"), [_record()], True, "link_wrong"),  # its Account is missing
        (_expected(), [_record(rev=9, link="500", Phone="1")], True, "stale"),  # fields first
    ],
)
def test_classes(
    expected: Expected | None, records: list[ZohoRecord], in_galaxy: bool, cls: str | None
) -> None:
    assert classify(expected, records, in_galaxy=in_galaxy).cls == cls


def test_stale_and_drifted_name_the_fields() -> None:
    verdict = classify(_expected(), [_record(rev=9, Account_Name="x", Watt=2)], in_galaxy=True)
    assert verdict.fields == ("Account_Name", "Watt")
    assert "9" in verdict.detail


def test_duplicates_list_every_id_to_merge_in_id_order() -> None:
    records = [ZohoRecord("20", 1, {}), ZohoRecord("3", 1, {}), ZohoRecord("100", 1, {})]
    verdict = classify(_expected(), records, in_galaxy=True)
    assert verdict.ids == ("3", "20", "100")


def test_an_affiliate_has_no_link_of_its_own_to_check() -> None:
    record = _record(link="500")
    assert classify(_expected(), [record], in_galaxy=True, check_link=False).cls is None


@pytest.mark.parametrize(
    ("got", "want", "same"),
    [
        (None, None, True),
        ("", None, True),
        (None, "", True),
        ("x", None, False),
        (12, 12.0, True),
        ("12.50", 12.5, True),
        (12.5000001, 12.5, False),
        ("abc", 1.0, False),
        ("Acme", "Acme", True),
        ("acme", "Acme", False),
        (True, 1, False),
    ],
)
def test_same_value(got: Any, want: Any, same: bool) -> None:
    assert same_value(got, want) is same


values = st.one_of(st.none(), st.text(max_size=5), st.integers(-5, 5), st.floats(-5, 5))


@settings(deadline=None)  # never fail on timing (a loaded machine)
@given(st.dictionaries(st.sampled_from(["A", "B", "C"]), values), st.integers(0, 20))
def test_a_record_holding_exactly_the_payload_is_in_sync(fields: dict[str, Any], rev: int) -> None:
    payload = {"Trader_ID": "K", "Rev_Number": rev, **fields}
    expected = Expected("K", rev, payload)
    for zoho_rev in (rev - 1, rev, rev + 1, None):
        record = ZohoRecord("1", zoho_rev, dict(payload))
        assert classify(expected, [record], in_galaxy=True).cls is None
