"""Writing records to Zoho: batches of 100, several in flight, results committed in order.

The one piece of machinery every entity goes through. It takes records in ascending
revision order and

- cuts them into upsert batches of at most 100, sent concurrently (up to `concurrency`);
- turns every per-record answer into a confirmation (id cache, ledger resolution) or a
  ledger entry with its reason — a refused record is data, not an exception;
- commits each batch to the state store atomically and **in input order** (in a worker
  thread, so a remote store's latency overlaps the upserts in flight), moving the
  watermark to the batch's highest revision only once every earlier batch is committed, so
  a crash or a stop at any point leaves the watermark at a revision below which everything
  is either in Zoho or in the ledger;
- stops starting batches when the time budget is spent, once the run-wide failure rule
  trips (:mod:`gzsync.sync.failures`), or when Zoho's credits would fall below the reserve
  (:mod:`gzsync.sync.credit_gate`), letting the in-flight ones finish. A batch that hits
  Zoho's "credits used up" 429 is neither committed nor ledgered, and no later batch moves
  the watermark past it: the next run sends it again;
- keeps, per key, the hash of the payload Zoho confirmed (`WriteOptions.hashes`, in the id
  cache under :func:`~gzsync.state.store.hash_module`) and, with `skip_unchanged`, does not
  send a record whose payload hashes the same (`Rev_Number` aside,
  :mod:`gzsync.mapping.payload_hash`) while its Zoho id is known: it counts as confirmed,
  commits with its batch (the watermark moves over it) and costs no credit.

A writer is made from what a stream declares (:class:`gzsync.streams.Stream`: module, key
field, lookup field, id-cache module) and what the run gives it (:class:`WriteRun`: the
clients, the store, dry run, concurrency, counts, progress, the failure counter), plus how
this one write goes (:class:`WriteOptions`). A dry run is decided in one place: the
constructor picks the delivery (a preview of inserts and updates) and no commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import httpx

from gzsync.errors import ServiceError, ZohoCreditsExhausted
from gzsync.mapping.payload_hash import payload_hash
from gzsync.state.store import (
    RETRIED_EVERY_RUN,
    BatchCommit,
    CheckpointStore,
    Confirmed,
    LedgerEntry,
    LedgerKind,
    hash_module,
)
from gzsync.streams import Stream
from gzsync.sync.budget import Budget
from gzsync.sync.credit_gate import CreditGate
from gzsync.sync.failures import MAX_CONSECUTIVE_FAILURES, FailureCounter
from gzsync.sync.report import EntityCounts
from gzsync.zoho.client import UpsertResult, ZohoClient

log = logging.getLogger("gzsync.sync")

BATCH_SIZE = 100
#: Ledger-bound records committed with one batch at most (keeps commits small).
HELD_PER_BATCH = 1000
__all__ = [
    "MAX_CONSECUTIVE_FAILURES",
    "BatchWriter",
    "Deferred",
    "FailureCounter",
    "WriteOptions",
    "WriteRun",
]
#: Per-record Zoho codes worth retrying in the next run as they are (not data problems).
TRANSIENT_CODES = frozenset(
    {"INTERNAL_ERROR", "TOO_MANY_REQUESTS", "RECORD_LOCKED", "CANNOT_PROCESS", "LIMIT_EXCEEDED"}
)


class Deferred(Exception):
    """Raised by a delivery whose answer comes later (a Bulk Write job still running when
    the budget ran out; :mod:`gzsync.sync.bulk_path`): the batch is neither confirmed nor
    ledgered, no later commit moves the watermark past it, and the write stops as at the
    time budget. The next run collects the answer."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A record ready to upsert."""

    key: str
    rev: int
    payload: dict[str, Any]
    parent_key: str | None = None  # the Account a contact hangs on (for lookup repair)
    #: the revision of the ledger entry this record settles when Zoho confirms it, when that
    #: is above `rev`: Galaxy restored the key's row to a lower revision, and this row is
    #: the key's current one (see :mod:`gzsync.sync.fetch`)
    settles: int | None = None


@dataclass(frozen=True, slots=True)
class Held:
    """A record that goes to the ledger instead of Zoho (rejected, waiting for a parent)."""

    entry: LedgerEntry


@dataclass(frozen=True, slots=True)
class Cut:
    """The end of a stream that was stopped early (a time budget): the rows from revision
    `next_rev` on were not processed, so no watermark may reach `next_rev`."""

    next_rev: int

    @property
    def rev(self) -> int:
        return self.next_rev


Item = Outgoing | Held | Cut


def watermark_below(max_rev: int, next_rev: int | None) -> int:
    """Where the watermark may move after a batch whose highest revision is `max_rev`, when
    the next unprocessed row has revision `next_rev` (None: nothing follows).

    Rows arrive in ascending revision order and the next run reads strictly above the
    watermark, so a revision the next row shares must stay above it — whether that row is
    in the next batch or was never processed because the stream stopped.
    """
    if next_rev is None or next_rev > max_rev:
        return max_rev
    return min(max_rev, next_rev) - 1


@dataclass(slots=True)
class _Batch:
    seq: int
    outgoing: list[Outgoing] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    max_rev: int = 0
    #: where the watermark may move once this batch is committed: its highest revision,
    #: or one below when the next record shares it (rows of equal revision may straddle
    #: two batches, and the next read is strictly above the watermark)
    watermark: int = 0
    #: records not sent: their payload hash equals the one Zoho last confirmed
    unchanged: list[Confirmed] = field(default_factory=list)


#: Repairs a record whose lookup id Zoho refused (an Account deleted in the CRM): returns the
#: record with a fresh id to send again, or None when the parent cannot be found.
LookupRepair = Callable[[Outgoing], Awaitable[Outgoing | None]]


@dataclass(slots=True)
class WriteOutcome:
    """What one `BatchWriter.write` call achieved."""

    ids: dict[str, str] = field(default_factory=dict)  # key -> Zoho id (with collect_ids)
    transient_keys: set[str] = field(default_factory=set)  # ledgered, retried every run
    broken: Exception | None = None  # a batch that failed unexpectedly (re-raised by write)
    stopped: str | None = None  # "budget", "failures" or "credits" when it stopped early
    error: ServiceError | None = None  # the last whole-batch failure, when it stopped for it
    processed: int = 0  # records (sent or held) of the batches that were started
    #: a batch hit Zoho's "credits used up": later commits do not move the watermark
    held_back: bool = False


class WriteRun(Protocol):
    """What a run gives its writers (:class:`gzsync.sync.context.RunContext` is one)."""

    @property
    def zoho(self) -> ZohoClient: ...

    @property
    def store(self) -> CheckpointStore: ...

    @property
    def dry_run(self) -> bool: ...

    @property
    def concurrency(self) -> int: ...

    @property
    def failures(self) -> FailureCounter: ...

    def counts(self, stream: str) -> EntityCounts: ...

    def advanced(self, stream: str, n: int) -> None:
        """`n` more records of `stream` were committed (progress, lock heartbeat)."""


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """How one write goes, beyond what its stream and its run say."""

    #: move the stream's watermark (False for a stream read by another's revisions, and
    #: for repairs outside the revision order)
    moves_watermark: bool = True
    #: checked before each batch; None when the caller checks it (per window)
    budget: Budget | None = None
    #: the first batch goes whatever the budget says (a run always makes progress)
    first_batch_free: bool = False
    #: finds a fresh parent id when Zoho refuses the stream's lookup (see LookupRepair)
    repair: LookupRepair | None = None
    #: return every confirmed id (affiliates, for their card holders' links): off by
    #: default, so a long stream does not pile up a dict of every id it wrote
    collect_ids: bool = False
    #: with collect_ids: hand each batch's confirmed ids to this sink instead of keeping
    #: them in `WriteOutcome.ids` (a load too large to hold them in memory)
    ids_sink: Callable[[Mapping[str, str]], None] | None = None
    #: the run's credit gate, asked before each batch (see gzsync.sync.credit_gate)
    credits: CreditGate | None = None
    #: keep the hash of every confirmed payload (streams with a watermark)
    hashes: bool = False
    #: do not send a record whose payload hash equals the stored one (incremental reads;
    #: not with --force, nor for a full read, which compares with Zoho itself)
    skip_unchanged: bool = False


class BatchWriter:
    """Upserts one stream of records into its Zoho module."""

    #: outgoing records per batch (a subclass writing Bulk Write files takes more)
    batch_size = BATCH_SIZE

    def __init__(self, stream: Stream, run: WriteRun, options: WriteOptions = WriteOptions()):
        self._zoho = run.zoho
        self._store = run.store
        self._stream = stream.name
        self._module = stream.module
        self._dup = stream.key_field
        self._counts = run.counts(stream.name)
        self._budget = options.budget
        self._first_batch_free = options.first_batch_free
        self._concurrency = run.concurrency
        self._moves_watermark = options.moves_watermark
        self._lookup_field = stream.lookup.field if stream.lookup is not None else None
        self._repair = options.repair
        # progress is shown for the streams a read started (those with a watermark)
        self._on_progress = partial(run.advanced, stream.name) if stream.has_watermark else None
        self._failures = run.failures
        self._collect_ids = options.collect_ids
        self._ids_sink = options.ids_sink
        self._credits = options.credits
        self._hashes = hash_module(stream.name) if options.hashes else None
        self._skip_unchanged = options.skip_unchanged and self._hashes is not None
        #: keys of the stream waiting in the ledger: always sent (a retry, a record deleted
        #: in the CRM since its hash was kept); read when the write starts
        self._ledgered: set[str] = set()
        #: a second id cache "module" the confirmed ids also go to (customer Accounts)
        self._also_ids = stream.ids_module
        # The one place a dry run is decided: preview instead of upsert, commit nothing.
        self._deliver = self._preview if run.dry_run else self._send
        self._commit: Callable[[BatchCommit], None] | None = (
            None if run.dry_run else self._store.commit_batch
        )

    async def write(self, items: Iterable[Item] | AsyncIterable[Item]) -> WriteOutcome:
        """Send every item, in order; return the ids and how it ended."""
        outcome = WriteOutcome()
        in_flight = asyncio.Semaphore(self._concurrency)
        # Finished batches wait for their predecessors' commits; bound how many may wait.
        pending = asyncio.Semaphore(self._concurrency * 4)
        previous: asyncio.Event | None = None
        tasks: list[asyncio.Task[None]] = []
        failures = self._failures
        source = _batches(_aiter(items), self.batch_size)
        if self._skip_unchanged:
            entries = await asyncio.to_thread(self._store.ledger_list, self._stream)
            self._ledgered = {e.key for e in entries}
        try:
            async for batch in source:
                if (
                    self._budget is not None
                    and (outcome.processed or not self._first_batch_free)
                    and self._budget.exhausted()
                ):
                    outcome.stopped = "budget"
                    break
                if failures.tripped:
                    outcome.stopped = "failures"
                    outcome.error = failures.last
                    break
                if self._skip_unchanged and batch.outgoing:
                    await asyncio.to_thread(self._drop_unchanged, batch)
                await pending.acquire()
                await in_flight.acquire()
                if outcome.held_back and outcome.stopped == "budget":
                    # a batch before this one was deferred (see Deferred): start no more
                    in_flight.release()
                    pending.release()
                    break
                # asked at the moment the batch would start, with what is in flight counted
                if self._credits is not None and not await self._credits.admit(
                    len(batch.outgoing), cost=self._credit_cost(batch.outgoing)
                ):
                    in_flight.release()
                    pending.release()
                    outcome.stopped = "credits"
                    break
                outcome.processed += len(batch.outgoing) + len(batch.held)
                done = asyncio.Event()
                task = asyncio.create_task(
                    self._run_batch(batch, previous, done, in_flight, pending, outcome, failures)
                )
                tasks.append(task)
                previous = done
                # drop finished tasks so a long stream does not accumulate them
                if len(tasks) > self._concurrency * 8:
                    tasks = [t for t in tasks if not t.done()]
        except BaseException:
            # the items themselves failed (a read, a parent look-up): let what is in flight
            # finish and commit, then report the failure
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            # a stop leaves the items unfinished: close them so their clean-up runs now
            await source.aclose()
            if isinstance(items, AsyncGenerator):
                await items.aclose()
        if tasks:
            await asyncio.gather(*tasks)
        if outcome.broken is not None:
            raise outcome.broken
        if outcome.stopped is None and failures.tripped:
            outcome.stopped = "failures"
            outcome.error = failures.last
        return outcome

    async def _run_batch(
        self,
        batch: _Batch,
        previous: asyncio.Event | None,
        done: asyncio.Event,
        in_flight: asyncio.Semaphore,
        pending: asyncio.Semaphore,
        outcome: WriteOutcome,
        failures: FailureCounter,
    ) -> None:
        try:
            used_up: ZohoCreditsExhausted | None = None
            deferred: Deferred | None = None
            try:
                confirmed, ledger = await self._deliver(batch, failures)
            except ZohoCreditsExhausted as exc:
                if self._credits is None:  # no gate (a reconcile): an unexpected failure
                    raise
                confirmed, ledger, used_up = [], [], exc
            except Deferred as exc:
                confirmed, ledger, deferred = [], [], exc
            finally:
                in_flight.release()
                if self._credits is not None:
                    self._credits.answered(
                        len(batch.outgoing), cost=self._credit_cost(batch.outgoing)
                    )
            if previous is not None:
                await previous.wait()
            if deferred is not None:
                # the answer comes next run (see Deferred): nothing of it is committed
                outcome.held_back = True
                outcome.stopped = outcome.stopped or "budget"
                log.warning("%s batch %d: %s", self._module, batch.seq, deferred)
            elif used_up is not None:
                # Zoho took nothing of this batch: commit none of it, and no later batch
                # may move the watermark past it (the next run sends it again)
                assert self._credits is not None
                self._credits.used_up(used_up)
                outcome.held_back = True
                outcome.stopped = "credits"
                log.warning(
                    "%s batch %d: Zoho's API credits are used up; it is sent again next run",
                    self._module,
                    batch.seq,
                )
            else:
                await self._settle(batch, batch.unchanged + confirmed, ledger, outcome)
        except Exception as exc:
            # This batch is neither confirmed nor ledgered: no later batch may move the
            # watermark past it (see _settle), and write() re-raises the error.
            if outcome.broken is None:
                outcome.broken = exc
        finally:
            done.set()
            pending.release()

    def _credit_cost(self, records: Sequence[Outgoing]) -> int | None:
        """What sending `records` costs in credits; None: the upsert price (1 per 10)."""
        return None

    def _drop_unchanged(self, batch: _Batch) -> None:
        """Move the records Zoho already holds as they are to `batch.unchanged`."""
        assert self._hashes is not None
        keys = [o.key for o in batch.outgoing]
        stored = self._store.ids_get(self._hashes, keys)
        if not stored:
            return
        ids = self._store.ids_get(self._module, [k for k in keys if k in stored])
        rest: list[Outgoing] = []
        for record in batch.outgoing:
            zoho_id = ids.get(record.key)
            if (
                zoho_id
                and record.settles is None
                and record.key not in self._ledgered
                and stored.get(record.key) == self._hash(record)
            ):
                batch.unchanged.append(_confirmed(record, zoho_id))
            else:
                rest.append(record)
        batch.outgoing[:] = rest
        self._counts.unchanged += len(batch.unchanged)

    async def _send(
        self, batch: _Batch, failures: FailureCounter
    ) -> tuple[list[Confirmed], list[LedgerEntry]]:
        confirmed: list[Confirmed] = []
        ledger = [h.entry for h in batch.held]
        if not batch.outgoing:
            return confirmed, ledger
        try:
            results = await self._upsert(batch.outgoing)
        except (ServiceError, httpx.HTTPError) as exc:
            if isinstance(exc, ZohoCreditsExhausted) and self._credits is not None:
                raise  # not a failure: the run stops for credits (see _run_batch)
            error = exc if isinstance(exc, ServiceError) else ServiceError(str(exc))
            failures.failed(error)
            reason = _failure_reason(error)
            log.warning(
                "%s batch %d failed after retries (%s); %d records go to the ledger",
                self._module,
                batch.seq,
                reason,
                len(batch.outgoing),
            )
            ledger.extend(
                LedgerEntry(self._stream, o.key, o.rev, "failed", reason, str(error)[:200])
                for o in batch.outgoing
            )
            return confirmed, ledger
        failures.succeeded()
        repairable: list[Outgoing] = []
        for record, result in zip(batch.outgoing, results, strict=True):
            if result.ok and result.zoho_id:
                confirmed.append(_confirmed(record, result.zoho_id, digest=self._digest(record)))
                self._count_action(result)
            elif self._is_lookup_error(result) and self._repair is not None:
                repairable.append(record)
            else:
                ledger.append(self._ledger_entry(record, result))
        if repairable:
            c2, l2 = await self._repair_and_resend(repairable, failures)
            confirmed.extend(c2)
            ledger.extend(l2)
        return confirmed, ledger

    async def _repair_and_resend(
        self, records: Sequence[Outgoing], failures: FailureCounter
    ) -> tuple[list[Confirmed], list[LedgerEntry]]:
        assert self._repair is not None
        confirmed: list[Confirmed] = []
        ledger: list[LedgerEntry] = []
        fixed: list[Outgoing] = []
        try:
            for record in records:
                repaired = await self._repair(record)
                if repaired is None:
                    ledger.append(self._waiting_parent(record))
                else:
                    fixed.append(repaired)
            results = await self._upsert(fixed) if fixed else []
        except (ServiceError, httpx.HTTPError) as exc:
            if isinstance(exc, ZohoCreditsExhausted) and self._credits is not None:
                raise  # not a failure: the run stops for credits (see _run_batch)
            error = exc if isinstance(exc, ServiceError) else ServiceError(str(exc))
            failures.failed(error)
            reason = _failure_reason(error)
            done = {e.key for e in ledger}
            ledger.extend(
                LedgerEntry(self._stream, o.key, o.rev, "failed", reason, str(error)[:200])
                for o in records
                if o.key not in done
            )
            return confirmed, ledger
        for record, result in zip(fixed, results, strict=True):
            if result.ok and result.zoho_id:
                confirmed.append(_confirmed(record, result.zoho_id, digest=self._digest(record)))
                self._count_action(result)
            elif self._is_lookup_error(result):
                ledger.append(self._waiting_parent(record))
            else:
                ledger.append(self._ledger_entry(record, result))
        return confirmed, ledger

    def _hash(self, record: Outgoing) -> str:
        """The hash kept for `record`: of its payload (QuoteWriter: of what its quote is
        made of, so an unchanged quote is known before its products and Account are)."""
        return record_hash(record)

    def _digest(self, record: Outgoing) -> str | None:
        return self._hash(record) if self._hashes is not None else None

    async def _upsert(self, records: Sequence[Outgoing]) -> list[UpsertResult]:
        return await self._zoho.upsert(
            self._module, [r.payload for r in records], duplicate_check_fields=[self._dup]
        )

    async def _preview(
        self, batch: _Batch, failures: FailureCounter
    ) -> tuple[list[Confirmed], list[LedgerEntry]]:
        """Dry run: ask Zoho which keys exist, count would-be inserts and updates."""
        ledger = [h.entry for h in batch.held]
        if batch.outgoing:
            existing = await self._zoho.ids_by_key(
                self._module, self._dup, [o.key for o in batch.outgoing]
            )
            for record in batch.outgoing:
                if record.key in existing:
                    self._counts.updated += 1
                else:
                    self._counts.inserted += 1
        return [], ledger

    async def _settle(
        self,
        batch: _Batch,
        confirmed: list[Confirmed],
        ledger: list[LedgerEntry],
        outcome: WriteOutcome,
    ) -> None:
        for entry in ledger:
            if entry.kind == "rejected":
                self._counts.rejected += 1
            else:
                self._counts.failed += 1
            self._counts.add_sample(entry.key, entry.reason, entry.detail)
            if entry.kind in RETRIED_EVERY_RUN:
                outcome.transient_keys.add(entry.key)
        if self._collect_ids:
            got = {c.key: c.zoho_id for c in confirmed}
            if self._ids_sink is not None:
                self._ids_sink(got)
            else:
                outcome.ids.update(got)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s batch %d (%s up to rev %d): %d sent, %d confirmed, %d to the ledger%s",
                self._module,
                batch.seq,
                self._stream,
                batch.max_rev,
                len(batch.outgoing),
                len(confirmed),
                len(ledger),
                f"; sample {batch.outgoing[0].payload}"
                if batch.seq == 0 and batch.outgoing
                else "",
            )
        if self._commit is not None:
            # In a worker thread: a remote store's calls (Catalyst NoSQL) overlap the Zoho
            # calls in flight instead of stalling the event loop. Commits stay in order:
            # the next batch's commit waits for this one (`previous` in _run_batch).
            await asyncio.to_thread(
                self._commit,
                BatchCommit(
                    stream=self._stream,
                    module=self._module,
                    confirmed=confirmed,
                    ledger=ledger,
                    watermark=(
                        batch.watermark
                        if self._moves_watermark
                        and outcome.broken is None
                        and not outcome.held_back
                        else None
                    ),
                ),
            )
            if self._also_ids is not None and confirmed:
                self._store.ids_put(self._also_ids, {c.key: c.zoho_id for c in confirmed})
            if self._hashes is not None:
                # after the commit: a hash never stands for a payload Zoho did not confirm
                hashes = {c.key: c.payload_hash for c in confirmed if c.payload_hash}
                if hashes:
                    await asyncio.to_thread(self._store.ids_put, self._hashes, hashes)
        if self._on_progress is not None:
            self._on_progress(len(batch.outgoing) + len(batch.held))

    def _count_action(self, result: UpsertResult) -> None:
        if result.action == "update":
            self._counts.updated += 1
        else:
            self._counts.inserted += 1

    def _is_lookup_error(self, result: UpsertResult) -> bool:
        return (
            self._lookup_field is not None
            and result.code == "INVALID_DATA"
            and result.api_name == self._lookup_field
        )

    def _ledger_entry(self, record: Outgoing, result: UpsertResult) -> LedgerEntry:
        kind: LedgerKind = "failed" if result.code in TRANSIENT_CODES else "refused"
        where = f"{result.api_name}: " if result.api_name else ""
        return LedgerEntry(
            self._stream,
            record.key,
            record.rev,
            kind,
            result.code or "UNKNOWN",
            f"{where}{result.message}"[:200],
        )

    def _waiting_parent(self, record: Outgoing) -> LedgerEntry:
        return LedgerEntry(
            self._stream,
            record.key,
            record.rev,
            "waiting_parent",
            "parent_not_in_zoho",
            f"Account {record.parent_key} is not in Zoho",
        )


def _failure_reason(error: Exception) -> str:
    if isinstance(error, ServiceError):
        if error.code:
            return error.code
        if error.status:
            return f"http_{error.status}"
    return "transport_error"


def _confirmed(
    record: Outgoing, zoho_id: str, *, hashed: bool = False, digest: str | None = None
) -> Confirmed:
    """The confirmation of `record`; it settles a ledger entry up to `record.settles`.

    `digest`: the hash to keep for it; `hashed`: the hash of its payload (neither: nothing
    new to keep).
    """
    rev = record.rev if record.settles is None else max(record.rev, record.settles)
    if digest is None and hashed:
        digest = record_hash(record)
    return Confirmed(record.key, rev, zoho_id, digest)


#: A payload kept on disk while its Bulk Write file is made (sync/bulk_path.py) is a small
#: dict carrying its hash under this key, computed before it was put away.
PAYLOAD_HASH_KEY = "\x00payload_hash"


def record_hash(record: Outgoing) -> str:
    """The hash of `record`'s payload (:mod:`gzsync.mapping.payload_hash`)."""
    known = record.payload.get(PAYLOAD_HASH_KEY)
    return known if isinstance(known, str) else payload_hash(record.payload)


async def _aiter(items: Iterable[Item] | AsyncIterable[Item]) -> AsyncIterator[Item]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


async def _batches(
    items: AsyncIterator[Item], size: int = BATCH_SIZE
) -> AsyncGenerator[_Batch, None]:
    """Cut items into batches of at most `size` outgoing records, keeping order.

    A full batch is handed out only when the next item is known, so that its watermark can
    stay below a revision the next batch shares. A `Cut` ends the stream early: the last
    batches keep their watermark below the revision of the first row left unprocessed.
    """
    seq = 0
    batch = _Batch(seq)
    full: _Batch | None = None
    cut: int | None = None
    async for item in items:
        if isinstance(item, Cut):
            cut = item.next_rev
            break
        rev = item.rev if isinstance(item, Outgoing) else item.entry.rev
        if full is not None:
            full.watermark = watermark_below(full.max_rev, rev)
            yield full
            full = None
        if isinstance(item, Outgoing):
            batch.outgoing.append(item)
        else:
            batch.held.append(item)
        batch.max_rev = max(batch.max_rev, rev)
        if len(batch.outgoing) >= size or len(batch.held) >= HELD_PER_BATCH:
            full = batch
            seq += 1
            batch = _Batch(seq)
    if full is not None:  # (then `batch` is empty)
        full.watermark = watermark_below(full.max_rev, cut)
        yield full
    if batch.outgoing or batch.held:
        batch.watermark = watermark_below(batch.max_rev, cut)
        yield batch
