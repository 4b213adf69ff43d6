"""The Zoho record each Galaxy row implies (SPEC §3), modelled apart from `gzsync.mapping`.

One table per module says which Zoho field comes from which Galaxy column and how the cell
is read (:mod:`gzsync.sandbox.expected_values`). A row the sync cannot send (no usable key,
revision or name; a contact without its customer's TRDRID) implies no record: ``None``.

The rules restated here, from SPEC §3 and the documented decisions of the README:

- every optional field holds the read value, ``None`` (cleared) for an empty cell, and is
  left out (Zoho keeps its value; not compared) for a cell that is no such value;
- texts are cut on a word to Zoho's length: 255 for Single Lines and names, Industry 120
  (a picklist value), Title 100, First_Name 40, Last_Name 80; keys, TINs, phones and
  e-mails are never cut (a cut one is a wrong one);
- ``Account_Name`` is the first non-empty of TRDRNAME, COMPTITLE, CUSTCODE, TRDRCODE;
- a contact without a last name takes, per ``CONTACT_NAME_FALLBACK``, its first name (then
  sent as an empty ``First_Name``) or its e-mail's local part, else implies no record;
- numbers follow ``NUMBER_DECIMAL`` for ``1,234``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from gzsync.sandbox.data import CONTACT_COLUMNS as VIEW_CONTACT_COLUMNS
from gzsync.sandbox.expected_values import (
    LEFT_OUT,
    cut_on_word,
    read_digits,
    read_email,
    read_id,
    read_number,
    read_phone,
    read_revision,
    read_text,
)

__all__ = [
    "CARD_COLUMN",
    "CONTACT_COLUMNS",
    "Expected",
    "expect_affiliate",
    "expect_contact",
    "expect_customer",
    "has_card",
]

Reader = Callable[[Any], Any]
#: (Zoho field, Galaxy column, how the cell is read)
FieldSpec = tuple[str, str, Reader]

#: The customers view's member card column: a customer with one (and a revision > 0) is a
#: card holder, whose affiliates carry its revision (SPEC §1 step 4).
CARD_COLUMN = "ZH_CUSTOMERS_MEMBER_CARDNO"
NAME_COLUMNS = ("TRDRNAME", "COMPTITLE", "CUSTCODE", "TRDRCODE")
SINGLE_LINE = 255
#: The contacts view's columns by their SPEC §2 names (GALAXY_CONTACT_COLUMNS renames them;
#: taken from the sandbox's view, not the sync's configuration: the check imports nothing
#: of the sync's).
CONTACT_COLUMNS: dict[str, str] = {name: name for name in VIEW_CONTACT_COLUMNS}


@dataclass(slots=True)
class Expected:
    """What Zoho must hold for one Galaxy row."""

    key: str
    rev: int
    fields: dict[str, Any]  # Zoho field -> value (key and Rev_Number included)
    left_out: tuple[str, ...] = ()  # fields the sync does not send: Zoho keeps its value
    parent_key: str | None = None  # contact: its customer; affiliate: the one it names
    card_holder: bool = False  # customer: a member card and a revision > 0


def _text(limit: int = SINGLE_LINE) -> Reader:
    return partial(read_text, limit=limit)


def account_fields(decimal: str = "comma") -> tuple[FieldSpec, ...]:
    """A customer's fields besides Trader_ID, Rev_Number and Account_Name (SPEC §3)."""
    number = partial(read_number, decimal=decimal)
    return (
        ("Account_AFM", "TIN", read_digits),
        ("Phone", "TRDSPHONE1", read_phone),
        ("Billing_Street", "TRDSSTREET", _text()),
        ("Shipping_Street", "TRDSSTREET", _text()),
        ("Billing_State", "PREFDESCR", _text()),
        ("Shipping_State", "PREFDESCR", _text()),
        ("Billing_Country", "CNTRCODE", _text()),
        ("Shipping_Country", "CNTRCODE", _text()),
        ("Industry", "CAT_EPAGG", _text(120)),
        ("Account_Category", "CATEGDISCOUNT", _text()),
        ("Credit_Limit", "BALANCE", number),  # sic: the seed's choice, SPEC §3
        ("Open_Balance", "MAXBALANCE", number),
        ("Watt", "WATT_CY", number),
        ("Turnover_YTD", "TURNOVER_YTD", number),
        ("Turnover_LTD", "TURNOVER_LTD", number),
        ("Turnover_LY", "TURVOVER_LY", number),  # sic: the view's column name
        ("SALESNAME", "SALESNAME", _text()),
    )


def contact_fields(columns: Mapping[str, str]) -> tuple[FieldSpec, ...]:
    """A contact's fields besides its key and Rev_Number; `columns` names the view's columns."""
    return (
        ("First_Name", columns["FIRSTNAME"], _text(40)),
        ("Last_Name", columns["LASTNAME"], _text(80)),
        ("Email", columns["EMAIL"], read_email),
        ("Phone", columns["PHONE"], read_phone),
        ("Mobile", columns["MOBILE"], read_phone),
        ("Title", columns["JOBTITLE"], _text(100)),
    )


_ACCOUNT_FIELDS = {"comma": account_fields("comma"), "dot": account_fields("dot")}


def _usable(value: Any) -> bool:
    return value is not None and value is not LEFT_OUT


def _fill(
    fields: dict[str, Any], specs: Sequence[FieldSpec], row: Mapping[str, Any]
) -> tuple[str, ...]:
    """Add each spec's value to `fields`; the names of those left out."""
    left_out: list[str] = []
    get = row.get
    for name, column, read in specs:
        value = read(get(column))
        if value is LEFT_OUT:
            left_out.append(name)
        else:
            fields[name] = value
    return tuple(left_out)


def has_card(cell: Any) -> bool:
    """A member card number: any non-empty text or finite number (not a boolean)."""
    if isinstance(cell, str):
        return bool(cell.strip())  # SPEC §1: non-empty (it is never sent, only tested)
    return isinstance(read_text(cell), str)


def expect_customer(row: Any, decimal: str = "comma") -> Expected | None:
    """The Account a customer row implies, or None when the sync cannot send it."""
    if not isinstance(row, Mapping):
        return None
    key, rev = read_id(row.get("TRDRID")), read_revision(row.get("THIRDPARTYREVNUM"))
    name = next(
        (n for n in (read_text(row.get(c), SINGLE_LINE) for c in NAME_COLUMNS) if _usable(n)),
        None,
    )
    if not (_usable(key) and _usable(rev) and name is not None):
        return None
    fields = {"Trader_ID": key, "Rev_Number": rev, "Account_Name": name}
    left_out = _fill(fields, _ACCOUNT_FIELDS[decimal], row)
    card_holder = rev > 0 and has_card(row.get(CARD_COLUMN))
    return Expected(key, rev, fields, left_out, None, card_holder)


def expect_affiliate(row: Any) -> Expected | None:
    """The Account an affiliate row implies (SPEC §3), or None."""
    if not isinstance(row, Mapping):
        return None
    key, rev = read_id(row.get("AFFILIATES_TRDRID")), read_revision(row.get("AFFILIATES_REVNUM"))
    name = read_text(row.get("AFF_NAME"), SINGLE_LINE)
    if not (_usable(key) and _usable(rev) and _usable(name)):
        return None
    fields = {"Trader_ID": key, "Rev_Number": rev, "Account_Name": name}
    left_out = _fill(fields, (("Account_AFM", "AFF_TIN", read_digits),), row)
    parent = read_id(row.get("AFFILIATES_CUST_TRDRID"))
    return Expected(key, rev, fields, left_out, parent if _usable(parent) else None)


_CONTACT_FIELDS = contact_fields(CONTACT_COLUMNS)
LAST_NAME_MAX = 80


def expect_contact(
    row: Any,
    columns: Mapping[str, str] = CONTACT_COLUMNS,
    name_fallback: Sequence[str] = ("first_name", "email"),
) -> Expected | None:
    """The Contact a contacts-view row implies, or None (no key, revision, customer or name)."""
    if not isinstance(row, Mapping):
        return None
    col = {**CONTACT_COLUMNS, **columns}
    key, rev = read_id(row.get(col["CONTACTID"])), read_revision(row.get(col["CONTACTS_REVNUM"]))
    parent = read_id(row.get(col["TRDRID"]))
    if not (_usable(key) and _usable(rev) and _usable(parent)):
        return None
    fields: dict[str, Any] = {"Galaxy_Contact_ID": key, "Rev_Number": rev}
    specs = _CONTACT_FIELDS if col == CONTACT_COLUMNS else contact_fields(col)
    left_out = _fill(fields, specs, row)
    if not _usable(fields.get("Last_Name")):
        for source in name_fallback:
            first, mail = fields.get("First_Name"), fields.get("Email")
            local = mail.rpartition("@")[0].strip() if isinstance(mail, str) else ""
            if source == "first_name" and isinstance(first, str):
                fields["Last_Name"], fields["First_Name"] = first, None
            elif source == "email" and local:
                fields["Last_Name"] = cut_on_word(local, LAST_NAME_MAX)
            else:
                continue
            left_out = tuple(name for name in left_out if name != "Last_Name")
            break
        else:
            return None
    return Expected(key, rev, fields, left_out, parent)
