"""Reading one Galaxy view into the spool: the incremental rows plus what the ledger retries.

A run reads rows changed since the stream's starting point, and reaches further back just
enough to re-read the current row of every ledger entry that is retried every run (failed
calls, records waiting for a parent). Rows at or below the starting point that are not being
retried are skipped as they stream past; nothing else is held in memory.

Retried records are found by key, not only by revision: Galaxy may restore a row to a
revision *below* its ledger entry (a restore from a backup). A retried key the ranged read
did not return is looked for in the rest of the view (one more read, of the rows at or below
the floor) before it is called `not_in_galaxy`. A retried key whose current row has a lower
revision than its entry is sent with `settles` set to the entry's revision, so that Zoho's
confirmation of the key's current row resolves the entry (else it would be re-sent every
run, and the run would never report success).

Every read is bounded by the run's time budget (:mod:`gzsync.sync.read_budget`): one the
budget cuts short is abandoned and nothing of it is kept.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from gzsync.galaxy.filters import Condition, Op
from gzsync.mapping.records import Mapped, Rejected
from gzsync.state.store import (
    RETRIED_EVERY_RUN,
    BatchCommit,
    CheckpointStore,
    LedgerEntry,
    StreamName,
)
from gzsync.sync.context import RunContext
from gzsync.sync.read_budget import within_budget
from gzsync.sync.spool import Spool
from gzsync.sync.watermark import Start, starting_point

log = logging.getLogger("gzsync.sync")


@dataclass(frozen=True, slots=True)
class Fetched:
    """What a read put in the spool."""

    start: Start  # where the stream started
    selected: int  # rows kept for this run
    read: int  # rows Galaxy sent
    retried: int  # ledger entries re-read
    gone: int  # ledger entries whose row Galaxy no longer has
    limit: int | None  # --limit / DEV_LIMIT: only this many lowest revisions are processed
    #: retried keys whose current row is below their ledger entry: key -> the entry's revision
    settles: dict[str, int] = field(default_factory=dict)
    read_max: int | None = None  # the highest revision Galaxy sent
    full: bool = False  # read from the start and compared with Zoho (see sync.fullread)

    @property
    def to_process(self) -> int:
        return min(self.selected, self.limit) if self.limit else self.selected


class Dependent(Protocol):
    """A stream read by this stream's revisions (see `streams.Stream.read_by`): its
    retried entries make the read reach back to their revisions."""

    def revisions(self) -> set[int]:
        """Revisions of this stream to re-read for the dependent's retried entries."""

    def settle(self, spool: Spool) -> None:
        """After the read: settle the retried entries the read cannot bring back."""


def ledger_gone(
    store: CheckpointStore, stream: str, retry: Mapping[str, int], gone: Iterable[str], what: str
) -> None:
    """Retried keys Galaxy no longer returns (deleted or re-keyed): stop retrying them,
    keep them visible in the ledger (`rejected` / `not_in_galaxy`)."""
    keys = sorted(gone)
    if keys:
        store.commit_batch(
            BatchCommit(
                stream=stream,
                module="",
                ledger=[
                    LedgerEntry(
                        stream,
                        key,
                        retry[key],
                        "rejected",
                        "not_in_galaxy",
                        f"Galaxy no longer returns this {what}",
                    )
                    for key in keys
                ],
            )
        )


def retry_set(ctx: RunContext, stream: StreamName) -> dict[str, int]:
    """Ledger entries of `stream` this run retries: key -> revision."""
    return {
        e.key: e.rev
        for e in ctx.store.ledger_list(stream)
        if e.kind in RETRIED_EVERY_RUN or e.retry_requested
    }


async def spool_view(
    ctx: RunContext,
    *,
    stream: StreamName,
    module: str,
    view: str,
    rev_column: str,
    mapper: Callable[[Mapping[str, Any]], Mapped | Rejected],
    spool: Spool,
    start: Start | None = None,
    from_start: bool = False,
    dependent: Dependent | None = None,
) -> Fetched:
    """Read `view` from the stream's starting point on, keeping this run's rows in `spool`.

    Records the starting point in the report, and the number of rows to process.
    `from_start` reads and keeps every row (a full read; the caller compares with Zoho).
    `dependent` is a stream read by this one's revisions (customers: their affiliates,
    :mod:`gzsync.sync.affiliates`).
    """
    settings = ctx.settings
    if start is None:
        start = await stream_start(ctx, stream, module)
    ctx.report.watermark_before[stream] = start.rev
    if start.rev is None:
        log.info("%s: reading every revision (no watermark yet)", stream, extra={"stream": stream})
    else:
        log.info(
            "%s: reading revisions above %s (from %s)",
            stream,
            start.rev,
            start.source,
            extra={"stream": stream, "watermark": start.rev},
        )
    retry = retry_set(ctx, stream)
    retry_revs = dependent.revisions() if dependent is not None else set()
    floor = math.inf if start.rev is None or from_start else start.rev
    if retry or retry_revs:
        floor = min(floor, min([*retry.values(), *retry_revs]) - 1)
    conditions = (
        [] if floor == math.inf or floor <= 0 else [Condition(rev_column, Op.Greater, int(floor))]
    )
    low = None if from_start else start.rev
    settles: dict[str, int] = {}
    highest: list[int] = []

    def keep(row: Mapping[str, Any]) -> None:
        item = mapper(row)
        if not highest or item.rev > highest[0]:
            highest[:] = [item.rev]
        if low is None or item.rev > low or item.key in retry or item.rev in retry_revs:
            spool.add(stream, item)
            if item.key in retry and item.rev < retry[item.key]:
                settles[item.key] = retry[item.key]

    what = f"the Galaxy view {view}"
    read = await within_budget(
        ctx.budget, stream, what, partial(ctx.galaxy.read_view, view, conditions, keep)
    )
    spool.flush()
    gone = spool.missing(stream, retry.keys())
    if gone and conditions:
        # Found by key: a retried row restored below the range just read.
        lost = {key: retry[key] for key in gone}

        def find(row: Mapping[str, Any]) -> None:
            item = mapper(row)
            if item.key in lost:
                spool.add(stream, item)
                if item.rev < lost[item.key]:
                    settles[item.key] = lost[item.key]

        below = [Condition(rev_column, Op.LessOrEqual, int(floor))]
        read += await within_budget(
            ctx.budget, stream, what, partial(ctx.galaxy.read_view, view, below, find)
        )
        spool.flush()
        gone = spool.missing(stream, gone)
    if dependent is not None:
        dependent.settle(spool)
    if not ctx.options.dry_run:
        ledger_gone(ctx.store, stream, retry, gone, "row")
    fetched = Fetched(
        start=start,
        selected=spool.count(stream),
        read=read,
        retried=len(retry) - len(gone),
        gone=len(gone),
        limit=ctx.options.limit or settings.dev_limit,
        settles=settles,
        read_max=highest[0] if highest else None,
        full=from_start,
    )
    ctx.report.counts(stream).fetched = fetched.to_process
    ctx.progress.start(stream, fetched.to_process)
    return fetched


async def stream_start(ctx: RunContext, stream: StreamName, module: str) -> Start:
    """Where `stream` starts in this run (see :mod:`gzsync.sync.watermark`)."""
    return await starting_point(
        store=ctx.store,
        zoho=ctx.zoho,
        stream=stream,
        module=module,
        since_rev=ctx.options.since_rev,
        reread=ctx.settings.watermark_reread,
        method=ctx.settings.zoho_watermark_read,
    )


def settle_full_read(ctx: RunContext, stream: StreamName, fetched: Fetched) -> None:
    """After a full read written to its end, the watermark moves to the highest revision
    read: every row up to it is in Zoho (compared), in this run's writes, or in the ledger."""
    if ctx.options.dry_run or ctx.stopped or fetched.limit or fetched.read_max is None:
        return
    ctx.store.commit_batch(BatchCommit(stream=stream, module="", watermark=fetched.read_max))
