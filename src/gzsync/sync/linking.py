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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gzsync.mapping.normalize import InvalidValue, revision
from gzsync.mapping.records import Mapped, has_member_card

__all__ = ["LinkPlan", "card_holders_of", "is_card_holder", "link_affiliates"]

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


def card_holders_of(customers: Iterable[Mapped]) -> dict[int, str]:
    """Revision → customer key for the card holders among mapped customers."""
    return {c.rev: c.key for c in customers if c.card_holder}


@dataclass(frozen=True)
class LinkPlan:
    """What step 4 upserts, and which customer points at which affiliate."""

    affiliates: list[Mapped]  # to upsert: deduplicated by key, highest rev wins, by rev
    links: dict[str, str]  # customer key -> affiliate key (for Affiliate_To)
    warnings: list[str]  # ambiguities resolved, and how


def link_affiliates(card_holders: Mapping[int, str], affiliates: Iterable[Mapped]) -> LinkPlan:
    """Link affiliate rows to this run's card holders by revision (see module docstring).

    `card_holders` maps revision → customer key for the card holders of this run only;
    affiliate rows whose revision is not in it are ignored.
    """
    kept: dict[str, Mapped] = {}  # affiliate key -> the row to upsert
    of_customer: dict[str, set[str]] = {}  # customer key -> affiliate keys
    warnings: list[str] = []
    for affiliate in affiliates:
        customer = card_holders.get(affiliate.rev)
        if customer is None:
            continue
        of_customer.setdefault(customer, set()).add(affiliate.key)
        previous = kept.get(affiliate.key)
        if previous is None or affiliate.rev > previous.rev:
            kept[affiliate.key] = affiliate
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
    return LinkPlan(planned, links, warnings)
