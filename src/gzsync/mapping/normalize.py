"""Normalising Galaxy values: one pure function per kind of value.

Every function takes whatever a Galaxy row cell may hold (str, int, float, bool, None,
or anything a broken view could send) and returns either

- the normalised value,
- ``None`` when the value is *absent*: ``None``, ``""`` or whitespace only, or
- raises :class:`InvalidValue` when a value is present but unusable; its ``note`` says
  why in a few words, with the offending value echoed and cut to ~40 characters.

What the mapping then does with an absent or invalid value is data (see
:mod:`gzsync.mapping.tables`), not a concern of this module.

Decisions where SPEC §3 is silent:

- Text: strings are trimmed (Unicode whitespace). Integers and finite floats are turned
  into text (a numeric ``CUSTCODE`` is still a code); booleans, lists, dicts, NaN and
  infinities are invalid. Lone UTF-16 surrogates (which ``json.loads`` lets through from
  ``\\ud800`` escapes) are invalid: they cannot be encoded to send to Zoho.
- Numbers: JSON numbers are taken as they are (booleans, NaN and infinities are invalid).
  Strings are read by :func:`parse_number` in the forms a Greek ERP view renders:
  ``1234.56`` (a single point is a decimal point), ``1234,56`` and ``1.234.567,56`` /
  ``1.234,56`` (Greek: points group thousands, the comma is the decimal separator), and
  ``1,234,567.56`` (comma groups followed by a point); thousands may also be grouped by
  spaces (``1 234,56``, no-break spaces too); surrounding spaces, a sign (``-``, ``+``,
  ``−``), accounting parentheses (``(12,50)`` is -12.5) and a currency sign or code
  before or after (``€``, ``$``, ``£``, ``EUR``, ``USD``) are allowed. The one ambiguous
  shape, a single comma followed by exactly three digits (``1,234``, ``12,345``), follows
  ``NUMBER_DECIMAL``: ``comma`` (the default: 1.234, the Greek reading) or ``dot``
  (1234). A single point is always a decimal point (``1.234`` is 1.234 in both modes:
  otherwise ``1234.56``-style views would break). Anything else (``N/A``, ``-``, ``—``,
  ``1e5``, ``١٢٣``) is invalid. Decimals are passed on as they come (Zoho keeps up to 9
  and rounds to the field's own precision); Galaxy's money columns carry 2-4.
- Revisions: non-negative integers; an integral float or numeric string is accepted.
- Ids: text, trimmed and upper-cased (Galaxy GUIDs come in either case).
- Digits (TIN): every ASCII digit of the text, in order; an int keeps its digits as they
  are (a leading zero lost by the ERP is not guessed back). Text with no digit at all
  (``N/A``) is invalid.
- Phones: SPEC §3 — ``. - ( )`` and whitespace removed, kept only if the rest matches
  ``^\\+?\\d{8,15}$`` (ASCII digits); otherwise invalid. A value made only of separators
  (``-``) is absent.
- E-mails: trimmed, case kept, checked by :func:`is_email`.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

__all__ = [
    "PHONE_PATTERN",
    "PHONE_SEPARATORS",
    "PLAIN_NUMBER",
    "DecimalMark",
    "InvalidValue",
    "digits",
    "echo",
    "email",
    "has_surrogates",
    "identifier",
    "is_email",
    "is_phone",
    "number",
    "parse_number",
    "phone",
    "revision",
    "text",
]


class InvalidValue(ValueError):
    """A present value that cannot be normalised; ``note`` says why in a few words."""

    def __init__(self, note: str) -> None:
        self.note = note
        super().__init__(note)


def echo(value: Any, limit: int = 40) -> str:
    """A short, printable rendering of `value` for messages (never huge)."""
    shown = repr(value) if not isinstance(value, str) else repr(value[: limit + 1])
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return shown


def _type_name(value: Any) -> str:
    return type(value).__name__


_SURROGATES = re.compile("[\ud800-\udfff]")


def has_surrogates(value: str) -> bool:
    """True when `value` holds lone UTF-16 surrogates, which cannot be sent as UTF-8."""
    return _SURROGATES.search(value) is not None


def text(value: Any) -> str | None:
    """Trimmed text, ``None`` when absent; raises InvalidValue for non-text values."""
    if isinstance(value, str):
        s: str = value.strip()
        if not s:
            return None
        # isascii() is a cheap C check that spares the regex for most values.
        if not s.isascii() and has_surrogates(s):
            raise InvalidValue(f"{echo(s)} is not valid Unicode text")
        return s
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidValue(f"{value!r} is a boolean, not text")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValue(f"{value!r} is not text")
        return str(int(value)) if value.is_integer() else repr(value)
    raise InvalidValue(f"a {_type_name(value)} ({echo(value)}) is not text")


def identifier(value: Any) -> str | None:
    """An id: trimmed, upper-cased text (``None`` when absent)."""
    if isinstance(value, float):
        # A float id has lost digits already; refusing it is safer than guessing.
        raise InvalidValue(f"{echo(value)} is a decimal number, not an id")
    result = text(value)
    return None if result is None else result.upper()


PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")

#: How ``1,234`` (one comma, three digits after it) is read: ``comma`` = 1.234, ``dot`` = 1234.
DecimalMark = Literal["comma", "dot"]

# The body of a number, once sign, currency and spaces are taken off (see parse_number).
_DOT_DECIMAL = re.compile(r"[0-9]*\.[0-9]+|[0-9]+")
_COMMA_DECIMAL = re.compile(r"[0-9]*,[0-9]+")
_AMBIGUOUS = re.compile(r"[0-9]{1,3},[0-9]{3}")
_GREEK_GROUPED = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?")
_ENGLISH_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_SPACE_GROUPED = re.compile(r"[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+(?:[.,][0-9]+)?")
_CURRENCY = re.compile(r"^(?:[€$£]|EUR|USD|GBP)\s*|\s*(?:[€$£]|EUR|USD|GBP)$", re.IGNORECASE)
_MINUS = ("-", "\u2212")
#: Longer text is no number we could send anyway (Zoho takes 16 digits before the point).
_NUMBER_TEXT_MAX = 100


def _from_float(value: float) -> float:
    if not math.isfinite(value):
        raise InvalidValue(f"{value!r} is not a finite number")
    return value


def _strip_sign(s: str) -> tuple[bool, str]:
    """(negative, rest) for a leading sign; the rest is trimmed."""
    if s[:1] in _MINUS:
        return True, s[1:].strip()
    if s[:1] == "+":
        return False, s[1:].strip()
    return False, s


def _body(s: str, decimal: DecimalMark) -> str | None:
    """`s` (no sign, no currency, no spaces around) as ``digits[.digits]``, or None.

    The separators present pick the one pattern to check (one regex per value: this runs
    for every amount a view sends as text).
    """
    if not s.isascii() or " " in s:
        if not _SPACE_GROUPED.fullmatch(s):
            return None
        s = s.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    commas = s.count(",")
    if not commas:
        if s.count(".") <= 1:
            return s if _DOT_DECIMAL.fullmatch(s) else None  # 1234.56 (1.234 too)
        return s.replace(".", "") if _GREEK_GROUPED.fullmatch(s) else None  # 1.234.567
    if "." not in s:
        if commas == 1:
            if _AMBIGUOUS.fullmatch(s):  # 1,234
                return s.replace(",", ".") if decimal == "comma" else s.replace(",", "")
            return s.replace(",", ".") if _COMMA_DECIMAL.fullmatch(s) else None  # 1234,56
        return s.replace(",", "") if _ENGLISH_GROUPED.fullmatch(s) else None  # 1,234,567
    if s.rfind(",") > s.rfind("."):  # 1.234,56
        return s.replace(".", "").replace(",", ".") if _GREEK_GROUPED.fullmatch(s) else None
    return s.replace(",", "") if _ENGLISH_GROUPED.fullmatch(s) else None  # 1,234.56


def parse_number(raw: str, decimal: DecimalMark = "comma") -> int | float | None:
    """The number a Greek ERP view rendered as `raw`, or None when it is no number.

    Never raises. Formats: see the module docstring. Whole numbers come back as ``int``.
    """
    s = raw.strip()
    if not s or len(s) > _NUMBER_TEXT_MAX:
        return None
    negative = False
    if not (s[-1].isdigit() and (s[0].isdigit() or (s[0] in _MINUS and s[1:2].isdigit()))):
        # signs, parentheses, currency: the rarer shapes
        negative, s = _strip_sign(s)
        if s[:1] == "(" and s[-1:] == ")" and not negative:
            negative, s = True, s[1:-1].strip()
        s = _CURRENCY.sub("", s, count=2).strip()
        if not negative:  # "€ -12,50": the sign after the currency sign
            negative, s = _strip_sign(s)
    elif s[0] in _MINUS:
        negative, s = True, s[1:]
    body = _body(s, decimal)
    if body is None:
        return None
    if "." not in body:
        return -int(body) if negative else int(body)
    value = float(body)
    if not math.isfinite(value):
        return None
    return -value if negative else value


def number(value: Any, decimal: DecimalMark = "comma") -> int | float | None:
    """A number from a JSON number or a numeric string (see module docstring for formats)."""
    if isinstance(value, bool):
        raise InvalidValue(f"{value!r} is a boolean, not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _from_float(value)
    if isinstance(value, str):
        if not value or value.isspace():
            return None
        parsed = parse_number(value, decimal)
        if parsed is None:
            raise InvalidValue(f"{echo(value.strip())} is not a number")
        return parsed
    if value is None:
        return None
    raise InvalidValue(f"a {_type_name(value)} ({echo(value)}) is not a number")


def revision(value: Any) -> int | None:
    """A revision number: a non-negative integer (``None`` when absent)."""
    result: int
    if type(value) is int:  # the common case, first
        result = value
    else:
        parsed = number(value)
        if parsed is None:
            return None
        if isinstance(parsed, float):
            if not parsed.is_integer():
                raise InvalidValue(f"{echo(value)} is not a whole number")
            parsed = int(parsed)
        result = parsed
    if result < 0:
        raise InvalidValue(f"{echo(value)} is negative")
    return result


_NON_DIGITS = re.compile(r"[^0-9]+")


def digits(value: Any) -> str | None:
    """The ASCII digits of a value, in order (a TIN); ``None`` when absent."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InvalidValue(f"{echo(value)} is negative")
        return str(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and value >= 0:
        return str(int(value))
    s = text(value)
    if s is None:
        return None
    if s.isascii() and s.isdigit():
        return s
    result = _NON_DIGITS.sub("", s)
    if not result:
        raise InvalidValue(f"{echo(s)} has no digits")
    return result


# SPEC §3: ". - ( )" and spaces go; we also drop tabs, newlines and no-break spaces.
PHONE_SEPARATORS = str.maketrans("", "", ".-() \t\r\n\u00a0")
PHONE_PATTERN = re.compile(r"\+?[0-9]{8,15}")


def is_phone(value: str) -> bool:
    """True when `value` is an already cleaned phone number Zoho accepts (SPEC §3)."""
    return len(value) <= 16 and PHONE_PATTERN.fullmatch(value) is not None


def phone(value: Any) -> str | None:
    """A cleaned phone number per SPEC §3 (``None`` when absent)."""
    s: str
    if isinstance(value, str):
        s = value
    elif isinstance(value, int) and not isinstance(value, bool):
        s = str(value)
    elif value is None:
        return None
    else:
        raise InvalidValue(f"a {_type_name(value)} ({echo(value)}) is not a phone number")
    cleaned = s.translate(PHONE_SEPARATORS)
    if not cleaned.strip():
        return None
    if PHONE_PATTERN.fullmatch(cleaned) is None:
        raise InvalidValue(f"{echo(s.strip())} is not a phone number (8-15 digits)")
    return cleaned


#: Longest e-mail we send. Zoho's limit for Email fields is UNCONFIRMED (zoho-crm-api.md
#: §7); 100 is conservative: a longer address is dropped with a warning, which is milder
#: than Zoho refusing the whole contact.
EMAIL_MAX_LENGTH = 100

# Close to Zoho's documented rule (zoho-crm-api.md §7): Unicode letters allowed, a dotted
# local part of the usual atext characters, a domain of 4-256 characters made of labels
# that start and end with a letter or digit, and a TLD of 2-22 letters. The lookaheads
# bound the lengths first, which also bounds backtracking on huge inputs.
_ATEXT = r"[\w!#$%&'*+/=?^`{|}~-]"
_LABEL = r"[^\W_](?:(?:[^\W_]|-)*[^\W_])?"
_EMAIL = re.compile(
    rf"(?=.{{3,{EMAIL_MAX_LENGTH}}}\Z){_ATEXT}+(?:\.{_ATEXT}+)*"
    rf"@(?=.{{4,256}}\Z)(?:{_LABEL}\.)+[^\W\d_]{{2,22}}\Z",
    re.DOTALL,
)


def is_email(value: str) -> bool:
    """True when `value` is an e-mail address Zoho accepts (a practical approximation)."""
    return _EMAIL.match(value) is not None and not has_surrogates(value)


def email(value: Any) -> str | None:
    """A trimmed, valid e-mail address (``None`` when absent)."""
    s = text(value)
    if s is None:
        return None
    if not is_email(s):
        raise InvalidValue(f"{echo(s)} is not a valid e-mail address")
    return s
