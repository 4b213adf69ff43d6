"""Galaxy sales offers and their lines into Zoho Quotes, `Quoted_Items` rows and Products
(SPEC §7, `reference/zoho-quotes.md`). Pure functions; the column names are data
(:data:`gzsync.mapping.quote_tables.OFFER_COLUMNS` / ``LINE_COLUMNS``).

Decisions:

- **Subject** is mandatory on Quotes and the seed sent none: ``"Offer <TRADENUM>"``, or
  ``"Offer <ID>"`` when the offer has no number (warning ``subject_from_id``). It is the
  system duplicate-check field of Quotes, but we upsert by ``ERP_ID_Offer`` only, so two
  offers with one number never merge.
- **Keys**: ``ERP_ID_Offer`` is the offer ``ID`` trimmed and upper-cased (Galaxy GUIDs
  come in either case); the raw ``ID`` is kept as :attr:`MappedQuote.galaxy_id` because
  the lines view is filtered by ``DOC_ID`` with Galaxy's own spelling.
- **Account** is not in the payload: the stream resolves it (by ``TRDRID`` when the view
  has it, else by TIN). The mapping only hands over both keys.
- **Products are named by the item's code** (``ITEMCODE`` → ``Product_Code``, the upsert
  key), never by the description. ``Product_Name`` (mandatory) is ``ITEMDESCRIPTION``,
  else the code (warning ``product_name_from_code``). A line without a usable code is
  rejected (``missing_item_code``): its product cannot be named, so its offer must wait.
- **Products carry no tax field.** ``Products.Tax``'s v8 input form is UNCONFIRMED
  (reference §4: an array of org-tax ids, or a multi-select of names); the tax that
  matters is on the quote line. ``Unit_Price`` is the line's ``PRICE`` (the last line
  read wins when offers quote one product at different prices).
- **Line numbers**: ``QTY`` → ``Quantity``, ``PRICE`` → ``List_Price``, ``DISCVALUE`` →
  ``Discount`` (an amount; a missing one is 0). A quantity or price that is not a number
  rejects the line (``invalid_quantity`` / ``invalid_price``): a guessed quantity would be
  a wrong quote, and the offer waits visibly in the ledger instead. Lines are ordered by
  ``LINENUM`` when the view has it (rows without one keep their place at the end), else
  in the order Galaxy served them.
- **Decimal mark** (issue 14's follow-up): every number here (header amounts, ``QTY``,
  ``PRICE``, ``DISCVALUE``, ``VATVALUE``/``NETVALUE``, ``LINENUM``) is read with the run's
  ``NUMBER_DECIMAL`` (``decimal=``, as phase 1's Currency/Decimal fields), so ``"1,234"``
  is 1234 under ``dot`` and 1.234 under ``comma`` (the default) on an offer as on a customer.
- **Taxes**: the VAT rate is ``VATVALUE / NETVALUE`` rounded to 0.1 %; ``ZOHO_TAX_NAMES``
  maps rates to the org's tax names (a rate matches a table entry within 0.05 %). An
  unknown rate, or a line whose rate cannot be computed (no or zero ``NETVALUE``), gets
  ``Line_Tax: []`` and a warning (``unknown_vat_rate`` / ``vat_rate_undetermined``),
  never a guessed tax.
- **Dates** (``ETA`` → ``Valid_Till``, ``OFFICIALDATE`` → ``Quote_Date``) are sent as
  ``yyyy-MM-dd``; Galaxy's format is UNCONFIRMED, so ISO dates and date-times,
  ``dd/MM/yyyy`` and ServiceStack's ``/Date(ms)/`` are read; anything else is left out
  with an ``invalid_date`` warning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from gzsync.mapping import normalize
from gzsync.mapping.normalize import DecimalMark, InvalidValue
from gzsync.mapping.quote_tables import (
    DEFAULT_TAX_NAMES,
    LINE_COLUMNS,
    OFFER_COLUMNS,
    OFFER_FIELDS,
    TEXT_MAX,
)
from gzsync.mapping.records import Rejected
from gzsync.mapping.warnings import FieldWarning, shown, truncate_words

__all__ = [
    "MappedLine",
    "MappedQuote",
    "TaxTable",
    "line_item",
    "map_line",
    "map_lines",
    "map_offer",
    "vat_rate",
]

DESCRIPTION_MAX = 2000  # a Quoted_Items Description is a multi-line text


@dataclass(slots=True)
class MappedQuote:
    """An offer ready to become a Quote header (no line items, no account yet)."""

    key: str  # ERP_ID_Offer: the offer ID, upper-cased
    galaxy_id: str  # the offer ID as Galaxy spells it (to filter the lines view)
    rev: int  # CommercialEntry_GXREVNUM
    payload: dict[str, Any]
    account_trdrid: str | None  # TRDRID, upper-cased, when the view has it
    account_tin: str | None  # CUST_TIN, digits only
    warnings: tuple[FieldWarning, ...] = ()


@dataclass(slots=True)
class MappedLine:
    """One offer line: the product it names and the quote row without its product id."""

    product_code: str
    product: dict[str, Any]  # Products payload (Product_Code, Product_Name, Unit_Price)
    item: dict[str, Any]  # Quoted_Items row fields except Product_Name
    rate: float | None  # the VAT rate in %, None when it cannot be computed
    warnings: tuple[FieldWarning, ...] = ()


class TaxTable:
    """VAT rate (%) → the org's tax name, from ``ZOHO_TAX_NAMES``."""

    def __init__(self, names: Mapping[str, str] | None = None) -> None:
        raw = DEFAULT_TAX_NAMES if names is None else names
        self.names: dict[float, str] = {}
        for rate, name in raw.items():
            self.names[round(float(str(rate).strip().rstrip("%")), 1)] = str(name)

    @classmethod
    def from_json(cls, text: str) -> TaxTable:
        """From the JSON setting text; raises ValueError when it is not `{rate: name}`."""
        value = json.loads(text)
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ValueError("ZOHO_TAX_NAMES must be a JSON object of rate -> tax name")
        return cls(value)

    def name_for(self, rate: float) -> str | None:
        for known, name in self.names.items():
            if abs(known - rate) < 0.05 + 1e-9:
                return name
        return None


def vat_rate(vat: Any, net: Any, *, decimal: DecimalMark = "comma") -> float | None:
    """``VATVALUE / NETVALUE`` in % rounded to 0.1; None when it cannot be computed."""
    try:
        vat_n, net_n = normalize.number(vat, decimal), normalize.number(net, decimal)
    except InvalidValue:
        return None
    if vat_n is None or net_n is None or net_n == 0:
        return None
    return round(vat_n / net_n * 100, 1)


def _warn(field: str, reason: str, value: Any, detail: str) -> FieldWarning:
    return FieldWarning(field, reason, shown(value), detail)


def _text(value: Any) -> str | None:
    try:
        return normalize.text(value)
    except InvalidValue:
        return None


_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_MS = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")


def parse_date(value: Any) -> str | None:
    """A Galaxy date as ``yyyy-MM-dd``; None when absent; InvalidValue when unreadable."""
    text = _text(value)
    if text is None:
        return None
    try:
        if m := _ISO.match(text):
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        if m := _DMY.match(text):
            return date(int(m[3]), int(m[2]), int(m[1])).isoformat()
        if m := _MS.match(text):
            return datetime.fromtimestamp(int(m[1]) / 1000, tz=UTC).date().isoformat()
    except (ValueError, OverflowError):
        pass
    raise InvalidValue(f"{normalize.echo(text)} is not a date")


def map_offer(
    row: Mapping[str, Any],
    columns: Mapping[str, str] = OFFER_COLUMNS,
    *,
    decimal: DecimalMark = "comma",
) -> MappedQuote | Rejected:
    """One row of the offers view → a Quote header, or Rejected (no ID / no revision)."""
    if not isinstance(row, Mapping):
        return Rejected("?row", 0, "invalid_row", None, "the offer row is not a JSON object")
    raw_id = _text(row.get(columns["ID"]))
    try:
        rev = normalize.revision(row.get(columns["CommercialEntry_GXREVNUM"]))
    except InvalidValue:
        rev = None
    if raw_id is None:
        return Rejected(
            f"?rev={rev or 0}", rev or 0, "missing_offer_id", "ERP_ID_Offer", "the offer has no ID"
        )
    key = raw_id.upper()
    if rev is None or rev > 999_999_999:
        return Rejected(
            key,
            0,
            "invalid_revision",
            "Rev_Number",
            "the offer has no usable CommercialEntry_GXREVNUM",
        )
    warnings: list[FieldWarning] = []
    payload: dict[str, Any] = {"ERP_ID_Offer": key, "Rev_Number": rev}
    number = _text(row.get(columns["TRADENUM"]))
    payload["ERP_Offer_Number"] = number
    if number is None:
        warnings.append(
            _warn(
                "Subject",
                "subject_from_id",
                raw_id,
                "the offer has no TRADENUM: Subject uses its ID",
            )
        )
    payload["Subject"] = truncate_words(f"Offer {number or raw_id}", TEXT_MAX)
    for field, (logical, kind) in OFFER_FIELDS.items():
        value = row.get(columns[logical])
        try:
            if kind == "date":
                payload[field] = parse_date(value)
            elif kind == "number":
                payload[field] = normalize.number(value, decimal)
            else:
                text = normalize.text(value)
                if text is not None and len(text) > TEXT_MAX:
                    warnings.append(
                        _warn(
                            field,
                            "value_truncated",
                            text,
                            f"{logical} is longer than {TEXT_MAX} characters",
                        )
                    )
                    text = truncate_words(text, TEXT_MAX)
                payload[field] = text
        except InvalidValue as exc:
            reason = {"date": "invalid_date", "number": "invalid_number"}.get(kind, "invalid_text")
            warnings.append(_warn(field, reason, value, f"{logical}: {exc}"))
    trdrid = None
    if "TRDRID" in columns and columns["TRDRID"] in row:
        try:
            trdrid = normalize.identifier(row.get(columns["TRDRID"]))
        except InvalidValue:
            trdrid = None
    try:
        tin = normalize.digits(row.get(columns["CUST_TIN"]))
    except InvalidValue:
        tin = None
    return MappedQuote(key, raw_id, rev, payload, trdrid, tin or None, tuple(warnings))


def map_line(
    row: Mapping[str, Any],
    taxes: TaxTable,
    columns: Mapping[str, str] = LINE_COLUMNS,
    *,
    decimal: DecimalMark = "comma",
) -> MappedLine | Rejected:
    """One row of the lines view → product + quote row, or Rejected."""
    if not isinstance(row, Mapping):
        return Rejected("?row", 0, "invalid_row", None, "the line row is not a JSON object")
    doc = _text(row.get(columns["DOC_ID"])) or "?"
    code = _text(row.get(columns["ITEMCODE"]))
    if code is None:
        return Rejected(
            doc,
            0,
            "missing_item_code",
            "Product_Code",
            "an offer line has no ITEMCODE: its product cannot be named",
        )
    if len(code) > TEXT_MAX:
        return Rejected(
            doc,
            0,
            "item_code_too_long",
            "Product_Code",
            f"ITEMCODE {normalize.echo(code)} is longer than {TEXT_MAX}",
        )
    warnings: list[FieldWarning] = []
    description = _text(row.get(columns["ITEMDESCRIPTION"]))
    name = description
    if name is None:
        name = code
        warnings.append(
            _warn(
                "Product_Name",
                "product_name_from_code",
                code,
                "the line has no ITEMDESCRIPTION: Product_Name is the code",
            )
        )
    elif len(name) > TEXT_MAX:
        warnings.append(
            _warn(
                "Product_Name",
                "name_truncated",
                name,
                f"ITEMDESCRIPTION is longer than {TEXT_MAX} characters",
            )
        )
        name = truncate_words(name, TEXT_MAX)
    numbers: dict[str, float | int] = {}
    for field, logical, default in (
        ("Quantity", "QTY", None),
        ("List_Price", "PRICE", None),
        ("Discount", "DISCVALUE", 0),
    ):
        value = row.get(columns[logical])
        try:
            parsed = normalize.number(value, decimal)
        except InvalidValue:
            parsed = None
            if value is not None:
                return Rejected(
                    doc,
                    0,
                    f"invalid_{logical.lower()}",
                    field,
                    f"line of {code}: {logical} {shown(value)} is not a number",
                )
        if parsed is None:
            if default is None:
                return Rejected(
                    doc, 0, f"missing_{logical.lower()}", field, f"line of {code} has no {logical}"
                )
            parsed = default
        numbers[field] = parsed
    rate = vat_rate(row.get(columns["VATVALUE"]), row.get(columns["NETVALUE"]), decimal=decimal)
    line_tax: list[dict[str, Any]] = []
    if rate is None:
        warnings.append(
            _warn(
                "Line_Tax",
                "vat_rate_undetermined",
                row.get(columns["NETVALUE"]),
                f"line of {code}: no VAT rate without a NETVALUE; no tax sent",
            )
        )
    else:
        tax_name = taxes.name_for(rate)
        if tax_name is None:
            warnings.append(
                _warn(
                    "Line_Tax",
                    "unknown_vat_rate",
                    f"{rate:g}%",
                    f"line of {code}: VAT rate {rate:g}% is not in ZOHO_TAX_NAMES; no tax sent",
                )
            )
        else:
            line_tax = [{"name": tax_name, "percentage": rate}]
    if description is not None and len(description) > DESCRIPTION_MAX:
        description = truncate_words(description, DESCRIPTION_MAX)
    item: dict[str, Any] = {**numbers, "Description": description, "Line_Tax": line_tax}
    product = {"Product_Code": code, "Product_Name": name, "Unit_Price": numbers["List_Price"]}
    return MappedLine(code, product, item, rate, tuple(warnings))


def _line_order(
    row: Any, position: int, column: str, *, decimal: DecimalMark = "comma"
) -> tuple[int, float, int]:
    try:
        value = normalize.number(row.get(column), decimal) if isinstance(row, Mapping) else None
    except InvalidValue:
        value = None
    return (0, float(value), position) if value is not None else (1, 0.0, position)


def map_lines(
    rows: Sequence[Mapping[str, Any]],
    taxes: TaxTable,
    columns: Mapping[str, str] = LINE_COLUMNS,
    *,
    decimal: DecimalMark = "comma",
) -> list[MappedLine | Rejected]:
    """An offer's lines in quote order (by ``LINENUM`` when present, else as served)."""
    column = columns["LINENUM"]
    ordered = sorted(
        enumerate(rows),
        key=lambda pair: _line_order(pair[1], pair[0], column, decimal=decimal),
    )
    return [map_line(row, taxes, columns, decimal=decimal) for _, row in ordered]


def line_item(line: MappedLine, product_id: str) -> dict[str, Any]:
    """The `Quoted_Items` row for `line` once its product has a Zoho id."""
    return {"Product_Name": {"id": product_id}, **line.item}
