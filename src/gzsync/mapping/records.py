"""Galaxy rows into Zoho records: the mapping entry points.

Each ``map_*`` function turns one Galaxy row into either a :class:`Mapped` record, whose
payload Zoho will take (it always passes :func:`gzsync.mapping.validate.validate_payload`),
or a :class:`Rejected` one with a short reason code and a sentence. They never raise on
any row shape: missing columns, ``None``, wrong types, huge or odd Unicode strings.

What happens to each value (the policy is data, in :mod:`gzsync.mapping.tables`):

- absent (None, "", whitespace) in an optional field → ``None`` in the payload, which
  clears the field in Zoho (parity: a phone removed in Galaxy is removed in Zoho);
- invalid in an optional text, TIN, phone or e-mail field (``n/a`` as a phone, a bad
  address, a 300-character street) → left out of the payload, so Zoho keeps what it has,
  and a warning on the record (``"Email dropped: EMAIL 'x@' is not a valid e-mail address"``);
- invalid in a number field (``N/A`` as a balance, more than 16 digits) → rejected with
  ``invalid_number``;
- absent or invalid key, revision, name (``Account_Name``, ``Last_Name``) → rejected with
  ``missing_<x>``, ``invalid_<x>`` or ``<x>_too_long`` where x is ``trader_id``,
  ``contact_id``, ``revision``, ``name`` or ``last_name`` (names are never truncated);
  a revision must be a whole number from 0 to 999,999,999 (a Zoho integer field);
- contacts without a usable customer ``TRDRID`` → ``missing_parent_key`` /
  ``invalid_parent_key``; an unusable ``AFFILIATES_CUST_TRDRID`` is only a warning;
- a row that is not a JSON object → ``invalid_row``.

Rejected rows without a key are named ``?rev=<rev>``, or ``?row=<hash>`` (a stable hash
of the row's content) when the revision is missing too.

With several source columns (``Account_Name``), the first column holding a usable value
wins; a value that cannot be text (a list, a boolean) is skipped with a warning. A first
usable name that is too long rejects the record rather than falling back to the next
column, which would change the name silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gzsync.config import DEFAULT_CONTACT_COLUMNS
from gzsync.mapping import normalize
from gzsync.mapping.normalize import (
    PHONE_PATTERN,
    PHONE_SEPARATORS,
    PLAIN_NUMBER,
    InvalidValue,
    echo,
    has_surrogates,
)
from gzsync.mapping.tables import (
    AFFILIATE,
    CARD_NUMBER_COLUMN,
    CONTACT,
    CUSTOMER,
    TEXT_MAX,
    FieldRule,
    Kind,
    Table,
    contact_table,
)
from gzsync.mapping.validate import INTEGER_MAX, NUMBER_LIMIT, Check, checker

__all__ = [
    "Mapped",
    "Rejected",
    "has_member_card",
    "map_affiliate",
    "map_contact",
    "map_customer",
]


@dataclass(frozen=True, slots=True)
class Mapped:
    """A Galaxy row ready to upsert: its key, revision and Zoho payload.

    `payload` maps Zoho API names to values; ``None`` clears a field. Lookups
    (``Affiliate_To``, a contact's ``Account_Name``) are added by the pipeline.
    """

    key: str  # Trader_ID (customers, affiliates) or Galaxy_Contact_ID (contacts)
    rev: int  # THIRDPARTYREVNUM / AFFILIATES_REVNUM / CONTACTS_REVNUM
    payload: dict[str, Any]
    warnings: tuple[str, ...] = ()  # values dropped from the payload, and why
    parent_key: str | None = None  # contacts: the customer's Trader_ID; affiliates: if given
    card_holder: bool = False  # customers: member card number and a revision > 0


@dataclass(frozen=True, slots=True)
class Rejected:
    """A Galaxy row we will not send, with the reason."""

    key: str  # the record key, or "?rev=<rev>" / "?row=<hash>" when the row has none
    rev: int  # 0 when the row has no usable revision
    reason: str  # short code: missing_trader_id, name_too_long, invalid_number ...
    field: str | None  # the Zoho field (or Galaxy column) concerned
    detail: str  # one sentence, with echoed values cut to ~40 characters


_NORMALISERS: dict[Kind, Callable[[Any], Any]] = {
    "text": normalize.text,
    "id": normalize.identifier,
    "digits": normalize.digits,
    "phone": normalize.phone,
    "email": normalize.email,
    "currency": normalize.number,
    "decimal": normalize.number,
    "revision": normalize.revision,
}

# Fast-path families. The hot loop of _map_row handles the common shape of each kind
# inline (a clean string, a finite number) and hands everything else to _resolve, the
# general path that knows every odd case. Both give the same result: the fast path only
# accepts values that _resolve would accept unchanged.
_SLOW, _TEXT, _NUMBER, _DIGITS, _PHONE = 0, 1, 2, 3, 4
_FAST_FAMILY: dict[Kind, int] = {
    "text": _TEXT,
    "currency": _NUMBER,
    "decimal": _NUMBER,
    "digits": _DIGITS,
    "phone": _PHONE,
}


@dataclass(frozen=True, slots=True)
class _Step:
    """A rule prepared for the hot loop: its normaliser and check looked up once."""

    field: str
    sources: tuple[str, ...]
    normalise: Callable[[Any], Any]
    check: Check
    required: bool
    reject: bool  # an invalid value rejects the record (else: dropped with a warning)
    reason: str  # stem of the rejection code


def _step(rule: FieldRule) -> _Step:
    reason = rule.reason or ("number" if rule.kind in ("currency", "decimal") else "value")
    return _Step(
        rule.zoho_field,
        rule.sources,
        _NORMALISERS[rule.kind],
        checker(rule),
        rule.required,
        rule.required or rule.on_invalid == "reject",
        reason,
    )


# (field, first source, fast family, limit, nullable, step): tuples unpack faster than
# attribute reads in the loop that runs 20 times per row.
_Hot = tuple[str, str, int, int, bool, _Step]


@dataclass(frozen=True, slots=True)
class _Plan:
    key: _Step
    revision: _Step
    hot: tuple[_Hot, ...]
    copies: tuple[tuple[str, str], ...]  # (field, earlier field with the very same rule)
    parent: tuple[str, bool] | None  # (column, required)
    card_holders: bool  # customers: compute `card_holder`
    key_column: str
    rev_column: str


def _hot(rule: FieldRule) -> _Hot:
    limit = rule.max_length or TEXT_MAX
    if rule.kind in ("currency", "decimal"):
        limit = NUMBER_LIMIT
    nullable = not rule.required and len(rule.sources) == 1
    family = _FAST_FAMILY.get(rule.kind, _SLOW)
    return (rule.zoho_field, rule.sources[0], family, limit, nullable, _step(rule))


def _plan(table: Table) -> _Plan:
    parent = None if table.parent_column is None else (table.parent_column, table.parent_required)
    # Billing_* and Shipping_* read the same column the same way: normalise it once.
    first_of: dict[tuple[object, ...], str] = {}
    hot: list[_Hot] = []
    copies: list[tuple[str, str]] = []
    for rule in table.fields:
        same = (rule.sources, rule.kind, rule.max_length, rule.required, rule.on_invalid)
        if same in first_of:
            copies.append((rule.zoho_field, first_of[same]))
        else:
            first_of[same] = rule.zoho_field
            hot.append(_hot(rule))
    return _Plan(
        _step(table.key),
        _step(table.revision),
        tuple(hot),
        tuple(copies),
        parent,
        table.entity == "customer",
        table.key.sources[0],
        table.revision.sources[0],
    )


_CUSTOMER_PLAN = _plan(CUSTOMER)
_AFFILIATE_PLAN = _plan(AFFILIATE)
_CONTACT_PLAN = _plan(CONTACT)
_contact_plans: dict[tuple[tuple[str, str], ...], _Plan] = {}


class _Refused(Exception):
    """Internal: a rule rejects the row (carries what Rejected needs)."""

    def __init__(self, reason: str, field: str, detail: str) -> None:
        self.reason = reason
        self.field = field
        self.detail = detail


def _resolve(step: _Step, row: Mapping[str, Any], warnings: list[str]) -> tuple[bool, Any]:
    """(present, value) for one field of `row`; raises _Refused when the rule rejects it.

    `present` is False when the value is invalid and dropped: the field stays out of the
    payload. An absent value is (True, None): the field is cleared in Zoho.
    """
    sources = step.sources
    column = sources[0]
    value: Any = None
    for column in sources:
        raw = row.get(column)
        if raw is None:
            continue
        try:
            value = step.normalise(raw)
        except InvalidValue as exc:
            if len(sources) > 1:
                warnings.append(f"{step.field}: skipped {column}, {exc.note}")
                continue
            if step.reject:
                detail = f"{column} {exc.note}"
                raise _Refused(f"invalid_{step.reason}", step.field, detail) from None
            warnings.append(f"{step.field} dropped: {column} {exc.note}")
            return False, None
        if value is not None:
            break
    if value is None:
        if step.required:
            names = " / ".join(sources)
            raise _Refused(f"missing_{step.reason}", step.field, f"{names} is empty")
        return True, None
    problem = step.check(value)
    if problem is None:
        return True, value
    code, phrase = problem
    detail = f"{column} {echo(value)} {phrase}"
    if step.reject:
        reason = f"{step.reason}_too_long" if code == "too_long" else f"invalid_{step.reason}"
        raise _Refused(reason, step.field, detail)
    warnings.append(f"{step.field} dropped: {detail}")
    return False, None


_PHONE_MATCH = PHONE_PATTERN.fullmatch
_PLAIN_NUMBER_MATCH = PLAIN_NUMBER.fullmatch


def _row_hash(row: Mapping[str, Any]) -> str:
    """A stable short id for a row that has neither key nor revision."""
    try:
        items = sorted((str(k), repr(v)) for k, v in row.items())
    except Exception:  # a row we cannot even list: still give it a stand-in
        items = [("row", repr(type(row)))]
    digest = hashlib.blake2b(
        repr(items).encode("utf-8", "backslashreplace"), digest_size=6
    ).hexdigest()
    return f"?row={digest}"


def _map_row(plan: _Plan, row: Mapping[str, Any]) -> Mapped | Rejected:
    """Map one row with a prepared table; the ``map_*`` functions are the public doors."""
    if type(row) is not dict and not isinstance(row, Mapping):
        detail = f"the row is a {type(row).__name__} ({echo(row)}), not an object"
        return Rejected(_row_hash({"row": row}), 0, "invalid_row", None, detail)
    # The warnings list is made only when needed: most rows have none, and every container
    # allocated counts towards the garbage collector's next pass.
    warnings: list[str] | None = None
    get = row.get
    rev: Any = get(plan.rev_column)
    key: Any = get(plan.key_column)
    # Fast path for the usual shape (an int revision, a clean string key) ...
    if type(key) is str and type(rev) is int and 0 <= rev <= INTEGER_MAX:
        key = key.strip().upper()
    else:
        key = None
    if not key or len(key) > TEXT_MAX or (not key.isascii() and has_surrogates(key)):
        # ... and the general one, which also builds the rejections.
        warnings = []
        key_and_rev = _key_and_revision(plan, row, warnings)
        if isinstance(key_and_rev, Rejected):
            return key_and_rev
        key, rev = key_and_rev

    payload: dict[str, Any] = {plan.key.field: key, plan.revision.field: rev}
    try:
        for field, column, family, limit, nullable, step in plan.hot:
            raw = get(column)
            if raw is None:
                if nullable:
                    payload[field] = None
                    continue
            elif family == _TEXT:
                if type(raw) is str:
                    text = raw.strip()
                    # isprintable() is False for lone surrogates (and for tabs, newlines):
                    # a cheap C check that sends them to the general path.
                    if text and len(text) <= limit and (text.isascii() or text.isprintable()):
                        payload[field] = text
                        continue
            elif family == _NUMBER:
                kind = type(raw)
                if kind is float or kind is int:
                    if -limit < raw < limit:  # False for NaN too
                        payload[field] = raw
                        continue
                elif kind is str and _PLAIN_NUMBER_MATCH(raw) is not None:
                    value = float(raw) if "." in raw else int(raw)
                    if -limit < value < limit:
                        payload[field] = value
                        continue
            elif family == _DIGITS:
                if type(raw) is str:
                    text = raw.strip()
                    if text and text.isascii() and text.isdigit() and len(text) <= limit:
                        payload[field] = text
                        continue
            elif family == _PHONE and type(raw) is str:
                text = raw.translate(PHONE_SEPARATORS)
                if len(text) <= limit and _PHONE_MATCH(text) is not None:
                    payload[field] = text
                    continue
            # Everything else: absent values of required fields, other types, bad values.
            if warnings is None:
                warnings = []
            present, value = _resolve(step, row, warnings)
            if present:
                payload[field] = value
        for field, original in plan.copies:
            if original in payload:
                payload[field] = payload[original]
            else:
                warnings = warnings if warnings is not None else []
                warnings.append(f"{field} dropped: same value as {original}")
        parent_key = None
        if plan.parent is not None:
            warnings = warnings if warnings is not None else []
            parent_key = _parent_key(plan.parent, row, warnings)
    except _Refused as refused:
        return Rejected(key, rev, refused.reason, refused.field, refused.detail)
    card_holder = False
    if plan.card_holders and rev > 0:
        card = get(CARD_NUMBER_COLUMN)
        card_holder = bool(card.strip()) if type(card) is str else has_member_card(row)
    return Mapped(key, rev, payload, tuple(warnings) if warnings else (), parent_key, card_holder)


def _key_and_revision(
    plan: _Plan, row: Mapping[str, Any], warnings: list[str]
) -> tuple[str, int] | Rejected:
    """The record's key and revision, or the rejection that names what is wrong."""
    # The revision first: a rejection for a missing key still reports it.
    rev = 0
    rev_refusal: _Refused | None = None
    try:
        rev = _resolve(plan.revision, row, warnings)[1]
    except _Refused as refused:
        rev_refusal = refused
    try:
        key = _resolve(plan.key, row, warnings)[1]
    except _Refused as refused:
        stand_in = f"?rev={rev}" if rev_refusal is None else _row_hash(row)
        return Rejected(stand_in, rev, refused.reason, refused.field, refused.detail)
    if rev_refusal is not None:
        return Rejected(key, 0, rev_refusal.reason, rev_refusal.field, rev_refusal.detail)
    return key, rev


def _parent_key(
    parent: tuple[str, bool], row: Mapping[str, Any], warnings: list[str]
) -> str | None:
    column, required = parent
    try:
        parent_key = normalize.identifier(row.get(column))
    except InvalidValue as exc:
        if required:
            raise _Refused("invalid_parent_key", column, f"{column} {exc.note}") from None
        warnings.append(f"{column} ignored: {exc.note}")
        return None
    if parent_key is None and required:
        raise _Refused("missing_parent_key", column, f"{column} is empty")
    return parent_key


def has_member_card(row: Mapping[str, Any]) -> bool:
    """True when the customer row's member card number is non-empty (SPEC §1 step 4)."""
    try:
        return normalize.text(row.get(CARD_NUMBER_COLUMN)) is not None
    except InvalidValue:
        return False  # a list or a boolean is not a card number


def map_customer(row: Mapping[str, Any]) -> Mapped | Rejected:
    """A customer row of ``zh_Customers_fin`` as a Zoho Account (SPEC §3)."""
    return _map_row(_CUSTOMER_PLAN, row)


def map_affiliate(row: Mapping[str, Any]) -> Mapped | Rejected:
    """An affiliate row of ``ZH_AFFILIATE`` as a Zoho Account (SPEC §3).

    `parent_key` is ``AFFILIATES_CUST_TRDRID`` when the view has it; the link itself is
    made by revision in :func:`gzsync.sync.linking.link_affiliates`.
    """
    return _map_row(_AFFILIATE_PLAN, row)


def map_contact(
    row: Mapping[str, Any], columns: Mapping[str, str] = DEFAULT_CONTACT_COLUMNS
) -> Mapped | Rejected:
    """A contacts-view row as a Zoho Contact; `columns` names the view's columns.

    `parent_key` is the customer's ``Trader_ID`` (the row's TRDRID, upper-cased).
    """
    return _map_row(_contact_plan(columns), row)


def _contact_plan(columns: Mapping[str, str]) -> _Plan:
    if columns is DEFAULT_CONTACT_COLUMNS:
        return _CONTACT_PLAN
    cache_key = tuple(sorted(columns.items()))
    plan = _contact_plans.get(cache_key)
    if plan is None:
        plan = _contact_plans[cache_key] = _plan(contact_table(columns))
    return plan
