"""The quotes stream: Galaxy sales offers into Zoho Quotes with exact line items (SPEC §7,
`reference/zoho-quotes.md`).

Read. The offers view is read above the `quotes` watermark (`CommercialEntry_GXREVNUM`),
reaching back just enough to re-read the offers the ledger retries every run; per key the
highest revision wins; the run works in revision order. The offers wait on disk
(:mod:`gzsync.sync.offer_spool`, a temporary SQLite file like phase 1's spool) and are read
back block by block, so memory holds a block, not every changed offer (a first load can have
hundreds of thousands). A retried offer the ranged read did not return
(Galaxy restored it *below* its ledger revision) is searched by key, `ID Equal`
(:func:`~gzsync.galaxy.offers.read_offers_by_id`), and sent with `settles` so that its
confirmation resolves the entry, as the customer/contact streams do (:mod:`gzsync.sync.fetch`).
Only a retried offer Galaxy no longer serves at all becomes a `rejected` / `not_in_galaxy`
entry.

Work, block by block (BLOCK offers), in revision order, the next block prepared while
this one's quotes are written:

1. **Lines**: each offer's lines are read once (`read_offer_lines`, `GALAXY_CONCURRENCY`
   reads in flight). A failed read holds that offer (`failed` / `galaxy_lines_failed`,
   retried every run), not the run. A line our mapping refuses (no item code, a quantity
   that is not a number) holds its offer as `rejected`.
2. **Products** (:mod:`gzsync.sync.products`): upserted by `Product_Code` before the
   quotes naming them, once per run. A refused product holds its quotes
   (`waiting_parent` / `product_refused`, retried every run).
3. **Account**: by `TRDRID` (the id cache, then COQL on `Trader_ID`) when the view has it,
   else by TIN (COQL on `Account_AFM`). A TIN found on several Accounts holds the quote
   (`waiting_parent` / `ambiguous_account`) rather than guess; an Account not in Zoho yet
   holds it (`waiting_parent` / `parent_not_in_zoho`). Both are retried every run.
4. **Write** through :class:`~gzsync.sync.writer.BatchWriter` made from the declared
   stream (:data:`gzsync.streams.QUOTES`: module, key, `Account_Name` lookup; 100 per upsert by
   `ERP_ID_Offer`, concurrent batches, commits in revision order, watermark, ledger, budget
   stop) with one change, :class:`QuoteWriter`: a quote that is new is upserted with all its
   `Quoted_Items` (`Subject` and the rows are mandatory on insert); a quote Zoho already
   holds (the id cache; COQL too when the state store did not know Zoho's quotes: a
   lost state file) is upserted **without** rows, then read with a
   single-record GET (the only read that gives row ids), its rows diffed against the
   Galaxy lines (:mod:`gzsync.mapping.line_items`: changed rows with their id, removed ones
   with `_delete`, new ones without id) and updated 100 per PUT; an updated quote is read
   again and its row count compared with Galaxy's: a mismatch is a `failed` ledger entry
   (`ROW_COUNT_MISMATCH`), retried next run. A quote upserted with rows that Zoho reports
   as an *update* (it existed after all: rows may have been appended) goes through the same
   read-diff-check. A GET that says `$has_more.Quoted_Items` (reference §5: Zoho returned
   only part of the rows) is never diffed: the rows not shown would be neither kept nor
   deleted, and the lines after them sent again as new rows, duplicated under *append*.
   The quote is left as it is and held `refused` / `LINE_ITEMS_TRUNCATED` (retried when
   the offer changes, or by `gzsync ledger retry`); so is a quote whose rows cannot be
   counted after its update for the same reason.

**Unchanged offers cost nothing** (issue 15's unchanged-skip, :mod:`gzsync.sync.unchanged`):
the id cache keeps, per quote, the hash of what Zoho last confirmed: the mapped header *and*
the mapped lines, with the Account's and the Products' keys rather than their Zoho ids
(:mod:`gzsync.mapping.quote_hash`). On an incremental read (not with `--force`, not on a
`--since-rev` backfill) an offer whose hash is the stored one, whose quote id is in the id
cache, and which is neither in the ledger nor a restored row, is known as soon as its lines
are mapped: its products are not upserted, its Account is not looked up, its quote is not
sent and not read: **0 Zoho calls**. It counts `unchanged` and commits with its batch (the
watermark moves over it; Zoho's `Rev_Number` lags, as for the other streams). The hash is
stored only after the quote is confirmed, rows and row count included; a quote whose write
or row fix failed has its stored hash cleared (and its products' hashes), so it is sent in
full next time. A product deleted in the CRM is not noticed while its hash stands; a quote
Zoho then refuses for that Product id (`INVALID_DATA` on `Product_Name`) is `failed`, retried
next run, when the product, its hash cleared, is upserted (re-created) first. Products are
skipped the same way by their own payload hash (:mod:`gzsync.sync.products`).

Re-syncing an unchanged offer where the skip does not apply (`--since-rev`, `--force`, a
lost state file) costs its share of the header upsert and one GET; its diff is empty and
no PUT is sent.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gzsync.galaxy.offers import read_offer_lines, read_offers, read_offers_by_id
from gzsync.mapping.line_items import diff_line_items
from gzsync.mapping.quote_hash import quote_hash
from gzsync.mapping.quotes import MappedLine, MappedQuote, TaxTable, line_item, map_lines, map_offer
from gzsync.mapping.records import Mapped, Rejected
from gzsync.state.store import (
    CheckpointStore,
    Confirmed,
    LedgerEntry,
    LedgerKind,
    hash_module,
)
from gzsync.streams import CUSTOMERS, QUOTES, Stream
from gzsync.sync.contacts import resolve_parents
from gzsync.sync.context import RunContext
from gzsync.sync.fetch import ledger_gone, retry_set, stream_start
from gzsync.sync.lookahead import cancel_pending
from gzsync.sync.offer_spool import OfferSpool
from gzsync.sync.products import HASHES as PRODUCT_HASHES
from gzsync.sync.products import ProductSync
from gzsync.sync.read_budget import within_budget
from gzsync.sync.unchanged import incremental_skip
from gzsync.sync.watermark import Start, pin_start
from gzsync.sync.writer import (
    BatchWriter,
    Held,
    Outgoing,
    WriteOptions,
    WriteOutcome,
    WriteRun,
    _Batch,
)
from gzsync.zoho import coql
from gzsync.zoho.client import UpsertResult

log = logging.getLogger("gzsync.sync.quotes")

STREAM = QUOTES.name
MODULE = QUOTES.module
KEY_FIELD = QUOTES.key_field
LOOKUP_FIELD = QUOTES.lookup.field if QUOTES.lookup else ""
ROWS_FIELD = "Quoted_Items"
PRODUCT_FIELD = "Product_Name"  # a row's Product lookup
ACCOUNTS = CUSTOMERS.module
TIN_FIELD = "Account_AFM"
#: Offers whose lines, products and accounts are resolved together.
BLOCK = 500
HASHES = hash_module(STREAM)
#: A quote judged unchanged that reached the upsert anyway (never expected): not sent.
NOT_SKIPPED = "UNCHANGED_NOT_SKIPPED"
#: Codes of a line-item check that failed: a `failed` ledger entry, retried next run.
RETRIED_CODES = frozenset({"ROW_COUNT_MISMATCH", "QUOTE_NOT_FOUND", NOT_SKIPPED})
#: A single-record GET that returned only part of a quote's rows (`$has_more`): refused.
TRUNCATED = "LINE_ITEMS_TRUNCATED"


@dataclass(slots=True)
class OfferRead:
    """The offers this run works on (on disk), read back in revision order; closed by
    :func:`write_quotes`."""

    start: Start
    spool: OfferSpool
    #: how many offers the run works on (`--limit` applied)
    count: int
    limit: int | None = None
    read: int = 0
    gone: int = 0
    read_max: int | None = None
    #: retried offers whose current row is below their ledger entry: key -> entry revision
    settles: dict[str, int] = field(default_factory=dict)

    def blocks(self, size: int) -> Iterator[list[MappedQuote | Rejected]]:
        """The offers by (revision, key), `size` at a time."""
        return self.spool.blocks(size, self.limit)

    def close(self) -> None:
        self.spool.close()


async def read_quotes(ctx: RunContext) -> OfferRead:
    """Offers above the quotes watermark, plus the ones the ledger retries (on disk)."""
    t0 = time.monotonic()
    start = await stream_start(ctx, STREAM, MODULE)
    ctx.report.watermark_before[STREAM] = start.rev
    retry = retry_set(ctx, STREAM)
    floor: float = math.inf if start.rev is None else start.rev
    if retry:
        floor = min(floor, min(retry.values()) - 1)
    after = None if floor == math.inf or floor <= 0 else int(floor)
    spool = OfferSpool()
    try:
        return await _read_into(ctx, spool, start, retry, after, t0)
    except BaseException:
        spool.close()
        raise


async def _read_into(
    ctx: RunContext,
    spool: OfferSpool,
    start: Start,
    retry: Mapping[str, int],
    after: int | None,
    t0: float,
) -> OfferRead:
    settings = ctx.settings
    highest: list[int] = []

    def keep(row: Mapping[str, Any]) -> None:
        item = map_offer(row, decimal=ctx.rules.number_decimal)
        if not highest or item.rev > highest[0]:
            highest[:] = [item.rev]
        if start.rev is None or item.rev > start.rev or item.key in retry:
            spool.add(item)  # per key the highest revision wins (ties: the later row)

    read = await within_budget(  # issue 15: reads inside the time budget
        ctx.budget,
        STREAM,
        f"the Galaxy offers view {settings.galaxy_offers_view}",
        partial(
            read_offers,
            ctx.galaxy,
            keep,
            view=settings.galaxy_offers_view,
            entity=settings.galaxy_offers_entity,
            after=after,
        ),
    )
    lost = set(retry) - spool.revisions(retry).keys()
    if lost and after is not None:
        # Found by key: a retried offer restored below the range just read.
        def find(row: Mapping[str, Any]) -> None:
            item = map_offer(row, decimal=ctx.rules.number_decimal)
            if item.key in lost:
                spool.add(item)  # the highest revision wins, as above

        found = await within_budget(
            ctx.budget,
            STREAM,
            f"retried offers by key in {settings.galaxy_offers_view}",
            partial(
                read_offers_by_id,
                ctx.galaxy,
                sorted(lost),
                find,
                view=settings.galaxy_offers_view,
                entity=settings.galaxy_offers_entity,
                concurrency=settings.galaxy_concurrency,
            ),
        )
        read += len(found)
    held = spool.revisions(retry)
    settles = {k: retry[k] for k, rev in held.items() if rev < retry[k]}
    gone = sorted(set(retry) - held.keys())
    if not ctx.options.dry_run:
        ledger_gone(ctx.store, STREAM, retry, gone, "offer")
    count = spool.count()
    limit = ctx.options.limit or settings.dev_limit or None
    if limit:
        count = min(count, limit)
    ctx.report.counts(STREAM).fetched = count
    ctx.progress.start(STREAM, count)
    ctx.report.phases["read_quotes"] = time.monotonic() - t0
    return OfferRead(
        start, spool, count, limit, read, len(gone), highest[0] if highest else None, settles
    )


async def write_quotes(ctx: RunContext, fetched: OfferRead) -> None:
    """Lines, products, accounts and the quotes themselves; updates `ctx.report`."""
    try:
        await _write_quotes(ctx, fetched)
    finally:
        fetched.close()


async def _write_quotes(ctx: RunContext, fetched: OfferRead) -> None:
    report = ctx.report
    t1 = time.monotonic()
    if not ctx.options.dry_run:
        pin_start(ctx.store, STREAM, fetched.start)
    skip = incremental_skip(ctx)
    options = WriteOptions(
        budget=ctx.budget, repair=partial(_repair, ctx), hashes=True, skip_unchanged=skip
    )
    writer = QuoteWriter(QUOTES, ctx, options)
    products = ProductSync(ctx, skip=skip)
    writer.products = products
    outcome = await writer.write(_items(ctx, fetched, products, writer))
    report.phases["write_quotes"] = time.monotonic() - t1
    if outcome.stopped == "budget":
        report.status = "partial"
        report.message = "stopped at the time budget; the next run carries on"
        report.counts(STREAM).fetched = outcome.processed
    elif outcome.stopped == "failures":
        assert outcome.error is not None
        raise outcome.error
    report.watermark_after[STREAM] = (
        ctx.store.get_watermark(STREAM) if not ctx.options.dry_run else fetched.start.rev
    )


def _held(item: MappedQuote | Rejected, kind: LedgerKind, reason: str, detail: str) -> Held:
    return Held(LedgerEntry(STREAM, item.key, item.rev, kind, reason, detail[:200]))


@dataclass(slots=True)
class _Block:
    """One block of offers with what their quotes need: lines, accounts, existing ids."""

    offers: Sequence[MappedQuote | Rejected]
    failures: dict[str, Exception]
    mapped: dict[str, list[MappedLine | Rejected]]
    accounts: dict[str, list[str]]
    existing: dict[str, str]
    #: offer key -> its quote hash (offers whose lines all map and that name an Account)
    hashes: dict[str, str] = field(default_factory=dict)
    #: offers Zoho holds as they are (their hash is the stored one): nothing resolved
    unchanged: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Unchanged:
    """Which offers of a block Zoho holds as they are (see the module: the same test as
    the writer's, made before products and Accounts are resolved)."""

    store: CheckpointStore
    #: always sent: keys in the ledger (retries, restored rows)
    ledgered: set[str]

    def find(self, hashes: Mapping[str, str]) -> set[str]:
        keys = [k for k in hashes if k not in self.ledgered]
        stored = self.store.ids_get(HASHES, keys) if keys else {}
        same = [k for k in keys if stored.get(k) == hashes[k]]
        ids = self.store.ids_get(MODULE, same) if same else {}
        return {k for k in same if ids.get(k)}


def _complete(rows: Sequence[MappedLine | Rejected] | None) -> list[MappedLine] | None:
    """The lines when every one mapped (and there is one), else None."""
    if not rows or not all(isinstance(r, MappedLine) for r in rows):
        return None
    return [r for r in rows if isinstance(r, MappedLine)]


async def _prepare(
    ctx: RunContext,
    block: Sequence[MappedQuote | Rejected],
    products: ProductSync,
    taxes: TaxTable,
    lookup: bool,
    unchanged: _Unchanged | None,
) -> _Block:
    quotes = [o for o in block if isinstance(o, MappedQuote)]
    lines = await within_budget(  # issue 15: a spent budget reads no more lines
        ctx.budget,
        STREAM,
        "offer lines from Galaxy",
        partial(
            read_offer_lines,
            ctx.galaxy,
            [q.galaxy_id for q in quotes],
            guid=ctx.settings.galaxy_offer_lines_view,
            concurrency=ctx.settings.galaxy_concurrency,
        ),
    )
    mapped: dict[str, list[MappedLine | Rejected]] = {
        q.key: map_lines(lines.lines[q.galaxy_id], taxes, decimal=ctx.rules.number_decimal)
        for q in quotes
        if q.galaxy_id in lines.lines
    }
    hashes: dict[str, str] = {}
    for q in quotes:
        good, parent = _complete(mapped.get(q.key)), _parent_key(q)
        if good is not None and parent is not None:
            hashes[q.key] = quote_hash(q, parent, good)
    same = await asyncio.to_thread(unchanged.find, hashes) if unchanged is not None else set()
    wanted: dict[str, dict[str, Any]] = {}
    for key, rows in mapped.items():
        good = _complete(rows)
        if good is not None and key not in same:
            for r in good:
                wanted.setdefault(r.product_code, r.product)
    await products.ensure(wanted)
    accounts = await _accounts(ctx, [q for q in quotes if q.key not in same])
    existing = await _existing(
        ctx, [q.key for q in quotes if q.key in mapped and q.key not in same], lookup=lookup
    )
    failures: dict[str, Exception] = dict(lines.failures)
    return _Block(block, failures, mapped, accounts, existing, hashes, same)


async def _items(
    ctx: RunContext,
    fetched: OfferRead,
    products: ProductSync,
    writer: QuoteWriter,
) -> AsyncIterator[Outgoing | Held]:
    """Quotes ready to write (rows and account resolved) or held, in revision order.

    The next block is prepared (lines, products, accounts) while this block's quotes are
    written, so Galaxy reads and product upserts overlap the quote upserts.
    """
    taxes = TaxTable(ctx.settings.zoho_tax_names)
    # Zoho held quotes this state store does not know (a lost state file): ask COQL which
    # exist. Otherwise the id cache knows every quote this deployment wrote; a quote it
    # does not know that Zoho holds anyway is put right after its upsert (QuoteWriter).
    lookup = fetched.start.source == "zoho"
    unchanged = None
    if writer.skips_unchanged:
        entries = await asyncio.to_thread(ctx.store.ledger_list, STREAM)
        unchanged = _Unchanged(ctx.store, {e.key for e in entries} | set(fetched.settles))
    blocks = fetched.blocks(BLOCK)

    def task_for(
        block: Sequence[MappedQuote | Rejected] | None,
    ) -> asyncio.Task[_Block] | None:
        if block is None:
            return None
        return asyncio.create_task(_prepare(ctx, block, products, taxes, lookup, unchanged))

    task = task_for(next(blocks, None))
    upcoming: asyncio.Task[_Block] | None = None
    try:
        while task is not None:
            ready = await task
            task = None
            upcoming = task_for(next(blocks, None))
            for item in ready.offers:
                if isinstance(item, Rejected):
                    yield _held(item, "rejected", item.reason, item.detail)
                    continue
                failure = ready.failures.get(item.galaxy_id)
                if failure is not None or item.key not in ready.mapped:
                    yield _held(
                        item,
                        "failed",
                        "galaxy_lines_failed",
                        f"reading the offer's lines failed: {failure}",
                    )
                    continue
                yield _ready(ctx, item, ready, products, writer, fetched.settles.get(item.key))
            task, upcoming = upcoming, None
    finally:
        await cancel_pending(task, upcoming)


def _ready(
    ctx: RunContext,
    quote: MappedQuote,
    ready: _Block,
    products: ProductSync,
    writer: QuoteWriter,
    settles: int | None,
) -> Outgoing | Held:
    lines = ready.mapped[quote.key]
    accounts, existing = ready.accounts, ready.existing
    bad = next((r for r in lines if isinstance(r, Rejected)), None)
    if bad is not None:
        return _held(quote, "rejected", bad.reason, bad.detail)
    good = [r for r in lines if isinstance(r, MappedLine)]
    if not good:
        return _held(quote, "rejected", "no_lines", "the offer has no lines (Zoho needs one)")
    warnings = quote.warnings + tuple(w for r in good for w in r.warnings)
    ctx.quality.add(STREAM, Mapped(quote.key, quote.rev, quote.payload, warnings))
    if quote.key in ready.hashes:
        writer.hashes[quote.key] = ready.hashes[quote.key]
    if quote.key in ready.unchanged:
        # Zoho holds it as it is: the writer drops it before the batch (same test)
        writer.unresolved.add(quote.key)
        return Outgoing(quote.key, quote.rev, quote.payload, parent_key=_parent_key(quote))
    for line in good:
        if line.product_code not in products.ids:
            reason = products.refused.get(line.product_code, "not sent")
            return _held(
                quote,
                "waiting_parent",
                "product_refused",
                f"Product {line.product_code} is not in Zoho: {reason}",
            )
    parent = _parent_key(quote)
    if parent is None:
        return _held(quote, "rejected", "missing_customer", "the offer has no TRDRID and no TIN")
    ids = accounts.get(parent, [])
    if len(ids) > 1:
        return _held(
            quote,
            "waiting_parent",
            "ambiguous_account",
            f"{len(ids)} Accounts have TIN {quote.account_tin}: which one is unknown",
        )
    if not ids:
        return _held(
            quote,
            "waiting_parent",
            "parent_not_in_zoho",
            f"Account {parent} is not in Zoho yet",
        )
    rows = [line_item(line, products.ids[line.product_code]) for line in good]
    payload = {**quote.payload, LOOKUP_FIELD: {"id": ids[0]}, ROWS_FIELD: rows}
    if quote.key in existing:
        writer.known[quote.key] = existing[quote.key]
    return Outgoing(quote.key, quote.rev, payload, parent_key=parent, settles=settles)


def _parent_key(quote: MappedQuote) -> str | None:
    """`TRDRID`, or `tin:<digits>` when the offer has no TRDRID."""
    if quote.account_trdrid:
        return quote.account_trdrid
    return f"tin:{quote.account_tin}" if quote.account_tin else None


async def _accounts(ctx: RunContext, quotes: Sequence[MappedQuote]) -> dict[str, list[str]]:
    """Parent key -> the Zoho Account ids found for it (several: an ambiguous TIN)."""
    trdrids = {q.account_trdrid for q in quotes if q.account_trdrid}
    tins = {q.account_tin for q in quotes if not q.account_trdrid and q.account_tin}
    found: dict[str, list[str]] = {}
    if trdrids:
        rejected = {e.key for e in ctx.store.ledger_list(CUSTOMERS.name, kind="rejected")}
        ids = await resolve_parents(ctx, trdrids, skip=rejected)
        found.update({k: [v] for k, v in ids.items()})
    if tins:
        by_tin = await accounts_by_tin(ctx, sorted(tins))
        found.update({f"tin:{tin}": ids for tin, ids in by_tin.items()})
    return found


async def accounts_by_tin(ctx: RunContext, tins: Sequence[str]) -> dict[str, list[str]]:
    """TIN -> every Account id holding it (COQL on `Account_AFM`, 100 TINs per query)."""
    chunks = [tins[i : i + coql.MAX_IN_VALUES] for i in range(0, len(tins), coql.MAX_IN_VALUES)]
    queries = [
        f"select id, {TIN_FIELD} from {ACCOUNTS} where {TIN_FIELD} in {coql.in_list(c)} "  # noqa: S608
        "limit 2000"
        for c in chunks
    ]
    answers = await asyncio.gather(*(ctx.zoho.coql(q) for q in queries))
    found: dict[str, list[str]] = {}
    for rows in answers:
        for row in rows:
            tin, zoho_id = row.get(TIN_FIELD), row.get("id")
            if tin is not None and zoho_id is not None:
                ids = found.setdefault(str(tin), [])
                if str(zoho_id) not in ids:
                    ids.append(str(zoho_id))
    return found


async def _existing(ctx: RunContext, keys: Sequence[str], *, lookup: bool) -> dict[str, str]:
    """Offer key -> Zoho Quote id, for the quotes known to exist (id cache, then COQL when
    `lookup`)."""
    if not keys:
        return {}
    ids = await asyncio.to_thread(ctx.store.ids_get, MODULE, keys)
    unknown = [k for k in keys if k not in ids]
    if unknown and lookup:
        ids.update(await ctx.zoho.ids_by_key(MODULE, KEY_FIELD, unknown))
    return ids


async def _repair(ctx: RunContext, record: Outgoing) -> Outgoing | None:
    """Zoho refused the Account id (deleted in the CRM): look the Account up again."""
    parent = record.parent_key
    if parent is None:
        return None
    if parent.startswith("tin:"):
        ids = (await accounts_by_tin(ctx, [parent[4:]])).get(parent[4:], [])
        if len(ids) != 1:
            return None
        account = ids[0]
    else:
        ctx.store.ids_evict(ACCOUNTS, [parent])
        found = await ctx.zoho.ids_by_key(ACCOUNTS, CUSTOMERS.key_field, [parent])
        if parent not in found:
            return None
        ctx.store.ids_put(ACCOUNTS, {parent: found[parent]})
        account = found[parent]
    payload = {**record.payload, LOOKUP_FIELD: {"id": account}}
    return Outgoing(record.key, record.rev, payload, parent_key=parent, settles=record.settles)


def _stale_product(result: UpsertResult) -> bool:
    """Zoho refused a row's Product id: a product deleted in the CRM since its id was cached
    (ids come from Zoho's own answers). Retried: its hash is cleared, so the next run
    upserts (re-creates) the product and sends the quote with the new id."""
    return result.code == "INVALID_DATA" and result.api_name == PRODUCT_FIELD


def _rows_cut(quote: Mapping[str, Any]) -> bool:
    """Whether a single-record GET says more rows exist than it returned (reference §5)."""
    more = quote.get("$has_more")
    return isinstance(more, Mapping) and bool(more.get(ROWS_FIELD))


def _failure(code: str, message: str) -> UpsertResult:
    return UpsertResult(False, None, None, code, message, ROWS_FIELD, {})


@dataclass(slots=True)
class _Fix:
    index: int
    zoho_id: str
    rows: list[dict[str, Any]]
    expected: int = 0


class QuoteWriter(BatchWriter):
    """The BatchWriter whose upsert writes quote headers and makes their rows exact.

    It overrides three hooks of :class:`BatchWriter`: `_upsert` (headers without rows for
    known quotes, then GET + diff + PUT + row-count check; the stored hash of a quote that
    failed is cleared), `_ledger_entry` (a failed row check is `failed`, retried next run,
    not `refused`) and `_hash` (the quote's hash, :mod:`gzsync.mapping.quote_hash`, set by
    the stream in :attr:`hashes`)."""

    def __init__(self, stream: Stream, run: WriteRun, options: WriteOptions) -> None:
        super().__init__(stream, run, options)
        #: offer key -> Zoho Quote id, for the quotes known to exist (no rows on upsert)
        self.known: dict[str, str] = {}
        self.line_stats: dict[str, int] = {
            "reads": 0,
            "updates": 0,
            "unchanged": 0,
            "mismatches": 0,
        }
        #: offer key -> its quote hash (kept once Zoho confirmed the quote, rows included)
        self.hashes: dict[str, str] = {}
        #: offers judged unchanged before their Account and products were resolved: the
        #: writer drops them; sent anyway, they would lack both, so they are never sent
        self.unresolved: set[str] = set()
        #: the run's products (a quote that failed has its products' hashes cleared too)
        self.products: ProductSync | None = None

    @property
    def skips_unchanged(self) -> bool:
        """True when this write drops the quotes Zoho holds as they are."""
        return self._skip_unchanged

    def _hash(self, record: Outgoing) -> str:
        return self.hashes.get(record.key) or super()._hash(record)

    async def _settle(
        self,
        batch: _Batch,
        confirmed: list[Confirmed],
        ledger: list[LedgerEntry],
        outcome: WriteOutcome,
    ) -> None:
        await super()._settle(batch, confirmed, ledger, outcome)
        # a settled batch's hashes are stored or cleared: not kept for the rest of the run
        # (memory stays flat however many offers a run has)
        keys = [r.key for r in batch.outgoing] + [h.entry.key for h in batch.held]
        for key in [*keys, *(c.key for c in batch.unchanged)]:
            self.hashes.pop(key, None)
            self.unresolved.discard(key)

    async def _upsert(self, records: Sequence[Outgoing]) -> list[UpsertResult]:
        stale = {r.key for r in records if r.key in self.unresolved}
        if stale:
            sent = [r for r in records if r.key not in stale]
            done = iter(await self._upsert(sent) if sent else [])
            return [
                _failure(NOT_SKIPPED, "judged unchanged, then not skipped: sent next run")
                if r.key in stale
                else next(done)
                for r in records
            ]
        try:
            results = await self._write(records)
        except Exception:
            # the batch failed somewhere between header and rows: Zoho may hold part of it
            await asyncio.to_thread(self._store.ids_evict, HASHES, [r.key for r in records])
            raise
        failed = [(r, res) for r, res in zip(records, results, strict=True) if not res.ok]
        if failed:
            await self._forget(failed)
        return results

    async def _forget(self, failed: Sequence[tuple[Outgoing, UpsertResult]]) -> None:
        """Clear the stored hashes of quotes that failed (Zoho may hold part of the write),
        and of their products unless only the Account was refused (see ProductSync)."""
        await asyncio.to_thread(self._store.ids_evict, HASHES, [r.key for r, _ in failed])
        if self.products is None:
            return
        ids = {
            str(row[PRODUCT_FIELD].get("id"))
            for record, result in failed
            if result.api_name != LOOKUP_FIELD
            for row in record.payload.get(ROWS_FIELD) or []
            if isinstance(row, dict) and isinstance(row.get(PRODUCT_FIELD), dict)
        }
        codes = self.products.codes_of(ids)
        if codes:
            await asyncio.to_thread(self._store.ids_evict, PRODUCT_HASHES, codes)

    async def _write(self, records: Sequence[Outgoing]) -> list[UpsertResult]:
        zoho = self._zoho
        known = [r.key in self.known for r in records]
        payloads = [
            {k: v for k, v in r.payload.items() if k != ROWS_FIELD} if k else dict(r.payload)
            for r, k in zip(records, known, strict=True)
        ]
        results = await zoho.upsert(MODULE, payloads, duplicate_check_fields=[KEY_FIELD])
        # a quote thought to exist that Zoho no longer has: insert it with its rows
        again = [
            i
            for i, res in enumerate(results)
            if known[i] and not res.ok and res.api_name == ROWS_FIELD
        ]
        if again:
            redo = await zoho.upsert(
                MODULE,
                [dict(records[i].payload) for i in again],
                duplicate_check_fields=[KEY_FIELD],
            )
            for i, res in zip(again, redo, strict=True):
                results[i], known[i] = res, False
        fixes = [
            _Fix(i, str(res.zoho_id), list(records[i].payload.get(ROWS_FIELD, [])))
            for i, res in enumerate(results)
            if res.ok and res.zoho_id and (known[i] or res.action == "update")
        ]
        for record in records:
            self.known.pop(record.key, None)
        if fixes:
            for index, problem in (await self._make_rows_exact(fixes)).items():
                results[index] = problem
        return results

    async def _make_rows_exact(self, fixes: list[_Fix]) -> dict[int, UpsertResult]:
        """GET, diff, PUT, GET again: the rows of each quote in `fixes` made Galaxy's."""
        zoho = self._zoho
        problems: dict[int, UpsertResult] = {}
        quotes = await asyncio.gather(*(zoho.get_record(MODULE, f.zoho_id) for f in fixes))
        self.line_stats["reads"] += len(fixes)
        updates: list[tuple[_Fix, dict[str, Any]]] = []
        for fix, quote in zip(fixes, quotes, strict=True):
            if quote is None:
                problems[fix.index] = _failure("QUOTE_NOT_FOUND", "the quote vanished")
                continue
            if _rows_cut(quote):
                problems[fix.index] = _failure(
                    TRUNCATED, "Zoho returned only part of the quote's rows: rows left as they are"
                )
                continue
            current = [r for r in quote.get(ROWS_FIELD) or [] if isinstance(r, dict)]
            diff = diff_line_items(fix.rows, current)
            fix.expected = diff.expected_rows
            if diff.empty:
                self.line_stats["unchanged"] += 1
                continue
            updates.append((fix, {"id": fix.zoho_id, ROWS_FIELD: diff.items}))
        changed: list[_Fix] = []
        for start in range(0, len(updates), 100):
            chunk = updates[start : start + 100]
            results = await zoho.update(MODULE, [body for _, body in chunk])
            for (fix, _), res in zip(chunk, results, strict=True):
                if res.ok:
                    changed.append(fix)
                else:
                    problems[fix.index] = res
        self.line_stats["updates"] += len(changed)
        after = await asyncio.gather(*(zoho.get_record(MODULE, f.zoho_id) for f in changed))
        for fix, quote in zip(changed, after, strict=True):
            if quote is not None and _rows_cut(quote):
                problems[fix.index] = _failure(
                    TRUNCATED, "Zoho returned only part of the rows after the update: not counted"
                )
                continue
            rows = (quote or {}).get(ROWS_FIELD) or []
            if len(rows) != fix.expected:
                self.line_stats["mismatches"] += 1
                log.warning(
                    "quote %s holds %d rows after its update, expected %d",
                    fix.zoho_id,
                    len(rows),
                    fix.expected,
                )
                problems[fix.index] = _failure(
                    "ROW_COUNT_MISMATCH",
                    f"{len(rows)} rows after the update, {fix.expected} expected",
                )
        return problems

    def _ledger_entry(self, record: Outgoing, result: UpsertResult) -> LedgerEntry:
        entry = super()._ledger_entry(record, result)
        if result.code in RETRIED_CODES or _stale_product(result):
            return LedgerEntry(
                entry.stream, entry.key, entry.rev, "failed", entry.reason, entry.detail
            )
        return entry
