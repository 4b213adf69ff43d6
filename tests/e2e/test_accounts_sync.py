"""End to end: customers and affiliates into Zoho Accounts, against both sandboxes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.e2e.helpers import Env, accounts_by_key, assert_parity, ledger, make_env, sync

from gzsync.errors import LockHeldError
from gzsync.state.sqlite import open_sqlite_store


def test_full_sync_then_incremental_matches_galaxy(env: Env) -> None:
    first = sync(env, entities=("accounts",))
    assert first.status == "incomplete"  # the generator's ~1% bad rows wait in the ledger
    assert first.customers.fetched == len(env.galaxy.rows("zh_Customers_fin"))
    assert first.customers.inserted + first.customers.rejected == first.customers.fetched
    assert first.customers.rejected >= 1
    assert first.linked > 0
    assert_parity(env, contacts=False)

    touched = env.galaxy.touch(customers=30, contacts=0, seed=3)["customers"]
    calls_before = env.zoho.stats()["calls"].get("upsert", 0)
    second = sync(env, entities=("accounts",))
    assert second.customers.fetched == len(touched)
    assert second.customers.inserted == 0
    assert second.watermark_after["customers"] > first.watermark_after["customers"]
    assert_parity(env, contacts=False)
    upserts = env.zoho.stats()["calls"].get("upsert", 0) - calls_before
    assert upserts <= 2 + 2  # one customers batch (+ affiliates of touched card holders)


def test_rejected_rows_are_in_the_ledger_with_their_reason(env: Env) -> None:
    report = sync(env, entities=("accounts",))
    entries = [e for e in ledger(env) if e.stream == "customers"]
    assert len(entries) == report.customers.rejected
    assert all(e.kind == "rejected" and e.reason for e in entries)
    # and none of them reached Zoho
    keys = accounts_by_key(env)
    assert not any(e.key in keys for e in entries)


def _customer(trdrid: str, rev: int, *, card: str = "", name: str | None = None) -> dict[str, Any]:
    return {
        "TRDRID": trdrid,
        "TRDRNAME": name or f"Customer {trdrid}",
        "COMPTITLE": None,
        "CUSTCODE": None,
        "TRDRCODE": None,
        "TIN": "094259216",
        "TRDSPHONE1": "2101234567",
        "TRDSSTREET": "Odos 1",
        "PREFDESCR": "Attiki",
        "CNTRCODE": "GR",
        "CAT_EPAGG": "Retail",
        "CATEGDISCOUNT": "A",
        "BALANCE": 10.5,
        "MAXBALANCE": 100,
        "WATT_CY": 1.5,
        "TURNOVER_YTD": 1,
        "TURNOVER_LTD": 2,
        "TURVOVER_LY": 3,
        "THIRDPARTYREVNUM": rev,
        "SALESNAME": "Sales",
        "ZH_CUSTOMERS_MEMBER_CARDNO": card,
    }


def _affiliate(aff: str, rev: int, name: str | None = None) -> dict[str, Any]:
    return {
        "AFFILIATES_TRDRID": aff,
        "AFF_NAME": name or f"Affiliate {aff}",
        "AFF_TIN": "090000045",
        "AFFILIATES_REVNUM": rev,
    }


def test_every_linking_case(env: Env) -> None:
    env.galaxy.put_rows(
        "zh_Customers_fin",
        [
            _customer("C1", 2000001, card="CARD1"),  # card holder with an affiliate
            _customer("C2", 2000002, card="CARD2"),  # card holder without affiliate rows
            _customer("C3", 2000003, card="CARD3"),  # shares affiliate A2 with C4
            _customer("C4", 2000004, card="CARD4"),
            _customer("C5", 2000005),  # not a card holder; an affiliate row has its rev
        ],
    )
    env.galaxy.put_rows("ZH_CONTACTS", [])
    env.galaxy.put_rows(
        "ZH_AFFILIATE",
        [
            _affiliate("A1", 2000001),
            _affiliate("A2", 2000003, name="Shared old"),
            _affiliate("A2", 2000004, name="Shared new"),  # same affiliate, higher revision wins
            _affiliate("A5", 2000005),  # belongs to no card holder
        ],
    )
    report = sync(env, entities=("accounts",))
    assert report.status == "success", report.to_json()
    accounts = accounts_by_key(env)
    assert set(accounts) == {"C1", "C2", "C3", "C4", "C5", "A1", "A2"}
    assert accounts["C1"]["Affiliate_To"]["id"] == accounts["A1"]["id"]
    assert accounts["C2"].get("Affiliate_To") is None
    assert accounts["C3"]["Affiliate_To"]["id"] == accounts["A2"]["id"]
    assert accounts["C4"]["Affiliate_To"]["id"] == accounts["A2"]["id"]
    assert accounts["C5"].get("Affiliate_To") is None
    assert accounts["A2"]["Account_Name"] == "Shared new"
    assert report.linked == 3
    assert_parity(env, contacts=False)


def test_link_is_cleared_when_galaxy_drops_the_affiliate(env: Env) -> None:
    env.galaxy.put_rows("zh_Customers_fin", [_customer("C1", 2000001, card="CARD1")])
    env.galaxy.put_rows("ZH_AFFILIATE", [_affiliate("A1", 2000001)])
    env.galaxy.put_rows("ZH_CONTACTS", [])
    sync(env, entities=("accounts",))
    assert accounts_by_key(env)["C1"]["Affiliate_To"] is not None
    env.galaxy.put_rows("ZH_AFFILIATE", [])
    env.galaxy.add_rows("zh_Customers_fin", [_customer("C1", 2000010, card="CARD1")])
    sync(env, entities=("accounts",))
    assert accounts_by_key(env)["C1"].get("Affiliate_To") is None


def test_failed_affiliate_read_writes_nothing_and_loses_nothing(env: Env) -> None:
    env.galaxy.faults.add(
        _rules({"endpoint": "view:zh_affiliate", "action": "status", "status": 500, "count": 10})
    )
    report = sync(env, entities=("accounts",))
    assert report.status == "aborted"
    assert report.exit_code == 3
    assert env.zoho.records("Accounts") == []
    env.galaxy.faults.clear()
    again = sync(env, entities=("accounts",))
    assert again.status == "incomplete"
    assert_parity(env, contacts=False)


def _rules(*rules: dict[str, Any]) -> list[Any]:
    from gzsync.sandbox.faults import FaultRule

    return [FaultRule.from_json(r) for r in rules]


def test_galaxy_session_expiry_mid_run_reauthenticates_once(env: Env) -> None:
    sync(env, entities=("accounts",))
    auth_before = env.galaxy.stats()["calls"].get("auth", 0)
    env.galaxy.touch(customers=5, contacts=0, seed=1)
    env.galaxy.faults.add(_rules({"endpoint": "view:zh_affiliate", "status": 401, "count": 1}))
    report = sync(env, entities=("accounts",))
    assert report.status == "incomplete"
    assert env.galaxy.stats()["calls"].get("auth", 0) == auth_before + 1
    assert_parity(env, contacts=False)


def test_zoho_token_expiry_mid_run_refreshes_once(env: Env) -> None:
    env.zoho.set_limits(token_ttl_s=3600)
    env.zoho.faults.add(_rules({"endpoint": "upsert", "status": 401, "count": 1}))
    report = sync(env, entities=("accounts",))
    assert report.status == "incomplete"
    assert env.zoho.stats()["tokens_issued"] == 2
    assert_parity(env, contacts=False)


def test_a_storm_of_429s_is_ridden_out(env: Env) -> None:
    env.zoho.faults.add(
        _rules({"endpoint": "upsert", "status": 429, "probability": 0.5, "count": 25}), seed=3
    )
    report = sync(env, entities=("accounts",))
    assert report.zoho_throttled >= 1
    assert report.customers.failed == 0
    assert_parity(env, contacts=False)


def test_zoho_down_mid_run_loses_nothing(env: Env) -> None:
    # the first batches go through, then every upsert fails until retries give up
    env.zoho.faults.add(_rules({"endpoint": "upsert:Accounts", "status": 503, "count": 60}))
    first = sync(env, entities=("accounts",))
    assert first.status == "aborted"
    assert first.exit_code == 3
    assert {e.kind for e in ledger(env)} >= {"failed"}  # the batches that were tried
    env.zoho.faults.clear()
    second = sync(env, entities=("accounts",))
    assert second.status == "incomplete"
    assert_parity(env, contacts=False)
    assert {e.kind for e in ledger(env)} == {"rejected"}


def test_dev_limit_takes_the_lowest_revisions(env: Env) -> None:
    revs = sorted(r["THIRDPARTYREVNUM"] for r in env.galaxy.rows("zh_Customers_fin"))
    report = sync(env, env.with_settings(DEV_LIMIT=50), entities=("accounts",))
    assert report.customers.fetched == 50
    assert report.watermark_after["customers"] == revs[49]
    written = {
        a["Rev_Number"]
        for a in env.zoho.records("Accounts")
        if a.get("Affiliate_To", "absent") != "absent"
    }
    assert written
    assert max(written) <= revs[49]
    sync(env, entities=("accounts",))
    assert_parity(env, contacts=False)


def test_dry_run_writes_nothing(env: Env) -> None:
    report = sync(env, dry_run=True)
    assert report.dry_run
    assert report.customers.inserted > 0  # what would be inserted
    assert env.zoho.records("Accounts") == []
    assert env.zoho.records("Contacts") == []
    assert env.zoho.stats()["calls"].get("upsert", 0) == 0
    store = open_sqlite_store(env.state_db)
    try:
        assert store.get_watermark("customers") is None
        assert store.ledger_list() == []
        assert store.runs() == []
    finally:
        store.close()


def test_a_second_run_while_one_holds_the_lock_is_refused(env: Env) -> None:
    store = open_sqlite_store(env.state_db)
    try:
        store.acquire_lock("other-host pid 1", ttl_s=600)
        with pytest.raises(LockHeldError) as caught:
            sync(env)
        assert "other-host pid 1" in str(caught.value)
        assert env.zoho.records("Accounts") == []
    finally:
        store.close()


def test_rows_redelivered_by_galaxy_are_not_duplicated(tmp_path: Path) -> None:
    # a dropped connection mid-response makes the client read the view again
    for e in make_env(tmp_path, customers=120):
        e.galaxy.faults.add(
            _rules({"endpoint": "view:zh_customers_fin", "action": "drop", "count": 1})
        )
        sync(e, entities=("accounts",))
        assert_parity(e, contacts=False)


def test_lost_state_falls_back_to_zoho_watermark_without_duplicates(env: Env) -> None:
    sync(env, entities=("accounts",))
    env.state_db.unlink()  # a new machine: the state store is gone
    env.galaxy.touch(customers=10, contacts=0, seed=9)
    report = sync(env, env.with_settings(WATERMARK_REREAD=50), entities=("accounts",))
    assert report.watermark_before["customers"] is not None  # read from Zoho, minus 50
    assert report.customers.inserted == 0  # re-read rows are updates, never duplicates
    assert report.customers.fetched >= 10
    assert_parity(env, contacts=False)


def test_since_rev_backfills_below_the_watermark(env: Env) -> None:
    first = sync(env, entities=("accounts",))
    report = sync(env, since_rev=0, entities=("accounts",))
    assert report.customers.fetched == first.customers.fetched
    assert report.customers.inserted == 0
    assert report.watermark_after["customers"] == first.watermark_after["customers"]
    assert_parity(env, contacts=False)
