"""The writer's rules, without sandboxes: a scripted Zoho and a real SQLite store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.sync.fakes import ScriptedZoho, UnitRun

from gzsync.state.sqlite import SqliteStore
from gzsync.streams import CUSTOMERS
from gzsync.sync.budget import Budget
from gzsync.sync.writer import BATCH_SIZE, BatchWriter, Outgoing, WriteOptions


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "state.db")
    yield s
    s.close()


def records(revs: list[int]) -> list[Outgoing]:
    return [Outgoing(f"K{i:04d}", rev, {"Trader_ID": f"K{i:04d}"}) for i, rev in enumerate(revs)]


def test_commits_follow_revision_order_when_later_batches_answer_first(
    store: SqliteStore,
) -> None:
    zoho = ScriptedZoho()
    run = UnitRun(zoho, store)
    items = records(list(range(1, 3 * BATCH_SIZE + 1)))

    async def scenario() -> None:
        first = zoho.gate(0)  # the first batch answers last
        write = asyncio.create_task(BatchWriter(CUSTOMERS, run).write(items))
        await zoho.call_started(2).wait()
        assert run.commits == []  # batches 2 and 3 answered, but wait for batch 1
        first.set()
        await write

    asyncio.run(scenario())
    assert [c.watermark for c in run.commits] == [100, 200, 300]
    assert [c.confirmed[-1].rev for c in run.commits] == [100, 200, 300]
    assert store.get_watermark("customers") == 300


def test_rows_sharing_a_revision_never_split_across_the_watermark(store: SqliteStore) -> None:
    # rows 96..105 share revision 96: the first batch ends inside them
    revs = [*range(1, 96), *[96] * 10, *range(97, 150)]
    run = UnitRun(ScriptedZoho(), store)
    asyncio.run(BatchWriter(CUSTOMERS, run).write(records(revs)))
    assert run.commits[0].watermark == 95  # below the shared revision
    assert run.commits[-1].watermark == max(revs)


def test_a_broken_batch_stops_the_watermark(store: SqliteStore) -> None:
    zoho = ScriptedZoho()
    zoho.fail(1, RuntimeError("unexpected"))  # neither confirmed nor ledgered
    run = UnitRun(zoho, store, concurrency=1)
    with pytest.raises(RuntimeError, match="unexpected"):
        asyncio.run(BatchWriter(CUSTOMERS, run).write(records(list(range(1, 301)))))
    assert store.get_watermark("customers") == 100
    # a later batch still commits its confirmations, but never moves the watermark
    assert all(c.watermark is None for c in run.commits[1:])
    assert store.ledger_list("customers") == []


def test_a_budget_stop_loses_nothing(store: SqliteStore) -> None:
    now = [0.0]
    budget = Budget(max_duration_s=100.0, clock=lambda: now[0])
    zoho = ScriptedZoho()
    run = UnitRun(zoho, store, concurrency=1)
    items = records(list(range(1, 501)))

    def spend_at_the_second_call(n: int) -> None:
        if n == 1:
            now[0] = 1000.0

    zoho.on_call = spend_at_the_second_call
    outcome = asyncio.run(BatchWriter(CUSTOMERS, run, WriteOptions(budget=budget)).write(items))
    assert outcome.stopped == "budget"
    sent = {p["Trader_ID"] for call in zoho.calls for p in call}
    mark = store.get_watermark("customers")
    assert mark is not None
    # everything at or below the watermark reached Zoho; everything above is read again
    assert {o.key for o in items if o.rev <= mark} <= sent
    assert outcome.processed == len(sent) >= mark
    assert len(sent) < len(items)  # it stopped early, and what it sent is all committed
    assert run.report.customers.inserted == len(sent)


def test_a_dry_run_commits_nothing(store: SqliteStore) -> None:
    class Preview(ScriptedZoho):
        async def ids_by_key(self, module: str, field: str, keys: list[str]) -> dict[str, str]:
            return {keys[0]: "z"}

    run = UnitRun(Preview(), store, dry_run=True)
    asyncio.run(BatchWriter(CUSTOMERS, run).write(records([1, 2, 3])))
    assert run.commits == []
    assert store.get_watermark("customers") is None
    assert (run.report.customers.inserted, run.report.customers.updated) == (2, 1)
