"""`reconcile` against the sandboxes: every class made on purpose by a CRM user (through
Zoho's API) is found exactly; --repair converges; a seed-style merged org is repaired to
exact parity; orphans are tagged, never deleted; a budget stop resumes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.helpers import Env, assert_parity, ledger, parity, sync

from gzsync.reconcile import ReconcileOptions, ReconcileReport, reconcile
from gzsync.reconcile.classify import CLASSES, REPAIRED
from gzsync.sandbox import credentials
from gzsync.sandbox.drift import CrmUser, Drift, make_drift
from gzsync.sync.budget import Budget


def _reconcile(env: Env, **options: Any) -> ReconcileReport:
    settings = options.pop("settings", env.settings)
    budget = options.pop("budget", None)
    return reconcile(settings, ReconcileOptions(**options), budget=budget)


def _keys(report: ReconcileReport, stream: str, cls: str) -> set[str]:
    samples = report.counts(stream).samples.get(cls, [])
    return {s.get("key", "") for s in samples}


def _drift(env: Env) -> Drift:
    with CrmUser(env.urls.zoho_api_url) as user:
        return make_drift(
            user,
            customers=env.galaxy.rows("zh_Customers_fin"),
            affiliates=env.galaxy.rows("ZH_AFFILIATE"),
            contacts=env.galaxy.rows("ZH_CONTACTS"),
        )


def test_a_synced_org_is_in_parity_and_reconcile_says_so(env: Env) -> None:
    sync(env)
    report = _reconcile(env)
    assert report.status == "complete"
    assert report.differences() == 0, report.to_json()["samples"]
    assert report.checked["accounts"] >= 200
    assert report.checked["contacts"] > 0
    assert report.exit_code == 0
    # COQL pages of 2,000, 3 credits each (Accounts, Contacts, and by default Quotes and
    # Products: none here); one read of each Galaxy view
    assert report.zoho_calls["coql"] == 4
    assert report.checked["quotes"] == 0
    assert report.zoho_credits >= 6
    assert report.galaxy_calls >= 3


def test_reconcile_reads_amounts_with_the_syncs_number_decimal(env: Env) -> None:
    # NUMBER_DECIMAL=dot: "1,234" is 1234 for the sync; a reconcile reading it as 1.234
    # would report drift that is not there, and its repair would write the wrong amount
    env.settings = env.with_settings(NUMBER_DECIMAL="dot")
    rows = env.galaxy.rows("zh_Customers_fin")
    rows[0] = {**rows[0], "BALANCE": "1,234", "MAXBALANCE": "2,500"}
    env.galaxy.put_rows("zh_Customers_fin", rows)
    sync(env)
    assert_parity(env)
    key = str(rows[0]["TRDRID"]).upper()
    zoho = {r["Trader_ID"]: r for r in env.zoho.records("Accounts")}
    assert zoho[key]["Credit_Limit"] == 1234
    report = _reconcile(env, repair=True)
    assert report.differences() == 0, report.to_json()["samples"]
    assert {r["Trader_ID"]: r for r in env.zoho.records("Accounts")}[key] == zoho[key]


def test_every_class_made_by_a_crm_user_is_found_exactly(env: Env) -> None:
    sync(env)
    drift = _drift(env)
    report = _reconcile(env)
    for stream in ("accounts", "contacts"):
        want: dict[str, set[str]] = getattr(drift, stream)
        counts = report.counts(stream).counts
        assert counts == {c: len(want.get(c, ())) for c in CLASSES}, (stream, counts)
        for cls in CLASSES:
            if cls != "unkeyed":
                assert _keys(report, stream, cls) == want.get(cls, set()), (stream, cls)
    stale = report.counts("accounts").samples["stale"][0]
    assert stale["fields"] == ["SALESNAME"]
    (dup,) = [m for m in report.merge_candidates if m["stream"] == "accounts"]
    assert len(dup["ids"]) == 2
    assert report.exit_code == 1


def test_repair_converges_and_leaves_what_it_must_not_touch(env: Env) -> None:
    sync(env)
    drift = _drift(env)
    accounts_before = {r["id"] for r in env.zoho.records("Accounts")}
    first = _reconcile(env, repair=True)
    assert first.status == "complete"
    repaired = sum(first.counts("accounts").counts[c] for c in REPAIRED)
    assert first.repaired["accounts"]["confirmed"] == repaired == 4
    assert first.repaired["contacts"]["confirmed"] == 4
    second = _reconcile(env)
    for stream in ("accounts", "contacts"):
        counts = second.counts(stream).counts
        assert all(counts[c] == 0 for c in REPAIRED), (stream, counts)
        # orphans, duplicates and hand-made records stay: counted, never deleted or merged
        assert counts["orphan"] == counts["duplicate"] == counts["unkeyed"] == 1
    assert _keys(second, "accounts", "duplicate") == drift.accounts["duplicate"]
    # nothing was deleted: every record but the one the user deleted is still there
    after = {r["id"] for r in env.zoho.records("Accounts")}
    assert accounts_before <= after
    assert not [e for e in ledger(env) if e.reason == "parent_not_in_zoho"]


def test_repair_dry_run_sends_nothing(env: Env) -> None:
    sync(env)
    _drift(env)
    upserted = env.zoho.records_upserted
    report = _reconcile(env, repair=True, dry_run=True)
    assert report.repaired["accounts"]["sent"] == 4
    assert report.repaired["accounts"]["confirmed"] == 0
    assert env.zoho.records_upserted == upserted
    assert _reconcile(env).counts("accounts").counts["missing"] == 1


def test_orphans_are_tagged_not_deleted_with_orphan_action_tag(env: Env) -> None:
    sync(env)
    rows = env.galaxy.rows("zh_Customers_fin")
    plain = rows[-1]["TRDRID"].strip().upper()
    env.galaxy.put_rows("zh_Customers_fin", rows[:-1])  # deleted in the ERP
    settings = env.with_settings(ORPHAN_ACTION="tag")
    report = _reconcile(env, settings=settings, repair=True, entities=("accounts",))
    assert plain in _keys(report, "accounts", "orphan")
    assert report.repaired["accounts"]["tagged"] == report.counts("accounts").counts["orphan"]
    by_key = {r["Trader_ID"]: r for r in env.zoho.records("Accounts")}
    assert by_key[plain]["Galaxy_Status"] == "deleted"
    again = _reconcile(env, settings=settings, repair=True, entities=("accounts",))
    assert again.counts("accounts").counts["orphan"] == report.counts("accounts").counts["orphan"]
    assert again.repaired["accounts"]["tagged"] == 0  # already tagged: not sent again


def test_seed_style_merged_org_is_repaired_to_exact_parity(env: Env) -> None:
    """The seed upserted on Account_Name and sent only present values: same-name customers
    overwrote one another. Reconcile --repair brings the org to exact parity."""
    _seed_style_load(env)
    before = parity(env, contacts=False)
    assert before.missing
    assert before.mismatched
    report = _reconcile(env, repair=True, entities=("accounts",))
    assert report.counts("accounts").counts["missing"] >= len(before.missing) - 1
    assert report.repaired["accounts"]["ledgered"] == 0
    assert_parity(env, contacts=False)
    assert _reconcile(env, entities=("accounts",)).differences() == 0


def _seed_style_load(env: Env) -> None:
    from gzsync.mapping.records import Mapped, map_customer

    token = httpx.post(
        f"{env.urls.zoho_api_url}/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": credentials.ZOHO_CLIENT_ID,
            "client_secret": credentials.ZOHO_CLIENT_SECRET,
            "refresh_token": credentials.ZOHO_REFRESH_TOKEN,
        },
    ).json()["access_token"]
    records = []
    for row in env.galaxy.rows("zh_Customers_fin"):
        item = map_customer(row)
        if isinstance(item, Mapped):
            records.append({k: v for k, v in item.payload.items() if v is not None})
    for start in range(0, len(records), 100):
        response = httpx.post(
            f"{env.urls.zoho_api_url}/crm/v8/Accounts/upsert",
            json={"data": records[start : start + 100], "duplicate_check_fields": ["Account_Name"]},
            headers={"Authorization": f"Zoho-oauthtoken {token}"},
        )
        assert response.status_code in (200, 207)


def test_a_budget_stop_resumes_where_it_stopped(env: Env, tmp_path: Path) -> None:
    sync(env)
    _drift(env)
    ticks = iter(range(0, 10_000, 40))
    phase1 = ("accounts", "contacts")
    stopped = _reconcile(
        env, entities=phase1, budget=Budget(max_duration_s=100, clock=lambda: next(ticks))
    )
    assert stopped.status == "partial"
    assert stopped.exit_code == 0
    coql_before = env.zoho.calls["coql"]
    resumed = _reconcile(env, entities=phase1)
    assert resumed.resumed
    assert resumed.status == "complete"
    assert resumed.counts("accounts").counts["missing"] == 1
    assert env.zoho.calls["coql"] - coql_before <= 2  # only what was left to read
    # a finished reconcile leaves no checkpoint behind
    assert not (env.state_db.parent / "reconcile").exists()


def test_a_sync_after_a_stopped_reconcile_makes_it_start_over(env: Env) -> None:
    sync(env)
    ticks = iter(range(0, 10_000, 40))
    assert _reconcile(env, budget=Budget(max_duration_s=100, clock=lambda: next(ticks))).status == (
        "partial"
    )
    sync(env)
    again = _reconcile(env)
    assert not again.resumed
    assert again.status == "complete"


def test_a_running_sync_holds_the_lock_and_reconcile_waits_for_it(env: Env) -> None:
    from gzsync.errors import LockHeldError
    from gzsync.state.sqlite import open_sqlite_store

    sync(env)
    store = open_sqlite_store(env.state_db)
    try:
        store.acquire_lock("a sync elsewhere", 60)
        with pytest.raises(LockHeldError) as raised:
            _reconcile(env)
        assert raised.value.exit_code == 75
    finally:
        store.release_lock("a sync elsewhere")
        store.close()
    assert _reconcile(env).status == "complete"
