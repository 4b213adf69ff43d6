"""The generic read, without sandboxes: a Galaxy that filters a list, a real SQLite store.

What it must hold: rows above the watermark are kept, a retried ledger entry is re-read
(also when Galaxy restored its row below the range read), and a dependent stream's retried
revisions make the read reach back without the read knowing what the dependent is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from gzsync.config import Settings
from gzsync.galaxy.filters import Condition, Op
from gzsync.mapping.records import Mapped, Rejected
from gzsync.state.sqlite import SqliteStore
from gzsync.state.store import BatchCommit, LedgerEntry
from gzsync.sync.budget import Budget
from gzsync.sync.context import RunContext
from gzsync.sync.fetch import spool_view
from gzsync.sync.options import RunOptions
from gzsync.sync.report import RunReport
from gzsync.sync.spool import Spool
from gzsync.sync.watermark import Start

_OPS: dict[Op, Callable[[int, int], bool]] = {
    Op.Greater: lambda a, b: a > b,
    Op.GreaterOrEqual: lambda a, b: a >= b,
    Op.LessOrEqual: lambda a, b: a <= b,
}


class ListGalaxy:
    """`read_view` over a list of rows, applying the conditions the read asks for."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.reads: list[list[Condition]] = []

    async def read_view(
        self, view: str, conditions: Sequence[Condition], on_row: Callable[[dict[str, Any]], None]
    ) -> int:
        self.reads.append(list(conditions))
        n = 0
        for row in self.rows:
            if all(_OPS[c.op](row[c.field], int(c.value)) for c in conditions):
                on_row(row)
                n += 1
        return n


def mapper(row: dict[str, Any]) -> Mapped | Rejected:
    return Mapped(row["K"], row["REV"], {"Trader_ID": row["K"]})


class Dependent:
    def __init__(self, revs: set[int]) -> None:
        self.revs = revs
        self.settled = False

    def revisions(self) -> set[int]:
        return self.revs

    def settle(self, spool: Spool) -> None:
        self.settled = True


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "state.db")
    yield s
    s.close()


def _read(
    store: SqliteStore, rows: list[dict[str, Any]], dependent: Dependent | None = None
) -> tuple[list[tuple[str, int]], ListGalaxy, dict[str, int]]:
    galaxy = ListGalaxy(rows)
    ctx = RunContext(
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        options=RunOptions(),
        store=store,
        galaxy=galaxy,  # type: ignore[arg-type]
        zoho=None,  # type: ignore[arg-type]
        budget=Budget(),
        report=RunReport(run_id="r", started_at=0.0),
        owner="me",
    )
    with Spool() as spool:
        fetched = asyncio.run(
            spool_view(
                ctx,
                stream="customers",
                module="Accounts",
                view="v",
                rev_column="REV",
                mapper=mapper,
                spool=spool,
                start=Start(store.get_watermark("customers"), "state"),
                dependent=dependent,
            )
        )
        kept = [(r.key, r.rev) for r in spool.iter_rows("customers")]
    return kept, galaxy, fetched.settles


ROWS = [{"K": f"K{i}", "REV": i * 10} for i in range(1, 11)]  # revisions 10..100


def test_rows_above_the_watermark_are_kept(store: SqliteStore) -> None:
    store.set_watermark("customers", 50)
    kept, galaxy, _ = _read(store, ROWS)
    assert kept == [(f"K{i}", i * 10) for i in range(6, 11)]
    assert galaxy.reads == [[Condition("REV", Op.Greater, 50)]]


def test_a_retried_entry_is_re_read_also_when_restored_below_the_range(
    store: SqliteStore,
) -> None:
    store.set_watermark("customers", 50)
    ledger = [
        LedgerEntry("customers", "K3", 30, "failed", "INTERNAL_ERROR", "x"),
        # Galaxy restored K2 to revision 20, below its entry at 45 and below the floor 29
        LedgerEntry("customers", "K2", 45, "failed", "INTERNAL_ERROR", "x"),
    ]
    store.commit_batch(BatchCommit(stream="customers", module="Accounts", ledger=ledger))
    kept, galaxy, settles = _read(store, ROWS)
    assert ("K3", 30) in kept
    assert ("K2", 20) in kept  # found by key in a second read
    assert settles == {"K2": 45}  # its confirmation resolves the entry at 45
    assert len(galaxy.reads) == 2


def test_a_dependent_s_revisions_make_the_read_reach_back(store: SqliteStore) -> None:
    store.set_watermark("customers", 80)
    dependent = Dependent({40})
    kept, galaxy, _ = _read(store, ROWS, dependent)
    assert galaxy.reads[0] == [Condition("REV", Op.Greater, 39)]
    assert kept == [("K4", 40), ("K9", 90), ("K10", 100)]
    assert dependent.settled
