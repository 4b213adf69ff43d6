"""End to end: Galaxy offers into Zoho Quotes with exact line items, their Products, and
what waits in the ledger (unknown customer, ambiguous TIN, refused product, failed lines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.helpers import Env, ledger, sync
from tests.e2e.quotes_helpers import (
    assert_quotes_parity,
    galaxy_get,
    galaxy_put,
    line,
    offer,
    quotes_by_key,
    zoho_inventory,
    zoho_records,
)
from tests.e2e.test_accounts_sync import _customer

from gzsync.sandbox.faults import FaultRule
from gzsync.sandbox.parity import check_quotes_parity


def _world(env: Env) -> None:
    c3 = {**_customer("C3", 3000003), "TIN": "111111118"}
    env.galaxy.put_rows(
        "zh_Customers_fin", [_customer("C1", 3000001), _customer("C2", 3000002), c3]
    )
    env.galaxy.put_rows("ZH_AFFILIATE", [])
    env.galaxy.put_rows("ZH_CONTACTS", [])
    galaxy_put(
        env,
        "zh_offers",
        [
            offer("o1", 5000001, trdrid="C1"),
            offer("o2", 5000002, trdrid="C2"),
            offer("o3", 5000003, trdrid=None, tin="111111118"),  # by TIN, one Account
        ],
    )
    galaxy_put(
        env,
        "offer_lines",
        [
            line("o1", 1, "P1", 2, 10.0),
            line("o1", 2, "P2", 1, 20.0, vat=13),
            line("o1", 3, "P1", 5, 10.0),
            line("o2", 1, "P2", 3, 20.0),
            line("o3", 1, "P3", 1, 30.0, vat=0),
        ],
    )


def _rows(env: Env, key: str) -> list[tuple[str, float]]:
    quote = quotes_by_key(env)[key]
    return [(r["Product_Name"]["Product_Code"], r["Quantity"]) for r in quote["Quoted_Items"]]


def test_offers_become_quotes_with_their_products(env: Env) -> None:
    _world(env)
    report = sync(env)
    assert report.quotes.inserted == 3
    assert report.products.inserted == 3
    assert report.products.fetched == 3  # each product counted once, like any stream's rows
    quotes = quotes_by_key(env)
    accounts = {a["Trader_ID"]: a["id"] for a in env.zoho.records("Accounts")}
    assert quotes["O1"]["Account_Name"]["id"] == accounts["C1"]
    assert quotes["O3"]["Account_Name"]["id"] == accounts["C3"]
    assert quotes["O1"]["Subject"] == "Offer N-o1"
    assert _rows(env, "O1") == [("P1", 2), ("P2", 1), ("P1", 5)]
    taxes = [r["Line_Tax"][0]["name"] for r in quotes["O1"]["Quoted_Items"]]
    assert taxes == ["VAT 24%", "VAT 13%", "VAT 24%"]
    assert {p["Product_Code"] for p in zoho_records(env, "Products")} == {"P1", "P2", "P3"}
    assert report.to_json()["quotes"]["inserted"] == 3
    assert report.to_json()["products"]["inserted"] == 3
    assert_quotes_parity(env)


@pytest.mark.parametrize("mode", ["append", "replace"])
def test_resync_five_times_changes_nothing(env: Env, mode: str) -> None:
    zoho_inventory(env, line_items=mode)
    _world(env)
    sync(env)
    before = zoho_records(env, "Quotes")
    for _ in range(5):
        report = sync(env, since_rev=0, entities=("quotes",))
        assert report.quotes.updated == 3
        assert report.zoho_calls.get("update", 0) == 0  # nothing to change: no PUT
    assert [len(q["Quoted_Items"]) for q in zoho_records(env, "Quotes")] == [
        len(q["Quoted_Items"]) for q in before
    ]
    # the very same rows, row ids included: nothing was deleted and re-added
    assert [q["Quoted_Items"] for q in zoho_records(env, "Quotes")] == [
        q["Quoted_Items"] for q in before
    ]
    assert_quotes_parity(env)


@pytest.mark.parametrize("mode", ["append", "replace"])
def test_changed_removed_and_added_lines(env: Env, mode: str) -> None:
    zoho_inventory(env, line_items=mode)
    _world(env)
    sync(env)
    galaxy_put(
        env,
        "offer_lines",
        [
            line("o1", 1, "P1", 7, 10.0),  # changed quantity
            # line 2 (P2) removed
            line("o1", 3, "P1", 5, 10.0),
            line("o1", 4, "P4", 1, 40.0, vat=6),  # added, a new product
            line("o2", 1, "P2", 3, 20.0),
            line("o3", 1, "P3", 1, 30.0, vat=0),
        ],
    )
    report = sync(env)
    assert report.quotes.updated >= 1
    assert report.products.inserted >= 1
    assert _rows(env, "O1") == [("P1", 7), ("P1", 5), ("P4", 1)]
    assert_quotes_parity(env)
    again = sync(env, since_rev=0, entities=("quotes",))
    assert again.zoho_calls.get("update", 0) == 0
    assert _rows(env, "O1") == [("P1", 7), ("P1", 5), ("P4", 1)]


def test_rows_cut_by_has_more_are_never_diffed(env: Env) -> None:
    """A GET that returns part of the rows (`$has_more.Quoted_Items`, reference §5) would
    make the lines after them look new: sent again, they would be duplicated."""
    _world(env)
    sync(env)  # new quotes: inserted with their rows, no GET
    httpx.post(f"{env.urls.zoho_api_url}/__sandbox/inventory", json={"rows_per_get": 2})
    galaxy_put(env, "offer_lines", [line("o1", 3, "P1", 6, 10.0)], method="POST")
    report = sync(env)
    assert report.quotes.failed == 1
    entries = {e.key: e for e in ledger(env) if e.stream == "quotes"}
    assert (entries["O1"].kind, entries["O1"].reason) == ("refused", "LINE_ITEMS_TRUNCATED")
    assert _rows(env, "O1") == [("P1", 2), ("P2", 1), ("P1", 5)]  # untouched, no duplicate
    # Zoho shows every row again: the next change of the offer makes its rows exact
    httpx.post(f"{env.urls.zoho_api_url}/__sandbox/inventory", json={"rows_per_get": None})
    galaxy_put(env, "offer_lines", [line("o1", 3, "P1", 7, 10.0)], method="POST")
    sync(env)
    assert _rows(env, "O1") == [("P1", 2), ("P2", 1), ("P1", 7)]
    assert [e for e in ledger(env) if e.stream == "quotes"] == []
    assert_quotes_parity(env)


def test_offer_of_unknown_customer_waits_then_syncs(env: Env) -> None:
    _world(env)
    galaxy_put(env, "zh_offers", [offer("o9", 5000010, trdrid="C9")], method="POST")
    galaxy_put(env, "offer_lines", [line("o9", 1, "P1", 1, 10.0)], method="POST")
    report = sync(env)
    assert report.status == "incomplete"
    waiting = [e for e in ledger(env) if e.stream == "quotes"]
    assert [(e.key, e.kind, e.reason) for e in waiting] == [
        ("O9", "waiting_parent", "parent_not_in_zoho")
    ]
    assert "O9" not in quotes_by_key(env)
    env.galaxy.add_rows("zh_Customers_fin", [_customer("C9", 3000020)])
    report = sync(env)
    assert report.quotes.inserted == 1
    assert [e for e in ledger(env) if e.stream == "quotes"] == []
    assert "O9" in quotes_by_key(env)
    assert_quotes_parity(env)


def test_tin_shared_by_several_accounts_is_ambiguous(env: Env) -> None:
    _world(env)
    # C1 and C2 share TIN 094259216: an offer known only by that TIN cannot choose
    galaxy_put(
        env, "zh_offers", [offer("o8", 5000010, trdrid=None, tin="094259216")], method="POST"
    )
    galaxy_put(env, "offer_lines", [line("o8", 1, "P1", 1, 10.0)], method="POST")
    sync(env)
    entries = {e.key: e for e in ledger(env) if e.stream == "quotes"}
    assert entries["O8"].reason == "ambiguous_account"
    assert "O8" not in quotes_by_key(env)
    assert_quotes_parity(env)  # the parity check expects it absent too


def test_refused_product_holds_its_quotes(env: Env) -> None:
    _world(env)
    galaxy_put(env, "zh_offers", [offer("o7", 5000010, trdrid="C3")], method="POST")
    # a price Zoho's currency field cannot hold: the product is refused
    galaxy_put(
        env,
        "offer_lines",
        [line("o7", 1, "P1", 1, 10.0), line("o7", 2, "PX", 1, 1e17)],
        method="POST",
    )
    report = sync(env)
    entries = {(e.stream, e.key): e for e in ledger(env)}
    assert entries[("products", "PX")].kind == "refused"
    assert entries[("quotes", "O7")].reason == "product_refused"
    assert report.quotes.inserted == 3
    assert "O7" not in quotes_by_key(env)
    # the price fixed in Galaxy: the product and then its quote go through
    galaxy_put(env, "offer_lines", [line("o7", 2, "PX", 1, 99.0)], method="POST")
    sync(env)
    assert _rows(env, "O7") == [("P1", 1), ("PX", 1)]
    assert [e for e in ledger(env)] == []
    assert_quotes_parity(env)


def test_failed_lines_read_holds_one_offer(env: Env) -> None:
    _world(env)
    env.galaxy.faults.add([FaultRule.from_json({"endpoint": "lines:o2", "status": 500})])
    report = sync(env)
    assert report.status == "incomplete"
    entries = [e for e in ledger(env) if e.stream == "quotes"]
    assert [(e.key, e.kind, e.reason) for e in entries] == [("O2", "failed", "galaxy_lines_failed")]
    assert set(quotes_by_key(env)) == {"O1", "O3"}
    env.galaxy.faults.clear()
    sync(env)
    assert set(quotes_by_key(env)) == {"O1", "O2", "O3"}
    assert [e for e in ledger(env) if e.stream == "quotes"] == []
    assert_quotes_parity(env)


def test_parity_check_sees_duplicated_rows(env: Env) -> None:
    _world(env)
    sync(env)
    quotes = zoho_records(env, "Quotes")
    for quote in quotes:
        quote["Quoted_Items"] = quote["Quoted_Items"] * 2  # what a blind re-upsert does
    result = check_quotes_parity(
        galaxy_offers=[offer("o1", 5000001, trdrid="C1")],
        galaxy_lines=[line("o1", 1, "P1", 2, 10.0)],
        zoho_quotes=[q for q in quotes if q["ERP_ID_Offer"] == "O1"],
        zoho_accounts=env.zoho.records("Accounts"),
        number_decimal=env.settings.number_decimal,
    )
    assert not result.ok
    assert result.mismatched


def test_budget_stops_lose_and_repeat_nothing(tmp_path: Path) -> None:
    from tests.e2e.helpers import make_env
    from tests.e2e.test_time_budget import batches_allowed

    for env in make_env(tmp_path, customers=300, offers=350):
        sync(env, entities=("accounts", "contacts"))
        statuses, inserted, updated = [], 0, 0
        for _ in range(20):
            report = sync(env, entities=("quotes",), remaining_ms=batches_allowed(1))
            statuses.append(report.status)
            inserted += report.quotes.inserted
            updated += report.quotes.updated
            if report.status != "partial":
                break
        assert statuses.count("partial") >= 2, statuses
        assert statuses[-1] != "partial"
        quotes = zoho_records(env, "Quotes")
        assert inserted == len(quotes) > 0  # every quote written once
        assert updated == 0  # and none a second time
        assert_quotes_parity(env)


def test_a_row_count_mismatch_is_a_failed_entry_retried_next_run(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from gzsync.mapping.line_items import diff_line_items
    from gzsync.sync import quotes as quotes_stream

    _world(env)
    sync(env)
    galaxy_put(env, "offer_lines", [line("o2", 1, "P2", 4, 20.0)], method="POST")

    def miscounted(desired: Any, existing: Any) -> Any:  # as if Zoho kept a stray row
        diff = diff_line_items(desired, existing)
        return replace(diff, expected_rows=diff.expected_rows + 1)

    monkeypatch.setattr(quotes_stream, "diff_line_items", miscounted)
    report = sync(env)
    entries = [e for e in ledger(env) if e.stream == "quotes"]
    assert [(e.key, e.kind, e.reason) for e in entries] == [("O2", "failed", "ROW_COUNT_MISMATCH")]
    assert report.status == "incomplete"
    monkeypatch.setattr(quotes_stream, "diff_line_items", diff_line_items)
    sync(env)  # retried although its revision did not move
    assert [e for e in ledger(env) if e.stream == "quotes"] == []
    assert _rows(env, "O2") == [("P2", 4)]
    assert_quotes_parity(env)


def test_a_lost_state_file_duplicates_no_quote_and_no_row(env: Env) -> None:
    _world(env)
    sync(env)
    before = zoho_records(env, "Quotes")
    env.state_db.unlink()
    report = sync(env)
    assert report.quotes.updated == 3  # found by COQL: upserted without rows, then diffed
    assert report.zoho_calls.get("update", 0) == 0
    assert [q["Quoted_Items"] for q in zoho_records(env, "Quotes")] == [
        q["Quoted_Items"] for q in before
    ]
    assert_quotes_parity(env)


@pytest.mark.parametrize("mode", ["append", "replace"])
def test_a_quote_the_id_cache_forgot_is_put_right_after_its_upsert(env: Env, mode: str) -> None:
    from gzsync.state.sqlite import open_sqlite_store

    zoho_inventory(env, line_items=mode)
    _world(env)
    sync(env)
    store = open_sqlite_store(env.state_db)
    try:
        store.ids_evict("Quotes", ["O1", "O2", "O3"])
    finally:
        store.close()
    report = sync(env, since_rev=0, entities=("quotes",))  # sent with rows: Zoho updates
    assert report.quotes.updated == 3
    assert _rows(env, "O1") == [("P1", 2), ("P2", 1), ("P1", 5)]
    assert_quotes_parity(env)


def test_a_dry_run_counts_quotes_and_writes_nothing(env: Env) -> None:
    _world(env)
    sync(env, entities=("accounts", "contacts"))
    report = sync(env, dry_run=True)
    assert report.quotes.inserted == 3
    assert zoho_records(env, "Quotes") == []
    assert zoho_records(env, "Products") == []
    sync(env)
    galaxy_put(env, "offer_lines", [line("o3", 1, "P3", 9, 30.0, vat=0)], method="POST")
    again = sync(env, dry_run=True)
    assert (again.quotes.inserted, again.quotes.updated) == (0, 1)
    assert _rows(env, "O3") == [("P3", 1)]  # unchanged by the dry run


def test_number_decimal_dot_reads_offer_lines_as_customers(env: Env) -> None:
    # NUMBER_DECIMAL=dot: an offer line's "1,234" is 1234, as a customer's amount is
    env.settings = env.with_settings(NUMBER_DECIMAL="dot")
    env.galaxy.put_rows("zh_Customers_fin", [_customer("C1", 3000001)])
    env.galaxy.put_rows("ZH_AFFILIATE", [])
    env.galaxy.put_rows("ZH_CONTACTS", [])
    galaxy_put(env, "zh_offers", [{**offer("o1", 5000001, trdrid="C1"), "TotalValue": "1,234"}])
    priced = {**line("o1", 1, "P1", 1, 0.0), "PRICE": "1,234", "NETVALUE": "1,234"}
    galaxy_put(env, "offer_lines", [{**priced, "VATVALUE": "296.16"}])
    report = sync(env)
    assert report.quotes.inserted == 1
    quote = quotes_by_key(env)["O1"]
    assert quote["Quoted_Items"][0]["List_Price"] == 1234
    assert quote["Quoted_Items"][0]["Line_Tax"][0]["name"] == "VAT 24%"
    assert quote["ERP_Total_Amount"] == 1234
    assert_quotes_parity(env)  # the model follows NUMBER_DECIMAL=dot too
    comma = check_quotes_parity(
        galaxy_offers=galaxy_get(env, "zh_offers"),
        galaxy_lines=galaxy_get(env, "offer_lines"),
        zoho_quotes=zoho_records(env, "Quotes"),
        zoho_accounts=env.zoho.records("Accounts"),
        number_decimal="comma",
    )
    assert not comma.ok
    assert any("List_Price" in m for m in comma.mismatched), comma.summary()
    assert any("ERP_Total_Amount" in m for m in comma.mismatched), comma.summary()
    # reconcile reads the offer and its lines as the sync did: nothing differs
    from gzsync.reconcile import ReconcileOptions, reconcile

    options = ReconcileOptions(entities=("quotes",), quote_lines="all")
    checked = reconcile(env.settings, options)
    assert checked.quote_lines["compared"] == 1, checked.quote_lines
    assert checked.differences() == 0, checked.to_json()["samples"]
