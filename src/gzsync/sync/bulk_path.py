"""Bulk Write in the run (issue 15): big loads through Zoho's Bulk Write, same commit path.

When a run has more than `BULK_THRESHOLD` records to write for a stream (a first sync, a
`--since-rev` backfill), the stream is written by :class:`BulkBatchWriter`: a
:class:`~gzsync.sync.writer.BatchWriter` whose batches are Bulk Write files
(`BULK_FILE_ROWS`, at most 25,000 records) and whose delivery is one job per file with
`find_by` on the stream's key (:class:`gzsync.zoho.bulk.BulkWriter`). The job's result
CSV comes back as one :class:`~gzsync.zoho.client.UpsertResult` per record, in input
order, so everything after the delivery is the upsert path's own: confirmations fill the
id cache and keep payload hashes, `ERRORS` codes become ledger entries with their reason
(transient codes `failed`, the rest `refused`), a refused lookup goes through the lookup
repair, and the watermark moves in revision order over committed files only.

Decisions:

- **Deciding "more than BULK_THRESHOLD"**: after the read, from the spool's row count of
  the stream (`Spool.count`, a SQL count on disk; nothing is held in memory).
  `gzsync run --bulk` forces Bulk Write, `--no-bulk` forbids it. A dry run writes
  nothing; it reports which streams *would* go through Bulk Write (`bulk` in the JSON).
- **Small files go as upserts**: a job costs 500 credits, an upsert 1 per 10 records, so a
  file of fewer than :data:`MIN_JOB_ROWS` records (the tail of a stream) costs less as
  upserts and is sent so (unless `--bulk` forces jobs). So is the lookup repair's resend,
  and a record whose payload lacks a column the file has (a value the mapping dropped
  with a warning, a card holder's link left alone because Zoho refused its affiliate)
  **when Zoho may hold it** (its key is in the id cache, or the read was compared with
  Zoho after a lost store): an empty CSV cell would clear what an upsert leaves alone.
  A record Zoho does not hold yet goes in the file: there an empty cell and a field left
  out are the same (about 15% of customers in the sandbox data have one, so this matters
  for credits).
- **Lookups are resolved before, never in a second pass**: affiliates are written first
  (all of them, in Bulk Write files of their own: `accounts._prewrite_affiliates`), so
  their ids are known when the card holders' file is made; accounts before contacts, so a
  contact's `Account_Name` id comes from the id cache (and COQL), as for upserts. A lookup
  id Zoho refuses in a job (`INVALID_DATA`/`RESOURCE_NOT_FOUND` on the column) gets the
  writer's lookup repair (a fresh id, resent as an upsert) or waits in the ledger.
- **Jobs outlive runs**: the job id is written to the state store (meta
  `bulk_job:<stream>`, with a digest of the file's keys, revisions and payload hashes)
  *before* the first poll. A run whose budget runs out while Zoho works stops polling
  (the batch is :class:`~gzsync.sync.writer.Deferred`: nothing committed, the watermark
  stays below it, status `partial`); a run killed by the platform simply stops. The next
  run reads from the same watermark, makes the same first file, finds its digest in meta
  and **collects that job** instead of submitting it again (no credits spent twice). A
  file that differs (Galaxy changed meanwhile) waits for the old job to end first, so an
  older payload never lands after a newer one, and is then submitted anew (`find_by`
  upserts: no duplicates). The entry is cleared once the file's results are committed.
- **Budget and credits between files**: the writer asks the time budget and the credit
  gate before each file (a job's cost, about 505 credits, not an upsert's); polls are
  asked too, so a run stops waiting at its budget. Polls back off from `BULK_POLL`
  seconds to 60 s, so a stop comes at most one poll interval late.
- One job of a stream is in flight at a time (one meta entry per stream), and the next
  file is made while it runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gzsync.errors import ZohoRequestError
from gzsync.mapping.payload_hash import payload_hash
from gzsync.state.store import Confirmed, LedgerEntry
from gzsync.streams import Stream
from gzsync.sync.context import RunContext
from gzsync.sync.failures import FailureCounter
from gzsync.sync.fetch import Fetched
from gzsync.sync.writer import (
    BATCH_SIZE,
    PAYLOAD_HASH_KEY,
    BatchWriter,
    Deferred,
    Item,
    Outgoing,
    WriteOptions,
    WriteOutcome,
    _aiter,
    _Batch,
    record_hash,
)
from gzsync.zoho.bulk import JOB_CREDITS, BulkWriter, JobPending, PollPolicy
from gzsync.zoho.client import UpsertResult

log = logging.getLogger("gzsync.sync.bulk")

#: Below this many records a file costs more as a job (~505 credits) than as upserts.
MIN_JOB_ROWS = 5_100
#: Credits a job's file is expected to cost: upload, job, two polls, download.
FILE_CREDITS = JOB_CREDITS + 4


#: The lookup fields of each module we write: mapped `find_by: id` in every file, also
#: when no record of the file has a value (an all-empty lookup column without `find_by`
#: is refused as a whole: `MANDATORY_NOT_FOUND`).
MODULE_LOOKUPS: dict[str, tuple[str, ...]] = {
    "Accounts": ("Affiliate_To",),
    "Contacts": ("Account_Name",),
}


def pending_key(stream: str) -> str:
    """The meta entry of a stream's submitted, not yet committed job."""
    return f"bulk_job:{stream}"


def wants_bulk(ctx: RunContext, stream: str, records: int) -> bool:
    """Does `stream`, with `records` to write, go through Bulk Write in this run?

    Records the decision in the report (`bulk`) and the log when it does."""
    forced = ctx.options.bulk
    use = forced if forced is not None else records > ctx.settings.bulk_threshold
    if use and records > 0:
        ctx.report.bulk[stream] = {"records": records, "jobs": 0, "collected": 0}
        why = "--bulk" if forced else f"more than BULK_THRESHOLD={ctx.settings.bulk_threshold}"
        log.info(
            "%s: %d records to write (%s): %s through Zoho Bulk Write",
            stream,
            records,
            why,
            "would go" if ctx.options.dry_run else "they go",
        )
    return bool(use and records > 0)


def writer_for(
    stream: Stream, ctx: RunContext, options: WriteOptions, *, bulk: bool, fetched: Fetched
) -> BatchWriter:
    """The stream's writer: Bulk Write files when `bulk`, else upserts of 100."""
    if not bulk:
        return BatchWriter(stream, ctx, options)
    # a read compared with Zoho (a lost state store): records may be in Zoho unknown to
    # the id cache
    return BulkBatchWriter(stream, ctx, options, maybe_in_zoho=fetched.start.source == "zoho")


@dataclass(frozen=True, slots=True)
class PendingJob:
    """A job submitted and not yet committed (meta `bulk_job:<stream>`)."""

    job_id: str
    digest: str
    records: int
    lookups: list[str]
    module: str

    def to_text(self) -> str:
        return json.dumps(
            {
                "job_id": self.job_id,
                "digest": self.digest,
                "records": self.records,
                "lookups": self.lookups,
                "module": self.module,
                "submitted_at": time.time(),
            }
        )

    @classmethod
    def from_text(cls, text: str | None) -> PendingJob | None:
        if not text:
            return None
        try:
            raw = json.loads(text)
            return cls(
                str(raw["job_id"]),
                str(raw["digest"]),
                int(raw["records"]),
                [str(x) for x in raw.get("lookups", [])],
                str(raw.get("module", "")),
            )
        except (ValueError, KeyError, TypeError):
            return None


def digest(records: Sequence[Outgoing]) -> str:
    """What a file holds, in order: keys, revisions and payload hashes."""
    h = hashlib.sha256()
    for r in records:
        h.update(f"{r.key}\x1f{r.rev}\x1f{record_hash(r)}\n".encode())
    return h.hexdigest()


#: the key of a spilled payload's row on disk (see _Spill)
_SPILLED = "\x00spilled"


class _Spill:
    """The payloads of a Bulk Write stream on disk (a temporary SQLite file) while their
    files are made: a file's 25,000 payload dicts take about 70 MB in memory, so the
    batches hold only a stub (its row and its hash: :data:`PAYLOAD_HASH_KEY`), and the
    payloads are read back in order as the CSV is written (issue 15: RSS < 200 MB)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="gzsync-bulk-")
        self._db = sqlite3.connect(
            Path(self._dir.name) / "payloads.db", isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA cache_size=-4000")
        self._db.execute("CREATE TABLE p (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        self._seq = itertools.count()
        self._buffer: list[tuple[int, str]] = []

    def __enter__(self) -> _Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self._db.close()
        self._dir.cleanup()

    def put(self, record: Outgoing) -> Outgoing:
        seq = next(self._seq)
        self._buffer.append((seq, json.dumps(record.payload, separators=(",", ":"))))
        if len(self._buffer) >= 1000:
            self._flush()
        stub = {_SPILLED: seq, PAYLOAD_HASH_KEY: payload_hash(record.payload)}
        return replace(record, payload=stub)

    def _flush(self) -> None:
        if self._buffer:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO p VALUES (?, ?)", self._buffer)
            self._db.execute("COMMIT")
            self._buffer.clear()

    def payloads(self, records: Sequence[Outgoing]) -> Iterator[dict[str, Any]]:
        """The payloads of `records` (spilled, in spill order), one at a time."""
        self._flush()
        wanted = [r.payload.get(_SPILLED) for r in records]
        if not wanted:
            return
        if any(not isinstance(w, int) for w in wanted):  # not spilled: as they are
            yield from (dict(r.payload) for r in records)
            return
        position = 0
        cursor = self._db.execute(
            "SELECT seq, body FROM p WHERE seq BETWEEN ? AND ? ORDER BY seq",
            (wanted[0], wanted[-1]),
        )
        for seq, body in cursor:
            if position < len(wanted) and seq == wanted[position]:
                yield json.loads(body)
                position += 1
        if position != len(wanted):
            raise RuntimeError("a Bulk Write payload is missing from the spill")

    def hydrate(self, records: Sequence[Outgoing]) -> list[Outgoing]:
        """`records` with their payloads back (a few: upserts, repairs)."""
        return [replace(r, payload=p) for r, p in zip(records, self.payloads(records), strict=True)]

    def drop(self, records: Sequence[Outgoing]) -> None:
        """Forget committed payloads (the file stays small)."""
        seqs = [r.payload.get(_SPILLED) for r in records]
        ints = [s for s in seqs if isinstance(s, int)]
        if ints:
            self._flush()
            self._db.execute("DELETE FROM p WHERE seq BETWEEN ? AND ?", (min(ints), max(ints)))


def bulk_writer(ctx: RunContext) -> BulkWriter:
    wait = ctx.settings.bulk_poll_s
    return BulkWriter(
        ctx.zoho,
        api_base=ctx.settings.zoho_api_base,
        poll=PollPolicy(wait_initial=wait, wait_max=max(wait, 60.0), wait_jitter=min(1.0, wait)),
        max_rows=ctx.settings.bulk_file_rows,
    )


def _stop(ctx: RunContext) -> bool:
    return ctx.budget.exhausted()


async def finish_stale(ctx: RunContext, stream: Stream, bulk: BulkWriter | None = None) -> None:
    """Wait for a job an earlier run submitted for `stream` and nobody collected, so that
    its (older) payloads never land after this run's; its results are not used (the
    records it held are read and sent again). Raises Deferred at the budget."""
    key = pending_key(stream.name)
    pending = PendingJob.from_text(await asyncio.to_thread(ctx.store.meta_get, key))
    if pending is None or ctx.options.dry_run:
        return
    log.info("%s: waiting for Bulk Write job %s of an earlier run", stream.name, pending.job_id)
    try:
        await (bulk or bulk_writer(ctx)).collect(
            pending.module or stream.module,
            pending.job_id,
            [],
            pending.lookups,
            stop=lambda: _stop(ctx),
            resumed=True,
        )
    except JobPending as exc:
        raise Deferred(f"{exc}; collected next run") from None
    except ZohoRequestError as exc:
        # a failed or forgotten job wrote nothing we rely on: its records are sent again
        log.warning("%s: earlier Bulk Write job %s: %s", stream.name, pending.job_id, exc)
    await asyncio.to_thread(ctx.store.meta_put, key, "")


async def wait_for_stale(ctx: RunContext, *streams: Stream) -> bool:
    """:func:`finish_stale` for a stream written by upserts this run; False when the budget
    ran out first (the report says `partial`: the stream is written next run)."""
    try:
        for stream in streams:
            await finish_stale(ctx, stream)
    except Deferred as exc:
        ctx.report.status = "partial"
        ctx.report.message = str(exc)
        return False
    return True


class BulkBatchWriter(BatchWriter):
    """A :class:`BatchWriter` whose batches are Bulk Write files (see the module)."""

    def __init__(
        self,
        stream: Stream,
        ctx: RunContext,
        options: WriteOptions | None = None,
        *,
        maybe_in_zoho: bool = False,
    ) -> None:
        super().__init__(stream, ctx, options or WriteOptions())
        #: records may be in Zoho without our id cache knowing (a read compared with Zoho
        #: after a lost state store): a record with a field left out goes as an upsert
        self._maybe_in_zoho = maybe_in_zoho
        self._ctx = ctx
        self._stream_decl = stream
        self._forced = ctx.options.bulk is True
        self._bulk = bulk_writer(ctx)
        self.batch_size = ctx.settings.bulk_file_rows
        self._concurrency = 1  # one job at a time: one meta entry per stream
        self._main: set[int] = set()  # the batches' own record lists (not a repair's)
        self._jobs: dict[int, str] = {}  # batch seq -> job whose entry its commit clears
        self._current = 0
        self._touched: set[str] = set()  # jobs this writer submitted or collected
        #: a stream written by jobs without a threshold decision of its own (affiliates,
        #: with their card holders) counts its records in the report as its files go
        self._counts_records = stream.name not in ctx.report.bulk

    async def write(self, items: Iterable[Item] | AsyncIterable[Item]) -> WriteOutcome:
        with _Spill() as spill:
            self._spill = spill

            async def spilled() -> AsyncIterator[Item]:
                async for item in _aiter(items):
                    yield spill.put(item) if isinstance(item, Outgoing) else item

            outcome = await super().write(spilled())
        if outcome.stopped is None and not self._ctx.options.dry_run:
            # a job of an earlier run that no file of this run matched (Zoho held its
            # records by now, so a compared read did not send them again): see it end
            pending = PendingJob.from_text(
                await asyncio.to_thread(self._store.meta_get, pending_key(self._stream))
            )
            if pending is not None and pending.job_id not in self._touched:
                try:
                    await finish_stale(self._ctx, self._stream_decl, self._bulk)
                except Deferred as exc:
                    log.info("%s: %s", self._stream, exc)
        return outcome

    def _as_job(self, records: Sequence[Outgoing]) -> bool:
        return self._forced or len(records) >= MIN_JOB_ROWS

    def _credit_cost(self, records: Sequence[Outgoing]) -> int | None:
        return FILE_CREDITS if records and self._as_job(records) else None

    async def _send(
        self, batch: _Batch, failures: FailureCounter
    ) -> tuple[list[Confirmed], list[LedgerEntry]]:
        self._main.add(id(batch.outgoing))
        self._current = batch.seq
        try:
            return await super()._send(batch, failures)
        finally:
            self._main.discard(id(batch.outgoing))

    async def _repair_and_resend(
        self, records: Sequence[Outgoing], failures: FailureCounter
    ) -> tuple[list[Confirmed], list[LedgerEntry]]:
        return await super()._repair_and_resend(self._spill.hydrate(records), failures)

    async def _upsert(self, records: Sequence[Outgoing]) -> list[UpsertResult]:
        if id(records) not in self._main:  # a repair's resend: payloads at hand
            return await self._upserts(records)
        # the file's columns, and how many each record has, read from disk (not kept)
        columns: dict[str, None] = {}
        sizes: list[int] = []
        for payload in self._spill.payloads(records):
            columns.update(dict.fromkeys(payload))
            sizes.append(len(payload))
        whole = [i for i, n in enumerate(sizes) if n == len(columns)]
        if len(whole) < len(records) and not self._maybe_in_zoho:
            # a field left out (a value the mapping dropped with a warning) is an empty
            # cell: the same as leaving it out for a record Zoho does not hold yet
            partial = [r.key for r, n in zip(records, sizes, strict=True) if n < len(columns)]
            known = await asyncio.to_thread(self._store.ids_get, self._module, partial)
            whole = [
                i
                for i, (r, n) in enumerate(zip(records, sizes, strict=True))
                if n == len(columns) or r.key not in known
            ]
        if not whole or not self._as_job([records[i] for i in whole]):
            return await self._upserts(self._spill.hydrate(records))
        results: list[UpsertResult | None] = [None] * len(records)
        job = await self._job([records[i] for i in whole], list(columns))
        for i, result in zip(whole, job, strict=True):
            results[i] = result
        rest = [i for i, r in enumerate(results) if r is None]
        if rest:
            sent = await self._upserts(self._spill.hydrate([records[i] for i in rest]))
            for i, result in zip(rest, sent, strict=True):
                results[i] = result
        return [r for r in results if r is not None]

    async def _upserts(self, records: Sequence[Outgoing]) -> list[UpsertResult]:
        """Upserts of 100, up to ZOHO_CONCURRENCY at once, results in input order."""
        chunks = [records[i : i + BATCH_SIZE] for i in range(0, len(records), BATCH_SIZE)]
        slots = asyncio.Semaphore(self._ctx.concurrency)

        async def one(chunk: Sequence[Outgoing]) -> list[UpsertResult]:
            async with slots:
                return await super(BulkBatchWriter, self)._upsert(chunk)

        out: list[UpsertResult] = []
        for part in await asyncio.gather(*(one(c) for c in chunks)):
            out.extend(part)
        return out

    async def _job(self, records: Sequence[Outgoing], columns: list[str]) -> list[UpsertResult]:
        """One file: collect the earlier run's job when it is this file, else submit."""
        store = self._ctx.store
        meta = pending_key(self._stream)
        mark = digest(records)
        pending = PendingJob.from_text(await asyncio.to_thread(store.meta_get, meta))
        counts = self._ctx.report.bulk.setdefault(
            self._stream, {"records": 0, "jobs": 0, "collected": 0}
        )
        known = {*MODULE_LOOKUPS.get(self._module, ()), self._lookup_field}
        lookups = sorted(c for c in columns if c in known)
        if pending is not None and pending.digest == mark:
            job_id, resumed = pending.job_id, True
            counts["collected"] += 1
            log.info("%s: collecting Bulk Write job %s of an earlier run", self._stream, job_id)
        else:
            if pending is not None:
                await finish_stale(self._ctx, self._stream_decl, self._bulk)
            submitted = await self._bulk.submit(
                self._module,
                self._spill.payloads(records),
                find_by=self._dup,
                columns=columns,
                lookups=lookups,
            )
            job_id, resumed, lookups = submitted.job_id, False, submitted.lookups
            # persisted before the first poll: a run stopped from here on is collected
            await asyncio.to_thread(
                store.meta_put,
                meta,
                PendingJob(job_id, mark, len(records), lookups, self._module).to_text(),
            )
            counts["jobs"] += 1
        if self._counts_records:
            counts["records"] += len(records)
        self._jobs[self._current] = job_id
        self._touched.add(job_id)
        try:
            result = await self._bulk.collect(
                self._module,
                job_id,
                [r.key for r in records],
                lookups,
                stop=lambda: _stop(self._ctx),
                resumed=resumed,
            )
        except JobPending as exc:
            note = f"{self._stream}: {exc}; the next run collects its results"
            self._ctx.report.warnings.append(note)
            raise Deferred(note) from None
        except ZohoRequestError:
            # the job failed as a whole (nothing written): the batch goes to the ledger as
            # failed (retried next run) and the entry is cleared
            await asyncio.to_thread(store.meta_put, meta, "")
            raise
        return result.results

    async def _settle(
        self,
        batch: _Batch,
        confirmed: list[Confirmed],
        ledger: list[LedgerEntry],
        outcome: WriteOutcome,
    ) -> None:
        await super()._settle(batch, confirmed, ledger, outcome)
        self._spill.drop(batch.outgoing)
        if self._jobs.pop(batch.seq, None) is not None and self._commit is not None:
            # committed: the job's results are in the store; a new run must not collect it
            await asyncio.to_thread(self._store.meta_put, pending_key(self._stream), "")
