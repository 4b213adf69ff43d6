"""Whole syncs with their state in the Catalyst sandbox: through NoSQL faults to parity, and a
first run whose commit fails for good stops (exit 3) without losing a record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_console import ConsoleState
from tests.e2e.helpers import Env, make_env, parity

from gzsync.config import Settings
from gzsync.http import RetryPolicy
from gzsync.mapping.records import Rejected, map_customer
from gzsync.sandbox.faults import FaultRule
from gzsync.state.catalyst import CatalystStore, catalyst_app
from gzsync.state.store import BatchCommit
from gzsync.sync.options import RunOptions
from gzsync.sync.pipeline import run_sync


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path, customers=300, seed=23)


def _settings(env: Env, table: str) -> Settings:
    return env.with_settings(
        STATE_BACKEND="catalyst", CATALYST_NOSQL_TABLE=table, HTTP_MAX_WAIT=0, HTTP_ATTEMPTS=10
    )


def _store(table: str) -> CatalystStore:
    retry = RetryPolicy(attempts=10, wait_initial=0, wait_max=0, wait_jitter=0)
    return CatalystStore(catalyst_app(), table=table, retry=retry)


def _rejected_customers(env: Env) -> set[str]:
    return {
        m.key
        for m in map(map_customer, env.galaxy.rows("zh_Customers_fin"))
        if isinstance(m, Rejected)
    }


def test_a_sync_through_nosql_faults_reaches_parity(
    env: Env, console: ConsoleState, table_name: str
) -> None:
    rules: list[dict[str, Any]] = [
        {"endpoint": "nosql:insert", "status": 429, "probability": 0.2},
        {"endpoint": "nosql:insert", "action": "partial", "probability": 0.2},
        {"endpoint": "nosql:fetch", "status": 503, "probability": 0.2},
        {"endpoint": "nosql:query", "status": 500, "probability": 0.2},
        {"endpoint": "nosql:delete", "status": 429, "probability": 0.2},
        {"endpoint": "cache:get", "status": 429, "probability": 0.2},
        {"endpoint": "cache:put", "status": 503, "probability": 0.2},
    ]
    console.faults.add([FaultRule.from_json(r) for r in rules], 5)
    report = run_sync(_settings(env, table_name), RunOptions())
    assert report.status in ("success", "incomplete"), report.message
    assert parity(env).ok
    assert sum(console.faults.fired.values()) > 5
    env.galaxy.touch(customers=30, contacts=30, seed=24)
    again = run_sync(_settings(env, table_name), RunOptions())
    assert again.status in ("success", "incomplete"), again.message
    assert again.customers.fetched >= 30
    assert parity(env).ok
    store = _store(table_name)
    ledgered = {e.key for e in store.ledger_list("customers")}
    assert _rejected_customers(env) <= ledgered


class _FailsFromTheFirstCommit(CatalystStore):
    """The service starts failing every insert when the run commits its first batch."""

    console: ConsoleState

    def commit_batch(self, commit: BatchCommit) -> None:
        if not self.console.faults.active:
            self.console.faults.add(
                [FaultRule.from_json({"endpoint": "nosql:insert", "status": 503})]
            )
        super().commit_batch(commit)


def test_a_first_run_whose_commits_fail_stops_with_exit_3_and_loses_nothing(
    env: Env, console: ConsoleState, table_name: str
) -> None:
    # A small re-read window, as the issue reproduced it: without the pinned start the
    # next run would start just below Zoho's maximum and skip the rejected records.
    settings = _settings(env, table_name).model_copy(update={"watermark_reread": 1})
    # customers Zoho cannot hold (no name of any kind): they must end in the ledger
    env.galaxy.add_rows(
        "zh_Customers_fin", [{"TRDRID": f"NONAME{i}", "TRDRNAME": ""} for i in range(3)]
    )
    failing = _FailsFromTheFirstCommit(
        catalyst_app(), table=table_name, retry=RetryPolicy(attempts=2, wait_initial=0)
    )
    failing.console = console
    first = run_sync(settings, RunOptions(), store=failing)
    assert first.status == "aborted"
    assert first.exit_code == 3
    assert "HTTP 503" in first.message
    assert env.zoho.records("Accounts")  # it did write to Zoho before the store failed
    console.faults.clear()
    # The start was pinned before the first upsert: the next run reads from there, not
    # from Zoho's (moved) maximum, and every rejected record reaches the ledger.
    assert _store(table_name).get_watermark("customers") == 0
    second = run_sync(settings, RunOptions())
    assert second.status in ("success", "incomplete"), second.message
    assert parity(env).ok
    ledgered = {e.key for e in _store(table_name).ledger_list("customers")}
    assert _rejected_customers(env)
    assert _rejected_customers(env) <= ledgered
