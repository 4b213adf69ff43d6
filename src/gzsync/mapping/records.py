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
from typing import Any, cast

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


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which made
# building a Mapped cost five times as much (a tenth of mapping a row). Treat it as read-only.
@dataclass(slots=True)
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

# Fast-path families: the kinds whose common shape (a clean string, a finite number) the
# compiled fill function of a plan checks inline; see _compile_fill.
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
    """A rule prepared for mapping: its normaliser and check looked up once."""

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


# (field, first source, fast family, limit, nullable, step): one field of the fill function.
_Hot = tuple[str, str, int, int, bool, _Step]

#: A plan's compiled fill function: (row, row.get, key, rev, warnings) -> the payload.
#: It raises _Refused when a field rejects the row, and appends to `warnings`.
_Fill = Callable[[Mapping[str, Any], Callable[[str], Any], str, int, list[str]], dict[str, Any]]


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
    fill: _Fill


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
    key, revision = _step(table.key), _step(table.revision)
    return _Plan(
        key,
        revision,
        tuple(hot),
        tuple(copies),
        parent,
        table.entity == "customer",
        table.key.sources[0],
        table.revision.sources[0],
        _compile_fill(key.field, revision.field, tuple(hot), tuple(copies)),
    )


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


_DROPPED = object()  # in a fill function's payload: the field stays out of it


def _general(step: _Step, row: Mapping[str, Any], warnings: list[str]) -> Any:
    """_resolve for the fill functions: the value, or _DROPPED."""
    present, value = _resolve(step, row, warnings)
    return value if present else _DROPPED


def _without_dropped(
    payload: dict[str, Any], copies: tuple[tuple[str, str], ...], warnings: list[str]
) -> dict[str, Any]:
    """The payload without its dropped fields, and a warning for each dropped copy."""
    for field, original in copies:
        if payload[original] is _DROPPED:
            warnings.append(f"{field} dropped: same value as {original}")
    return {field: value for field, value in payload.items() if value is not _DROPPED}


# The fast path of each family, as (condition, value) source: it accepts only values that
# _resolve would accept unchanged, so both paths give the same result. `raw` is the cell,
# `{limit}` the field's limit; anything the conditions refuse goes to _general.
_FAST_SOURCE: dict[int, tuple[tuple[str, str], ...]] = {
    _SLOW: (),
    # isprintable() is False for lone surrogates (and for tabs, newlines): a cheap C check
    # that sends them to the general path.
    _TEXT: (
        (
            "type(raw) is str and (t := raw.strip()) and len(t) <= {limit}"
            " and (t.isascii() or t.isprintable())",
            "t",
        ),
    ),
    _NUMBER: (
        # The comparisons are False for NaN too.
        ("((kind := type(raw)) is float or kind is int) and -{limit} < raw < {limit}", "raw"),
        (
            "kind is str and _plain_number(raw) is not None"
            ' and -{limit} < (n := float(raw) if "." in raw else int(raw)) < {limit}',
            "n",
        ),
    ),
    _DIGITS: (
        (
            "type(raw) is str and (t := raw.strip()) and t.isascii() and t.isdigit()"
            " and len(t) <= {limit}",
            "t",
        ),
    ),
    _PHONE: (
        (
            "type(raw) is str and len(t := raw.translate(_phone_separators)) <= {limit}"
            " and _phone_match(t) is not None",
            "t",
        ),
    ),
}


def _compile_fill(
    key_field: str,
    rev_field: str,
    hot: tuple[_Hot, ...],
    copies: tuple[tuple[str, str], ...],
) -> _Fill:
    """A plan's fill function: the fields' fast paths as straight-line code.

    Generated rather than a loop over the rules because the loop's own bookkeeping
    (unpacking a rule, choosing its branch, one dict store per field) cost more than the
    checks themselves: mapping a customer row got about a fifth faster. Each field reads::

        raw = get(_column3)
        if type(raw) is str and (t := raw.strip()) and len(t) <= 255 and (...):
            v3 = t
        elif raw is None:  # optional single-column fields only
            v3 = None
        else:
            v3 = _general(_step3, row, warnings)

    and one dict display builds the payload in rule order (key, revision, other fields,
    then copies). Only names made here and integer limits reach the source: columns
    and fields come from the namespace (contact columns come from configuration).
    """
    namespace: dict[str, Any] = {
        "_general": _general,
        "_without_dropped": _without_dropped,
        "_plain_number": PLAIN_NUMBER.fullmatch,
        "_phone_match": PHONE_PATTERN.fullmatch,
        "_phone_separators": PHONE_SEPARATORS,
        "_copies": copies,
        "_key_field": key_field,
        "_rev_field": rev_field,
    }
    lines = ["def fill(row, get, key, rev, warnings):"]
    entries = ["_key_field: key", "_rev_field: rev"]
    value_of: dict[str, str] = {}
    for i, (field, column, family, limit, nullable, step) in enumerate(hot):
        namespace[f"_column{i}"] = column
        namespace[f"_field{i}"] = field
        namespace[f"_step{i}"] = step
        lines.append(f"    raw = get(_column{i})")
        branches = [
            (condition.format(limit=int(limit)), value) for condition, value in _FAST_SOURCE[family]
        ]
        if nullable:
            branches.append(("raw is None", "None"))
        for n, (condition, value) in enumerate(branches):
            lines.append(f"    {'if' if n == 0 else 'elif'} {condition}:")
            lines.append(f"        v{i} = {value}")
        general = f"v{i} = _general(_step{i}, row, warnings)"
        lines.append(f"    else:\n        {general}" if branches else f"    {general}")
        entries.append(f"_field{i}: v{i}")
        value_of[field] = f"v{i}"
    for j, (field, original) in enumerate(copies):
        namespace[f"_copy{j}"] = field
        entries.append(f"_copy{j}: {value_of[original]}")
    lines.append(f"    payload = {{{', '.join(entries)}}}")
    # Every dropped value left a warning: without one, nothing needs filtering.
    lines.append("    return _without_dropped(payload, _copies, warnings) if warnings else payload")
    exec("\n".join(lines), namespace)  # noqa: S102 - our own source, see the docstring
    return cast(_Fill, namespace["fill"])


_CUSTOMER_PLAN = _plan(CUSTOMER)
_AFFILIATE_PLAN = _plan(AFFILIATE)
_CONTACT_PLAN = _plan(CONTACT)
_contact_plans: dict[tuple[tuple[str, str], ...], _Plan] = {}


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
    warnings: list[str] = []
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
        key_and_rev = _key_and_revision(plan, row, warnings)
        if isinstance(key_and_rev, Rejected):
            return key_and_rev
        key, rev = key_and_rev
    try:
        payload = plan.fill(row, get, key, rev, warnings)
        parent_key = None
        if plan.parent is not None:
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
