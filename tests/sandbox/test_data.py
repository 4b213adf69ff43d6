"""The test-data generator: deterministic, realistic proportions, deliberate bad rows."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gzsync.sandbox.data import (
    AFFILIATE_LINK_COLUMNS,
    AMOUNT_PLACEHOLDERS,
    CONTACT_COLUMNS,
    CUSTOMER_COLUMNS,
    Dataset,
    generate,
    valid_afm,
)


@pytest.fixture(scope="module")
def data() -> Dataset:
    return generate(20_000, seed=11)


@pytest.mark.parametrize(
    "afm", ["090000045", "094259216", "094429812", "800420948", "010509832", "069766124"]
)
def test_documented_valid_afms(afm: str) -> None:
    assert valid_afm(afm)


@pytest.mark.parametrize(
    "afm",
    ["123456789", "987654321", "123456781", "000000000", "09425921", "0942592160", "EL0942592A"],
)
def test_documented_invalid_afms(afm: str) -> None:
    assert not valid_afm(afm)


@given(st.integers(min_value=1, max_value=99_999_999))
def test_exactly_one_check_digit_makes_an_afm_valid(prefix: int) -> None:
    first8 = f"{prefix:08d}"
    assert sum(valid_afm(first8 + str(d)) for d in range(10)) == 1


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = generate(300, seed=4), generate(300, seed=4), generate(300, seed=5)
    assert a == b
    assert a.customers != c.customers


def test_rows_have_every_column(data: Dataset) -> None:
    assert all(tuple(row) == CUSTOMER_COLUMNS for row in data.customers)
    assert all(tuple(row) == AFFILIATE_LINK_COLUMNS for row in data.affiliate_links)
    assert all(tuple(row) == CONTACT_COLUMNS for row in data.contacts)


def test_revisions_unique_ascending_seven_digits(data: Dataset) -> None:
    customer_revs = [row["THIRDPARTYREVNUM"] for row in data.customers]
    contact_revs = [row["CONTACTS_REVNUM"] for row in data.contacts]
    assert customer_revs == sorted(customer_revs)
    assert contact_revs == sorted(contact_revs)
    every = customer_revs + contact_revs
    assert len(set(every)) == len(every)
    assert all(1_000_000 <= rev <= 9_999_999 for rev in every)
    assert data.next_rev > max(every)


def test_about_a_third_are_card_holders_with_one_or_two_links(data: Dataset) -> None:
    holders = {r["TRDRID"] for r in data.customers if r["ZH_CUSTOMERS_MEMBER_CARDNO"]}
    assert 0.30 < len(holders) / len(data.customers) < 0.37
    links_per_customer = Counter(link["AFFILIATES_CUST_TRDRID"] for link in data.affiliate_links)
    assert set(links_per_customer) <= holders
    assert set(links_per_customer.values()) == {1, 2}
    # Every card holder with a TRDRID has its links.
    assert len(links_per_customer) == len({h for h in holders if h})


def test_some_affiliates_are_shared_by_two_or_three_customers(data: Dataset) -> None:
    customers_per_affiliate = Counter(link["AFFILIATES_TRDRID"] for link in data.affiliate_links)
    shared = [n for n in customers_per_affiliate.values() if n > 1]
    assert 0.05 < len(shared) / len(customers_per_affiliate) < 0.15
    assert set(shared) == {2, 3}
    customer_ids = {row["TRDRID"] for row in data.customers}
    assert not customer_ids & set(customers_per_affiliate)
    pairs = [(a["AFFILIATES_TRDRID"], a["AFFILIATES_CUST_TRDRID"]) for a in data.affiliate_links]
    assert len(set(pairs)) == len(pairs)


def test_contacts_zero_to_three_per_customer(data: Dataset) -> None:
    per_customer = Counter(contact["TRDRID"] for contact in data.contacts)
    assert set(per_customer.values()) == {1, 2, 3}
    assert 1.3 < len(data.contacts) / len(data.customers) < 1.7
    ids = [contact["CONTACTID"] for contact in data.contacts]
    assert len(set(ids)) == len(ids)
    customer_ids = {row["TRDRID"] for row in data.customers if row["TRDRID"]}
    assert set(per_customer) <= customer_ids
    emails = Counter(c["EMAIL"] for c in data.contacts if c["EMAIL"])
    assert any(n > 1 for n in emails.values())  # some contacts share one address


def _bad_customer(row: dict[str, Any]) -> str | None:
    if not row["TRDRID"]:
        return "no_trdrid"
    if not any(row[c] for c in ("TRDRNAME", "COMPTITLE", "CUSTCODE", "TRDRCODE")):
        return "empty_names"
    if len(row["TRDRNAME"] or "") >= 300:
        return "long_name"
    if row["BALANCE"] == "N/A":
        return "bad_balance"
    return None


def test_about_one_percent_bad_customers_of_every_kind(data: Dataset) -> None:
    kinds = Counter(_bad_customer(row) for row in data.customers)
    bad = sum(n for kind, n in kinds.items() if kind is not None)
    assert 0.006 < bad / len(data.customers) < 0.014
    assert {"no_trdrid", "empty_names", "long_name", "bad_balance"} <= set(kinds)


def test_about_one_percent_bad_contacts(data: Dataset) -> None:
    good_email = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    bad_email = [c for c in data.contacts if c["EMAIL"] and not good_email.match(c["EMAIL"])]
    nameless = [c for c in data.contacts if not (c["LASTNAME"] or c["FIRSTNAME"] or c["EMAIL"])]
    assert bad_email
    assert nameless
    assert 0.005 < (len(bad_email) + len(nameless)) / len(data.contacts) < 0.015


def test_the_quirks_of_erp_views_at_realistic_rates(data: Dataset) -> None:
    balances = [r["BALANCE"] for r in data.customers]
    placeholders = sum(b in AMOUNT_PLACEHOLDERS for b in balances)
    assert 0.015 < placeholders / len(balances) < 0.05
    commas = [b for b in balances if isinstance(b, str) and "," in b]
    assert 0.04 < len(commas) / len(balances) < 0.12
    assert any(re.fullmatch(r"-?\d{1,3}(\.\d{3})+,\d\d", b) for b in commas)  # 1.234,56
    assert any(re.fullmatch(r"-?\d+,\d\d", b) for b in commas)  # 1234,56
    assert any(b.startswith("€ ") for b in commas)
    first_only = [c for c in data.contacts if not c["LASTNAME"] and c["FIRSTNAME"]]
    assert 0.025 < len(first_only) / len(data.contacts) < 0.06
    assert any(not c["LASTNAME"] and not c["FIRSTNAME"] and c["EMAIL"] for c in data.contacts)
    long_names = [r for r in data.customers if 255 < len(r["TRDRNAME"] or "") < 300]
    assert 0.001 < len(long_names) / len(data.customers) < 0.006


def test_tins_mostly_valid_with_a_few_invalid(data: Dataset) -> None:
    tins = [r["TIN"] for r in data.customers if r["CNTRCODE"] == "GR" and r["TIN"]]
    invalid = sum(not valid_afm(tin) for tin in tins)
    assert 0.01 < invalid / len(tins) < 0.03
    assert {r["CNTRCODE"] for r in data.customers} == {"GR", "CY"}


def test_mixed_phone_formats_and_numeric_strings(data: Dataset) -> None:
    phones = {r["TRDSPHONE1"] for r in data.customers}
    patterns = [r"^\d{3,5} \d+$", r"^\+30 \d{3}-\d{3}-\d{4}$", r"^\(\d{3}\) \d{3}\.\d{4}$"]
    for pattern in patterns:
        assert any(re.match(pattern, p) for p in phones), pattern
    assert "n/a" in phones
    balances = [r["BALANCE"] for r in data.customers]
    assert any(isinstance(b, float) for b in balances)
    assert any(isinstance(b, str) and re.match(r"^-?\d+\.\d\d$", b) for b in balances)
