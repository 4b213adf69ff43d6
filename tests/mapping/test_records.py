"""Galaxy rows into Zoho records (gzsync.mapping.records), SPEC §3."""

from __future__ import annotations

from typing import Any

import pytest

from gzsync.mapping.records import Mapped, Rejected, map_affiliate, map_contact, map_customer
from gzsync.mapping.rules import MappingRules
from gzsync.mapping.tables import AFFILIATE, CONTACT, CUSTOMER, contact_table
from gzsync.mapping.validate import validate_payload


def customer_row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "TRDRID": " 8049a100-ac67-489c-d566-a0f145febf53 ",
        "TRDRNAME": " ΕΡΜΗΣ ΦΑΡΜΑΚΕΥΤΙΚΗ Ι.Κ.Ε. ",
        "COMPTITLE": "ΕΡΜΗΣ ΦΑΡΜΑΚΕΥΤΙΚΗ ΑΝΩΝΥΜΗ ΕΤΑΙΡΕΙΑ",
        "CUSTCODE": "30-000001",
        "TRDRCODE": "000001",
        "TIN": "EL 069766124",
        "TRDSPHONE1": "+30 210-123-4567",
        "TRDSSTREET": "Λεωφ. Κηφισίας 12",
        "PREFDESCR": "ΑΤΤΙΚΗΣ",
        "CNTRCODE": "GR",
        "CAT_EPAGG": "ΕΜΠΟΡΙΟ",
        "CATEGDISCOUNT": "VIP",
        "BALANCE": "1.234,50",
        "MAXBALANCE": 5000,
        "WATT_CY": 12.5,
        "TURNOVER_YTD": "1000.25",
        "TURNOVER_LTD": 20000.0,
        "TURVOVER_LY": "300",
        "THIRDPARTYREVNUM": 5339779,
        "SALESNAME": "Ioannou Kostas",
        "ZH_CUSTOMERS_MEMBER_CARDNO": "0123456789",
    }
    row.update(changes)
    return row


def mapped(result: Mapped | Rejected) -> Mapped:
    assert isinstance(result, Mapped), result
    return result


def rejected(result: Mapped | Rejected) -> Rejected:
    assert isinstance(result, Rejected), result
    return result


def test_customer_maps_every_field_of_spec_section_3() -> None:
    record = mapped(map_customer(customer_row()))
    assert record.key == "8049A100-AC67-489C-D566-A0F145FEBF53"
    assert record.rev == 5339779
    assert record.card_holder is True
    assert record.parent_key is None
    assert record.warnings == ()
    assert record.payload == {
        "Trader_ID": "8049A100-AC67-489C-D566-A0F145FEBF53",
        "Rev_Number": 5339779,
        "Account_Name": "ΕΡΜΗΣ ΦΑΡΜΑΚΕΥΤΙΚΗ Ι.Κ.Ε.",
        "Account_AFM": "069766124",
        "Phone": "+302101234567",
        "Billing_Street": "Λεωφ. Κηφισίας 12",
        "Shipping_Street": "Λεωφ. Κηφισίας 12",
        "Billing_State": "ΑΤΤΙΚΗΣ",
        "Shipping_State": "ΑΤΤΙΚΗΣ",
        "Billing_Country": "GR",
        "Shipping_Country": "GR",
        "Industry": "ΕΜΠΟΡΙΟ",
        "Account_Category": "VIP",
        "Credit_Limit": 1234.5,  # BALANCE (the seed's choice)
        "Open_Balance": 5000,  # MAXBALANCE
        "Watt": 12.5,
        "Turnover_YTD": 1000.25,
        "Turnover_LTD": 20000.0,
        "Turnover_LY": 300,  # from TURVOVER_LY (sic)
        "SALESNAME": "Ioannou Kostas",
    }
    assert validate_payload(CUSTOMER, record.payload) == []


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (("Name", "Title", "C1", "T1"), "Name"),
        (("", "Title", "C1", "T1"), "Title"),
        ((None, "  ", "C1", "T1"), "C1"),
        ((None, None, None, "T1"), "T1"),
        ((None, None, None, 1234), "1234"),
    ],
)
def test_account_name_is_the_first_non_empty_name_column(
    names: tuple[Any, ...], expected: str
) -> None:
    cols = dict(zip(("TRDRNAME", "COMPTITLE", "CUSTCODE", "TRDRCODE"), names, strict=True))
    record = mapped(map_customer(customer_row(**cols)))
    assert record.payload["Account_Name"] == expected


def test_a_name_column_that_is_not_text_is_skipped_with_a_warning() -> None:
    record = mapped(map_customer(customer_row(TRDRNAME=["x"])))
    assert record.payload["Account_Name"] == "ΕΡΜΗΣ ΦΑΡΜΑΚΕΥΤΙΚΗ ΑΝΩΝΥΜΗ ΕΤΑΙΡΕΙΑ"
    assert any("TRDRNAME" in str(w) for w in record.warnings)
    assert record.warnings[0].field == "Account_Name"
    assert record.warnings[0].reason == "invalid_text"


def test_empty_optional_fields_are_sent_as_null_to_clear_them_in_zoho() -> None:
    row = customer_row(TRDSPHONE1="", TIN=None, TRDSSTREET="  ", BALANCE=None, SALESNAME="")
    del row["CAT_EPAGG"]  # a column the view does not have at all
    payload = mapped(map_customer(row)).payload
    for field in ("Phone", "Account_AFM", "Billing_Street", "Shipping_Street"):
        assert payload[field] is None
    for field in ("Credit_Limit", "SALESNAME", "Industry"):
        assert payload[field] is None
    assert validate_payload(CUSTOMER, payload) == []


@pytest.mark.parametrize(
    ("changes", "field", "warning_part"),
    [
        ({"TRDSPHONE1": "n/a"}, "Phone", "Phone dropped"),
        ({"TRDSPHONE1": "1234"}, "Phone", "not a phone number"),
        ({"TIN": "N/A"}, "Account_AFM", "has no digits"),
        ({"TIN": "1" * 256}, "Account_AFM", "256 characters"),
        ({"PREFDESCR": {"a": 1}}, "Billing_State", "not text"),
    ],
)
def test_a_bad_optional_value_is_left_out_with_a_warning(
    changes: dict[str, Any], field: str, warning_part: str
) -> None:
    record = mapped(map_customer(customer_row(**changes)))
    assert field not in record.payload  # Zoho keeps what it has; nothing is cleared
    assert any(warning_part in str(w) for w in record.warnings), record.warnings
    assert {w.field for w in record.warnings} >= {field}
    assert validate_payload(CUSTOMER, record.payload) == []


def test_billing_and_shipping_are_cut_together() -> None:
    record = mapped(map_customer(customer_row(TRDSSTREET="x" * 300)))
    assert record.payload["Billing_Street"] == "x" * 255  # no word boundary: a hard cut
    assert record.payload["Shipping_Street"] == "x" * 255
    assert [(w.field, w.reason) for w in record.warnings] == [
        ("Billing_Street", "value_truncated"),
        ("Shipping_Street", "value_truncated"),
    ]
    assert validate_payload(CUSTOMER, record.payload) == []


@pytest.mark.parametrize(
    ("changes", "field", "limit"),
    [
        ({"CNTRCODE": "G" * 256}, "Billing_Country", 255),
        ({"CAT_EPAGG": "Retail and " * 20}, "Industry", 120),
        ({"CATEGDISCOUNT": "A " * 200}, "Account_Category", 255),
        ({"SALESNAME": "Name " * 60}, "SALESNAME", 255),
    ],
)
def test_an_over_long_optional_text_is_cut_with_a_warning(
    changes: dict[str, Any], field: str, limit: int
) -> None:
    record = mapped(map_customer(customer_row(**changes)))
    value = record.payload[field]
    source = str(next(iter(changes.values())))
    assert 0 < len(value) <= limit
    assert source.startswith(value)
    if " " in source[:limit]:
        assert source[len(value)].isspace()  # cut on a word boundary
    assert field in {w.field for w in record.warnings if w.reason == "value_truncated"}
    assert validate_payload(CUSTOMER, record.payload) == []


@pytest.mark.parametrize(
    ("changes", "reason", "field"),
    [
        ({"TRDRID": None}, "missing_trader_id", "Trader_ID"),
        ({"TRDRID": "  "}, "missing_trader_id", "Trader_ID"),
        ({"TRDRID": ["a"]}, "invalid_trader_id", "Trader_ID"),
        ({"TRDRID": "x" * 256}, "trader_id_too_long", "Trader_ID"),
        ({"THIRDPARTYREVNUM": None}, "missing_revision", "Rev_Number"),
        ({"THIRDPARTYREVNUM": "abc"}, "invalid_revision", "Rev_Number"),
        ({"THIRDPARTYREVNUM": 10**12}, "invalid_revision", "Rev_Number"),
        (
            {"TRDRNAME": "", "COMPTITLE": None, "CUSTCODE": " ", "TRDRCODE": ""},
            "missing_name",
            "Account_Name",
        ),
    ],
)
def test_bad_key_name_or_revision_rejects_the_record(
    changes: dict[str, Any], reason: str, field: str
) -> None:
    result = rejected(map_customer(customer_row(**changes)))
    assert result.reason == reason
    assert result.field == field
    assert 0 < len(result.detail) < 200


@pytest.mark.parametrize(
    ("changes", "field", "value"),
    [
        ({"BALANCE": "N/A"}, "Credit_Limit", "N/A"),
        ({"BALANCE": "n/a"}, "Credit_Limit", "n/a"),
        ({"MAXBALANCE": "-"}, "Open_Balance", "-"),
        ({"TURNOVER_YTD": "—"}, "Turnover_YTD", "—"),
        ({"TURNOVER_LTD": "abc"}, "Turnover_LTD", "abc"),
        ({"TURVOVER_LY": float("nan")}, "Turnover_LY", "nan"),
        ({"WATT_CY": 10**16}, "Watt", "10000000000000000"),
        ({"MAXBALANCE": True}, "Open_Balance", "True"),
    ],
)
def test_a_number_that_is_no_number_is_left_out_with_a_warning(
    changes: dict[str, Any], field: str, value: str
) -> None:
    record = mapped(map_customer(customer_row(**changes)))
    assert field not in record.payload  # Zoho keeps what it has
    assert [(w.field, w.reason, w.value) for w in record.warnings] == [
        (field, "invalid_number", value)
    ]
    assert validate_payload(CUSTOMER, record.payload) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234.56", 1234.56),
        ("1234,56", 1234.56),
        ("1.234,56", 1234.56),
        ("1,234.56", 1234.56),
        (" € 1.234,56 ", 1234.56),
        ("1 234,56 EUR", 1234.56),
    ],
)
def test_numbers_in_greek_erp_formats_sync(raw: str, expected: float) -> None:
    record = mapped(map_customer(customer_row(BALANCE=raw)))
    assert record.payload["Credit_Limit"] == expected
    assert record.warnings == ()


def test_the_ambiguous_number_follows_number_decimal() -> None:
    comma = mapped(map_customer(customer_row(BALANCE="1,234")))
    dot = mapped(map_customer(customer_row(BALANCE="1,234"), MappingRules("dot")))
    assert comma.payload["Credit_Limit"] == 1.234
    assert dot.payload["Credit_Limit"] == 1234
    assert dot.payload["Account_Name"] == comma.payload["Account_Name"]


def test_a_name_too_long_is_cut_on_a_word_boundary_and_does_not_fall_back() -> None:
    long_name = "ΠΟΛΥ ΜΑΚΡΥ ΟΝΟΜΑ " * 20  # 340 characters
    record = mapped(map_customer(customer_row(TRDRNAME=long_name)))
    name = record.payload["Account_Name"]
    assert len(name) <= 255
    assert long_name.startswith(name)
    assert long_name[len(name)] == " "  # cut where a word ends
    assert [(w.field, w.reason) for w in record.warnings] == [("Account_Name", "name_truncated")]
    assert record.warnings[0].value.startswith("ΠΟΛΥ ΜΑΚΡΥ")


def test_a_name_without_spaces_is_cut_at_255() -> None:
    record = mapped(map_customer(customer_row(TRDRNAME="Ω" * 300)))
    assert record.payload["Account_Name"] == "Ω" * 255
    affiliate = mapped(
        map_affiliate({"AFFILIATES_TRDRID": "a", "AFF_NAME": "Ψ" * 256, "AFFILIATES_REVNUM": 3})
    )
    assert affiliate.payload["Account_Name"] == "Ψ" * 255
    assert affiliate.warnings[0].reason == "name_truncated"


def test_rejection_without_key_uses_the_revision_as_a_stand_in() -> None:
    result = rejected(map_customer(customer_row(TRDRID="")))
    assert (result.key, result.rev) == ("?rev=5339779", 5339779)


def test_rejection_without_key_and_revision_uses_a_stable_row_hash() -> None:
    row = customer_row(TRDRID=None, THIRDPARTYREVNUM=None)
    first, second = rejected(map_customer(row)), rejected(map_customer(dict(row)))
    assert first.key.startswith("?row=")
    assert first.key == second.key
    assert first.rev == 0
    other = rejected(map_customer({**row, "TRDRNAME": "other"}))
    assert other.key != first.key


def test_rejection_with_key_but_bad_revision_keeps_the_key() -> None:
    result = rejected(map_customer(customer_row(THIRDPARTYREVNUM=-3)))
    assert result.key == "8049A100-AC67-489C-D566-A0F145FEBF53"
    assert (result.rev, result.reason) == (0, "invalid_revision")


@pytest.mark.parametrize("row", [None, [1, 2], "TRDRID", 42])
def test_a_row_that_is_not_an_object_is_rejected(row: Any) -> None:
    result = rejected(map_customer(row))
    assert result.reason == "invalid_row"
    assert result.key.startswith("?row=")


@pytest.mark.parametrize(
    ("card", "rev", "expected"),
    [
        ("0123456789", 5, True),
        (1234567890, 5, True),
        ("", 5, False),
        ("   ", 5, False),
        (None, 5, False),
        ("0123456789", 0, False),  # a card but revision 0: not a card holder (SPEC)
    ],
)
def test_card_holder_needs_a_card_number_and_a_positive_revision(
    card: Any, rev: int, expected: bool
) -> None:
    record = mapped(
        map_customer(customer_row(ZH_CUSTOMERS_MEMBER_CARDNO=card, THIRDPARTYREVNUM=rev))
    )
    assert record.card_holder is expected


def test_affiliate_maps_per_spec() -> None:
    row = {
        "AFFILIATES_TRDRID": "ab12-cd",
        "AFF_NAME": " ΑΛΦΑ ΤΕΧΝΙΚΗ Ο.Ε. ",
        "AFF_TIN": "094259216",
        "AFFILIATES_REVNUM": "5339779",
        "AFFILIATES_CUST_TRDRID": "8049a100",
    }
    record = mapped(map_affiliate(row))
    assert (record.key, record.rev, record.parent_key) == ("AB12-CD", 5339779, "8049A100")
    assert record.card_holder is False
    assert record.payload == {
        "Trader_ID": "AB12-CD",
        "Rev_Number": 5339779,
        "Account_Name": "ΑΛΦΑ ΤΕΧΝΙΚΗ Ο.Ε.",
        "Account_AFM": "094259216",
    }
    assert validate_payload(AFFILIATE, record.payload) == []


def test_affiliate_without_customer_column_has_no_parent_key() -> None:
    row = {"AFFILIATES_TRDRID": "a", "AFF_NAME": "n", "AFFILIATES_REVNUM": 3}
    record = mapped(map_affiliate(row))
    assert record.parent_key is None
    assert record.payload["Account_AFM"] is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"AFFILIATES_TRDRID": None}, "missing_trader_id"),
        ({"AFF_NAME": ""}, "missing_name"),
        ({"AFFILIATES_REVNUM": None}, "missing_revision"),
    ],
)
def test_affiliate_rejections(changes: dict[str, Any], reason: str) -> None:
    row = {"AFFILIATES_TRDRID": "a", "AFF_NAME": "n", "AFFILIATES_REVNUM": 3, **changes}
    assert rejected(map_affiliate(row)).reason == reason


def contact_row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "CONTACTID": "c0ffee-01",
        "TRDRID": "8049a100",
        "FIRSTNAME": "Μαρία",
        "LASTNAME": "Παπαδοπούλου",
        "EMAIL": " maria.p@example.gr ",
        "PHONE": "210 1234567",
        "MOBILE": "6912345678",
        "JOBTITLE": "Λογιστής",
        "CONTACTS_REVNUM": 1000005,
    }
    row.update(changes)
    return row


def test_contact_maps_per_spec() -> None:
    record = mapped(map_contact(contact_row()))
    assert (record.key, record.rev, record.parent_key) == ("C0FFEE-01", 1000005, "8049A100")
    assert record.payload == {
        "Galaxy_Contact_ID": "C0FFEE-01",
        "Rev_Number": 1000005,
        "First_Name": "Μαρία",
        "Last_Name": "Παπαδοπούλου",
        "Email": "maria.p@example.gr",
        "Phone": "2101234567",
        "Mobile": "6912345678",
        "Title": "Λογιστής",
    }
    assert validate_payload(CONTACT, record.payload) == []


def test_contact_with_invalid_email_keeps_the_contact_and_warns() -> None:
    record = mapped(map_contact(contact_row(EMAIL="maria@@example.gr")))
    assert "Email" not in record.payload
    assert record.warnings
    assert str(record.warnings[0]).startswith("Email dropped")
    assert (record.warnings[0].reason, record.warnings[0].value) == (
        "invalid_email",
        "maria@@example.gr",
    )


@pytest.mark.parametrize(
    ("changes", "reason", "field"),
    [
        ({"LASTNAME": None, "FIRSTNAME": None, "EMAIL": None}, "missing_name", "Last_Name"),
        (
            {"LASTNAME": " ", "FIRSTNAME": "", "EMAIL": "not-an-address"},
            "missing_name",
            "Last_Name",
        ),
        ({"CONTACTID": None}, "missing_contact_id", "Galaxy_Contact_ID"),
        ({"TRDRID": ""}, "missing_parent_key", "TRDRID"),
        ({"TRDRID": [1]}, "invalid_parent_key", "TRDRID"),
        ({"CONTACTS_REVNUM": None}, "missing_revision", "Rev_Number"),
    ],
)
def test_contact_rejections(changes: dict[str, Any], reason: str, field: str) -> None:
    result = rejected(map_contact(contact_row(**changes)))
    assert (result.reason, result.field) == (reason, field)


def test_a_contact_without_last_name_takes_its_first_name() -> None:
    record = mapped(map_contact(contact_row(LASTNAME=None, FIRSTNAME=" Μαρία ")))
    assert record.payload["Last_Name"] == "Μαρία"
    assert record.payload["First_Name"] is None
    assert [(w.field, w.reason, w.value) for w in record.warnings] == [
        ("Last_Name", "last_name_fallback", "Μαρία")
    ]
    assert validate_payload(CONTACT, record.payload) == []


def test_a_contact_without_any_name_takes_the_local_part_of_its_email() -> None:
    record = mapped(map_contact(contact_row(LASTNAME="", FIRSTNAME=None)))
    assert record.payload["Last_Name"] == "maria.p"
    assert record.payload["Email"] == "maria.p@example.gr"
    assert record.warnings[0].reason == "last_name_fallback"


def test_contact_name_fallback_is_configurable() -> None:
    email_only = MappingRules(contact_name_fallback=("email",))
    record = mapped(map_contact(contact_row(LASTNAME=None), rules=email_only))
    assert (record.payload["Last_Name"], record.payload["First_Name"]) == ("maria.p", "Μαρία")
    old = MappingRules(contact_name_fallback=())
    result = rejected(map_contact(contact_row(LASTNAME=None), rules=old))
    assert (result.reason, result.field) == ("missing_last_name", "Last_Name")
    assert MappingRules.from_text("dot", "none") == MappingRules("dot", ())
    assert MappingRules.from_text("comma", " email , first_name") == MappingRules(
        "comma", ("email", "first_name")
    )
    with pytest.raises(ValueError, match="surname"):
        MappingRules.from_text("comma", "surname")


def test_a_too_long_last_name_is_truncated() -> None:
    record = mapped(map_contact(contact_row(LASTNAME="Παπα " * 60)))
    assert record.payload["Last_Name"] == ("Παπα " * 16).strip()  # 80 at most, on a space
    assert record.warnings[0].reason == "name_truncated"


def test_contact_columns_come_from_configuration() -> None:
    columns = {
        "CONTACTID": "ID",
        "TRDRID": "CUST",
        "FIRSTNAME": "FN",
        "LASTNAME": "LN",
        "EMAIL": "MAIL",
        "PHONE": "TEL",
        "MOBILE": "CELL",
        "JOBTITLE": "ROLE",
        "CONTACTS_REVNUM": "REV",
    }
    row = {"ID": "k1", "CUST": "t1", "LN": "Smith", "MAIL": "s@example.com", "REV": 9}
    record = mapped(map_contact(row, columns))
    assert (record.key, record.rev, record.parent_key) == ("K1", 9, "T1")
    assert record.payload["Email"] == "s@example.com"
    assert record.payload["Phone"] is None
    # The default column names mean nothing to this view.
    assert rejected(map_contact(contact_row(), columns)).reason == "missing_contact_id"
    assert contact_table(columns).key.sources == ("ID",)
