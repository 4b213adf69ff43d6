"""The Zoho Quote each Galaxy offer implies (SPEC §7, `reference/zoho-quotes.md`), modelled
apart from `gzsync.mapping.quotes`.

- The header: ``ERP_ID_Offer`` is the offer ``ID`` upper-cased, ``Subject`` is
  ``"Offer " + TRADENUM`` (the ID when there is no number), the other fields are read as
  text (cut on a word to 255), number or date (``yyyy-MM-dd``) from their columns; an
  offer without ID or usable revision implies no quote.
- The lines, in ``LINENUM`` order (lines without one after the others, as served): product
  code ``ITEMCODE`` (up to 255), ``Quantity ← QTY`` and ``List_Price ← PRICE`` (both
  needed), ``Discount ← DISCVALUE`` (0 when empty), ``Description ← ITEMDESCRIPTION`` (cut
  to 2,000), and the tax the org names for the VAT rate ``VATVALUE / NETVALUE`` (rounded to
  0.1 %, matched within 0.05 %; an unknown or incomputable rate: no tax). An offer with a
  line the sync cannot send waits, whole.
- Every number (header amounts, quantities, prices, discounts, VAT and net values, line
  numbers) is read with the sync's ``NUMBER_DECIMAL`` (``number_decimal``, as the accounts'
  model): ``"1,234"`` is 1234 under ``dot``, 1.234 under ``comma``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from gzsync.sandbox.expected_values import (
    LEFT_OUT,
    cut_on_word,
    read_date,
    read_digits,
    read_id,
    read_number,
    read_revision,
    read_text,
)

__all__ = ["ExpectedLine", "ExpectedQuote", "expect_lines", "expect_offer", "tax_table"]

SINGLE_LINE = 255
#: The sandbox org's tax names by Greek VAT rate: ZOHO_TAX_NAMES' default (restated here so
#: the check imports nothing of the sync's; a test holds the two equal).
TAX_NAMES: dict[str, str] = {"0": "VAT 0%", "6": "VAT 6%", "13": "VAT 13%", "24": "VAT 24%"}
DESCRIPTION_MAX = 2000  # a Quoted_Items Description is a Multi Line (small) text


def header_fields(decimal: str = "comma") -> tuple[tuple[str, str, Callable[[Any], Any]], ...]:
    """Quote header field <- offers column, and how it is read (SPEC §7)."""
    number = partial(read_number, decimal=decimal)
    return (
        ("Service_Store", "CMPSDESCRIPTION", partial(read_text, limit=SINGLE_LINE)),
        ("Quote_Stage", "OFFER_STATUS", partial(read_text, limit=SINGLE_LINE)),
        ("Products_Quantity", "CENLAQTY", number),
        ("ERP_Total_Amount", "TotalValue", number),
        ("Valid_Till", "ETA", read_date),
        ("Offer_Valid", "OFFERS_VALID", partial(read_text, limit=SINGLE_LINE)),
        ("Quote_Date", "OFFICIALDATE", read_date),
        ("Payment_Terms", "PayTerms", partial(read_text, limit=SINGLE_LINE)),
    )


#: The header fields under the default decimal comma.
HEADER = header_fields()


@dataclass(slots=True)
class ExpectedQuote:
    key: str  # ERP_ID_Offer
    galaxy_id: str  # the ID as Galaxy spells it (trimmed): its lines' DOC_ID
    rev: int
    header: dict[str, Any]
    left_out: tuple[str, ...]
    trdrid: str | None  # the customer's Trader_ID, when the view has TRDRID
    tin: str | None  # else the customer found by TIN


@dataclass(slots=True)
class ExpectedLine:
    code: str  # Product_Code
    quantity: int | float
    price: int | float
    discount: int | float
    description: str | None
    taxes: tuple[tuple[str, float], ...]  # (tax name, percentage)


def expect_offer(row: Any, number_decimal: str = "comma") -> ExpectedQuote | None:
    """The quote header an offer row implies, or None (no ID or no usable revision)."""
    if not isinstance(row, Mapping):
        return None
    galaxy_id, rev = read_text(row.get("ID")), read_revision(row.get("CommercialEntry_GXREVNUM"))
    if not isinstance(galaxy_id, str) or not isinstance(rev, int):
        return None
    number = read_text(row.get("TRADENUM"))
    number = number if isinstance(number, str) else None
    header: dict[str, Any] = {
        "ERP_ID_Offer": galaxy_id.upper(),
        "Rev_Number": rev,
        "ERP_Offer_Number": number,
        "Subject": cut_on_word(f"Offer {number or galaxy_id}", SINGLE_LINE),
    }
    left_out = []
    for field, column, read in header_fields(number_decimal):
        value = read(row.get(column))
        if value is LEFT_OUT:
            left_out.append(field)
        else:
            header[field] = value
    trdrid = read_id(row.get("TRDRID")) if "TRDRID" in row else None
    tin = read_digits(row.get("CUST_TIN"))
    return ExpectedQuote(
        galaxy_id.upper(),
        galaxy_id,
        rev,
        header,
        tuple(left_out),
        trdrid if isinstance(trdrid, str) else None,
        tin if isinstance(tin, str) else None,
    )


def tax_table(names: Mapping[str, str] | None) -> list[tuple[float, str]]:
    """``ZOHO_TAX_NAMES`` (rate, with or without ``%`` -> the org's tax name) as pairs."""
    given = TAX_NAMES if names is None else names
    return [(float(str(rate).strip().rstrip("%")), str(name)) for rate, name in given.items()]


def _tax(
    row: Mapping[str, Any], taxes: Sequence[tuple[float, str]], decimal: str
) -> tuple[tuple[str, float], ...]:
    vat, net = read_number(row.get("VATVALUE"), decimal), read_number(row.get("NETVALUE"), decimal)
    if not isinstance(vat, int | float) or not isinstance(net, int | float) or net == 0:
        return ()
    rate = round(100 * vat / net, 1)
    for known, name in taxes:
        if abs(round(known, 1) - rate) <= 0.05 + 1e-9:
            return ((name, rate),)
    return ()


def _position(row: Any, decimal: str) -> float | None:
    value = read_number(row.get("LINENUM"), decimal) if isinstance(row, Mapping) else None
    return value if isinstance(value, int | float) else None


def expect_lines(
    rows: Iterable[Any], taxes: Sequence[tuple[float, str]], number_decimal: str = "comma"
) -> list[ExpectedLine] | None:
    """An offer's quote lines in order; None when one of them cannot be sent."""
    rows = list(rows)
    at = partial(_position, decimal=number_decimal)
    numbered = [(p, n, row) for n, row in enumerate(rows) if (p := at(row)) is not None]
    unnumbered = [row for row in rows if at(row) is None]
    ordered = [row for _, _, row in sorted(numbered, key=lambda t: (t[0], t[1]))] + unnumbered
    lines = []
    for row in ordered:
        if not isinstance(row, Mapping):
            return None
        code = read_text(row.get("ITEMCODE"))
        number = partial(read_number, decimal=number_decimal)
        quantity, price = number(row.get("QTY")), number(row.get("PRICE"))
        discount = number(row.get("DISCVALUE"))
        discount = 0 if discount is None else discount
        numbers_ok = all(isinstance(v, int | float) for v in (quantity, price, discount))
        if not isinstance(code, str) or len(code) > SINGLE_LINE or not numbers_ok:
            return None
        description = read_text(row.get("ITEMDESCRIPTION"), DESCRIPTION_MAX)
        lines.append(
            ExpectedLine(
                code,
                quantity,
                price,
                discount,
                description if isinstance(description, str) else None,
                _tax(row, taxes, number_decimal),
            )
        )
    return lines
