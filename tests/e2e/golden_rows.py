"""Golden rows: tricky Galaxy rows and, written out by hand from SPEC §3 / §7, what Zoho must
hold for each. Neither the end-state check's model nor the sync's mapping produced these
values; both are held to them (tests/e2e/test_parity_model.py).

``None`` as the expected record: the sync cannot send the row. A field named in
``left_out`` is not sent (Zoho keeps its value), so it is absent from the expected fields.
"""

from __future__ import annotations

from typing import Any

LONG_NAME = " ".join(["ΑΛΦΑ"] * 60)  # 299 characters
LONG_INDUSTRY = " ".join(["Retail"] * 19)  # 132 characters
LONG_TITLE = " ".join(["Procurement"] * 13)  # 155 characters
LONG_FIRST_NAME = "Αικατερίνη-Μαρία Αικατερίνη-Μαρία Αικατερίνη"  # 44 characters


def customer(key: Any, rev: Any, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "TRDRID": key,
        "TRDRNAME": "Golden Α.Ε.",
        "COMPTITLE": "",
        "CUSTCODE": "30-000001",
        "TRDRCODE": "000001",
        "TIN": "094259216",
        "TRDSPHONE1": "2101234567",
        "TRDSSTREET": "Ερμού 1",
        "PREFDESCR": "ΑΤΤΙΚΗΣ",
        "CNTRCODE": "GR",
        "CAT_EPAGG": "Retail",
        "CATEGDISCOUNT": "A",
        "BALANCE": 100,
        "MAXBALANCE": 200.5,
        "WATT_CY": 3,
        "TURNOVER_YTD": 1,
        "TURNOVER_LTD": 2,
        "TURVOVER_LY": 3,
        "THIRDPARTYREVNUM": rev,
        "SALESNAME": "Nikos",
        "ZH_CUSTOMERS_MEMBER_CARDNO": "",
    }
    row.update(values)
    return row


def account(key: str, rev: int, **values: Any) -> dict[str, Any]:
    """The Account `customer(key, rev)` implies, with `values` changed."""
    fields: dict[str, Any] = {
        "Trader_ID": key,
        "Rev_Number": rev,
        "Account_Name": "Golden Α.Ε.",
        "Account_AFM": "094259216",
        "Phone": "2101234567",
        "Billing_Street": "Ερμού 1",
        "Shipping_Street": "Ερμού 1",
        "Billing_State": "ΑΤΤΙΚΗΣ",
        "Shipping_State": "ΑΤΤΙΚΗΣ",
        "Billing_Country": "GR",
        "Shipping_Country": "GR",
        "Industry": "Retail",
        "Account_Category": "A",
        "Credit_Limit": 100,
        "Open_Balance": 200.5,
        "Watt": 3,
        "Turnover_YTD": 1,
        "Turnover_LTD": 2,
        "Turnover_LY": 3,
        "SALESNAME": "Nikos",
    }
    fields.update(values)
    return {k: v for k, v in fields.items() if v is not _OUT}


_OUT = object()  # in account(): the field is left out

#: (Galaxy customer row, the Account fields Zoho must hold or None, fields left out)
CUSTOMERS: list[tuple[dict[str, Any], dict[str, Any] | None, set[str]]] = [
    (
        # Greek number formats, a name from the third column, a TIN and a phone to clean
        customer(
            " g-1 ",
            3_000_001,
            TRDRNAME="  ",
            COMPTITLE=None,
            TIN="EL 094-259-216",
            TRDSPHONE1="+30 (210) 123-4567",
            BALANCE="1.234,56",
            MAXBALANCE="1,234",
            WATT_CY="-12,5",
            TURNOVER_YTD="€ 1.234.567,89",
            TURNOVER_LTD="(12,50)",
            TURVOVER_LY="2,500.75",
        ),
        account(
            "G-1",
            3_000_001,
            Account_Name="30-000001",
            Phone="+302101234567",
            Credit_Limit=1234.56,
            Open_Balance=1.234,  # NUMBER_DECIMAL=comma: the Greek reading
            Watt=-12.5,
            Turnover_YTD=1234567.89,
            Turnover_LTD=-12.5,
            Turnover_LY=2500.75,
        ),
        set(),
    ),
    (
        # values that are no numbers / phones / TINs are left out; empty ones are cleared;
        # long texts are cut on a word (names 255, Industry 120), a word longer than the
        # limit is cut hard; the revision in a Greek format
        customer(
            "g-2",
            "3.000.002",
            TRDRNAME=LONG_NAME,
            TIN="N/A",
            TRDSPHONE1="210-123",
            CAT_EPAGG=LONG_INDUSTRY,
            SALESNAME="x" * 260,
            BALANCE="n/a",
            MAXBALANCE="—",
            WATT_CY="1e5",
            TURNOVER_YTD="12 500,00 EUR",
            TURNOVER_LTD="",
            TURVOVER_LY=None,
            TRDSSTREET=["not", "text"],
        ),
        account(
            "G-2",
            3_000_002,
            Account_Name=" ".join(["ΑΛΦΑ"] * 51),  # 254 characters
            Account_AFM=_OUT,
            Phone=_OUT,
            Industry=" ".join(["Retail"] * 17),  # 118 characters
            SALESNAME="x" * 255,
            Credit_Limit=_OUT,
            Open_Balance=_OUT,
            Watt=_OUT,
            Turnover_YTD=12500,
            Turnover_LTD=None,
            Turnover_LY=None,
            Billing_Street=_OUT,
            Shipping_Street=_OUT,
        ),
        {
            "Account_AFM",
            "Phone",
            "Credit_Limit",
            "Open_Balance",
            "Watt",
            "Billing_Street",
            "Shipping_Street",
        },
    ),
    (customer(None, 3_000_003), None, set()),  # no key
    (customer("g-4", 3_000_004, TRDRNAME="", CUSTCODE=" ", TRDRCODE=None), None, set()),
    (customer("g-5", "12,5"), None, set()),  # a revision that is no whole number
    (customer(12.0, 3_000_006), None, set()),  # a float key has lost digits already
]


def contact(key: str, rev: int, parent: str = "g-1", **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "CONTACTID": key,
        "TRDRID": parent,
        "FIRSTNAME": "Νίκος",
        "LASTNAME": "Παπαδόπουλος",
        "EMAIL": f"{key}@example.gr",
        "PHONE": None,
        "MOBILE": None,
        "JOBTITLE": "Buyer",
        "CONTACTS_REVNUM": rev,
    }
    row.update(values)
    return row


#: (Galaxy contact row, the Contact fields Zoho must hold or None, fields left out)
CONTACTS: list[tuple[dict[str, Any], dict[str, Any] | None, set[str]]] = [
    (
        # no last name: the first name moves; phones cleaned; a long Title cut at 100
        contact(
            "k-1",
            3_000_011,
            LASTNAME=None,
            FIRSTNAME="Μαρία",
            PHONE="210 123 4567",
            MOBILE=6912345678,
            JOBTITLE=LONG_TITLE,
        ),
        {
            "Galaxy_Contact_ID": "K-1",
            "Rev_Number": 3_000_011,
            "First_Name": None,
            "Last_Name": "Μαρία",
            "Email": "k-1@example.gr",
            "Phone": "2101234567",
            "Mobile": "6912345678",
            "Title": " ".join(["Procurement"] * 8),  # 95 characters
        },
        set(),
    ),
    (
        # no name at all: the e-mail's local part
        contact("k-2", 3_000_012, LASTNAME="  ", FIRSTNAME="", EMAIL=" nikos.p@example.gr "),
        {
            "Galaxy_Contact_ID": "K-2",
            "Rev_Number": 3_000_012,
            "First_Name": None,
            "Last_Name": "nikos.p",
            "Email": "nikos.p@example.gr",
            "Phone": None,
            "Mobile": None,
            "Title": "Buyer",
        },
        set(),
    ),
    (
        # a bad e-mail and a bad mobile are left out; a long first name is cut at 40 and,
        # with no last name, becomes the last name
        contact(
            "k-3",
            3_000_013,
            EMAIL="not-an-email",
            MOBILE="69-ABC",
            LASTNAME=None,
            FIRSTNAME=LONG_FIRST_NAME,
        ),
        {
            "Galaxy_Contact_ID": "K-3",
            "Rev_Number": 3_000_013,
            "First_Name": None,
            "Last_Name": "Αικατερίνη-Μαρία Αικατερίνη-Μαρία",
            "Phone": None,
            "Title": "Buyer",
        },
        {"Email", "Mobile"},
    ),
    # no name and no usable e-mail: no record
    (contact("k-4", 3_000_014, LASTNAME=None, FIRSTNAME=None, EMAIL="x@"), None, set()),
    (contact("k-5", 3_000_015, parent=" "), None, set()),  # no customer
]

AFFILIATES: list[tuple[dict[str, Any], dict[str, Any] | None]] = [
    (
        {"AFFILIATES_TRDRID": "a-1", "AFF_NAME": " Aff One ", "AFF_TIN": 94259216,
         "AFFILIATES_REVNUM": 7, "AFFILIATES_CUST_TRDRID": "g-1"},
        {"Trader_ID": "A-1", "Rev_Number": 7, "Account_Name": "Aff One",
         "Account_AFM": "94259216"},
    ),
    (
        {"AFFILIATES_TRDRID": "a-2", "AFF_NAME": None, "AFF_TIN": None,
         "AFFILIATES_REVNUM": 7, "AFFILIATES_CUST_TRDRID": None},
        None,
    ),
]  # fmt: skip

OFFER: dict[str, Any] = {
    "ID": "o-gold",
    "TRADENUM": None,
    "CommercialEntry_GXREVNUM": 5_000_001,
    "CUST_TIN": "094259216",
    "TRDRID": "g-1",
    "CMPSDESCRIPTION": " Κεντρικό ",
    "OFFER_STATUS": "Draft",
    "CENLAQTY": "3,5",
    "TotalValue": "1.240,00",
    "ETA": "31/01/2026",
    "OFFERS_VALID": "ΝΑΙ",
    "OFFICIALDATE": "/Date(1767225600000)/",
    "PayTerms": None,
}
QUOTE_HEADER: dict[str, Any] = {
    "ERP_ID_Offer": "O-GOLD",
    "Rev_Number": 5_000_001,
    "ERP_Offer_Number": None,
    "Subject": "Offer o-gold",
    "Service_Store": "Κεντρικό",
    "Quote_Stage": "Draft",
    "Products_Quantity": 3.5,
    "ERP_Total_Amount": 1240.0,
    "Valid_Till": "2026-01-31",
    "Offer_Valid": "ΝΑΙ",
    "Quote_Date": "2026-01-01",
    "Payment_Terms": None,
}


def _line(n: Any, code: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "DOC_ID": "o-gold",
        "LINENUM": n,
        "ITEMCODE": code,
        "ITEMDESCRIPTION": f"Product {code}",
        "LEAD_TIME": 0,
        "QTY": 1,
        "PRICE": 100.0,
        "GROSSVALUE": 100.0,
        "DISCVALUE": 0,
        "NETVALUE": 100.0,
        "VATVALUE": 24.0,
    }
    row.update(values)
    return row


#: served out of order: LINENUM puts them in order
LINES: list[dict[str, Any]] = [
    _line(2, "P-2", QTY="2,5", PRICE="1.200,00", DISCVALUE="60,00", NETVALUE=2940.0,
          VATVALUE=382.2),
    _line(1, "P-1", DISCVALUE=None, NETVALUE=50.0, VATVALUE=3.0),
    _line(3, "P-3", VATVALUE=17.0, ITEMDESCRIPTION=None),
]  # fmt: skip
#: (code, quantity, price, discount, description, taxes)
QUOTE_LINES: list[tuple[str, float, float, float, str | None, list[tuple[str, float]]]] = [
    ("P-1", 1, 100.0, 0, "Product P-1", [("VAT 6%", 6.0)]),
    ("P-2", 2.5, 1200.0, 60.0, "Product P-2", [("VAT 13%", 13.0)]),
    ("P-3", 1, 100.0, 0, None, []),  # 17 %: not in ZOHO_TAX_NAMES, no tax sent
]
