"""End to end: an unchanged offer costs nothing (issue 14 on issue 15's unchanged-skip), a
line-only change is sent and exact, `--force` sends, a failed row fix clears the stored
hash, and a retried offer restored below its ledger revision is found by key."""

from __future__ import annotations

from typing import Any

import httpx
from tests.e2e.helpers import Env, ledger, sync
from tests.e2e.quotes_helpers import (
    assert_quotes_parity,
    galaxy_get,
    galaxy_put,
    line,
    offer,
    quotes_by_key,
)
from tests.e2e.test_quotes_sync import _rows, _world

from gzsync.sandbox.faults import FaultRule
from gzsync.state.sqlite import open_sqlite_store
from gzsync.state.store import hash_module


def _zoho_stats(env: Env) -> dict[str, Any]:
    response = httpx.get(f"{env.urls.zoho_api_url}/__sandbox/stats")
    response.raise_for_status()
    stats: dict[str, Any] = response.json()
    return stats


def _api_calls(env: Env) -> int:
    """API calls so far (an OAuth token refresh is not one)."""
    return sum(n for name, n in _zoho_stats(env)["calls"].items() if name != "token")


def _bump_offers(env: Env, keys: set[str] | None = None) -> int:
    """Give offers (all, or those whose ID is in `keys`) a new revision and nothing else."""
    rows = [r for r in galaxy_get(env, "zh_offers") if keys is None or r["ID"] in keys]
    for row in rows:
        row.pop("CommercialEntry_GXREVNUM")
    galaxy_put(env, "zh_offers", rows, method="POST")
    return len(rows)


def _stored_hashes(env: Env, keys: list[str]) -> dict[str, str]:
    store = open_sqlite_store(env.state_db)
    try:
        return store.ids_get(hash_module("quotes"), keys)
    finally:
        store.close()


def test_a_revision_bump_alone_costs_no_zoho_call(env: Env) -> None:
    _world(env)
    sync(env)
    before = quotes_by_key(env)
    calls, credits = _api_calls(env), _zoho_stats(env)["credits_used"]
    assert _bump_offers(env) == 3
    report = sync(env)
    assert report.status == "success", report.message
    assert _api_calls(env) == calls  # not one Zoho call: no upsert, GET, COQL, product
    assert _zoho_stats(env)["credits_used"] == credits
    assert report.quotes.unchanged == 3
    assert (report.quotes.inserted, report.quotes.updated) == (0, 0)
    assert (report.products.inserted, report.products.updated) == (0, 0)
    assert report.to_json()["quotes"]["unchanged"] == 3
    # the watermark moved over them: the next run reads nothing
    assert sync(env).quotes.fetched == 0
    # Zoho kept the quotes as they were (its Rev_Number lags Galaxy's now)
    after = quotes_by_key(env)
    assert [q["Quoted_Items"] for q in after.values()] == [
        q["Quoted_Items"] for q in before.values()
    ]
    assert after["O1"]["Rev_Number"] == before["O1"]["Rev_Number"]
    assert_quotes_parity(env)


def test_a_line_only_change_is_sent_and_exact(env: Env) -> None:
    _world(env)
    sync(env)
    # only a line of o2 changes (its header stays the same; the line view re-revisions it)
    galaxy_put(env, "offer_lines", [line("o2", 1, "P2", 9, 20.0)], method="POST")
    _bump_offers(env, {"o1"})  # and o1 only gets a new revision
    upserts = _zoho_stats(env)["calls"].get("upsert", 0)
    report = sync(env)
    assert report.quotes.updated == 1
    assert report.quotes.unchanged == 1
    assert report.zoho_calls.get("update", 0) == 1  # the one row changed, by PUT
    assert _zoho_stats(env)["calls"].get("upsert", 0) == upserts + 1  # o2's header only
    # its product P2 is unchanged (same code, name and price): not upserted again
    assert (report.products.unchanged, report.products.updated) == (1, 0)
    assert _rows(env, "O2") == [("P2", 9)]
    assert_quotes_parity(env)
    # the hash now stands for the new lines: bumped again, it is not sent
    calls = _api_calls(env)
    _bump_offers(env, {"o2"})
    assert sync(env).quotes.unchanged == 1
    assert _api_calls(env) == calls


def test_force_sends_unchanged_offers(env: Env) -> None:
    _world(env)
    sync(env)
    _bump_offers(env)
    before = _zoho_stats(env)["calls"]
    report = sync(env, force=True)
    after = _zoho_stats(env)["calls"]
    assert report.quotes.unchanged == 0
    assert report.quotes.updated == 3
    assert report.products.unchanged == 0
    assert report.products.updated == 3
    assert after["upsert:Quotes"] == before["upsert:Quotes"] + 1  # 3 headers, one call
    assert after["upsert:Products"] == before["upsert:Products"] + 1
    assert after["records"] == before["records"] + 3  # one GET per quote, for its row ids
    assert report.zoho_calls.get("update", 0) == 0  # sent, and nothing to change
    assert_quotes_parity(env)


def test_a_failed_row_fix_clears_the_hash_and_is_sent_again(env: Env, monkeypatch: Any) -> None:
    from dataclasses import replace

    from gzsync.mapping.line_items import diff_line_items
    from gzsync.sync import quotes as quotes_stream

    _world(env)
    sync(env)
    assert set(_stored_hashes(env, ["O1", "O2", "O3"])) == {"O1", "O2", "O3"}
    galaxy_put(env, "offer_lines", [line("o2", 1, "P2", 4, 20.0)], method="POST")

    def miscounted(desired: Any, existing: Any) -> Any:  # as if Zoho kept a stray row
        diff = diff_line_items(desired, existing)
        return replace(diff, expected_rows=diff.expected_rows + 1)

    monkeypatch.setattr(quotes_stream, "diff_line_items", miscounted)
    sync(env)
    assert [(e.key, e.reason) for e in ledger(env) if e.stream == "quotes"] == [
        ("O2", "ROW_COUNT_MISMATCH")
    ]
    assert set(_stored_hashes(env, ["O1", "O2", "O3"])) == {"O1", "O3"}  # O2's cleared
    monkeypatch.setattr(quotes_stream, "diff_line_items", diff_line_items)
    # Galaxy puts the old line back: the quote is sent again (not judged unchanged)
    galaxy_put(env, "offer_lines", [line("o2", 1, "P2", 3, 20.0)], method="POST")
    report = sync(env)
    assert report.quotes.updated == 1
    assert report.quotes.unchanged == 0
    assert _rows(env, "O2") == [("P2", 3)]
    assert [e for e in ledger(env) if e.stream == "quotes"] == []
    assert set(_stored_hashes(env, ["O2"])) == {"O2"}
    assert_quotes_parity(env)


def test_a_retried_offer_restored_below_its_entry_is_found_by_key(env: Env) -> None:
    _world(env)
    galaxy_put(
        env,
        "zh_offers",
        [offer("o4", 5000004, trdrid="C1"), offer("o5", 5000005, trdrid="C2")],
        method="POST",
    )
    galaxy_put(
        env,
        "offer_lines",
        [line("o4", 1, "P1", 1, 10.0), line("o5", 1, "P2", 2, 20.0)],
        method="POST",
    )
    offers = {r["ID"]: r for r in galaxy_get(env, "zh_offers")}
    revs = {k: offers[k]["CommercialEntry_GXREVNUM"] for k in ("o4", "o5")}
    env.galaxy.faults.add(
        [
            FaultRule.from_json({"endpoint": "lines:o4", "status": 500}),
            FaultRule.from_json({"endpoint": "lines:o5", "status": 500}),
        ]
    )
    sync(env)
    entries = {e.key: e for e in ledger(env) if e.stream == "quotes"}
    assert {k: (e.reason, e.rev) for k, e in entries.items()} == {
        "O4": ("galaxy_lines_failed", revs["o4"]),
        "O5": ("galaxy_lines_failed", revs["o5"]),
    }
    env.galaxy.faults.clear()
    # Galaxy restores o4 from a backup, below its ledger entry (and below the range the
    # next run reads); o5 is deleted
    rows = [r for r in galaxy_get(env, "zh_offers") if r["ID"] != "o5"]
    restored = next(r for r in rows if r["ID"] == "o4")
    restored["CommercialEntry_GXREVNUM"] = 4000000
    galaxy_put(env, "zh_offers", rows)
    report = sync(env)
    assert report.quotes.inserted == 1
    assert quotes_by_key(env)["O4"]["Rev_Number"] == 4000000
    assert _rows(env, "O4") == [("P1", 1)]
    left = [(e.key, e.kind, e.reason) for e in ledger(env) if e.stream == "quotes"]
    assert left == [("O5", "rejected", "not_in_galaxy")]
    assert "O5" not in quotes_by_key(env)
    # the restored offer's entry is settled: the next run retries nothing
    again = sync(env)
    assert again.quotes.fetched == 0
    assert_quotes_parity(env)


def test_a_product_deleted_in_zoho_is_recreated_when_its_quote_needs_it(env: Env) -> None:
    _world(env)
    sync(env)
    # a CRM user deletes every product; Galaxy changes one line of o1 (products P1, P2)
    httpx.delete(f"{env.urls.zoho_api_url}/__sandbox/records/Products").raise_for_status()
    galaxy_put(env, "offer_lines", [line("o1", 1, "P1", 7, 10.0)], method="POST")
    first = sync(env)
    assert first.products.unchanged == 2  # their hashes stood: nothing told us
    entries = [(e.key, e.kind, e.reason) for e in ledger(env) if e.stream == "quotes"]
    assert entries == [("O1", "failed", "INVALID_DATA")]  # retried next run
    second = sync(env)
    assert second.products.inserted == 2  # hashes cleared: upserted, so re-created
    assert [e for e in ledger(env) if e.stream == "quotes"] == []
    assert _rows(env, "O1") == [("P1", 7), ("P2", 1), ("P1", 5)]
