"""What one Galaxy cell becomes in Zoho, modelled apart from `gzsync.mapping`.

The end-state check (:mod:`gzsync.sandbox.parity`) must not take its expected values from
the code it checks, or a regression in that code would pass. This module restates SPEC §3
and `reference/zoho-crm-api.md` §7 as small readable rules — a table of number shapes, a
separator set for phones, a walk over an e-mail's parts — instead of the mapping's compiled
fast paths. It must give the same answers; where the two disagreed, SPEC decided.

Every reader takes any cell (str, int, float, bool, None, a list ...) and returns

- ``None`` when the cell is *empty* (None, "", blanks): the sync clears the Zoho field;
- :data:`LEFT_OUT` when the cell holds something Zoho cannot take as that kind of value:
  the sync leaves the field out of its payload (Zoho keeps what it had; not compared);
- otherwise the value Zoho must hold.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any, Final

__all__ = [
    "LEFT_OUT",
    "cut_on_word",
    "read_date",
    "read_digits",
    "read_email",
    "read_id",
    "read_number",
    "read_phone",
    "read_revision",
    "read_text",
]


class _LeftOut:
    def __repr__(self) -> str:
        return "LEFT_OUT"


#: A value the sync does not send (the field stays out of the payload).
LEFT_OUT: Final[Any] = _LeftOut()

#: Zoho Currency / Decimal fields: at most 16 digits before the point (CRM API §7).
NUMBER_BOUND = 10**16
#: Zoho Number (integer) fields, such as Rev_Number: at most 9 digits.
REVISION_MAX = 999_999_999


# -- text ---------------------------------------------------------------------------------


def _sendable(text: str) -> bool:
    """Zoho takes UTF-8: a lone surrogate (from a ``\\ud800`` JSON escape) cannot be sent."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def cut_on_word(text: str, limit: int) -> str:
    """`text` shortened to `limit` characters, at the last blank of the kept part when there
    is one with something before it; trailing blanks go."""
    if len(text) <= limit:
        return text
    kept = text[:limit]
    if not text[limit].isspace():  # the cut falls inside a word: drop that word's start
        blanks = [i for i, char in enumerate(kept) if char.isspace()]
        if blanks and kept[: blanks[-1]].strip():
            kept = kept[: blanks[-1]]
    return kept.rstrip()


def read_text(cell: Any, limit: int | None = None) -> Any:
    """Trimmed text (a whole number or a decimal as its digits), cut on a word to `limit`."""
    if isinstance(cell, str):
        text = cell.strip()
    elif cell is None:
        return None
    elif isinstance(cell, bool) or not isinstance(cell, int | float):
        return LEFT_OUT
    elif isinstance(cell, float):
        if not math.isfinite(cell):
            return LEFT_OUT
        text = str(int(cell)) if cell.is_integer() else repr(cell)
    else:
        text = str(cell)
    if not text:
        return None
    if not text.isascii() and not _sendable(text):
        return LEFT_OUT
    return text if limit is None else cut_on_word(text, limit)


def read_id(cell: Any, limit: int = 255) -> Any:
    """A key: trimmed, upper-case text; a float (digits already lost) or a too long one is
    unusable. Galaxy GUIDs come in either case."""
    if isinstance(cell, float):
        return LEFT_OUT
    text = read_text(cell)
    if text is None or text is LEFT_OUT:
        return text
    key = str(text).upper()
    return key if len(key) <= limit else LEFT_OUT


def read_digits(cell: Any, limit: int = 255) -> Any:
    """A TIN: its ASCII digits in order. A number keeps its digits (a lost leading zero is
    not guessed back); text without any digit is unusable; never cut (a cut TIN is wrong)."""
    if isinstance(cell, int) and not isinstance(cell, bool):
        found = str(cell) if cell >= 0 else LEFT_OUT
    elif isinstance(cell, float) and math.isfinite(cell) and cell.is_integer() and cell >= 0:
        found = str(int(cell))
    else:
        text = read_text(cell)
        if text is None or text is LEFT_OUT:
            return text
        found = "".join(char for char in text if char in "0123456789") or LEFT_OUT
    return found if found is LEFT_OUT or len(found) <= limit else LEFT_OUT


# -- phones and e-mails -------------------------------------------------------------------

#: What SPEC §3 takes out of a phone number (". - ( )" and spaces; other blanks too).
PHONE_NOISE = ".-() \t\r\n\u00a0"
_NO_NOISE = str.maketrans(dict.fromkeys(PHONE_NOISE))
_PHONE_SHAPE = re.compile(r"\+?[0-9]{8,15}")


def read_phone(cell: Any) -> Any:
    """SPEC §3: the number without its separators, kept only as ``+?`` and 8-15 digits."""
    if isinstance(cell, bool):
        return LEFT_OUT
    if isinstance(cell, int):
        cell = str(cell)
    if cell is None:
        return None
    if not isinstance(cell, str):
        return LEFT_OUT
    bare = cell.translate(_NO_NOISE)
    if not bare.strip():
        return None
    return bare if _PHONE_SHAPE.fullmatch(bare) else LEFT_OUT


#: Characters of an e-mail's local part besides letters and digits (RFC 5322 atext).
_LOCAL_EXTRA = set("_!#$%&'*+/=?^`{|}~-")
#: Longest address the sync sends (Zoho's own limit is UNCONFIRMED; the mapping's choice).
EMAIL_MAX = 100


def _label_ok(label: str) -> bool:
    """A domain label: letters and digits, hyphens only inside."""
    return bool(label) and label[0] != "-" and label[-1] != "-" and label.replace("-", "").isalnum()


def read_email(cell: Any) -> Any:
    """An address Zoho's e-mail rule takes (CRM API §7: Unicode letters allowed, a domain of
    4-256 characters, a TLD of 2-22 letters), at most 100 characters long."""
    text = read_text(cell)
    if text is None or text is LEFT_OUT:
        return text
    address = str(text)
    local, at, domain = address.rpartition("@")
    if not at or not 3 <= len(address) <= EMAIL_MAX or not 4 <= len(domain) <= 256:
        return LEFT_OUT
    for part in local.split("."):
        if not part or not all(char.isalnum() or char in _LOCAL_EXTRA for char in part):
            return LEFT_OUT
    *labels, top = domain.split(".")
    if not labels or not all(_label_ok(label) for label in labels):
        return LEFT_OUT
    return address if 2 <= len(top) <= 22 and top.isalpha() else LEFT_OUT


# -- numbers ------------------------------------------------------------------------------

#: The shapes a Greek ERP renders a number in (SPEC §3), tried in this order; the first
#: whose pattern covers the whole text decides: (pattern, grouping mark, decimal mark).
#: ``"?"`` as the decimal mark: the one ambiguous shape, ``1,234`` (NUMBER_DECIMAL says);
#: ``"*"``: whichever of ``.`` / ``,`` follows the groups.
_SHAPES: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), group, mark)
    for pattern, group, mark in (
        (r"[0-9]+", "", ""),  # 1234
        (r"[0-9]*\.[0-9]+", "", "."),  # 1234.56, and 1.234 is 1.234
        (r"[0-9]{1,3},[0-9]{3}", "", "?"),  # 1,234
        (r"[0-9]*,[0-9]+", "", ","),  # 1234,56
        (r"[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?", ".", ","),  # 1.234.567 / 1.234,56
        (r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?", ",", "."),  # 1,234,567 / 1,234.56
        (r"[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+(?:[.,][0-9]+)?", " \u00a0\u202f", "*"),
    )
)
_SIGNS = {"-": -1, "\u2212": -1, "+": 1}
_CURRENCIES = ("€", "$", "£", "EUR", "USD", "GBP")


def _peel_currency(text: str) -> str:
    """`text` without one currency sign or code in front and one behind."""
    upper = text.upper()
    for sign in _CURRENCIES:
        if upper.startswith(sign):
            text, upper = text[len(sign) :].lstrip(), upper[len(sign) :].lstrip()
            break
    for sign in _CURRENCIES:
        if upper.endswith(sign):
            text = text[: -len(sign)].rstrip()
            break
    return text


def parse_amount(text: str, decimal: str = "comma") -> int | float | None:
    """The number `text` renders, or None. Around the digits: a sign (``-`` ``+`` ``−``) or
    accounting parentheses, a currency sign or code before or after (a sign may follow a
    leading currency: ``€ -12,50``). `decimal` reads ``1,234``: ``comma`` → 1.234, ``dot``
    → 1234."""
    body = text.strip()
    sign = 1
    if body[:1] in _SIGNS:
        sign, body = _SIGNS[body[0]], body[1:].strip()
    if sign == 1 and body[:1] == "(" and body[-1:] == ")":
        sign, body = -1, body[1:-1].strip()
    body = _peel_currency(body)
    if sign == 1 and body[:1] in _SIGNS:
        sign, body = _SIGNS[body[0]], body[1:].strip()
    shape = next((shape for shape in _SHAPES if shape[0].fullmatch(body)), None)
    if shape is None:
        return None
    _, group, mark = shape
    if mark == "?":
        group, mark = ("", ",") if decimal == "comma" else (",", "")
    if mark == "*":
        mark = "," if "," in body else "."
    for char in group:
        body = body.replace(char, "")
    if mark:
        body = body.replace(mark, ".")
    if "." not in body:
        return sign * int(body)
    return sign * float(body)


def read_number(cell: Any, decimal: str = "comma") -> Any:
    """A Zoho Currency/Decimal value: a JSON number as it is, a text in a Greek ERP's
    formats (:func:`parse_amount`); with more than 16 digits before the point, unusable."""
    if isinstance(cell, bool):
        return LEFT_OUT
    if isinstance(cell, str):
        if not cell.strip():
            return None
        value: Any = parse_amount(cell, decimal)
        if value is None:
            return LEFT_OUT
    elif isinstance(cell, int | float):
        value = cell
    elif cell is None:
        return None
    else:
        return LEFT_OUT
    if isinstance(value, float) and not math.isfinite(value):
        return LEFT_OUT
    return value if abs(value) < NUMBER_BOUND else LEFT_OUT


def read_revision(cell: Any) -> Any:
    """A revision: a whole number from 0 to 999,999,999 (integral floats and numerals too)."""
    value = read_number(cell)
    if value is None or value is LEFT_OUT:
        return value
    if isinstance(value, float):
        if not value.is_integer():
            return LEFT_OUT
        value = int(value)
    return value if 0 <= value <= REVISION_MAX else LEFT_OUT


# -- dates (quote headers) ----------------------------------------------------------------

_DATE_SHAPES: tuple[tuple[re.Pattern[str], tuple[int, int, int]], ...] = (
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?"), (1, 2, 3)),  # ISO date (and time)
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), (3, 2, 1)),  # dd/MM/yyyy
)
_EPOCH_MS = re.compile(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/")  # ServiceStack's JSON date


def read_date(cell: Any) -> Any:
    """A Galaxy date as Zoho's ``yyyy-MM-dd`` (ISO, ``dd/MM/yyyy`` or ``/Date(ms)/``)."""
    text = read_text(cell)
    if text is None or text is LEFT_OUT:
        return text
    try:
        for pattern, (year, month, day) in _DATE_SHAPES:
            if found := pattern.fullmatch(str(text)):
                return date(int(found[year]), int(found[month]), int(found[day])).isoformat()
        if found := _EPOCH_MS.fullmatch(str(text)):
            return datetime.fromtimestamp(int(found[1]) / 1000, tz=UTC).date().isoformat()
    except (ValueError, OverflowError, OSError):
        pass
    return LEFT_OUT
