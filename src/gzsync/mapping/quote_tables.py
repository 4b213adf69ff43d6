"""Phase 2 mapping data (SPEC §7): column names of the offers and lines views, the Quote
header fields they fill, and the default VAT-rate → tax-name table.

Column names are logical-name → actual-column dicts, like the contacts view's, so an
installation whose views spell a column differently only changes data.
"""

from __future__ import annotations

from typing import Literal

from gzsync.config import DEFAULT_TAX_NAMES

TEXT_MAX = 255

#: Offers view (`zh_offers`) columns; `TRDRID` is not in the seed's view (used when present).
OFFER_COLUMNS: dict[str, str] = {
    name: name
    for name in (
        "ID",
        "TRADENUM",
        "CommercialEntry_GXREVNUM",
        "CUST_TIN",
        "TRDRID",
        "CMPSDESCRIPTION",
        "OFFER_STATUS",
        "CENLAQTY",
        "TotalValue",
        "ETA",
        "OFFERS_VALID",
        "OFFICIALDATE",
        "PayTerms",
    )
}

#: Lines view columns; `LINENUM` orders the lines when present.
LINE_COLUMNS: dict[str, str] = {
    name: name
    for name in (
        "DOC_ID",
        "LINENUM",
        "ITEMCODE",
        "ITEMDESCRIPTION",
        "LEAD_TIME",
        "QTY",
        "PRICE",
        "GROSSVALUE",
        "DISCVALUE",
        "NETVALUE",
        "VATVALUE",
    )
}

FieldKind = Literal["text", "number", "date"]

#: Quote header fields besides the key, number, Subject and revision: field → (column, kind).
OFFER_FIELDS: dict[str, tuple[str, FieldKind]] = {
    "Service_Store": ("CMPSDESCRIPTION", "text"),
    "Quote_Stage": ("OFFER_STATUS", "text"),
    "Products_Quantity": ("CENLAQTY", "number"),
    "ERP_Total_Amount": ("TotalValue", "number"),
    "Valid_Till": ("ETA", "date"),
    "Offer_Valid": ("OFFERS_VALID", "text"),
    "Quote_Date": ("OFFICIALDATE", "date"),
    "Payment_Terms": ("PayTerms", "text"),
}

#: Default `ZOHO_TAX_NAMES` (defined in config): Greek VAT rates → the sandbox org's tax
#: names. A real org names its taxes itself: set the variable to its names (`gzsync check`
#: is to compare them with `GET /crm/v8/org/taxes`).
__all__ = ["DEFAULT_TAX_NAMES", "LINE_COLUMNS", "OFFER_COLUMNS", "OFFER_FIELDS", "TEXT_MAX"]
