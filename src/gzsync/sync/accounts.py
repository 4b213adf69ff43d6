"""The accounts phase: customers and their affiliates into Zoho Accounts (SPEC §1, steps 1-5).

1. Starting point: the confirmed watermark (or Zoho's, see :mod:`gzsync.sync.watermark`).
2. Customers changed since then (plus ledger retries) are read into the spool.
3. Affiliate rows from the smallest card-holder revision on are read into the spool. If
   that read fails the run aborts here, before anything is written: customers are never
   written without their links.
4. Then, window by window in ascending revision order: link the window's card holders to
   their affiliates (pure, :func:`gzsync.sync.linking.link_affiliates`), upsert those
   affiliates, then upsert the window's customers with `Affiliate_To` set to the
   affiliate's id — or cleared (`null`) when Galaxy no longer links one. The customers of
   all windows form one stream of batches, and the next window's affiliates are written
   while this window's customers are, so the stream never drains at a window boundary.

Windows keep memory flat and bound how far Zoho's `Rev_Number` can run ahead of the
customers written (affiliates carry their card holder's revision): at most two windows.
The time budget is checked before every customer batch (issue 15: a budget that holds):
in-flight batches finish and commit, no new one starts, and the watermark stays below the
first record not committed. So is every affiliate batch: when the budget runs out inside a
window's affiliates, none of that window's customers goes (a customer never goes without
its link) and the stream ends with a `Cut` at the window's first revision. A window's
affiliates written without its customers are simply written again next run (unchanged ones
cost nothing, see :mod:`gzsync.sync.unchanged`; a compared read skips those Zoho holds).
The first batch of each writer goes whatever the budget says, so a run always makes
progress however small its budget. Between windows a stop
ends the stream with a `Cut` at the next window's first revision, so the watermark stays
below a revision the stop left unfinished.

A customer's own row always wins over an affiliate row with the same key: an affiliate
that is also a customer (in this run's spool, or written as a customer by an earlier run:
the `CUSTOMER_IDS` entries of the id cache) is never upserted from its affiliate row; it
only supplies the link (its id; a customer of this run not yet in Zoho is upserted from
its own row first).

Every `AFFILIATE_FULL_READ_EVERY` runs, and when the state store is empty but Zoho is not,
the phase reads everything and sends only the differences (:mod:`gzsync.sync.fullread`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from functools import partial

from gzsync.galaxy.filters import Condition, Op
from gzsync.mapping.records import Mapped, Rejected, map_affiliate, map_customer
from gzsync.state.store import LedgerEntry
from gzsync.streams import AFFILIATES, CUSTOMERS
from gzsync.sync import bulk_path, fullread
from gzsync.sync.affiliates import AffiliateRetries
from gzsync.sync.context import RunContext
from gzsync.sync.credit_gate import stopped_for_credits
from gzsync.sync.failures import abort_if_tripped
from gzsync.sync.fetch import Fetched, settle_full_read, spool_view, stream_start
from gzsync.sync.linking import LinkPlan, card_holders_of, link_affiliates
from gzsync.sync.lookahead import cancel_pending, chunked
from gzsync.sync.read_budget import within_budget
from gzsync.sync.spool import Spool
from gzsync.sync.unchanged import skip_unchanged
from gzsync.sync.watermark import pin_start
from gzsync.sync.writer import BatchWriter, Cut, Held, Item, Outgoing, WriteOptions, WriteOutcome

log = logging.getLogger("gzsync.sync.accounts")

MODULE = CUSTOMERS.module
KEY_FIELD = CUSTOMERS.key_field
#: Customers per window (see the module docstring).
WINDOW = 5000
#: Id cache "module" of the Accounts written from a customer row (see the module docstring).
CUSTOMER_IDS = "Accounts:customers"


async def read_accounts(ctx: RunContext, spool: Spool) -> Fetched:
    """Steps 1-3: customers since the starting point, then their affiliate rows, spooled.

    A full read (an empty store with a non-empty Zoho, or the periodic affiliate read)
    reads every customer and the whole affiliate view, and marks what Zoho already holds.
    """
    settings = ctx.settings
    t0 = time.monotonic()
    start = await stream_start(ctx, CUSTOMERS.name, MODULE)
    compare = start.source == "zoho" or (
        start.source == "state"
        and fullread.full_read_due(ctx.store, settings.affiliate_full_read_every)
    )
    # a store that never counted a full read (lost, or from before the registry) may lack
    # customer Accounts in the registry: a compared read fills it in
    register = ctx.store.kv_get(fullread.RUNS_KEY) is None
    fetched = await spool_view(
        ctx,
        stream=CUSTOMERS.name,
        module=MODULE,
        view=settings.galaxy_customers_view,
        rev_column="THIRDPARTYREVNUM",
        mapper=partial(map_customer, rules=ctx.rules),
        spool=spool,
        start=start,
        dependent=AffiliateRetries(ctx),
        # WATERMARK_REREAD, when set, caps the read of an empty store
        from_start=compare and not (start.source == "zoho" and start.rev is not None),
    )
    first_card = spool.min_card_holder_rev()
    whole = compare or start.rev is None or start.rev <= 0
    if first_card is not None or compare:
        conditions = (
            [] if whole else [Condition("AFFILIATES_REVNUM", Op.GreaterOrEqual, first_card or 0)]
        )
        view = settings.galaxy_affiliates_view
        await within_budget(
            ctx.budget,
            CUSTOMERS.name,
            f"the Galaxy view {view}",
            partial(
                ctx.galaxy.read_view,
                view,
                conditions,
                lambda row: spool.add_affiliate(map_affiliate(row, ctx.rules)),
            ),
        )
        spool.flush()
    if compare:
        await fullread.read_zoho(
            ctx,
            spool,
            module=MODULE,
            key_field=KEY_FIELD,
            fields=fullread.AFFILIATE_FIELDS,
            link_field="Affiliate_To",
        )
        skipped = fullread.skip_unchanged_accounts(
            spool, WINDOW, partial(ctx.store.ids_put, CUSTOMER_IDS) if register else None
        )
        log.info("customers: %d already in Zoho as they should be", skipped)
        fetched = replace(fetched, selected=spool.count(CUSTOMERS.name))
        ctx.report.customers.fetched = fetched.to_process
        ctx.progress.start(CUSTOMERS.name, fetched.to_process)
    fetched = replace(fetched, full=whole)
    ctx.report.phases["read_accounts"] = time.monotonic() - t0
    return fetched


async def write_accounts(ctx: RunContext, spool: Spool, fetched: Fetched) -> None:
    """Steps 4-5, window by window; one stream of customer batches across all windows."""
    t1 = time.monotonic()
    if not ctx.options.dry_run:
        pin_start(ctx.store, CUSTOMERS.name, fetched.start)
    # issue 15: many records -> Bulk Write, the affiliates first (see sync/bulk_path.py)
    to_write = spool.count(CUSTOMERS.name)
    bulk = bulk_path.wants_bulk(ctx, CUSTOMERS.name, min(to_write, fetched.limit or to_write))
    prewritten: _Affiliates | None = None
    if bulk and not ctx.options.dry_run:
        prewritten = await _prewrite_affiliates(ctx, spool, fetched)
        started = prewritten.complete
        if not started and not stopped_for_credits(ctx.credits, ctx.report):
            _partial(ctx)
    else:
        started = ctx.options.dry_run or await bulk_path.wait_for_stale(ctx, AFFILIATES, CUSTOMERS)
    if not started:
        ctx.report.customers.fetched = 0  # none processed: read again next run
        ctx.report.phases["write_accounts"] = time.monotonic() - t1
        ctx.report.watermark_after[CUSTOMERS.name] = ctx.store.get_watermark(CUSTOMERS.name)
        return
    # the budget is checked before every batch (issue 15), and per window before its
    # affiliates start (see _customer_items)
    options = WriteOptions(
        budget=ctx.budget,
        first_batch_free=True,
        credits=ctx.credits,
        hashes=True,
        skip_unchanged=skip_unchanged(ctx, fetched),
    )
    writer = bulk_path.writer_for(
        CUSTOMERS, ctx, options, bulk=prewritten is not None, fetched=fetched
    )
    outcome = await writer.write(_customer_items(ctx, spool, fetched, prewritten))
    _stopped(ctx, outcome)
    if outcome.stopped == "budget":
        _partial(ctx)
    stopped_for_credits(ctx.credits, ctx.report)  # the reserve, or Zoho's "used up"
    if ctx.stopped:
        # only what was processed counts as fetched; the rest is read again next run
        ctx.report.customers.fetched = outcome.processed
    elif not ctx.options.dry_run:
        if fetched.full:
            settle_full_read(ctx, CUSTOMERS.name, fetched)
        if ctx.options.since_rev is None or fetched.full:
            # a limited full read did not see everything: the next run reads fully again
            fullread.record_accounts_run(ctx.store, full=fetched.full and not fetched.limit)
    ctx.report.phases["write_accounts"] = time.monotonic() - t1
    ctx.report.watermark_after[CUSTOMERS.name] = (
        ctx.store.get_watermark(CUSTOMERS.name) if not ctx.options.dry_run else fetched.start.rev
    )


@dataclass(frozen=True, slots=True)
class _Affiliates:
    """What a window's customers need from its affiliate upserts."""

    links: dict[str, str]  # customer key -> affiliate key
    ids: dict[str, str]  # affiliate key -> Zoho id
    waiting: dict[str, str]  # customer key -> its affiliate that failed in transit
    #: False when the budget stopped the affiliate writes: the window's customers wait
    complete: bool = True


async def _customer_items(
    ctx: RunContext, spool: Spool, fetched: Fetched, prewritten: _Affiliates | None = None
) -> AsyncIterator[Item]:
    """Customers in revision order, window by window, each after its window's affiliates.

    The next window's affiliates are written while this window's customers are, so the
    batch stream never drains at a window boundary. The time budget is checked per window:
    a window whose affiliates were started is always finished (stopping inside it would
    make the next run write those affiliates again). A stop ends the items with a `Cut` at
    the next window's first revision: that revision may be shared with this window's last
    rows, and the next run must read it again.
    """
    windows = chunked(spool.iter_rows(CUSTOMERS.name, fetched.limit), WINDOW)
    if ctx.budget.exhausted():
        _partial(ctx)
        return
    window = next(windows, None)
    compared = fetched.full and ctx.options.since_rev is None
    skip = skip_unchanged(ctx, fetched)
    task = _affiliates_task(ctx, spool, window, compared, skip, prewritten)
    upcoming: asyncio.Task[_Affiliates] | None = None
    try:
        while window is not None and task is not None:
            affiliates = await task
            if not affiliates.complete:
                # the budget ran out inside this window's affiliates: none of its customers
                # may go (their links); the next run reads the window again
                _partial(ctx)
                yield Cut(window[0].rev)
                return
            # The next window's affiliates start only now, never alongside this window's:
            # two upserts of a shared affiliate must not race each other in Zoho.
            following = next(windows, None)
            if following is not None:
                if ctx.budget.exhausted():
                    _partial(ctx)
                    cut: int | None = following[0].rev
                    following = None
                else:
                    cut = None
                    upcoming = _affiliates_task(ctx, spool, following, compared, skip, prewritten)
            else:
                cut = None
            for item in _customers_of(ctx, window, affiliates, fetched.settles):
                yield item
            if cut is not None:
                yield Cut(cut)
            ctx.heartbeat()
            window, task, upcoming = following, upcoming, None
    finally:
        await cancel_pending(task, upcoming)


def _affiliates_task(
    ctx: RunContext,
    spool: Spool,
    window: list[Mapped | Rejected] | None,
    full: bool,
    skip: bool = False,
    prewritten: _Affiliates | None = None,
) -> asyncio.Task[_Affiliates] | None:
    if window is None:
        return None
    if prewritten is not None:  # Bulk Write: written before the customers, only link here
        return asyncio.create_task(_linked(spool, window, prewritten))
    return asyncio.create_task(_write_affiliates(ctx, spool, window, full, skip))


async def _write_affiliates(
    ctx: RunContext,
    spool: Spool,
    window: list[Mapped | Rejected],
    compared: bool,
    skip: bool = False,
) -> _Affiliates:
    """Link the window's card holders (pure) and upsert their affiliates.

    An affiliate that is also a customer is not upserted from its affiliate row (the
    customer's own row wins); in a compared full read, an affiliate Zoho already holds as
    it should be is not sent again.
    """
    planned = await _affiliate_items(ctx, spool, window, compared)
    if planned is None:
        return _Affiliates({}, {}, {})
    plan, ids, items = planned
    outcome = await BatchWriter(
        AFFILIATES,
        ctx,
        WriteOptions(
            moves_watermark=False,
            collect_ids=True,
            budget=ctx.budget,
            first_batch_free=True,
            credits=ctx.credits,
            hashes=True,
            skip_unchanged=skip,
        ),
    ).write(items)
    _stopped(ctx, outcome)
    ids.update(outcome.ids)
    # Every card holder of an affiliate that failed in transit waits with it, linked or
    # not: re-reading the card holder next run is what retries the affiliate.
    waiting = {
        customer: key
        for customer, members in plan.members.items()
        for key in members
        if key in outcome.transient_keys
    }
    return _Affiliates(plan.links, ids, waiting, complete=outcome.stopped != "budget")


async def _affiliate_items(
    ctx: RunContext, spool: Spool, window: list[Mapped | Rejected], compared: bool
) -> tuple[LinkPlan, dict[str, str], list[Outgoing | Held]] | None:
    """A window's link plan, the affiliate ids known without writing, and the affiliates
    to write (or hold); None when the window has no card holder."""
    report = ctx.report
    card_holders = card_holders_of(m for m in window if isinstance(m, Mapped))
    if not card_holders:
        return None
    rows = spool.affiliates_between(min(card_holders), max(card_holders))
    plan = link_affiliates(card_holders, [r for r in rows if isinstance(r, Mapped)])
    report.warnings.extend(plan.warnings[:10])
    held = [
        Held(LedgerEntry(AFFILIATES.name, r.key, r.rev, "rejected", r.reason, r.detail))
        for r in rows
        if isinstance(r, Rejected) and r.rev in card_holders
    ]
    report.affiliates.fetched += len(plan.affiliates) + len(held)
    for affiliate in plan.affiliates:
        ctx.quality.add(AFFILIATES.name, affiliate)
    keys = [a.key for a in plan.affiliates]
    customers = spool.rows_of(CUSTOMERS.name, keys)
    registered = ctx.store.ids_get(CUSTOMER_IDS, [k for k in keys if k not in customers])
    known = spool.zoho_of(MODULE, keys) if compared else {}
    # the registry says which are customers; Zoho says their current id (one COQL look-up,
    # rare: an Account deleted in the CRM must not give the link a stale id)
    asked = sorted(k for k in registered if k not in known)
    live = await ctx.zoho.ids_by_key(MODULE, KEY_FIELD, asked) if asked else {}
    ids: dict[str, str] = {}
    items: list[Outgoing | Held] = []
    for affiliate in plan.affiliates:
        own = customers.get(affiliate.key)
        zoho = known.get(affiliate.key)
        if own is not None:
            if zoho is not None and zoho.rev is not None and zoho.rev >= own.rev:
                ids[affiliate.key] = zoho.zoho_id
            elif isinstance(own, Mapped):  # its own row, so the link has an id to point at
                items.append(Outgoing(own.key, own.rev, own.payload))
            # a rejected customer has no Account to link: the link Zoho has is left alone
        elif affiliate.key in registered:
            found = zoho.zoho_id if zoho is not None else live.get(affiliate.key)
            if found is not None:
                ids[affiliate.key] = found
            # else: gone from Zoho; its customer row is not in this run: link left alone
        elif zoho is not None and not fullread.affiliate_differs(affiliate, zoho):
            ids[affiliate.key] = zoho.zoho_id
        else:
            items.append(Outgoing(affiliate.key, affiliate.rev, affiliate.payload))
    items.extend(held)
    return plan, ids, items


#: the spool's notes of the Bulk Write path: per affiliate, its last window and its Zoho id
_LAST_WINDOW = "affiliate_last_window"
_AFFILIATE_IDS = "affiliate_id"


async def _prewrite_affiliates(ctx: RunContext, spool: Spool, fetched: Fetched) -> _Affiliates:
    """Bulk Write: the affiliates of every window, written before any customer, in Bulk
    Write files of their own, so each card holder's link has its id when its file is made
    (lookups resolved before; see sync/bulk_path.py). An affiliate several windows share
    is written once, from the last window that has it (as the upserts, window after window,
    leave it). `complete` is False when the budget or the credits stopped it: then no
    customer goes this run (none without its link).

    What this learns about every affiliate (its last window, its Zoho id) is kept in the
    spool's notes, not in memory: a first load of a million customers has ~400,000
    affiliates. The customers' windows read their links' ids back (:func:`_linked`)."""
    compared = fetched.full and ctx.options.since_rev is None
    # a first pass, linking only (pure): the last window of each affiliate
    for w, window in enumerate(chunked(spool.iter_rows(CUSTOMERS.name, fetched.limit), WINDOW)):
        spool.put_notes(_LAST_WINDOW, dict.fromkeys(_planned_keys(spool, window), str(w)))

    async def items() -> AsyncIterator[Outgoing | Held]:
        windows = chunked(spool.iter_rows(CUSTOMERS.name, fetched.limit), WINDOW)
        for w, window in enumerate(windows):
            planned = await _affiliate_items(ctx, spool, window, compared)
            if planned is None:
                continue
            spool.put_notes(_AFFILIATE_IDS, planned[1])
            outgoing = [i.key for i in planned[2] if isinstance(i, Outgoing)]
            last = spool.notes_of(_LAST_WINDOW, outgoing)
            for item in planned[2]:
                if isinstance(item, Outgoing) and last.get(item.key, str(w)) != str(w):
                    continue  # a later window writes it
                yield item
            ctx.heartbeat()

    outcome = await bulk_path.BulkBatchWriter(
        AFFILIATES,
        ctx,
        WriteOptions(
            moves_watermark=False,
            collect_ids=True,
            ids_sink=partial(spool.put_notes, _AFFILIATE_IDS),
            budget=ctx.budget,
            first_batch_free=True,
            credits=ctx.credits,
            hashes=True,
            skip_unchanged=skip_unchanged(ctx, fetched),
        ),
        maybe_in_zoho=fetched.start.source == "zoho",
    ).write(items())
    _stopped(ctx, outcome)
    # the waiting card holders are found per window (_linked), from these keys; the ids
    # are in the spool's notes
    waiting = {key: key for key in outcome.transient_keys}
    return _Affiliates({}, {}, waiting, complete=outcome.stopped is None)


def _planned_keys(spool: Spool, window: list[Mapped | Rejected]) -> list[str]:
    """The keys of the affiliates a window's link plan upserts (pure, no writes)."""
    card_holders = card_holders_of(m for m in window if isinstance(m, Mapped))
    if not card_holders:
        return []
    rows = spool.affiliates_between(min(card_holders), max(card_holders))
    plan = link_affiliates(card_holders, [r for r in rows if isinstance(r, Mapped)])
    return [a.key for a in plan.affiliates]


async def _linked(
    spool: Spool, window: list[Mapped | Rejected], prewritten: _Affiliates
) -> _Affiliates:
    """A window's links to affiliates written before (Bulk Write): linking only, with the
    ids of its links read back from the spool's notes."""
    card_holders = card_holders_of(m for m in window if isinstance(m, Mapped))
    if not card_holders:
        return _Affiliates({}, {}, {})
    rows = spool.affiliates_between(min(card_holders), max(card_holders))
    plan = link_affiliates(card_holders, [r for r in rows if isinstance(r, Mapped)])
    waiting = {
        customer: key
        for customer, members in plan.members.items()
        for key in members
        if key in prewritten.waiting
    }
    ids = spool.notes_of(_AFFILIATE_IDS, set(plan.links.values()))
    return _Affiliates(plan.links, ids, waiting)


def _customers_of(
    ctx: RunContext,
    window: list[Mapped | Rejected],
    affiliates: _Affiliates,
    settles: dict[str, int],
) -> Iterator[Outgoing | Held]:
    report = ctx.report
    for item in window:
        if isinstance(item, Rejected):
            yield Held(
                LedgerEntry(
                    CUSTOMERS.name, item.key, item.rev, "rejected", item.reason, item.detail
                )
            )
            continue
        ctx.quality.add(CUSTOMERS.name, item)
        if item.key in affiliates.waiting:
            # an affiliate of it failed in transit: hold the customer so it is never
            # written without its link and forgotten; retried with the affiliate next run
            yield Held(
                LedgerEntry(
                    CUSTOMERS.name,
                    item.key,
                    item.rev,
                    "waiting_parent",
                    "affiliate_not_in_zoho",
                    f"affiliate {affiliates.waiting[item.key]} did not reach Zoho",
                )
            )
            continue
        payload = dict(item.payload)
        affiliate = affiliates.links.get(item.key)
        if affiliate is None:
            payload["Affiliate_To"] = None  # Galaxy links none: clear it (parity)
        elif affiliate in affiliates.ids:
            payload["Affiliate_To"] = {"id": affiliates.ids[affiliate]}
            report.linked += 1
        elif ctx.options.dry_run:
            report.linked += 1
        # else: the affiliate was refused (it waits in the ledger with its reason): leave
        # the link Zoho has untouched rather than clear it; `gzsync ledger retry` of the
        # affiliate re-reads this card holder.
        yield Outgoing(item.key, item.rev, payload, settles=settles.get(item.key))


def _stopped(ctx: RunContext, outcome: WriteOutcome) -> None:
    """A writer that stopped for consecutive failures aborts the run."""
    abort_if_tripped(outcome)


def _partial(ctx: RunContext) -> None:
    ctx.report.status = "partial"
    ctx.report.message = "stopped at the time budget; the next run carries on"
