"""Linking affiliates to card holders (gzsync.sync.linking), SPEC §1 step 4."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gzsync.mapping.records import Mapped, map_affiliate, map_customer
from gzsync.sync.linking import card_holders_of, is_card_holder, link_affiliates


def aff(key: str, rev: int, name: str = "", parent: str | None = None) -> Mapped:
    payload = {"Trader_ID": key, "Rev_Number": rev, "Account_Name": name or key}
    return Mapped(key, rev, payload, parent_key=parent)


# (card holders: rev -> customer, affiliate rows (key, rev, name), expected links,
#  expected planned affiliates (key, rev, name) in order)
CASES: dict[str, tuple[dict[int, str], list[tuple[str, int, str]], dict[str, str], list[Any]]] = {
    "card holder with an affiliate row": (
        {10: "C1"},
        [("A1", 10, "a1")],
        {"C1": "A1"},
        [("A1", 10, "a1")],
    ),
    "card holder without affiliate rows": (
        {10: "C1", 20: "C2"},
        [("A2", 20, "a2")],
        {"C2": "A2"},
        [("A2", 20, "a2")],
    ),
    "affiliate shared by several customers": (
        {10: "C1", 20: "C2", 30: "C3"},
        [("A1", 10, "old"), ("A1", 30, "new"), ("A1", 20, "mid")],
        {"C1": "A1", "C2": "A1", "C3": "A1"},
        [("A1", 30, "new")],
    ),
    "same affiliate twice with different revisions: highest wins": (
        {10: "C1", 20: "C2"},
        [("A1", 20, "newer"), ("A1", 10, "older")],
        {"C1": "A1", "C2": "A1"},
        [("A1", 20, "newer")],
    ),
    "a row at a revision that is no card holder's does not count": (
        {10: "C1"},
        [("A1", 10, "kept"), ("A1", 15, "not a card holder's revision")],
        {"C1": "A1"},
        [("A1", 10, "kept")],
    ),
    "non-card-holder whose revision matches an affiliate row": (
        {10: "C1"},  # customer C9 at revision 30 has no card: not in card_holders
        [("A9", 30, "a9")],
        {},
        [],
    ),
    "no affiliate rows at all": ({10: "C1"}, [], {}, []),
    "planned affiliates are ordered by revision": (
        {30: "C3", 10: "C1", 20: "C2"},
        [("A3", 30, "a3"), ("A1", 10, "a1"), ("A2", 20, "a2")],
        {"C1": "A1", "C2": "A2", "C3": "A3"},
        [("A1", 10, "a1"), ("A2", 20, "a2"), ("A3", 30, "a3")],
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_linking_cases(
    case: tuple[dict[int, str], list[tuple[str, int, str]], dict[str, str], list[Any]],
) -> None:
    card_holders, rows, links, planned = case
    plan = link_affiliates(card_holders, [aff(*row) for row in rows])
    assert plan.links == links
    assert [(a.key, a.rev, a.payload["Account_Name"]) for a in plan.affiliates] == planned
    assert plan.warnings == []


def test_card_holder_with_several_affiliates_links_the_smallest_key_and_warns() -> None:
    rows = [aff("B-2", 10), aff("A-1", 10), aff("C-3", 10)]
    plan = link_affiliates({10: "C1"}, rows)
    assert plan.links == {"C1": "A-1"}
    # All three belong to the card holder, so all three are upserted.
    assert sorted(a.key for a in plan.affiliates) == ["A-1", "B-2", "C-3"]
    assert len(plan.warnings) == 1
    assert "A-1" in plan.warnings[0]
    assert "B-2, C-3" in plan.warnings[0]
    # Deterministic whatever order Galaxy returns the rows in.
    assert link_affiliates({10: "C1"}, reversed(rows)).links == plan.links


def test_a_row_naming_another_customer_is_linked_by_revision_with_a_warning() -> None:
    plan = link_affiliates({10: "C1"}, [aff("A1", 10, parent="C7")])
    assert plan.links == {"C1": "A1"}
    assert len(plan.warnings) == 1
    assert "C7" in plan.warnings[0]


def test_the_same_row_twice_is_planned_once() -> None:
    plan = link_affiliates({10: "C1"}, [aff("A1", 10), aff("A1", 10)])
    assert [a.key for a in plan.affiliates] == ["A1"]
    assert plan.warnings == []


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"ZH_CUSTOMERS_MEMBER_CARDNO": "0001", "THIRDPARTYREVNUM": 5}, True),
        ({"ZH_CUSTOMERS_MEMBER_CARDNO": 1234, "THIRDPARTYREVNUM": "5"}, True),
        ({"ZH_CUSTOMERS_MEMBER_CARDNO": "", "THIRDPARTYREVNUM": 5}, False),
        ({"ZH_CUSTOMERS_MEMBER_CARDNO": "  ", "THIRDPARTYREVNUM": 5}, False),
        ({"ZH_CUSTOMERS_MEMBER_CARDNO": None, "THIRDPARTYREVNUM": 5}, False),
        ({"ZH_CUSTOMERS_MEMBER_CARDNO": "0001", "THIRDPARTYREVNUM": 0}, False),
        ({"ZH_CUSTOMERS_MEMBER_CARDNO": "0001", "THIRDPARTYREVNUM": "abc"}, False),
        ({"ZH_CUSTOMERS_MEMBER_CARDNO": "0001"}, False),
        ({"ZH_CUSTOMERS_MEMBER_CARDNO": ["x"], "THIRDPARTYREVNUM": 5}, False),
    ],
)
def test_is_card_holder(row: dict[str, Any], expected: bool) -> None:
    assert is_card_holder(row) is expected


def test_linking_from_galaxy_rows_end_to_end() -> None:
    customers = [
        {
            "TRDRID": "c1",
            "TRDRNAME": "One",
            "THIRDPARTYREVNUM": 10,
            "ZH_CUSTOMERS_MEMBER_CARDNO": "1",
        },
        {
            "TRDRID": "c2",
            "TRDRNAME": "Two",
            "THIRDPARTYREVNUM": 11,
            "ZH_CUSTOMERS_MEMBER_CARDNO": "",
        },
        {
            "TRDRID": "c3",
            "TRDRNAME": "Three",
            "THIRDPARTYREVNUM": 12,
            "ZH_CUSTOMERS_MEMBER_CARDNO": "3",
        },
    ]
    affiliates = [
        {"AFFILIATES_TRDRID": "a1", "AFF_NAME": "A1", "AFFILIATES_REVNUM": 10},
        {"AFFILIATES_TRDRID": "a2", "AFF_NAME": "A2", "AFFILIATES_REVNUM": 11},  # c2: no card
        {"AFFILIATES_TRDRID": "a1", "AFF_NAME": "A1 new", "AFFILIATES_REVNUM": 12},
    ]
    mapped_customers = [m for m in map(map_customer, customers) if isinstance(m, Mapped)]
    card_holders = card_holders_of(mapped_customers)
    assert card_holders == {10: ["C1"], 12: ["C3"]}
    mapped_affiliates = [m for m in map(map_affiliate, affiliates) if isinstance(m, Mapped)]
    plan = link_affiliates(card_holders, mapped_affiliates)
    assert plan.links == {"C1": "A1", "C3": "A1"}
    assert [(a.key, a.payload["Account_Name"]) for a in plan.affiliates] == [("A1", "A1 new")]


_keys = st.sampled_from([f"A{i}" for i in range(8)])
_revs = st.integers(min_value=1, max_value=12)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(_revs, st.sampled_from([f"C{i}" for i in range(10)]), max_size=8),
    st.lists(st.tuples(_keys, _revs), max_size=20),
)
def test_linking_properties(card_holders: dict[int, str], rows: list[tuple[str, int]]) -> None:
    affiliates = [aff(key, rev, name=f"{key}@{rev}") for key, rev in rows]
    plan = link_affiliates(card_holders, affiliates)
    planned = {a.key: a for a in plan.affiliates}
    # Every link points to an affiliate in the plan, from a card holder of this run.
    assert set(plan.links.values()) <= set(planned)
    assert set(plan.links) <= set(card_holders.values())
    # Every planned affiliate belongs to a card holder; each is planned once.
    assert len(planned) == len(plan.affiliates)
    assert all(a.rev in card_holders for a in plan.affiliates)
    # Highest revision among the rows that belong to a card holder wins.
    for key, planned_row in planned.items():
        belonging = [rev for k, rev in rows if k == key and rev in card_holders]
        assert planned_row.rev == max(belonging)
    # Ordered by revision.
    assert [a.rev for a in plan.affiliates] == sorted(a.rev for a in plan.affiliates)
    # Every card holder with an affiliate row is linked, to the smallest key among them.
    for customer in set(card_holders.values()):
        keys = {k for k, r in rows if r in card_holders and card_holders[r] == customer}
        if keys:
            assert plan.links[customer] == min(keys)
        else:
            assert customer not in plan.links
