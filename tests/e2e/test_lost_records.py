"""Six ways a record was lost or left wrong while the run reported success (issue 9).

Each test replays its scenario against the sandboxes and failed before its fix; the
end state is checked record by record, then with the whole-state parity check.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.helpers import Env, accounts_by_key, assert_parity, ledger, make_env, sync
from tests.e2e.test_accounts_sync import _affiliate, _customer
from tests.e2e.test_contacts_sync import _contact, contacts_by_key
from tests.e2e.test_review_regressions import _watermark

from gzsync.sandbox.faults import FaultRule
from gzsync.sync import accounts


def _budget_of(windows: int) -> Callable[[], float]:
    """A Catalyst-style remaining time that runs out after `windows` budget checks (the
    first read's look at the time left aside, see `test_time_budget.batches_allowed`)."""
    asked = iter(range(10**9))
    return lambda: 3_600_000.0 if next(asked) < windows + 1 else 0.0


# 1 -----------------------------------------------------------------------------------------


def test_a_budget_stop_between_windows_keeps_the_watermark_below_a_split_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts, "WINDOW", 100)
    for env in make_env(tmp_path, customers=0):
        shared = 4_000_500  # the 40 highest share one revision, across the window edge
        rows = [_customer(f"C{i:03d}", 4_000_001 + i) for i in range(90)]
        rows += [_customer(f"S{i:03d}", shared) for i in range(40)]
        env.galaxy.put_rows("zh_Customers_fin", rows)
        env.galaxy.put_rows("ZH_AFFILIATE", [])
        env.galaxy.put_rows("ZH_CONTACTS", [])
        # the budget runs out after the first window
        stopped = sync(env, remaining_ms=_budget_of(1))
        assert stopped.status == "partial"
        assert len(env.zoho.records("Accounts")) == 100
        again = sync(env)
        assert again.status == "success", again.to_json()
        assert len(env.zoho.records("Accounts")) == 130
        assert_parity(env)
        assert _watermark(env, "customers") == shared
        # the stop left the watermark below the revision it did not finish
        assert again.watermark_before["customers"] == shared - 1
        # on a stop, `fetched` counts what was processed, not all 130 rows spooled
        assert (stopped.customers.fetched, stopped.contacts.fetched) == (100, 0)


# 2 -----------------------------------------------------------------------------------------


def _named_affiliate(aff: str, rev: int, holder: str) -> dict[str, Any]:
    return {**_affiliate(aff, rev), "AFFILIATES_CUST_TRDRID": holder}


def test_card_holders_sharing_a_revision_keep_their_own_links(env: Env) -> None:
    holders = [f"H{i:02d}" for i in range(40)]
    env.galaxy.put_rows(
        "zh_Customers_fin",
        [_customer(h, 5_000_001 + i, card=f"CARD{i}") for i, h in enumerate(holders)],
    )
    env.galaxy.put_rows(
        "ZH_AFFILIATE",
        [_named_affiliate(f"A{i:02d}", 5_000_001 + i, h) for i, h in enumerate(holders)],
    )
    env.galaxy.put_rows("ZH_CONTACTS", [])
    sync(env)
    # a bulk update stamps all 40 card holders with one revision; links follow them
    env.galaxy.add_rows(
        "zh_Customers_fin",
        [
            _customer(h, 5_000_100, card=f"CARD{i}", name=f"Renamed {h}")
            for i, h in enumerate(holders)
        ],
    )
    report = sync(env)
    assert report.status == "success", report.to_json()
    by_key = accounts_by_key(env)
    for i, h in enumerate(holders):
        assert by_key[h]["Account_Name"] == f"Renamed {h}"
        assert by_key[h]["Affiliate_To"] == {"id": by_key[f"A{i:02d}"]["id"]}, h
    assert_parity(env)


# 3 -----------------------------------------------------------------------------------------


def _waiting_contacts_world(env: Env) -> None:
    env.galaxy.put_rows("zh_Customers_fin", [_customer("C1", 3_000_001)])
    env.galaxy.put_rows("ZH_AFFILIATE", [])
    env.galaxy.put_rows(
        "ZH_CONTACTS",
        [
            _contact("K1", "C1", 3_000_010),
            _contact("K8", "GONE", 3_000_045),  # its Account does not exist: waits
            _contact("K9", "GONE", 3_000_050),  # idem
            _contact("K2", "C1", 3_000_060),
        ],
    )
    first = sync(env)
    assert {(e.key, e.kind) for e in ledger(env)} == {
        ("K8", "waiting_parent"),
        ("K9", "waiting_parent"),
    }, first.to_json()


def test_a_waiting_row_restored_below_its_ledger_revision_is_found_by_key(env: Env) -> None:
    _waiting_contacts_world(env)
    # Galaxy restores K9 below the re-read range (under K8's entry), parent fixed, edited
    env.galaxy.add_rows("ZH_CONTACTS", [_contact("K9", "C1", 3_000_020, JOBTITLE="Restored")])
    report = sync(env)
    assert contacts_by_key(env)["K9"]["Title"] == "Restored", report.to_json()
    assert [e.key for e in ledger(env)] == ["K8"]
    assert_parity(env)


def test_a_row_restored_inside_the_reread_range_resolves_its_ledger_entry(env: Env) -> None:
    _waiting_contacts_world(env)
    # restored between K8's entry and its own: read, sent, confirmed at a lower revision
    env.galaxy.add_rows("ZH_CONTACTS", [_contact("K9", "C1", 3_000_047, JOBTITLE="Restored")])
    sync(env)
    assert contacts_by_key(env)["K9"]["Title"] == "Restored"
    assert [e.key for e in ledger(env)] == ["K8"]  # K9's entry is resolved
    env.galaxy.add_rows("ZH_CONTACTS", [_contact("K8", "C1", 3_000_070)])
    final = sync(env)
    assert final.status == "success", final.to_json()
    assert ledger(env) == []
    assert_parity(env)


# 4 -----------------------------------------------------------------------------------------


def test_a_lost_state_file_loses_no_waiting_record(env: Env) -> None:
    parents = [f"P{i}" for i in range(7)]
    env.galaxy.put_rows(
        "zh_Customers_fin",
        [_customer("C1", 3_000_001)]
        + [{**_customer(p, 3_000_002 + i), "TRDRNAME": None} for i, p in enumerate(parents)],
    )
    env.galaxy.put_rows("ZH_AFFILIATE", [])
    env.galaxy.put_rows(
        "ZH_CONTACTS",
        [_contact("K1", "C1", 3_000_020)]
        + [_contact(f"Q{i}", p, 3_000_030 + i) for i, p in enumerate(parents)],
    )
    sync(env)
    assert sum(e.stream == "contacts" for e in ledger(env)) == 7
    # Galaxy's database-wide counter moves on by 150,000, and those rows are synced
    env.galaxy.add_rows("zh_Customers_fin", [_customer("C2", 3_150_000)])
    env.galaxy.add_rows("ZH_CONTACTS", [_contact("K2", "C2", 3_150_001)])
    sync(env)
    env.state_db.unlink()  # the state file is lost, with its ledger
    # the parents are fixed in Galaxy (new revisions)
    env.galaxy.add_rows("zh_Customers_fin", [_customer(p, None) for p in parents])  # type: ignore[arg-type]
    upserted = env.zoho.stats()["records_upserted"]
    report = sync(env)
    assert report.status == "success", report.to_json()
    assert {f"Q{i}" for i in range(7)} <= contacts_by_key(env).keys()
    # only the differences cost credits: the 7 parents and their 7 contacts
    assert env.zoho.stats()["records_upserted"] - upserted == 14
    assert (report.customers.inserted, report.customers.updated) == (7, 0)
    assert (report.contacts.inserted, report.contacts.updated) == (7, 0)
    assert_parity(env)
    # and the next run is an ordinary incremental one
    assert sync(env).customers.fetched == 0


# 5 -----------------------------------------------------------------------------------------


def test_affiliate_changes_at_an_unchanged_card_holder_revision_arrive_by_the_full_read(
    env: Env,
) -> None:
    settings = env.with_settings(AFFILIATE_FULL_READ_EVERY=2)
    env.galaxy.put_rows(
        "zh_Customers_fin", [_customer("C1", 6_000_001, card="CARD1"), _customer("C2", 6_000_002)]
    )
    env.galaxy.put_rows("ZH_AFFILIATE", [_affiliate("A5", 6_000_001, name="Old name")])
    env.galaxy.put_rows("ZH_CONTACTS", [])
    sync(env, settings)  # a first run is a full read
    # at C1's unchanged revision: A1 is added (it sorts first: the link moves), A5 renamed
    env.galaxy.add_rows(
        "ZH_AFFILIATE",
        [_affiliate("A1", 6_000_001, name="New one"), _affiliate("A5", 6_000_001, name="New")],
    )
    incremental = sync(env, settings)
    assert incremental.customers.fetched == 0  # an incremental read cannot see them
    full = sync(env, settings)  # the second run since the last full read
    by_key = accounts_by_key(env)
    assert by_key["A1"]["Account_Name"] == "New one"
    assert by_key["A5"]["Account_Name"] == "New"
    assert by_key["C1"]["Affiliate_To"] == {"id": by_key["A1"]["id"]}
    # only what changed was sent: two affiliates and C1's link
    assert (full.affiliates.inserted, full.affiliates.updated) == (1, 1)
    assert (full.customers.inserted, full.customers.updated) == (0, 1)
    assert_parity(env)


def test_a_refused_affiliate_that_galaxy_fixes_is_caught_by_the_full_read(env: Env) -> None:
    settings = env.with_settings(AFFILIATE_FULL_READ_EVERY=1)
    env.galaxy.put_rows("zh_Customers_fin", [_customer("C1", 6_200_001, card="CARD1")])
    env.galaxy.put_rows("ZH_AFFILIATE", [_affiliate("A1", 6_200_001, name="Bad")])
    env.galaxy.put_rows("ZH_CONTACTS", [])
    refusal = {"data": [{"status": "error", "code": "INVALID_DATA", "message": "invalid data",
                         "details": {"api_name": "Account_AFM"}}]}  # fmt: skip
    env.zoho.faults.add([FaultRule(endpoint="upsert:Accounts", status=207, body=refusal, count=1)])
    sync(env, settings)
    assert [(e.key, e.kind) for e in ledger(env)] == [("A1", "refused")]
    # Galaxy fixes the affiliate; its card holder's revision does not move
    env.galaxy.add_rows("ZH_AFFILIATE", [_affiliate("A1", 6_200_001, name="Fixed")])
    report = sync(env, settings)
    assert report.status == "success", report.to_json()
    by_key = accounts_by_key(env)
    assert by_key["A1"]["Account_Name"] == "Fixed"
    assert by_key["C1"]["Affiliate_To"] == {"id": by_key["A1"]["id"]}
    assert ledger(env) == []
    assert_parity(env)


def test_since_rev_zero_reads_the_whole_affiliate_view(env: Env) -> None:
    env.galaxy.put_rows("zh_Customers_fin", [_customer("C1", 6_100_001, card="CARD1")])
    env.galaxy.put_rows("ZH_AFFILIATE", [_affiliate("A5", 6_100_001, name="Old")])
    env.galaxy.put_rows("ZH_CONTACTS", [])
    sync(env)
    env.galaxy.add_rows("ZH_AFFILIATE", [_affiliate("A5", 6_100_001, name="Renamed")])
    sync(env, since_rev=0)
    assert accounts_by_key(env)["A5"]["Account_Name"] == "Renamed"
    assert_parity(env)


# 6 -----------------------------------------------------------------------------------------


def test_an_affiliate_that_is_also_a_customer_never_overwrites_the_customer(env: Env) -> None:
    own = {**_customer("X1", 7_000_001, name="Xylo Trading SA"), "TIN": "094259216"}
    env.galaxy.put_rows("zh_Customers_fin", [own, _customer("C1", 7_000_002, card="CARD1")])
    env.galaxy.put_rows("ZH_AFFILIATE", [])
    env.galaxy.put_rows("ZH_CONTACTS", [])
    sync(env)
    x1 = accounts_by_key(env)["X1"]
    # C1 changes and now has X1 as its affiliate, spelled differently
    env.galaxy.add_rows("zh_Customers_fin", [_customer("C1", 7_000_010, card="CARD1")])
    env.galaxy.add_rows(
        "ZH_AFFILIATE",
        [{**_affiliate("X1", 7_000_010, name="XYLO T. S.A."), "AFF_TIN": "090000045"}],
    )
    report = sync(env)
    assert report.status == "success", report.to_json()
    by_key = accounts_by_key(env)
    assert by_key["X1"]["Account_Name"] == "Xylo Trading SA"
    assert by_key["X1"]["Account_AFM"] == x1["Account_AFM"]
    assert by_key["X1"]["Rev_Number"] == 7_000_001
    assert by_key["C1"]["Affiliate_To"] == {"id": x1["id"]}
    assert_parity(env)
    # and the periodic full read does not overwrite it either
    full = sync(env, env.with_settings(AFFILIATE_FULL_READ_EVERY=1))
    assert full.status == "success", full.to_json()
    assert accounts_by_key(env)["X1"]["Account_Name"] == "Xylo Trading SA"
    assert_parity(env)


def test_a_customer_stays_the_winner_after_a_lost_state_file(env: Env) -> None:
    own = _customer("X1", 7_100_001, name="Xylo Trading SA")
    env.galaxy.put_rows("zh_Customers_fin", [own, _customer("C1", 7_100_002, card="CARD1")])
    env.galaxy.put_rows("ZH_AFFILIATE", [])
    env.galaxy.put_rows("ZH_CONTACTS", [])
    sync(env)
    env.state_db.unlink()  # the registry of customer Accounts goes with it
    assert sync(env).status == "success"  # rebuilt by the compared read
    env.galaxy.add_rows("zh_Customers_fin", [_customer("C1", 7_100_010, card="CARD1")])
    env.galaxy.add_rows("ZH_AFFILIATE", [_affiliate("X1", 7_100_010, name="XYLO T. S.A.")])
    report = sync(env)
    assert report.customers.fetched == 1, report.to_json()  # an incremental run
    by_key = accounts_by_key(env)
    assert by_key["X1"]["Account_Name"] == "Xylo Trading SA"
    assert by_key["C1"]["Affiliate_To"] == {"id": by_key["X1"]["id"]}
    assert_parity(env)


def test_a_customer_deleted_in_the_crm_is_not_recreated_from_an_affiliate_row(env: Env) -> None:
    env.galaxy.put_rows(
        "zh_Customers_fin", [_customer("X1", 7_200_001), _customer("C1", 7_200_002, card="C")]
    )
    env.galaxy.put_rows("ZH_AFFILIATE", [])
    env.galaxy.put_rows("ZH_CONTACTS", [])
    sync(env)
    assert env.zoho.delete_record("Accounts", accounts_by_key(env)["X1"]["id"])
    env.galaxy.add_rows("zh_Customers_fin", [_customer("C1", 7_200_010, card="C")])
    env.galaxy.add_rows("ZH_AFFILIATE", [_affiliate("X1", 7_200_010, name="As affiliate")])
    report = sync(env)
    assert report.status == "success", report.to_json()  # C1 is not refused for a stale id
    assert "X1" not in accounts_by_key(env)  # nor X1 recreated from its affiliate row
