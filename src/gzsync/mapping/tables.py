"""The field mappings, as data: one table per entity (SPEC §3).

Each :class:`FieldRule` says which Zoho field is filled from which Galaxy column(s), what
kind of value it holds (which decides its normalisation and Zoho's rule for it), and what
happens when the value is bad:

- ``required`` fields (the key, the revision, the name) reject the record when absent or
  invalid; the rejection code is built from ``reason``: ``missing_<reason>``,
  ``invalid_<reason>``, ``<reason>_too_long``.
- optional fields with ``on_invalid="drop"`` (text, phone, e-mail, TIN) leave the field
  out of the payload with a warning, so Zoho keeps what it has; the rest of the record
  still syncs.
- numbers are optional fields like the others (issue 11): ``N/A`` as a balance leaves
  that field out of the payload with an ``invalid_number`` warning and the record syncs.
  A record stays out of Zoho only when Zoho cannot hold it (no key, no name, no usable
  revision). ``on_invalid="reject"`` is still there for a table that wants it.
- names (``truncate=True``) longer than their limit are cut on a word boundary with a
  ``name_truncated`` warning instead of rejecting the record.
- every other optional Single Line text (addresses, ``Industry``, ``Account_Category``,
  ``SALESNAME``, a contact's ``Title``) is cut the same way when too long, with a
  ``value_truncated`` warning (a reason of its own, so ``name_truncated`` keeps counting
  names only): Zoho then holds the start of the value instead of refusing the whole record
  or keeping a stale one. Identifiers, phones and e-mail addresses are never cut (a cut
  TIN, phone or address is a wrong one): too long, they are left out with
  ``value_too_long``, and a too-long key rejects the record.

Lengths (audited against ``zoho-crm-api.md`` §7 and the sandbox's field metadata, which
``tests/mapping/test_field_lengths.py`` compares with these tables): Single Line 255, Phone
30, and where a field is shorter or the reference leaves it UNCONFIRMED, the shorter of
Zoho's standard lengths: Contacts ``Last_Name`` 80, ``First_Name`` 40, ``Title`` 100,
``Email`` 100; Accounts ``Industry`` (a picklist that takes new values) 120. Each is the
sandbox's length too, so a value we send is one Zoho holds under every reading.

An *absent* optional value (None, "", whitespace) is sent as ``null``: Zoho then clears
the field, so a phone removed in Galaxy is removed in Zoho too (parity both ways; the
seed sent only present values and left stale data behind).

Column names of the contacts view come from configuration: :func:`contact_table` builds
that table from a logical-name → column dict (defaults in
:data:`gzsync.config.DEFAULT_CONTACT_COLUMNS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gzsync.config import DEFAULT_CONTACT_COLUMNS
from gzsync.mapping.normalize import EMAIL_MAX_LENGTH

__all__ = [
    "AFFILIATE",
    "CARD_NUMBER_COLUMN",
    "CONTACT",
    "CUSTOMER",
    "FieldRule",
    "Kind",
    "Table",
    "contact_table",
]

#: text: Single Line · id: upper-cased Single Line · digits: digits-only Single Line ·
#: phone / email: Zoho Phone / Email fields · currency / decimal: Zoho number fields with up
#: to 16 digits before the point · revision: Zoho Number (integer), up to 9 digits.
Kind = Literal["text", "id", "digits", "phone", "email", "currency", "decimal", "revision"]

#: Zoho's default Single Line length (zoho-crm-api.md §7); the org may set a lower one.
TEXT_MAX = 255
#: Contacts' name lengths we send (see contact_table).
FIRST_NAME_MAX = 40
LAST_NAME_MAX = 80
#: Zoho's standard Contacts Title length (the reference leaves it UNCONFIRMED).
TITLE_MAX = 100
#: Zoho's standard length of a picklist value (Accounts Industry; UNCONFIRMED).
PICKLIST_MAX = 120
#: Fields whose cut value is a name: warning ``name_truncated`` (others: ``value_truncated``).
NAME_FIELDS: frozenset[str] = frozenset({"Account_Name", "First_Name", "Last_Name"})
#: Zoho's default Phone field length (zoho-crm-api.md §7).
PHONE_MAX = 30
#: The customer column that makes a customer a card holder (SPEC §1 step 4).
CARD_NUMBER_COLUMN = "ZH_CUSTOMERS_MEMBER_CARDNO"


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One Zoho field, the Galaxy column(s) it comes from, and how to treat its value.

    With several `sources`, the first one holding a usable value wins (a fallback chain).
    """

    zoho_field: str
    sources: tuple[str, ...]
    kind: Kind
    max_length: int | None = None
    required: bool = False
    on_invalid: Literal["drop", "reject"] = "drop"
    reason: str | None = None  # stem of rejection codes for required fields
    truncate: bool = False  # too long: cut on a word boundary (a warning), not rejected


@dataclass(frozen=True, slots=True)
class Table:
    """The mapping of one Galaxy view to one Zoho module."""

    entity: Literal["customer", "affiliate", "contact"]
    module: Literal["Accounts", "Contacts"]
    key: FieldRule  # the unique key (Zoho's duplicate-check field)
    revision: FieldRule  # the Galaxy revision, sent as Rev_Number
    fields: tuple[FieldRule, ...]  # every other field, in payload order
    parent_column: str | None = None  # the parent customer's TRDRID, when the row has one
    parent_required: bool = False

    @property
    def rules(self) -> tuple[FieldRule, ...]:
        """All rules: key, revision, then the other fields."""
        return (self.key, self.revision, *self.fields)


def _text(zoho_field: str, *sources: str, max_length: int = TEXT_MAX) -> FieldRule:
    """An optional Single Line text: cut on a word boundary when too long (value_truncated)."""
    return FieldRule(zoho_field, sources, "text", max_length, truncate=True)


def _money(zoho_field: str, source: str, kind: Kind = "currency") -> FieldRule:
    return FieldRule(zoho_field, (source,), kind)


CUSTOMER = Table(
    entity="customer",
    module="Accounts",
    key=FieldRule("Trader_ID", ("TRDRID",), "id", TEXT_MAX, required=True, reason="trader_id"),
    revision=FieldRule(
        "Rev_Number", ("THIRDPARTYREVNUM",), "revision", required=True, reason="revision"
    ),
    fields=(
        FieldRule(
            "Account_Name",
            ("TRDRNAME", "COMPTITLE", "CUSTCODE", "TRDRCODE"),
            "text",
            TEXT_MAX,
            required=True,
            reason="name",
            truncate=True,
        ),
        FieldRule("Account_AFM", ("TIN",), "digits", TEXT_MAX),
        FieldRule("Phone", ("TRDSPHONE1",), "phone", PHONE_MAX),
        # Billing and shipping address are the same Galaxy columns (the seed's choice).
        _text("Billing_Street", "TRDSSTREET"),
        _text("Shipping_Street", "TRDSSTREET"),
        _text("Billing_State", "PREFDESCR"),
        _text("Shipping_State", "PREFDESCR"),
        _text("Billing_Country", "CNTRCODE"),
        _text("Shipping_Country", "CNTRCODE"),
        _text("Industry", "CAT_EPAGG", max_length=PICKLIST_MAX),
        _text("Account_Category", "CATEGDISCOUNT"),
        # BALANCE -> Credit_Limit and MAXBALANCE -> Open_Balance is what the seed did. It
        # looks swapped (a maximum balance is a credit limit); kept for parity with the
        # data already in Zoho until the CRM owners decide.
        _money("Credit_Limit", "BALANCE"),
        _money("Open_Balance", "MAXBALANCE"),
        _money("Watt", "WATT_CY", "decimal"),
        _money("Turnover_YTD", "TURNOVER_YTD"),
        _money("Turnover_LTD", "TURNOVER_LTD"),
        _money("Turnover_LY", "TURVOVER_LY"),  # sic: the view's column name
        _text("SALESNAME", "SALESNAME"),
        # Affiliate_To is a lookup added by the pipeline from the affiliate link.
    ),
)

AFFILIATE = Table(
    entity="affiliate",
    module="Accounts",
    key=FieldRule(
        "Trader_ID", ("AFFILIATES_TRDRID",), "id", TEXT_MAX, required=True, reason="trader_id"
    ),
    # The card holder's revision: the link between the two (SPEC §1 step 4).
    revision=FieldRule(
        "Rev_Number", ("AFFILIATES_REVNUM",), "revision", required=True, reason="revision"
    ),
    fields=(
        FieldRule(
            "Account_Name",
            ("AFF_NAME",),
            "text",
            TEXT_MAX,
            required=True,
            reason="name",
            truncate=True,
        ),
        FieldRule("Account_AFM", ("AFF_TIN",), "digits", TEXT_MAX),
    ),
    parent_column="AFFILIATES_CUST_TRDRID",
)


def contact_table(columns: Mapping[str, str] = DEFAULT_CONTACT_COLUMNS) -> Table:
    """The contact mapping for a contacts view whose columns are named by `columns`.

    `columns` maps the logical names of SPEC §2 (``CONTACTID``, ``LASTNAME`` ...) to the
    view's actual column names; a logical name it lacks keeps its default name.
    """

    def col(logical: str) -> str:
        return columns.get(logical, DEFAULT_CONTACT_COLUMNS[logical])

    return Table(
        entity="contact",
        module="Contacts",
        key=FieldRule(
            "Galaxy_Contact_ID",
            (col("CONTACTID"),),
            "id",
            TEXT_MAX,
            required=True,
            reason="contact_id",
        ),
        revision=FieldRule(
            "Rev_Number", (col("CONTACTS_REVNUM"),), "revision", required=True, reason="revision"
        ),
        fields=(
            # Zoho's own name lengths for Contacts are UNCONFIRMED (zoho-crm-api.md §7 gives
            # 80 for the Leads Last_Name; Zoho's standard First_Name is 40): names are cut
            # to those, on a word boundary with a warning, so Zoho takes them under every
            # reading instead of refusing the whole contact.
            FieldRule("First_Name", (col("FIRSTNAME"),), "text", FIRST_NAME_MAX, truncate=True),
            # An empty Last_Name falls back to the first name or the e-mail's local part
            # (CONTACT_NAME_FALLBACK, see gzsync.mapping.records).
            FieldRule(
                "Last_Name",
                (col("LASTNAME"),),
                "text",
                LAST_NAME_MAX,
                required=True,
                reason="last_name",
                truncate=True,
            ),
            FieldRule("Email", (col("EMAIL"),), "email", EMAIL_MAX_LENGTH),
            FieldRule("Phone", (col("PHONE"),), "phone", PHONE_MAX),
            FieldRule("Mobile", (col("MOBILE"),), "phone", PHONE_MAX),
            _text("Title", col("JOBTITLE"), max_length=TITLE_MAX),
            # Account_Name is the parent lookup, added by the pipeline once resolved.
        ),
        parent_column=col("TRDRID"),
        parent_required=True,
    )


CONTACT = contact_table(DEFAULT_CONTACT_COLUMNS)
