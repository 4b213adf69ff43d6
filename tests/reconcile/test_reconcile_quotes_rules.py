"""The pure rules of the quotes reconcile: products, the Grand_Total hint, which offers Zoho
is to hold, and what the COQL pages select."""

from __future__ import annotations

import pytest

from gzsync.reconcile.classify import Expected, ZohoRecord
from gzsync.reconcile.quotes import _reachable, product_verdict, totals_differ
from gzsync.reconcile.read import PRODUCTS, QUOTES, page_query


def _product(name: str = "Bolt") -> Expected:
    return Expected("P1", 0, {"Product_Code": "P1", "Product_Name": name, "Unit_Price": 3.5})


def _zoho(name: str = "Bolt", rid: str = "10", price: float = 9.0) -> ZohoRecord:
    return ZohoRecord(rid, None, {"Product_Name": name, "Unit_Price": price})


@pytest.mark.parametrize(
    ("expected", "records", "cls"),
    [
        (_product(), [], "missing"),
        (_product(), [_zoho()], None),  # Unit_Price is a line's price: not compared
        (_product(), [_zoho("Renamed")], "drifted"),  # no revision: never "stale"
        (_product(), [_zoho(rid="10"), _zoho(rid="11")], "duplicate"),
        (None, [_zoho(rid="10"), _zoho(rid="11")], "duplicate"),  # any code held twice
        (None, [_zoho()], None),  # named by no line read: never an orphan
    ],
)
def test_product_verdict(
    expected: Expected | None, records: list[ZohoRecord], cls: str | None
) -> None:
    verdict = product_verdict("P1", expected, records)
    assert verdict.cls == cls
    if cls == "drifted":
        assert verdict.fields == ("Product_Name",)
    if cls == "duplicate":
        assert verdict.ids == ("10", "11")


@pytest.mark.parametrize(
    ("total", "grand", "differ"),
    [
        (120.5, 120.5, False),
        (120.5, 120.504, False),
        (120.5, 120.52, True),
        (None, 120.5, True),  # no TotalValue: the lines may differ
        (120.5, None, True),
        ("n/a", 1.0, True),
    ],
)
def test_grand_total_hint(total: object, grand: object, differ: bool) -> None:
    assert totals_differ(total, grand) is differ


def _quote(link: str | None, ids: tuple[str, ...]) -> Expected:
    return Expected("Q1", 5, {"Subject": "Offer 1"}, link, frozenset(ids))


@pytest.mark.parametrize(
    ("link", "ids", "held"),
    [
        ("C1", ("100",), True),
        ("C1", ("100", "101"), True),  # a duplicated customer: either Account is right
        ("C1", (), False),  # the customer is not in Zoho: the quote waits
        ("tin:123", ("100",), True),
        ("tin:123", ("100", "101"), False),  # ambiguous_account: the quote waits
        ("tin:123", (), False),
    ],
)
def test_which_offers_zoho_is_to_hold(link: str, ids: tuple[str, ...], held: bool) -> None:
    expected = _quote(link, ids)
    assert (_reachable(expected) is expected) is held


def test_pages_never_select_line_items_nor_a_status_field_outside_phase_1() -> None:
    quotes = page_query(QUOTES, "42", status=False)
    assert "Quoted_Items" not in quotes  # a subform: COQL refuses it (INVALID_QUERY)
    assert "Grand_Total" in quotes
    assert "Account_Name" in quotes
    assert "where id > 42 order by id asc limit 2000" in quotes
    products = page_query(PRODUCTS, None, status=False)
    assert products.startswith("select Product_Code, Product_Name from Products")
