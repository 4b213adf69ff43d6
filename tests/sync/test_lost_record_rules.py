"""The rules at the core of issue 9's fixes: watermark on a stop, link map, ledger
resolution, and what a full read sends."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from gzsync.mapping.records import Mapped
from gzsync.sandbox.coql import parse
from gzsync.sandbox.parity import check_parity, expected_accounts
from gzsync.state.sqlite import SqliteStore
from gzsync.state.store import BatchCommit, LedgerEntry
from gzsync.sync import fullread
from gzsync.sync.linking import link_affiliates, owner_of
from gzsync.sync.spool import ZohoRecord
from gzsync.sync.writer import Cut, Held, Item, Outgoing, _batches, _confirmed, watermark_below

# -- the watermark on a stop ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_rev", "next_rev", "expected"),
    [
        (10, None, 10),  # the natural end: everything up to 10 is done
        (10, 11, 10),  # the next row is above: 10 is finished
        (10, 10, 9),  # the next row shares 10: 10 is not finished
    ],
)
def test_watermark_below(max_rev: int, next_rev: int | None, expected: int) -> None:
    assert watermark_below(max_rev, next_rev) == expected


def _watermarks(items: list[Item]) -> list[int]:
    async def collect() -> list[int]:
        async def source() -> Any:
            for item in items:
                yield item

        return [b.watermark async for b in _batches(source())]

    return asyncio.run(collect())


def _out(rev: int, n: int) -> list[Item]:
    return [Outgoing(f"K{rev}-{i}", rev, {}) for i in range(n)]


def test_a_cut_keeps_the_last_batches_below_the_revision_left_unfinished() -> None:
    # 150 rows, the last 60 at revision 7; the stream is cut inside revision 7
    rows = _out(1, 90) + _out(7, 60)
    assert _watermarks([*rows, Cut(7)]) == [6, 6]
    assert _watermarks(rows) == [6, 7]  # the natural end finishes revision 7
    # a cut exactly at a full batch's end, above its revision, keeps that revision
    assert _watermarks([*_out(3, 100), Cut(4)]) == [3]
    assert _watermarks([*_out(3, 100), Cut(3)]) == [2]


def test_a_cut_also_holds_back_held_records() -> None:
    held: list[Item] = [Held(LedgerEntry("customers", "R1", 5, "rejected", "missing_name"))]
    assert _watermarks([*held, Cut(5)]) == [4]


# -- the link map ------------------------------------------------------------------------


def _aff(key: str, rev: int, parent: str | None) -> Mapped:
    return Mapped(key, rev, {"Trader_ID": key, "Account_Name": key}, parent_key=parent)


def test_card_holders_sharing_a_revision_are_told_apart_by_the_named_card_holder() -> None:
    holders = {9: ["C1", "C2", "C3"], 10: "C4"}
    rows = [
        _aff("A3", 9, "C3"),
        _aff("A1", 9, "C1"),
        _aff("A2", 9, "C2"),
        _aff("A4", 10, None),
        _aff("A9", 9, "C7"),  # names none of the card holders at 9
    ]
    plan = link_affiliates(holders, rows)
    assert plan.links == {"C1": "A1", "C2": "A2", "C3": "A3", "C4": "A4"}
    assert plan.members == {"C1": ["A1"], "C2": ["A2"], "C3": ["A3"], "C4": ["A4"]}
    assert {a.key for a in plan.affiliates} == {"A1", "A2", "A3", "A4", "A9"}
    assert any("A9" in w and "not linked" in w for w in plan.warnings)
    assert owner_of(rows[0], ["C3"]) == "C3"  # one holder: by revision, whatever is named
    assert owner_of(rows[0], None) is None


def test_the_end_state_check_expects_each_card_holder_sharing_a_revision_its_own_link() -> None:
    customers = [
        {"TRDRID": f"C{i}", "TRDRNAME": f"C{i}", "THIRDPARTYREVNUM": 9,
         "ZH_CUSTOMERS_MEMBER_CARDNO": f"CARD{i}"}
        for i in range(3)
    ]  # fmt: skip
    affiliates = [
        {"AFFILIATES_TRDRID": f"A{i}", "AFF_NAME": f"A{i}", "AFF_TIN": None,
         "AFFILIATES_REVNUM": 9, "AFFILIATES_CUST_TRDRID": f"C{i}"}
        for i in range(3)
    ]  # fmt: skip
    _, _, links = expected_accounts(customers, affiliates)
    assert links == {"C0": "A0", "C1": "A1", "C2": "A2"}
    # a Zoho where only one of them is linked differs
    accounts = [
        {"id": str(100 + i), "Trader_ID": key, "Account_Name": key, "Rev_Number": 9}
        for i, key in enumerate(["A0", "A1", "A2"])
    ]
    accounts += [
        {"id": str(200 + i), "Trader_ID": f"C{i}", "Account_Name": f"C{i}", "Rev_Number": 9,
         "Affiliate_To": {"id": "100"} if i == 0 else None}
        for i in range(3)
    ]  # fmt: skip
    report = check_parity(
        galaxy_customers=customers,
        galaxy_affiliates=affiliates,
        galaxy_contacts=None,
        zoho_accounts=accounts,
        zoho_contacts=None,
    )
    assert sorted(w.split(".")[0] for w in report.wrong_links) == ["C1", "C2"]


# -- ledger resolution ---------------------------------------------------------------------


def test_confirming_a_keys_current_row_resolves_an_entry_at_a_higher_revision(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "s.db")
    try:
        waiting = LedgerEntry("contacts", "K9", 50, "waiting_parent", "parent_not_in_zoho")
        store.commit_batch(BatchCommit("contacts", "Contacts", ledger=[waiting]))
        stale = _confirmed(Outgoing("K9", 47, {}), "1")  # not the current row: stays
        store.commit_batch(BatchCommit("contacts", "Contacts", confirmed=[stale]))
        assert [e.key for e in store.ledger_list()] == ["K9"]
        current = _confirmed(Outgoing("K9", 47, {}, settles=50), "1")
        assert current.rev == 50
        store.commit_batch(BatchCommit("contacts", "Contacts", confirmed=[current]))
        assert store.ledger_list() == []
    finally:
        store.close()


# -- what a full read sends ----------------------------------------------------------------


def _held(rev: int | None, link: str | None = None, **fields: Any) -> ZohoRecord:
    return ZohoRecord("K", "1", rev, fields, link)


def test_a_full_read_sends_only_what_zoho_lacks_or_holds_older_or_linked_otherwise() -> None:
    customer = Mapped("C1", 10, {"Trader_ID": "C1"})
    assert fullread.customer_differs(customer, None, None, link_known=True)
    assert fullread.customer_differs(customer, _held(9), None, link_known=True)
    assert not fullread.customer_differs(customer, _held(10), None, link_known=True)
    assert not fullread.customer_differs(customer, _held(11, "7"), "7", link_known=True)
    assert fullread.customer_differs(customer, _held(10, "7"), "8", link_known=True)
    assert fullread.customer_differs(customer, _held(10), None, link_known=False)
    affiliate = Mapped("A1", 10, {"Account_Name": "Name", "Account_AFM": None})
    assert not fullread.affiliate_differs(affiliate, _held(10, Account_Name="Name"))
    assert fullread.affiliate_differs(affiliate, _held(10, Account_Name="Other"))
    assert fullread.affiliate_differs(affiliate, _held(9, Account_Name="Name"))
    assert fullread.affiliate_differs(affiliate, None)


def test_the_pass_over_zoho_is_keyset_paged_by_id_in_pages_of_2000() -> None:
    query = parse(
        fullread.page_query("Accounts", "Trader_ID", ("Rev_Number", "Account_Name"), 5725767)
    )
    assert query.limit == 2000
    assert query.offset == 0
    assert [c.name for c, _ in query.order_by] == ["id"]


def test_the_full_affiliate_read_comes_every_n_runs(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    try:
        assert fullread.full_read_due(store, 3)  # never counted: a lost store, an upgrade
        fullread.record_accounts_run(store, full=True)
        seen = []
        for _ in range(6):
            due = fullread.full_read_due(store, 3)
            seen.append(due)
            fullread.record_accounts_run(store, full=due)
        assert seen == [False, False, True, False, False, True]
    finally:
        store.close()
