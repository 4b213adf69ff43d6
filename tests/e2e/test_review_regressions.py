"""Regressions found by a code review of the sync core: each test failed before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.e2e.helpers import Env, accounts_by_key, assert_parity, ledger, sync
from tests.e2e.test_accounts_sync import _affiliate, _customer
from tests.e2e.test_contacts_sync import _contact, _small_world

from gzsync.errors import LockHeldError
from gzsync.sandbox.faults import FaultRule
from gzsync.state.sqlite import SqliteStore, open_sqlite_store


def _watermark(env: Env, stream: str) -> int | None:
    store = open_sqlite_store(env.state_db)
    try:
        return store.get_watermark(stream)
    finally:
        store.close()


def _stale_parent_and_coql_down(env: Env, n_more: int) -> None:
    _small_world(env)
    assert sync(env).status == "success"
    # a CRM user deletes C1's Account: the cached id is stale now
    assert env.zoho.delete_record("Accounts", accounts_by_key(env)["C1"]["id"])
    env.galaxy.add_rows("ZH_CONTACTS", [_contact("K1", "C1", 3000050, JOBTITLE="Owner")])
    env.galaxy.add_rows(
        "ZH_CONTACTS", [_contact(f"M{i:05d}", "C2", 3000100 + i) for i in range(n_more)]
    )
    # COQL is down for this run (only the repair look-up needs it: every parent is cached)
    env.zoho.faults.add([FaultRule(endpoint="coql", status=500)])


@pytest.mark.parametrize("n_more", [250, 3000])
def test_a_failed_parent_repair_is_ledgered_and_never_passed_by_the_watermark(
    env: Env, n_more: int
) -> None:
    _stale_parent_and_coql_down(env, n_more)
    report = sync(env, entities=("contacts",))
    k1 = [e for e in ledger(env) if e.key == "K1"]
    watermark = _watermark(env, "contacts")
    # below the watermark everything is in Zoho or in the ledger
    assert k1 or (watermark is not None and watermark < 3000050), report.to_json()
    assert not (report.status == "success" and not k1)


def test_a_refused_affiliate_keeps_the_link_and_ledger_retry_restores_it(env: Env) -> None:
    env.galaxy.put_rows("zh_Customers_fin", [_customer("C1", 2000001, card="CARD1")])
    env.galaxy.put_rows("ZH_AFFILIATE", [_affiliate("A1", 2000001)])
    env.galaxy.put_rows("ZH_CONTACTS", [])
    sync(env, entities=("accounts",))
    a1 = accounts_by_key(env)["A1"]["id"]
    # C1 changes (same affiliate); Zoho refuses the affiliate record once
    env.galaxy.put_rows("zh_Customers_fin", [_customer("C1", 2000010, card="CARD1")])
    env.galaxy.put_rows("ZH_AFFILIATE", [_affiliate("A1", 2000010)])
    refusal = {
        "data": [
            {
                "status": "error",
                "code": "INVALID_DATA",
                "message": "invalid data",
                "details": {"api_name": "Account_AFM"},
            }
        ]
    }
    env.zoho.faults.add([FaultRule(endpoint="upsert:Accounts", status=207, body=refusal, count=1)])
    # only the revisions changed: --force sends the unchanged payloads (issue 15)
    sync(env, entities=("accounts",), force=True)
    assert accounts_by_key(env)["C1"]["Affiliate_To"]["id"] == a1  # not cleared
    assert [(e.stream, e.key, e.kind) for e in ledger(env)] == [("affiliates", "A1", "refused")]
    store = open_sqlite_store(env.state_db)
    try:
        assert store.ledger_request_retry("affiliates", None) == 1
    finally:
        store.close()
    again = sync(env, entities=("accounts",))
    assert again.status == "success", again.to_json()
    assert ledger(env) == []
    assert_parity(env, contacts=False)


def test_rows_sharing_a_revision_are_not_split_by_a_limit(env: Env) -> None:
    env.galaxy.put_rows("zh_Customers_fin", [_customer("C1", 3000001), _customer("C2", 3000002)])
    env.galaxy.put_rows("ZH_AFFILIATE", [])
    # contacts that carry their customer's revision (as the affiliate view does)
    env.galaxy.put_rows("ZH_CONTACTS", [_contact(f"K{i:03d}", "C1", 3000001) for i in range(150)])
    sync(env, limit=100)
    sync(env)
    assert_parity(env)


def test_a_live_run_keeps_the_lock_even_past_its_expiry(tmp_path: Path) -> None:
    now = [1000.0]
    a = SqliteStore(tmp_path / "s.db", clock=lambda: now[0])
    b = SqliteStore(tmp_path / "s.db", clock=lambda: now[0])  # another process, same machine
    try:
        a.acquire_lock("A", ttl_s=900)
        now[0] += 901  # A is alive (its OS lock stands) but its row expired
        with pytest.raises(LockHeldError):
            b.acquire_lock("B", ttl_s=900)
    finally:
        a.release_lock("A")
        a.close()
        b.close()
