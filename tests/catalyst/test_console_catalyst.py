"""The console's read-only views and metrics against the Catalyst state store (fake console)."""

from __future__ import annotations

import httpx
from fake_console import ConsoleState

from gzsync.config import Settings
from gzsync.console.app import create_app
from gzsync.sandbox.serve import ServedApp
from gzsync.state.catalyst import CatalystStore, catalyst_app
from gzsync.state.store import BatchCommit, LedgerEntry


def test_views_and_metrics_read_the_catalyst_store(console: ConsoleState, table_name: str) -> None:
    store = CatalystStore(catalyst_app(), table=table_name)
    store.run_started("20240101T000000Z-cat1", 1_700_000_000.0)
    store.run_finished(
        "20240101T000000Z-cat1",
        1_700_000_030.0,
        {
            "status": "incomplete",
            "customers": {"fetched": 5, "inserted": 4, "updated": 0, "rejected": 1},
            "ledger_pending": 1,
            "ledger_by_reason": {"missing_name": 1},
        },
    )
    store.commit_batch(
        BatchCommit(
            stream="customers",
            module="Accounts",
            ledger=[LedgerEntry("customers", "CAT-KEY-1", 7, "rejected", "missing_name")],
        )
    )
    store.flush()  # commits are group-written; a run flushes at its end
    settings = Settings.from_values(STATE_BACKEND="catalyst", CATALYST_NOSQL_TABLE=table_name)
    app = create_app(settings, read_only=True)
    with ServedApp(app) as served, httpx.Client(base_url=served.url, timeout=30) as client:
        runs = client.get("/").text
        assert 'data-run="20240101T000000Z-cat1"' in runs
        assert "4 / 1" in runs  # customers: fetched / written / rejected
        ledger = client.get("/ledger", params={"reason": "missing_name"}).text
        assert 'data-key="CAT-KEY-1"' in ledger
        assert "/ledger/drop" not in ledger  # read-only
        assert client.get("/runs/20240101T000000Z-cat1").status_code == 200
        assert "Last Galaxy revision seen" in client.get("/ledger/customers/CAT-KEY-1").text
        metrics = client.get("/metrics").text
        assert 'gzsync_runs{status="incomplete"} 1.0' in metrics
        assert (
            'gzsync_ledger_entries{kind="rejected",reason="missing_name",stream="customers"} 1.0'
            in metrics
        )
