"""`reconcile` of phase 2 against the sandboxes: a CRM user's changes to Quotes and Products
(through Zoho's API) are found exactly, at the cost the line-item mode promises, and
`--repair` brings the quotes back to exact parity through the sync's QuoteWriter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.helpers import Env, make_env, sync
from tests.e2e.quotes_helpers import (
    galaxy_put,
    line,
    offer,
    quotes_parity,
    zoho_inventory,
    zoho_records,
)
from tests.reconcile.quote_drift import QuoteDrift, make_quote_drift, quote_of, remove_by_hand

from gzsync.reconcile import ReconcileOptions, ReconcileReport, reconcile
from gzsync.reconcile.classify import CLASSES, REPAIRED
from gzsync.sandbox.drift import CrmUser
from gzsync.sync.budget import Budget


@pytest.fixture
def qenv(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path, customers=120, seed=11, offers=40)


def _reconcile(env: Env, **options: Any) -> ReconcileReport:
    options.setdefault("entities", ("quotes",))
    return reconcile(env.settings, ReconcileOptions(**options))


def _keys(report: ReconcileReport, stream: str, cls: str) -> set[str]:
    return {s.get("key", "") for s in report.counts(stream).samples.get(cls, [])}


def _synced(env: Env) -> None:
    report = sync(env)
    assert report.quotes.inserted >= 30, report.to_json()["quotes"]
    assert quotes_parity(env).ok


def test_a_synced_org_costs_no_line_reads_in_auto_mode(qenv: Env) -> None:
    _synced(qenv)
    report = _reconcile(qenv)
    assert report.status == "complete"
    assert report.differences() == 0, report.to_json()["samples"]
    assert report.checked["quotes"] == 40
    # every Grand_Total agrees with its offer's TotalValue: no offer's lines read, no GET
    assert report.quote_lines == {
        "mode": "auto",
        "galaxy_reads": 0,
        "read_failed": 0,
        "compared": 0,
        "differ": 0,
    }
    assert report.zoho_calls.get("records", 0) == 0
    # Accounts, Quotes and Products: one COQL page each; one Galaxy call for the offers
    assert report.zoho_calls["coql"] == 3
    assert report.galaxy_calls <= 2  # the offers view (+ a login)
    assert report.exit_code == 0


def test_every_change_a_crm_user_makes_is_found_exactly(qenv: Env) -> None:
    _synced(qenv)
    drift = make_quote_drift(qenv)
    report = _reconcile(qenv)
    for section in ("quotes", "products"):
        counts = report.counts(section).counts
        assert counts == drift.counts(section, CLASSES), (section, counts)
        want: dict[str, set[str]] = getattr(drift, section)
        for cls in CLASSES:
            if cls != "unkeyed":
                assert _keys(report, section, cls) == want.get(cls, set()), (section, cls)
    fields = {s["key"]: s["fields"] for s in report.counts("quotes").samples["drifted"]}
    assert fields[drift.row_changed] == ["Quoted_Items"]
    assert sorted(map(tuple, fields.values())) == [("Quote_Stage",), ("Quoted_Items",)]
    # lines read only where the header said so: missing, link_wrong, both drifted
    lines = report.quote_lines
    assert lines is not None
    assert lines["galaxy_reads"] == 4
    assert lines["compared"] == 3  # the missing one has no Zoho rows to fetch
    assert lines["differ"] == 1
    assert report.exit_code == 1


@pytest.mark.parametrize("mode", ["append", "replace"])
def test_repair_brings_quotes_back_to_exact_parity(qenv: Env, mode: str) -> None:
    zoho_inventory(qenv, line_items=mode)
    _synced(qenv)
    drift = make_quote_drift(qenv)
    repaired = _reconcile(qenv, repair=True)
    assert repaired.status == "complete"
    assert repaired.repaired["quotes"]["confirmed"] == 4  # missing, link_wrong, 2 drifted
    assert repaired.repaired["quotes"]["ledgered"] == 0
    assert repaired.repaired["products"]["confirmed"] == 1
    assert repaired.exit_code == 1  # the orphan and the hand-made quote are a person's call
    after = _reconcile(qenv)
    for section in ("quotes", "products"):
        counts = after.counts(section).counts
        assert all(counts[c] == 0 for c in REPAIRED), (section, counts)
    assert after.counts("quotes").counts["orphan"] == 1
    assert after.counts("quotes").counts["unkeyed"] == 1
    assert quote_of(qenv, drift.row_changed)["Quote_Stage"] is not None
    names = {p["Product_Code"]: p["Product_Name"] for p in zoho_records(qenv, "Products")}
    assert "Renamed in the CRM" not in names.values()
    # nothing deleted by the repair: a person removes the orphan and the hand-made quote
    held = {q["id"] for q in zoho_records(qenv, "Quotes")}
    assert {drift.orphan_id, drift.unkeyed_id} <= held
    remove_by_hand(qenv, [drift.orphan_id, drift.unkeyed_id])
    result = quotes_parity(qenv)
    assert result.ok, result.summary()
    assert _reconcile(qenv).exit_code == 0


def test_repair_dry_run_sends_nothing(qenv: Env) -> None:
    _synced(qenv)
    make_quote_drift(qenv)
    calls = dict(qenv.zoho.stats()["calls"])
    report = _reconcile(qenv, repair=True, dry_run=True)
    assert report.repaired["quotes"]["sent"] == 4
    assert report.repaired["products"]["sent"] == 1
    assert report.repaired["quotes"]["confirmed"] == 0
    now = qenv.zoho.stats()["calls"]
    for name in ("upsert", "update", "insert"):
        assert now.get(name, 0) == calls.get(name, 0), name
    assert _reconcile(qenv).counts("quotes").counts["missing"] == 1


def test_a_change_that_keeps_the_total_is_seen_only_by_all(qenv: Env) -> None:
    _synced(qenv)
    quote = sorted(zoho_records(qenv, "Quotes"), key=lambda q: str(q["ERP_ID_Offer"]))[0]
    row = quote["Quoted_Items"][0]
    with CrmUser(qenv.urls.zoho_api_url) as user:
        user.update(
            "Quotes",
            str(quote["id"]),
            {"Quoted_Items": [{"id": row["id"], "Description": "edited in the CRM"}]},
        )
    auto = _reconcile(qenv)
    assert auto.differences() == 0  # Grand_Total unchanged: auto reads no lines
    full = _reconcile(qenv, quote_lines="all")
    assert full.counts("quotes").counts["drifted"] == 1
    assert _keys(full, "quotes", "drifted") == {quote["ERP_ID_Offer"]}
    lines = full.quote_lines
    assert lines is not None
    assert lines["galaxy_reads"] == lines["compared"] == 40
    assert full.checked["products"] > 0  # every product an offer names was compared
    fixed = _reconcile(qenv, quote_lines="all", repair=True)
    assert fixed.repaired["quotes"]["confirmed"] == 1
    assert _reconcile(qenv, quote_lines="all").differences() == 0
    assert quotes_parity(qenv).ok


def test_account_by_tin_and_quotes_that_wait_are_classified_as_the_sync_holds_them(
    qenv: Env,
) -> None:
    _synced(qenv)
    accounts = [a for a in qenv.zoho.records("Accounts") if a.get("Account_AFM")]
    unique, shared, other = accounts[0], accounts[1], accounts[2]
    code = zoho_records(qenv, "Products")[0]["Product_Code"]
    galaxy_put(
        qenv,
        "zh_offers",
        [
            offer("wait-unknown", 9_000_001, trdrid="NO-SUCH-CUSTOMER"),
            offer("wait-ambiguous", 9_000_002, trdrid=None, tin=str(shared["Account_AFM"])),
            offer("by-tin", 9_000_003, trdrid=None, tin=str(unique["Account_AFM"])),
        ],
        method="POST",
    )
    galaxy_put(
        qenv,
        "offer_lines",
        [line(o, 1, code, 1, 25.0) for o in ("wait-unknown", "wait-ambiguous", "by-tin")],
        method="POST",
    )
    with CrmUser(qenv.urls.zoho_api_url) as user:  # a second Account with that TIN
        user.update("Accounts", str(other["id"]), {"Account_AFM": shared["Account_AFM"]})
    report = _reconcile(qenv, quote_lines="none")
    assert _keys(report, "quotes", "missing") == {"BY-TIN"}
    assert report.counts("quotes").counts["missing"] == 1  # the two others wait
    lines = report.quote_lines
    assert lines is not None
    assert lines["galaxy_reads"] == 1
    assert lines["compared"] == 0
    fixed = _reconcile(qenv, quote_lines="none", repair=True)
    assert fixed.repaired["quotes"]["confirmed"] == 1
    assert quote_of(qenv, "BY-TIN")["Account_Name"]["id"] == str(unique["id"])
    assert {q.get("ERP_ID_Offer") for q in zoho_records(qenv, "Quotes")}.isdisjoint(
        {"WAIT-UNKNOWN", "WAIT-AMBIGUOUS"}
    )


def test_drift_fixture_is_distinct(qenv: Env) -> None:
    _synced(qenv)
    drift: QuoteDrift = make_quote_drift(qenv)
    keys = [k for held in drift.quotes.values() for k in held]
    assert len(keys) == len(set(keys)) == 5


def test_a_budget_stop_in_the_quotes_resumes_and_finds_the_same(qenv: Env) -> None:
    _synced(qenv)
    drift = make_quote_drift(qenv)
    ticks = iter(range(0, 10_000, 40))
    budget = Budget(max_duration_s=100, clock=lambda: next(ticks))
    stopped = reconcile(qenv.settings, ReconcileOptions(entities=("quotes",)), budget=budget)
    assert stopped.status == "partial"
    assert "quotes" not in stopped.checked  # stopped before the quotes were classified
    coql_before = qenv.zoho.calls["coql"]
    resumed = _reconcile(qenv)
    assert resumed.resumed
    assert resumed.status == "complete"
    assert resumed.counts("quotes").counts == drift.counts("quotes", CLASSES)
    assert qenv.zoho.calls["coql"] - coql_before < 3  # only the pages left to read
