"""Pure classification of one Galaxy key against the Zoho records that carry it.

The classes (issue 16), one per key, checked in this order:

- ``duplicate`` — two or more Zoho records carry the key (merge candidates; never merged);
- ``missing`` — Galaxy says Zoho should hold the record, Zoho holds none;
- ``orphan`` — Zoho holds the key, Galaxy no longer has it in any view;
- ``stale`` — a synced field differs and Zoho's ``Rev_Number`` is below Galaxy's: an update
  that never arrived;
- ``drifted`` — a synced field differs and Zoho's ``Rev_Number`` is not below Galaxy's:
  edited in the CRM, or Galaxy restored an older row;
- ``link_wrong`` — the fields agree but the lookup (``Affiliate_To`` of a customer, a
  contact's ``Account_Name``) is not the Account Galaxy says;
- in sync otherwise. A lower ``Rev_Number`` with equal fields is in sync: unchanged records
  are not re-sent.

``unkeyed`` (Zoho records without a Galaxy key) never reach this function: they have no key
to classify by; the reader counts them.

A key Galaxy has but Zoho is not expected to hold (a row our mapping rejects, a contact
whose customer is rejected) is neither missing nor orphan: the ledger reports it.

Values compare the way Zoho stores them: ``null`` and ``""`` are the same empty value,
numbers compare as numbers (``12`` equals ``12.0``), text compares exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "CLASSES",
    "REPAIRED",
    "Expected",
    "Verdict",
    "ZohoRecord",
    "classify",
    "differing_fields",
    "same_value",
]

Class = Literal["missing", "stale", "drifted", "orphan", "duplicate", "link_wrong", "unkeyed"]

#: Every class, in report order.
CLASSES: tuple[Class, ...] = (
    "missing",
    "stale",
    "drifted",
    "orphan",
    "duplicate",
    "link_wrong",
    "unkeyed",
)
#: The classes `--repair` re-sends through the normal write path.
REPAIRED: frozenset[str] = frozenset({"missing", "stale", "drifted", "link_wrong"})


@dataclass(frozen=True, slots=True)
class Expected:
    """What Galaxy says Zoho should hold for one key."""

    key: str
    rev: int
    payload: Mapping[str, Any]  # the mapped record, without its lookup
    link_key: str | None = None  # the Account key the lookup should point at (None: empty)
    #: Zoho ids of `link_key`'s Account (several when it is duplicated); empty when absent
    link_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ZohoRecord:
    """One Zoho record carrying a Galaxy key, as COQL read it."""

    id: str
    rev: int | None
    fields: Mapping[str, Any]
    link_id: str | None = None  # the lookup's id (Affiliate_To / Account_Name)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The class of one key (None: in sync, or not Zoho's to hold), and why."""

    cls: Class | None
    fields: tuple[str, ...] = ()  # stale / drifted: the differing fields
    ids: tuple[str, ...] = ()  # the Zoho ids concerned (duplicate: the ids to merge)
    detail: str = ""


IN_SYNC = Verdict(None)


def classify(
    expected: Expected | None,
    records: Sequence[ZohoRecord],
    *,
    in_galaxy: bool,
    key_field: str = "Trader_ID",
    check_link: bool = True,
) -> Verdict:
    """The class of one key; see the module docstring for the rules and their order.

    `expected` is None when Galaxy does not ask Zoho to hold the key; `in_galaxy` says
    whether Galaxy has the key at all (a rejected row still has it). `check_link` False
    skips the lookup (an affiliate Account has none of its own).
    """
    ids = tuple(sorted((r.id for r in records), key=_id_order))
    if len(records) > 1:
        return Verdict("duplicate", ids=ids, detail=f"{len(records)} records carry this key")
    if not records:
        if expected is None:
            return IN_SYNC
        return Verdict("missing", detail=f"not in Zoho (Galaxy revision {expected.rev})")
    record = records[0]
    if expected is None:
        if in_galaxy:
            return IN_SYNC  # rejected by our mapping, or waiting: the ledger's business
        return Verdict("orphan", ids=ids, detail="Galaxy no longer has this key")
    diff = differing_fields(expected.payload, record.fields, skip=(key_field, "Rev_Number"))
    if diff:
        zoho_rev = "none" if record.rev is None else str(record.rev)
        detail = f"Zoho revision {zoho_rev}, Galaxy {expected.rev}"
        if record.rev is None or record.rev < expected.rev:
            return Verdict("stale", fields=diff, ids=ids, detail=detail)
        return Verdict("drifted", fields=diff, ids=ids, detail=detail)
    if check_link and not _link_right(expected, record.link_id):
        want = expected.link_key or "none"
        return Verdict(
            "link_wrong",
            ids=ids,
            detail=f"points at {record.link_id or 'none'}, Galaxy says {want}",
        )
    return IN_SYNC


def _link_right(expected: Expected, got: str | None) -> bool:
    if expected.link_key is None:
        return got is None
    return got is not None and got in expected.link_ids


def differing_fields(
    want: Mapping[str, Any], got: Mapping[str, Any], *, skip: Sequence[str] = ()
) -> tuple[str, ...]:
    """The fields of `want` whose value in `got` differs (see :func:`same_value`)."""
    return tuple(
        name
        for name, value in want.items()
        if name not in skip and not same_value(got.get(name), value)
    )


def same_value(got: Any, want: Any) -> bool:
    """Whether Zoho's `got` is the value we would send as `want`."""
    if want is None or want == "":
        return got is None or got == ""
    if isinstance(want, bool) or isinstance(got, bool):
        return type(got) is type(want) and got == want
    if isinstance(want, int | float):
        try:
            number = float(got)
        except (TypeError, ValueError):
            return False
        return math.isclose(number, float(want), rel_tol=1e-12, abs_tol=1e-9)
    return bool(got == want)


def _id_order(value: str) -> tuple[int, int | str]:
    return (0, int(value)) if value.isdigit() else (1, value)


@dataclass(slots=True)
class ClassCounts:
    """Counts per class of one stream, and a few samples of each class."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, cls: str, sample: dict[str, Any], limit: int = 5) -> None:
        self.counts[cls] += 1
        kept = self.samples.setdefault(cls, [])
        if len(kept) < limit:
            kept.append(sample)
