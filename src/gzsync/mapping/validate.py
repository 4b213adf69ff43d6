"""Zoho's field rules, checked before the upsert (zoho-crm-api.md §7).

A value that breaks one of these rules would make Zoho refuse the whole record with
``INVALID_DATA`` or ``MANDATORY_NOT_FOUND``; checking first turns that into our own
rejection or warning, with a reason, before any API credit is spent.

- Single Line (text, id, digits): a string of at most the field's length (255 default).
- Phone: a string of at most 30 characters matching SPEC §3's pattern.
- Email: a string accepted by :func:`gzsync.mapping.normalize.is_email`.
- Currency and decimal: a finite number (not a boolean) with at most 16 digits before the
  point.
- Revision (Zoho Number, integer): a whole number from 0 to 999,999,999 (9 digits).
- Required fields must be present and not ``None``; ``None`` in an optional field clears
  it in Zoho and is allowed.
- Lookups the pipeline adds (``Affiliate_To``, a contact's ``Account_Name``) must be
  ``{"id": "<digits>"}`` or ``None``.

:func:`check_value` is the per-value check the mapping calls on every field (it must be
cheap); :func:`validate_payload` checks a whole payload, for callers and tests that want
to prove a payload is sendable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from gzsync.mapping.normalize import is_email, is_phone
from gzsync.mapping.tables import TEXT_MAX, FieldRule, Table

__all__ = [
    "LOOKUP_FIELDS",
    "Problem",
    "Violation",
    "check_value",
    "checker",
    "validate_payload",
]

#: Zoho currency and decimal fields: up to 16 digits before the point.
NUMBER_LIMIT = 10**16
#: Zoho Number (integer) fields: up to 9 digits.
INTEGER_MAX = 999_999_999

#: Lookup fields the pipeline adds to payloads, per module.
LOOKUP_FIELDS: dict[str, tuple[str, ...]] = {
    "Accounts": ("Affiliate_To",),
    "Contacts": ("Account_Name",),
}


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: the Zoho field, a code, and a phrase saying what is wrong."""

    field: str
    code: str  # "required", "too_long" or "invalid"
    detail: str


#: A broken rule as the checks return it: (code, phrase), e.g. ("too_long", "is 300 ...").
Problem = tuple[str, str]
Check = Callable[[Any], "Problem | None"]


def _not(value: Any, what: str) -> Problem:
    return ("invalid", f"is a {type(value).__name__}, not {what}")


def _text_check(limit: int) -> Check:
    def check(value: Any) -> Problem | None:
        if type(value) is not str:
            return _not(value, "text")
        if len(value) > limit:
            return ("too_long", f"is {len(value)} characters long (Zoho allows {limit})")
        return None

    return check


def _phone_check(limit: int) -> Check:
    def check(value: Any) -> Problem | None:
        if type(value) is not str:
            return _not(value, "a phone number")
        if len(value) > limit:
            return ("too_long", f"is {len(value)} characters long (Zoho allows {limit})")
        if not is_phone(value):
            return ("invalid", "is not a phone number Zoho accepts")
        return None

    return check


def _email_check(limit: int) -> Check:
    def check(value: Any) -> Problem | None:
        if type(value) is not str:
            return _not(value, "an e-mail address")
        if len(value) > limit:
            return ("too_long", f"is {len(value)} characters long (we allow {limit})")
        if not is_email(value):
            return ("invalid", "is not an e-mail address Zoho accepts")
        return None

    return check


_TOO_BIG: Problem = ("invalid", "has more than 16 digits before the point (Zoho's limit)")


def _number_check(value: Any) -> Problem | None:
    kind = type(value)
    if kind is int:
        return None if -NUMBER_LIMIT < value < NUMBER_LIMIT else _TOO_BIG
    if kind is float:
        if not math.isfinite(value):
            return ("invalid", "is not a finite number")
        return None if -NUMBER_LIMIT < value < NUMBER_LIMIT else _TOO_BIG
    return _not(value, "a number")


def _revision_check(value: Any) -> Problem | None:
    if type(value) is not int:
        return _not(value, "a whole number")
    if not 0 <= value <= INTEGER_MAX:
        return ("invalid", "is outside 0-999,999,999 (Zoho integer fields hold 9 digits)")
    return None


@cache
def checker(rule: FieldRule) -> Check:
    """The check for one rule's non-``None`` values: a :data:`Problem`, or None when fine."""
    limit = rule.max_length or TEXT_MAX
    if rule.kind in ("text", "id", "digits"):
        return _text_check(limit)
    if rule.kind == "phone":
        return _phone_check(limit)
    if rule.kind == "email":
        return _email_check(limit)
    if rule.kind in ("currency", "decimal"):
        return _number_check
    return _revision_check


def check_value(rule: FieldRule, value: Any) -> Problem | None:
    """What is wrong with `value` for `rule`, or None when Zoho takes it."""
    if value is None:
        return ("required", "is required") if rule.required else None
    return checker(rule)(value)


def _is_lookup(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, Mapping) or set(value) != {"id"}:
        return False
    record_id = value["id"]
    return isinstance(record_id, str) and record_id.isascii() and record_id.isdigit()


def validate_payload(table: Table, payload: Mapping[str, Any]) -> list[Violation]:
    """Every rule of `table` that `payload` breaks (an empty list: Zoho would take it)."""
    violations: list[Violation] = []
    for rule in table.rules:
        if rule.zoho_field not in payload:
            if rule.required:
                violations.append(Violation(rule.zoho_field, "required", "is required"))
            continue
        problem = check_value(rule, payload[rule.zoho_field])
        if problem is not None:
            violations.append(Violation(rule.zoho_field, *problem))
    known = {rule.zoho_field for rule in table.rules}
    lookups = LOOKUP_FIELDS[table.module]
    for name, value in payload.items():
        if name in known:
            continue
        if name in lookups:
            if not _is_lookup(value):
                violations.append(Violation(name, "invalid", 'is not {"id": "<record id>"}'))
        else:
            violations.append(Violation(name, "invalid", "is not a field of this mapping"))
    return violations
