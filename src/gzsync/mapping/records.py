"""Galaxy rows into Zoho records: the mapping entry points.

Each ``map_*`` function turns one Galaxy row into either a :class:`Mapped` record, whose
payload Zoho will take (it always passes :func:`gzsync.mapping.validate.validate_payload`),
or a :class:`Rejected` one with a short reason code and a sentence. They never raise on
any row shape: missing columns, ``None``, wrong types, huge or odd Unicode strings.

What happens to each value (the policy is data, in :mod:`gzsync.mapping.tables`):

- absent (None, "", whitespace) in an optional field → ``None`` in the payload, which
  clears the field in Zoho (parity: a phone removed in Galaxy is removed in Zoho);
- invalid in an optional field (``n/a`` as a phone or a balance, a bad address, a
  300-character street, a number with more than 16 digits) → left out of the payload, so
  Zoho keeps what it has, and a :class:`~gzsync.mapping.warnings.FieldWarning` on the
  record (reason ``invalid_number``, ``invalid_email``, ... with the field and the value);
- a name (``Account_Name``, ``Last_Name``) over 255 characters → cut on a word boundary,
  warning ``name_truncated``;
- any other optional text over its Zoho length (a 300-character street, a 150-character
  ``Title``) → cut the same way, warning ``value_truncated`` (see
  :mod:`gzsync.mapping.tables`);
- a contact without a usable last name → ``Last_Name`` from the first name (then
  ``First_Name`` is sent empty) or the e-mail's local part, warning ``last_name_fallback``
  (``CONTACT_NAME_FALLBACK``, :mod:`gzsync.mapping.rules`); with neither → ``missing_name``;
- absent or invalid key, revision, name → rejected with ``missing_<x>`` or ``invalid_<x>``
  where x is ``trader_id``, ``contact_id``, ``revision``, ``name`` or ``last_name`` (the
  latter only with ``CONTACT_NAME_FALLBACK=none``); a revision must be a whole number from
  0 to 999,999,999 (a Zoho integer field);
- contacts without a usable customer ``TRDRID`` → ``missing_parent_key`` /
  ``invalid_parent_key``; an unusable ``AFFILIATES_CUST_TRDRID`` is only a warning;
- a row that is not a JSON object → ``invalid_row``.

Rejected rows without a key are named ``?rev=<rev>``, or ``?row=<hash>`` (a stable hash
of the row's content) when the revision is missing too.

With several source columns (``Account_Name``), the first column holding a usable value
wins; a value that cannot be text (a list, a boolean) is skipped with a warning. A first
usable name that is too long is truncated rather than falling back to the next column,
which would change the name silently.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
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
from gzsync.mapping.rules import DEFAULT_RULES, MappingRules, NameSource
from gzsync.mapping.tables import (
    AFFILIATE,
    CARD_NUMBER_COLUMN,
    CONTACT,
    CUSTOMER,
    LAST_NAME_MAX,
    NAME_FIELDS,
    TEXT_MAX,
    FieldRule,
    Kind,
    Table,
    contact_table,
)
from gzsync.mapping.validate import INTEGER_MAX, NUMBER_LIMIT, Check, checker
from gzsync.mapping.warnings import FieldWarning, shown, truncate_words

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
    warnings: tuple[FieldWarning, ...] = ()  # values dropped or changed, and why
    parent_key: str | None = None  # contacts: the customer's Trader_ID; affiliates: if given
    card_holder: bool = False  # customers: member card number and a revision > 0


@dataclass(frozen=True, slots=True)
class Rejected:
    """A Galaxy row we will not send, with the reason."""

    key: str  # the record key, or "?rev=<rev>" / "?row=<hash>" when the row has none
    rev: int  # 0 when the row has no usable revision
    reason: str  # short code: missing_trader_id, missing_name, invalid_revision ...
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


#: The warning reason of an invalid optional value, per kind (see gzsync.mapping.warnings).
_INVALID_REASON: dict[Kind, str] = {
    "text": "invalid_text",
    "id": "invalid_text",
    "digits": "invalid_tin",
    "phone": "invalid_phone",
    "email": "invalid_email",
    "currency": "invalid_number",
    "decimal": "invalid_number",
    "revision": "invalid_number",
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
    warning: str = "invalid_value"  # reason of the warning when an invalid value is dropped
    truncate: bool = False  # too long: cut on a word boundary with a warning
    limit: int = TEXT_MAX
    truncated: str = "value_truncated"  # reason of the warning when cut


def _step(rule: FieldRule, rules: MappingRules = DEFAULT_RULES) -> _Step:
    reason = rule.reason or ("number" if rule.kind in ("currency", "decimal") else "value")
    normalise = _NORMALISERS[rule.kind]
    if rule.kind in ("currency", "decimal") and rules.number_decimal != "comma":
        normalise = partial(normalize.number, decimal=rules.number_decimal)
    return _Step(
        rule.zoho_field,
        rule.sources,
        normalise,
        checker(rule),
        rule.required,
        rule.required or rule.on_invalid == "reject",
        reason,
        _INVALID_REASON[rule.kind],
        rule.truncate and rule.kind == "text",
        rule.max_length or TEXT_MAX,
        "name_truncated" if rule.zoho_field in NAME_FIELDS else "value_truncated",
    )


# (field, first source, fast family, limit, nullable, step): one field of the fill function.
_Hot = tuple[str, str, int, int, bool, _Step]

#: A plan's compiled fill function: (row, row.get, key, rev, warnings) -> the payload.
#: It raises _Refused when a field rejects the row, and appends to `warnings`.
_Fill = Callable[
    [Mapping[str, Any], Callable[[str], Any], str, int, list[FieldWarning]], dict[str, Any]
]


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
    # contacts: where an empty Last_Name comes from, and the (last, first, e-mail) columns
    name_fallback: tuple[NameSource, ...] = ()
    name_columns: tuple[str, str, str] = ("", "", "")


def _hot(rule: FieldRule, rules: MappingRules = DEFAULT_RULES) -> _Hot:
    limit = rule.max_length or TEXT_MAX
    if rule.kind in ("currency", "decimal"):
        limit = NUMBER_LIMIT
    nullable = not rule.required and len(rule.sources) == 1
    family = _FAST_FAMILY.get(rule.kind, _SLOW)
    return (rule.zoho_field, rule.sources[0], family, limit, nullable, _step(rule, rules))


def _column_of(table: Table, field: str) -> str:
    return next((r.sources[0] for r in table.fields if r.zoho_field == field), field)


def _plan(table: Table, rules: MappingRules = DEFAULT_RULES) -> _Plan:
    parent = None if table.parent_column is None else (table.parent_column, table.parent_required)
    fallback = rules.contact_name_fallback if table.entity == "contact" else ()
    # Billing_* and Shipping_* read the same column the same way: normalise it once.
    first_of: dict[tuple[object, ...], str] = {}
    hot: list[_Hot] = []
    copies: list[tuple[str, str]] = []
    for rule in table.fields:
        if fallback and rule.zoho_field == "Last_Name":
            # optional here: an empty one is filled after the fields (_fallback_last_name)
            rule = replace(rule, required=False)
        same = (
            rule.sources,
            rule.kind,
            rule.max_length,
            rule.required,
            rule.on_invalid,
            rule.truncate,
        )
        if same in first_of:
            copies.append((rule.zoho_field, first_of[same]))
        else:
            first_of[same] = rule.zoho_field
            hot.append(_hot(rule, rules))
    key, revision = _step(table.key, rules), _step(table.revision, rules)
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
        fallback,
        (
            _column_of(table, "Last_Name"),
            _column_of(table, "First_Name"),
            _column_of(table, "Email"),
        ),
    )


class _Refused(Exception):
    """Internal: a rule rejects the row (carries what Rejected needs)."""

    def __init__(self, reason: str, field: str, detail: str) -> None:
        self.reason = reason
        self.field = field
        self.detail = detail


def _resolve(step: _Step, row: Mapping[str, Any], warnings: list[FieldWarning]) -> tuple[bool, Any]:
    """(present, value) for one field of `row`; raises _Refused when the rule rejects it.

    `present` is False when the value is invalid and dropped: the field stays out of the
    payload. An absent value is (True, None): the field is cleared in Zoho.
    """
    sources = step.sources
    column = sources[0]
    value: Any = None
    raw: Any = None
    for column in sources:
        raw = row.get(column)
        if raw is None:
            continue
        try:
            value = step.normalise(raw)
        except InvalidValue as exc:
            if len(sources) > 1:
                detail = f"{step.field}: skipped {column}, {exc.note}"
                warnings.append(FieldWarning(step.field, step.warning, shown(raw), detail))
                continue
            if step.reject:
                detail = f"{column} {exc.note}"
                raise _Refused(f"invalid_{step.reason}", step.field, detail) from None
            detail = f"{step.field} dropped: {column} {exc.note}"
            warnings.append(FieldWarning(step.field, step.warning, shown(raw), detail))
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
    if code == "too_long" and step.truncate and type(value) is str:
        cut = truncate_words(value, step.limit)
        detail = f"{step.field}: {column} cut from {len(value)} to {len(cut)} characters"
        warnings.append(FieldWarning(step.field, step.truncated, shown(value), detail))
        return True, cut
    if step.reject:
        reason = f"{step.reason}_too_long" if code == "too_long" else f"invalid_{step.reason}"
        raise _Refused(reason, step.field, detail)
    reason = "value_too_long" if code == "too_long" else step.warning
    warnings.append(FieldWarning(step.field, reason, shown(raw), f"{step.field} dropped: {detail}"))
    return False, None


_DROPPED = object()  # in a fill function's payload: the field stays out of it
# What the numbers' second fast path takes; parse_number reads these the same way.
_COMMA_NUMBER = re.compile(r"-?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+),[0-9]{1,2}")


def _general(step: _Step, row: Mapping[str, Any], warnings: list[FieldWarning]) -> Any:
    """_resolve for the fill functions: the value, or _DROPPED."""
    present, value = _resolve(step, row, warnings)
    return value if present else _DROPPED


def _without_dropped(
    payload: dict[str, Any], copies: tuple[tuple[str, str], ...], warnings: list[FieldWarning]
) -> dict[str, Any]:
    """The payload without its dropped fields, and a warning for each dropped or cut copy."""
    for field, original in copies:
        if payload[original] is _DROPPED:
            first = next((w for w in warnings if w.field == original), None)
            reason, value = (first.reason, first.value) if first else ("invalid_value", "")
            detail = f"{field} dropped: same value as {original}"
            warnings.append(FieldWarning(field, reason, value, detail))
            continue
        cut = next(
            (w for w in warnings if w.field == original and w.reason == "value_truncated"), None
        )
        if cut is not None:
            detail = f"{field}: cut like {original}"
            warnings.append(FieldWarning(field, cut.reason, cut.value, detail))
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
        # A Greek decimal comma with 1-2 decimals (1.234,56 / 1234,5): never ambiguous.
        (
            "kind is str and _comma_number(raw) is not None"
            " and -{limit} < (n := float(raw.replace('.', '').replace(',', '.'))) < {limit}",
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
        "_comma_number": _COMMA_NUMBER.fullmatch,
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
_contact_plans: dict[tuple[tuple[tuple[str, str], ...], MappingRules], _Plan] = {}
_account_plans: dict[tuple[str, MappingRules], _Plan] = {}


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
    warnings: list[FieldWarning] = []
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
        if plan.name_fallback and payload.get("Last_Name") is None:
            _fallback_last_name(plan, payload, warnings)
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


def _fallback_last_name(plan: _Plan, payload: dict[str, Any], warnings: list[FieldWarning]) -> None:
    """Fill an empty Last_Name from the first name or the e-mail (CONTACT_NAME_FALLBACK);
    raise _Refused ``missing_name`` when neither holds anything."""
    last, first, mail = plan.name_columns
    for source in plan.name_fallback:
        if source == "first_name":
            name = payload.get("First_Name")
            if type(name) is str and name:
                payload["Last_Name"] = name
                payload["First_Name"] = None  # the name moved: not sent twice
                detail = f"no {last}: Last_Name set from {first} (First_Name left empty)"
                warnings.append(FieldWarning("Last_Name", "last_name_fallback", name, detail))
                return
        else:
            address = payload.get("Email")
            local = address.rpartition("@")[0].strip() if type(address) is str else ""
            if local:
                payload["Last_Name"] = truncate_words(local, LAST_NAME_MAX)
                detail = f"no {last}: Last_Name set from the local part of {mail}"
                warnings.append(FieldWarning("Last_Name", "last_name_fallback", local, detail))
                return
    raise _Refused("missing_name", "Last_Name", f"no name in {last}, {first} or {mail}")


def _key_and_revision(
    plan: _Plan, row: Mapping[str, Any], warnings: list[FieldWarning]
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
    parent: tuple[str, bool], row: Mapping[str, Any], warnings: list[FieldWarning]
) -> str | None:
    column, required = parent
    raw = row.get(column)
    try:
        parent_key = normalize.identifier(raw)
    except InvalidValue as exc:
        if required:
            raise _Refused("invalid_parent_key", column, f"{column} {exc.note}") from None
        detail = f"{column} ignored: {exc.note}"
        warnings.append(FieldWarning(column, "invalid_parent_key", shown(raw), detail))
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


def map_customer(row: Mapping[str, Any], rules: MappingRules = DEFAULT_RULES) -> Mapped | Rejected:
    """A customer row of ``zh_Customers_fin`` as a Zoho Account (SPEC §3)."""
    plan = _CUSTOMER_PLAN if rules is DEFAULT_RULES else _account_plan(CUSTOMER, rules)
    return _map_row(plan, row)


def map_affiliate(row: Mapping[str, Any], rules: MappingRules = DEFAULT_RULES) -> Mapped | Rejected:
    """An affiliate row of ``ZH_AFFILIATE`` as a Zoho Account (SPEC §3).

    `parent_key` is ``AFFILIATES_CUST_TRDRID`` when the view has it; the link itself is
    made by revision in :func:`gzsync.sync.linking.link_affiliates`.
    """
    plan = _AFFILIATE_PLAN if rules is DEFAULT_RULES else _account_plan(AFFILIATE, rules)
    return _map_row(plan, row)


def map_contact(
    row: Mapping[str, Any],
    columns: Mapping[str, str] = DEFAULT_CONTACT_COLUMNS,
    rules: MappingRules = DEFAULT_RULES,
) -> Mapped | Rejected:
    """A contacts-view row as a Zoho Contact; `columns` names the view's columns.

    `parent_key` is the customer's ``Trader_ID`` (the row's TRDRID, upper-cased).
    """
    return _map_row(_contact_plan(columns, rules), row)


def _account_plan(table: Table, rules: MappingRules) -> _Plan:
    if rules == DEFAULT_RULES:
        return _CUSTOMER_PLAN if table is CUSTOMER else _AFFILIATE_PLAN
    plan = _account_plans.get((table.entity, rules))
    if plan is None:
        plan = _account_plans[(table.entity, rules)] = _plan(table, rules)
    return plan


def _contact_plan(columns: Mapping[str, str], rules: MappingRules = DEFAULT_RULES) -> _Plan:
    if columns is DEFAULT_CONTACT_COLUMNS and (rules is DEFAULT_RULES or rules == DEFAULT_RULES):
        return _CONTACT_PLAN
    cache_key = (tuple(sorted(columns.items())), rules)
    plan = _contact_plans.get(cache_key)
    if plan is None:
        plan = _contact_plans[cache_key] = _plan(contact_table(columns), rules)
    return plan
