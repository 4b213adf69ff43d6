"""Offers, lines and products mapping (SPEC §7)."""

from __future__ import annotations

import pytest

from gzsync.mapping.quotes import (
    MappedLine,
    MappedQuote,
    TaxTable,
    line_item,
    map_line,
    map_lines,
    map_offer,
    vat_rate,
)
from gzsync.mapping.records import Rejected

OFFER = {
    "ID": "ab-12",
    "TRADENUM": "ΠΡ-000123",
    "CommercialEntry_GXREVNUM": 7_000_123,
    "CUST_TIN": "EL 094 077 777",
    "CMPSDESCRIPTION": "Κεντρικό",
    "OFFER_STATUS": "Draft",
    "CENLAQTY": "12,5",
    "TotalValue": 1234.5,
    "ETA": "2026-12-31T00:00:00",
    "OFFERS_VALID": "ΝΑΙ",
    "OFFICIALDATE": "/Date(1767225600000)/",
    "PayTerms": "30 days",
}


def line(**over):
    row = {
        "DOC_ID": "ab-12",
        "ITEMCODE": "IT-1",
        "ITEMDESCRIPTION": "Βίδα",
        "QTY": 2,
        "PRICE": 10,
        "DISCVALUE": 1,
        "NETVALUE": 19,
        "VATVALUE": 4.56,
    }
    row.update(over)
    return row


def test_offer_header():
    quote = map_offer(OFFER)
    assert isinstance(quote, MappedQuote)
    assert quote.key == "AB-12"
    assert quote.galaxy_id == "ab-12"
    assert quote.rev == 7_000_123
    assert quote.payload["Subject"] == "Offer ΠΡ-000123"
    assert quote.payload["ERP_Offer_Number"] == "ΠΡ-000123"
    assert quote.payload["Products_Quantity"] == 12.5
    assert quote.payload["Valid_Till"] == "2026-12-31"
    assert quote.payload["Quote_Date"] == "2026-01-01"
    assert quote.account_tin == "094077777"
    assert quote.account_trdrid is None
    assert "Quoted_Items" not in quote.payload
    assert "Account_Name" not in quote.payload


def test_offer_without_number_gets_subject_from_id_and_trdrid_when_present():
    quote = map_offer({**OFFER, "TRADENUM": " ", "TRDRID": "abc"})
    assert isinstance(quote, MappedQuote)
    assert quote.payload["Subject"] == "Offer ab-12"
    assert [w.reason for w in quote.warnings] == ["subject_from_id"]
    assert quote.account_trdrid == "ABC"


def test_offer_bad_date_is_a_warning_and_missing_id_a_rejection():
    quote = map_offer({**OFFER, "ETA": "soon"})
    assert isinstance(quote, MappedQuote)
    assert "Valid_Till" not in quote.payload
    assert quote.warnings[0].reason == "invalid_date"
    rejected = map_offer({**OFFER, "ID": None})
    assert isinstance(rejected, Rejected)
    assert rejected.reason == "missing_offer_id"


def test_line_names_product_by_code_and_maps_vat_rate():
    mapped = map_line(line(), TaxTable())
    assert isinstance(mapped, MappedLine)
    assert mapped.product == {"Product_Code": "IT-1", "Product_Name": "Βίδα", "Unit_Price": 10}
    assert mapped.rate == 24.0
    assert line_item(mapped, "55") == {
        "Product_Name": {"id": "55"},
        "Quantity": 2,
        "List_Price": 10,
        "Discount": 1,
        "Description": "Βίδα",
        "Line_Tax": [{"name": "VAT 24%", "percentage": 24.0}],
    }


def test_unknown_rate_warns_and_sends_no_tax():
    mapped = map_line(line(VATVALUE=1.9), TaxTable())  # 10 %
    assert isinstance(mapped, MappedLine)
    assert mapped.item["Line_Tax"] == []
    assert [w.reason for w in mapped.warnings] == ["unknown_vat_rate"]
    custom = map_line(line(VATVALUE=1.9), TaxTable.from_json('{"10": "Ten"}'))
    assert isinstance(custom, MappedLine)
    assert custom.item["Line_Tax"][0]["name"] == "Ten"
    assert vat_rate(0, 0) is None
    assert vat_rate("1,3", "10") == 13.0


def test_bad_lines_are_rejected():
    assert map_line(line(ITEMCODE=None), TaxTable()).reason == "missing_item_code"  # type: ignore[union-attr]
    assert map_line(line(QTY="n/a"), TaxTable()).reason == "invalid_qty"  # type: ignore[union-attr]
    nameless = map_line(line(ITEMDESCRIPTION=""), TaxTable())
    assert isinstance(nameless, MappedLine)
    assert nameless.product["Product_Name"] == "IT-1"


def test_lines_ordered_by_linenum_when_present():
    rows = [line(ITEMCODE="B", LINENUM=2), line(ITEMCODE="A", LINENUM=1), line(ITEMCODE="C")]
    codes = [m.product_code for m in map_lines(rows, TaxTable()) if isinstance(m, MappedLine)]
    assert codes == ["A", "B", "C"]


@pytest.mark.parametrize(("mark", "want", "rate"), [("comma", 1.234, 24000.0), ("dot", 1234, 24.0)])
def test_numbers_follow_number_decimal(mark, want, rate):
    # "1,234" is 1.234 with a decimal comma (the default), 1234 with a decimal dot, as on
    # a customer's amounts (mapping/records.py): a line and its offer read alike.
    row = line(QTY="1,234", PRICE="1,234", DISCVALUE="1,234", NETVALUE="1,000", VATVALUE="240")
    mapped = map_line(row, TaxTable(), decimal=mark)
    assert isinstance(mapped, MappedLine)
    numbers = [mapped.item[f] for f in ("List_Price", "Quantity", "Discount")]
    assert numbers == [want, want, want]
    assert mapped.product["Unit_Price"] == want
    # 240 / 1,000: 24000 % with a comma (no tax), 24 % with a dot
    assert mapped.rate == rate
    assert vat_rate("240", "1,000", decimal=mark) == rate
    taxes = [{"name": "VAT 24%", "percentage": 24.0}] if mark == "dot" else []
    assert mapped.item["Line_Tax"] == taxes
    header = map_offer({**OFFER, "TotalValue": "1,234", "CENLAQTY": "2,000"}, decimal=mark)
    assert isinstance(header, MappedQuote)
    assert header.payload["ERP_Total_Amount"] == want
    assert header.payload["Products_Quantity"] == (2000 if mark == "dot" else 2)


def test_line_order_follows_number_decimal():
    # LINENUM "1,500" is 1.5 with a comma (before 2), 1500 with a dot (after 2)
    rows = [line(ITEMCODE="B", LINENUM=2), line(ITEMCODE="A", LINENUM="1,500")]
    comma = [m.product_code for m in map_lines(rows, TaxTable()) if isinstance(m, MappedLine)]
    dot = [
        m.product_code
        for m in map_lines(rows, TaxTable(), decimal="dot")
        if isinstance(m, MappedLine)
    ]
    assert comma == ["A", "B"]
    assert dot == ["B", "A"]
