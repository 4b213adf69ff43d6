"""The quote hash: header and lines count, a revision alone does not."""

from __future__ import annotations

from typing import Any

from gzsync.mapping.quote_hash import quote_hash
from gzsync.mapping.quotes import MappedLine, MappedQuote, TaxTable, map_line, map_offer

OFFER: dict[str, Any] = {
    "ID": "ab-12",
    "TRADENUM": "N-1",
    "CommercialEntry_GXREVNUM": 7_000_123,
    "CUST_TIN": "094077777",
    "TRDRID": "T1",
    "TotalValue": 10.0,
}
TAXES = TaxTable()


def _quote(**over: Any) -> MappedQuote:
    quote = map_offer({**OFFER, **over})
    assert isinstance(quote, MappedQuote)
    return quote


def _line(code: str = "IT-1", qty: float = 2, **over: Any) -> MappedLine:
    row = {"DOC_ID": "ab-12", "ITEMCODE": code, "ITEMDESCRIPTION": f"Item {code}", "QTY": qty}
    line = map_line({**row, "PRICE": 10, "NETVALUE": 20, "VATVALUE": 4.8, **over}, TAXES)
    assert isinstance(line, MappedLine)
    return line


def test_a_revision_alone_does_not_change_the_hash() -> None:
    lines = [_line(), _line("IT-2", 1)]
    assert quote_hash(_quote(), "T1", lines) == quote_hash(
        _quote(CommercialEntry_GXREVNUM=7_000_999), "T1", [_line(), _line("IT-2", 1)]
    )


def test_header_lines_account_and_products_change_the_hash() -> None:
    lines = [_line(), _line("IT-2", 1)]
    base = quote_hash(_quote(), "T1", lines)
    changed = {
        "header": quote_hash(_quote(TotalValue=11.0), "T1", lines),
        "account": quote_hash(_quote(), "tin:094077777", lines),
        "quantity": quote_hash(_quote(), "T1", [_line(qty=3), _line("IT-2", 1)]),
        "order": quote_hash(_quote(), "T1", list(reversed(lines))),
        "removed": quote_hash(_quote(), "T1", lines[:1]),
        "added": quote_hash(_quote(), "T1", [*lines, _line("IT-3", 1)]),
        "product name": quote_hash(
            _quote(), "T1", [_line(ITEMDESCRIPTION="Renamed"), _line("IT-2", 1)]
        ),
        "tax": quote_hash(_quote(), "T1", [_line(VATVALUE=2.6), _line("IT-2", 1)]),
    }
    assert base not in changed.values()
    assert len(set(changed.values())) == len(changed)
