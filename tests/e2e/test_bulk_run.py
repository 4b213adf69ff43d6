"""Bulk Write in the run (issue 15): big loads through jobs, the same commit/ledger path.

Against the sandboxes: the Zoho sandbox's Bulk Write writes into the same CRM as upserts,
so parity checks the end state whichever path wrote it.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.helpers import assert_parity, ledger, make_env, sync

from gzsync.state.sqlite import open_sqlite_store
from gzsync.sync.bulk_path import pending_key


def _meta(state_db: Path, name: str) -> str | None:
    store = open_sqlite_store(state_db)
    try:
        return store.meta_get(name)
    finally:
        store.close()


def _ids(state_db: Path, module: str, keys: list[str]) -> dict[str, str]:
    store = open_sqlite_store(state_db)
    try:
        return store.ids_get(module, keys)
    finally:
        store.close()


def test_a_first_sync_above_the_threshold_goes_through_bulk_write(tmp_path: Path) -> None:
    for env in make_env(tmp_path, customers=400):
        settings = env.with_settings(BULK_THRESHOLD=100, BULK_POLL=0, BULK_FILE_ROWS=150)
        report = sync(env, settings, bulk=None)
        assert report.status in ("success", "incomplete"), report.message
        stats = env.zoho.stats()["calls"]
        # customers (400 > 100) and contacts are chosen for Bulk Write; files of 150
        # rows cost less as upserts (below MIN_JOB_ROWS), so without --bulk they go so
        assert set(report.bulk) >= {"customers", "contacts"}
        assert report.bulk["customers"]["records"] >= 390
        assert stats.get("bulk_write", 0) == 0  # every file is below MIN_JOB_ROWS
        assert_parity(env)


def test_bulk_forced_writes_every_stream_by_jobs_and_fills_the_id_cache(tmp_path: Path) -> None:
    for env in make_env(tmp_path, customers=300):
        settings = env.with_settings(BULK_POLL=0, BULK_FILE_ROWS=120)
        report = sync(env, settings, bulk=True)
        assert report.status in ("success", "incomplete"), report.message
        stats = env.zoho.stats()["calls"]
        jobs = report.bulk["customers"]["jobs"] + report.bulk["contacts"]["jobs"]
        jobs += report.bulk.get("affiliates", {}).get("jobs", 0)
        assert stats["bulk_write"] == jobs >= 3 + 3
        # a record whose payload lacks a column (a link left alone) may go as an upsert;
        # nearly everything went by job
        assert stats.get("upsert", 0) <= 3
        assert_parity(env)
        # the job results fed the same commit path: ids cached, watermarks moved, ledger
        # holds only what the mapping rejected
        accounts = {r["Trader_ID"]: r["id"] for r in env.zoho.records("Accounts")}
        some = sorted(accounts)[:50]
        assert _ids(env.state_db, "Accounts", some) == {k: accounts[k] for k in some}
        assert all(e.kind == "rejected" for e in ledger(env))
        top = max(int(r["THIRDPARTYREVNUM"]) for r in env.galaxy.rows("zh_Customers_fin"))
        assert report.watermark_after["customers"] == top
        assert not _meta(env.state_db, pending_key("customers"))
        # a second run sends nothing again: the hashes were kept from the job results
        again = sync(env, settings)
        assert env.zoho.stats()["calls"]["bulk_write"] == jobs
        assert again.customers.inserted + again.customers.updated == 0
        assert_parity(env)


def test_no_bulk_forbids_it(tmp_path: Path) -> None:
    for env in make_env(tmp_path, customers=200):
        settings = env.with_settings(BULK_THRESHOLD=10, BULK_POLL=0)
        report = sync(env, settings, bulk=False)
        assert report.bulk == {}
        assert env.zoho.stats()["calls"].get("bulk_write", 0) == 0
        assert_parity(env)


def test_a_run_stopped_while_zoho_works_is_collected_by_the_next(tmp_path: Path) -> None:
    for env in make_env(tmp_path, customers=250):
        settings = env.with_settings(BULK_POLL=0)
        # Zoho takes "long": the job is not done within the first run's polls
        env.zoho.bulk.polls_to_complete = 10**6
        first = sync(env, settings, bulk=True, max_duration_s=1.0, entities=("accounts",))
        assert first.status == "partial", first.message
        pending = json.loads(_meta(env.state_db, pending_key("affiliates")) or "{}")
        assert pending.get("job_id") in env.zoho.bulk.jobs
        assert env.zoho.stats()["calls"]["bulk_write"] == 1
        # Zoho finishes; the next run collects that job instead of submitting it again
        env.zoho.bulk.polls_to_complete = 1
        second = sync(env, settings, bulk=True, entities=("accounts",))
        assert second.status in ("success", "incomplete"), second.message
        assert second.bulk["affiliates"]["collected"] == 1
        assert second.bulk["affiliates"]["jobs"] == 0
        calls = env.zoho.stats()["calls"]
        assert calls["bulk_write"] == 2  # the first run's affiliates job + the customers'
        assert not _meta(env.state_db, pending_key("affiliates"))
        assert_parity(env, contacts=False)


def test_a_job_zoho_finished_after_the_run_stopped_is_not_paid_for_again(
    tmp_path: Path,
) -> None:
    from gzsync.sandbox.zoho_bulk import _finish

    for env in make_env(tmp_path, customers=250):
        settings = env.with_settings(BULK_POLL=0)
        env.zoho.bulk.polls_to_complete = 10**6
        first = sync(env, settings, bulk=True, max_duration_s=1.0, entities=("accounts",))
        assert first.status == "partial", first.message
        (job,) = env.zoho.bulk.jobs.values()
        # Zoho processes the job between the runs (as it does: it does not wait for polls)
        _finish(job, env.zoho.crm)
        assert env.zoho.records("Accounts")  # the affiliates are in Zoho now
        env.zoho.bulk.polls_to_complete = 1
        second = sync(env, settings, bulk=True, entities=("accounts",))
        assert second.status in ("success", "incomplete"), second.message
        # the affiliates Zoho holds as they should be are not sent again (the read compares
        # with Zoho), no job is submitted for them, and the old job's entry is cleared
        assert second.bulk.get("affiliates", {}).get("jobs", 0) == 0
        assert env.zoho.stats()["calls"]["bulk_write"] == 2  # the affiliates' + customers'
        assert not _meta(env.state_db, pending_key("affiliates"))
        assert_parity(env, contacts=False)


def test_a_lookup_zoho_refuses_in_a_job_is_repaired_as_with_upserts(tmp_path: Path) -> None:
    """A contact whose cached Account id Zoho refuses in the job (Account deleted in the
    CRM, re-created with a new id) is evicted, resolved again and resent; one whose Account
    is gone waits in the ledger (`waiting_parent`)."""
    from tests.e2e.test_contacts_sync import _contact, _small_world, accounts_by_key

    for env in make_env(tmp_path, customers=10):
        settings = env.with_settings(BULK_POLL=0)
        _small_world(env)
        sync(env, settings)
        old_c1 = accounts_by_key(env)["C1"]["id"]
        assert env.zoho.delete_record("Accounts", old_c1)
        env.zoho.crm.upsert(
            "Accounts", [{"Trader_ID": "C1", "Account_Name": "Customer C1"}], ["Trader_ID"]
        )
        new_c1 = accounts_by_key(env)["C1"]["id"]
        assert env.zoho.delete_record("Accounts", accounts_by_key(env)["C2"]["id"])
        env.galaxy.add_rows(
            "ZH_CONTACTS",
            [
                _contact("K1", "C1", 3000050, JOBTITLE="Owner"),
                _contact("K3", "C2", 3000051, JOBTITLE="Owner"),
            ],
        )
        report = sync(env, settings, entities=("contacts",), bulk=True)
        assert report.bulk["contacts"]["jobs"] == 1
        contacts = {r["Galaxy_Contact_ID"]: r for r in env.zoho.records("Contacts")}
        assert contacts["K1"]["Account_Name"]["id"] == new_c1
        assert contacts["K1"]["Title"] == "Owner"
        entry = next(e for e in ledger(env) if e.key == "K3")
        assert entry.kind == "waiting_parent"


def test_a_failed_job_sends_its_records_to_the_ledger_and_the_next_run_retries(
    tmp_path: Path,
) -> None:
    for env in make_env(tmp_path, customers=200):
        settings = env.with_settings(BULK_POLL=0)
        env.zoho.bulk.fail_next = 1  # the first job (the affiliates' file) ends FAILED
        first = sync(env, settings, bulk=True, entities=("accounts",))
        assert first.status == "incomplete", first.message
        failed = [e for e in ledger(env) if e.kind == "failed"]
        assert failed
        assert {e.reason for e in failed} == {"BULK_JOB_FAILED"}
        assert not _meta(env.state_db, pending_key("affiliates"))
        second = sync(env, settings, bulk=True, entities=("accounts",))
        assert second.status in ("success", "incomplete"), second.message
        assert not [e for e in ledger(env) if e.kind == "failed"]
        assert_parity(env, contacts=False)


def test_the_credit_reserve_is_asked_for_a_job_s_cost_between_files(tmp_path: Path) -> None:
    for env in make_env(tmp_path, customers=200):
        # two jobs fit (about 505 credits each), a third would eat into the reserve
        env.zoho.set_limits(daily_credits=1400)
        settings = env.with_settings(
            BULK_POLL=0, ZOHO_DAILY_CREDITS=1400, ZOHO_CREDIT_RESERVE="300"
        )
        first = sync(env, settings, bulk=True)
        assert first.status == "partial", first.message
        assert "ZOHO_CREDIT_RESERVE" in first.message
        assert env.zoho.stats()["calls"]["bulk_write"] == 2  # affiliates, customers
        assert env.zoho.stats()["credits_remaining"] >= 300
        assert not [e for e in ledger(env) if e.kind == "failed"]
        env.zoho.set_limits(daily_credits=1400)  # a new day
        last = sync(env, settings, bulk=True)
        assert last.status in ("success", "incomplete"), last.message
        assert env.zoho.stats()["calls"]["bulk_write"] == 3  # + the contacts'
        assert_parity(env)


def test_an_upsert_run_waits_for_an_earlier_job_within_its_budget(tmp_path: Path) -> None:
    """An older job must not land after newer upserts: a run without Bulk Write first sees
    an earlier run's job to its end; at its budget it stops partial (not a crash)."""
    for env in make_env(tmp_path, customers=200):
        settings = env.with_settings(BULK_POLL=0)
        env.zoho.bulk.polls_to_complete = 10**6
        first = sync(env, settings, bulk=True, max_duration_s=1.0, entities=("accounts",))
        assert first.status == "partial"
        assert _meta(env.state_db, pending_key("affiliates"))
        second = sync(env, settings, bulk=False, max_duration_s=1.0, entities=("accounts",))
        assert second.status == "partial", second.message
        assert "still running" in second.message
        assert env.zoho.stats()["calls"].get("upsert", 0) == 0  # nothing sent meanwhile
        env.zoho.bulk.polls_to_complete = 1
        third = sync(env, settings, bulk=False, entities=("accounts",))
        assert third.status in ("success", "incomplete"), third.message
        assert not _meta(env.state_db, pending_key("affiliates"))
        assert env.zoho.stats()["calls"]["bulk_write"] == 1
        assert_parity(env, contacts=False)
