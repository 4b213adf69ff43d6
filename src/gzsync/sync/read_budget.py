"""Reads inside the run's time budget (issue 15: a budget that holds).

`--max-duration` and Catalyst's remaining time stop a run from starting new batches; a read
must not outlive them either, or a slow Galaxy (a view that takes minutes to start
answering, or streams slowly) lets the platform kill the function mid-window. So every read
a run makes before or beside its writes goes through :func:`within_budget`: it may take at
most the time left until the budget is spent (:meth:`Budget.read_seconds_left`, the moment
no new batch would start), and is cancelled at that moment, whether it is waiting for the
first byte, retrying, or streaming. Covered: the customers, affiliates and contacts views
(the incremental read, the read by key of restored rows, the periodic full affiliate read
and the lost-state compared read, with its COQL pages over Zoho), the offers view and every
offer's lines.

Decision: **a read cut short is abandoned, not used.** Galaxy views take only `Greater`,
`GreaterOrEqual` and `Equal` on the revision column and promise no order (galaxy-api.md §5,
§6), so rows read before the cut do not tell which revisions were read whole: a slice
"up to revision R" cannot be proven complete. The stream whose read was cut writes nothing
from it this run; what was written before (another stream, earlier blocks of offers) is
committed as usual, the watermark only covers what was committed, and the next run reads
again from the same place. The run ends `partial` (exit 0), like any budget stop, with a
message naming the read. A read that can never finish inside the budget makes no progress:
the operator sees the same `partial` message run after run, and after three in a row the
`read_stuck` alert (:mod:`gzsync.alerts`), and raises the budget (or runs that first load
where no platform limit applies).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from gzsync.sync.budget import Budget
from gzsync.sync.report import RunReport

log = logging.getLogger("gzsync.sync")

T = TypeVar("T")
#: How every time-budget stop's message begins.
_BUDGET_STOP = "stopped at the time budget"
#: How the message of a run whose read was abandoned begins (the `read_stuck` alert
#: recognises such runs in the history by it)
READ_CUT = f"{_BUDGET_STOP} while reading "


class ReadOutOfBudget(Exception):
    """A read did not finish before the time budget ran out; it was abandoned."""

    def __init__(self, stream: str, what: str) -> None:
        super().__init__(f"the time budget ran out while reading {what}")
        self.stream = stream  # the stream whose read was abandoned
        self.what = what  # e.g. "the Galaxy view zh_Customers_fin"

    @property
    def message(self) -> str:
        """The run's message (the report, the log)."""
        return f"{READ_CUT}{self.what}; the next run carries on"


async def within_budget(
    budget: Budget, stream: str, what: str, read: Callable[[], Awaitable[T]]
) -> T:
    """Run `read()` for at most the time the budget has left; ReadOutOfBudget after that.

    Without a budget the read runs unbounded. A budget already spent starts no read.
    """
    left = budget.read_seconds_left()
    if left is None:
        return await read()
    if left <= 0:
        raise ReadOutOfBudget(stream, what)
    try:
        async with asyncio.timeout(left) as scope:
            return await read()
    except TimeoutError:
        if not scope.expired():
            raise  # a timeout of the read's own, not the budget's
        budget.spend()  # no new batch starts either
        raise ReadOutOfBudget(stream, what) from None


def stopped_reading(report: RunReport, exc: ReadOutOfBudget) -> None:
    """The run's outcome after an abandoned read: `partial`, exit 0, the next run carries on.

    The stream's `fetched` counts what was processed (written or ledgered), as on every stop.
    A stop for Zoho's credits earlier in the run keeps its message (it says when the credits
    come back); a time-budget one gives way to this more precise one.
    """
    if report.status != "partial" or report.message.startswith(_BUDGET_STOP):
        report.message = exc.message
    report.status = "partial"
    counts = report.counts(exc.stream)
    counts.fetched = (
        counts.inserted + counts.updated + counts.unchanged + counts.rejected + counts.failed
    )
    log.warning(
        "run stopped: %s; nothing of that read was written",
        report.message,
        extra={"status": "partial", "stream": exc.stream},
    )
