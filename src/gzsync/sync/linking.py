"""Linking affiliates to their card holders (SPEC §1 step 4), as a pure function.

The rule, exactly as the seed's working integration applied it:

- a customer is a *card holder* when ``ZH_CUSTOMERS_MEMBER_CARDNO`` is non-empty and its
  ``THIRDPARTYREVNUM`` > 0;
- an affiliate row belongs to the card holder whose ``THIRDPARTYREVNUM`` equals the
  row's ``AFFILIATES_REVNUM`` (the affiliate view carries the customer's revision);
- only affiliates that belong to a card holder of this run are upserted.

Decisions where the SPEC is silent:

- The same affiliate (``Trader_ID``) in several rows is upserted once, from the row with
  the highest revision; equal revisions keep the first row seen.
- Every affiliate that belongs to a card holder is upserted, including the ones not
  chosen for the link below: they are in Galaxy, so they belong in Zoho.
- ``Affiliate_To`` holds one account, so a card holder with rows of several different
  affiliates is linked to the one with the smallest ``Trader_ID`` (deterministic across
  runs, whatever order Galaxy returns rows in), and a warning names the others.
- An affiliate row whose ``AFFILIATES_CUST_TRDRID`` names another customer than the
  revision does is still linked by revision (the SPEC's rule), with a warning.
- Several card holders may share one revision (a bulk update stamps many rows with one
  revision). The revision alone cannot tell them apart, so there the row's
  ``AFFILIATES_CUST_TRDRID`` (the card holder's id, which the view carries) decides: the
  row belongs to the card holder it names. A row at a shared revision that names none of
  them is upserted (it belongs to one of them) but links nobody, with a warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gzsync.mapping.normalize import InvalidValue, revision
from gzsync.mapping.records import Mapped, has_member_card

__all__ = [
    "CardHolders",
    "LinkPlan",
    "card_holders_of",
    "is_card_holder",
    "link_affiliates",
    "owner_of",
]

#: How many affiliate keys a warning lists before it says "and N more".
_WARNING_KEYS = 5


def is_card_holder(row: Mapping[str, Any]) -> bool:
    """SPEC §1 step 4: ``ZH_CUSTOMERS_MEMBER_CARDNO`` non-empty and ``THIRDPARTYREVNUM`` > 0.

    Takes a raw Galaxy customer row; a revision that is not a number counts as none.
    """
    try:
        rev = revision(row.get("THIRDPARTYREVNUM"))
    except InvalidValue:
        return False
    return rev is not None and rev > 0 and has_member_card(row)


def card_holders_of(customers: Iterable[Mapped]) -> dict[int, list[str]]:
    """Revision → keys of the card holders among mapped customers (several may share one)."""
    holders: dict[int, list[str]] = {}
    for c in customers:
        if c.card_holder:
            holders.setdefault(c.rev, []).append(c.key)
    return holders


#: Card holders by revision: one key, or the keys of every card holder at that revision.
CardHolders = Mapping[int, str] | Mapping[int, Sequence[str]]


def owner_of(affiliate: Mapped, holders: str | Sequence[str] | None) -> str | None:
    """The card holder an affiliate row belongs to, among those at its revision.

    One card holder at the revision: that one. Several: the one the row's
    ``AFFILIATES_CUST_TRDRID`` names, or None when it names none of them.
    """
    if holders is None or isinstance(holders, str):
        return holders
    if len(holders) == 1:
        return holders[0]
    return affiliate.parent_key if affiliate.parent_key in holders else None


@dataclass(frozen=True)
class LinkPlan:
    """What step 4 upserts, and which customer points at which affiliate."""

    affiliates: list[Mapped]  # to upsert: deduplicated by key, highest rev wins, by rev
    links: dict[str, str]  # customer key -> affiliate key (for Affiliate_To)
    warnings: list[str]  # ambiguities resolved, and how
    #: customer key -> every affiliate key of its rows (the link is the first)
    members: dict[str, list[str]] = field(default_factory=dict)


def link_affiliates(card_holders: CardHolders, affiliates: Iterable[Mapped]) -> LinkPlan:
    """Link affiliate rows to this run's card holders by revision (see module docstring).

    `card_holders` maps revision → customer key (or keys, when several card holders share
    the revision) for the card holders of this run only; affiliate rows whose revision is
    not in it are ignored.
    """
    kept: dict[str, Mapped] = {}  # affiliate key -> the row to upsert
    of_customer: dict[str, set[str]] = {}  # customer key -> affiliate keys
    warnings: list[str] = []
    for affiliate in affiliates:
        holders = card_holders.get(affiliate.rev)
        if holders is None:
            continue
        previous = kept.get(affiliate.key)
        if previous is None or affiliate.rev > previous.rev:
            kept[affiliate.key] = affiliate
        customer = owner_of(affiliate, holders)
        if customer is None:
            warnings.append(
                f"affiliate {affiliate.key} at revision {affiliate.rev}, shared by "
                f"{len(holders)} card holders, names none of them "
                f"({affiliate.parent_key}); not linked"
            )
            continue
        of_customer.setdefault(customer, set()).add(affiliate.key)
        named = affiliate.parent_key
        if named is not None and named != customer:
            warnings.append(
                f"affiliate {affiliate.key} at revision {affiliate.rev} names customer "
                f"{named} but the revision belongs to {customer}; linked to {customer}"
            )

    links: dict[str, str] = {}
    for customer in sorted(of_customer):
        keys = sorted(of_customer[customer])
        links[customer] = keys[0]
        if len(keys) > 1:
            others = ", ".join(keys[1 : 1 + _WARNING_KEYS])
            more = len(keys) - 1 - _WARNING_KEYS
            if more > 0:
                others += f" and {more} more"
            warnings.append(
                f"customer {customer} has {len(keys)} affiliates; Affiliate_To holds one: "
                f"linked to {keys[0]} (smallest Trader_ID), not to {others}"
            )
    planned = sorted(kept.values(), key=lambda a: (a.rev, a.key))
    members = {customer: sorted(keys) for customer, keys in of_customer.items()}
    return LinkPlan(planned, links, warnings, members)
