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
The time budget is checked per window: a window whose affiliates were written is finished.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from gzsync.galaxy.filters import Condition, Op
from gzsync.mapping.records import Mapped, Rejected, map_affiliate, map_customer
from gzsync.state.store import LedgerEntry
from gzsync.sync.context import RunContext
from gzsync.sync.fetch import Fetched, spool_view
from gzsync.sync.linking import link_affiliates
from gzsync.sync.lookahead import cancel_pending, chunked
from gzsync.sync.spool import Spool
from gzsync.sync.watermark import pin_start
from gzsync.sync.writer import BatchWriter, Held, Outgoing, WriteOutcome

log = logging.getLogger("gzsync.sync.accounts")

MODULE = "Accounts"
KEY_FIELD = "Trader_ID"
#: Customers per window (see the module docstring).
WINDOW = 5000


async def read_accounts(ctx: RunContext, spool: Spool) -> Fetched:
    """Steps 1-3: customers since the starting point, then their affiliate rows, spooled."""
    settings = ctx.settings
    t0 = time.monotonic()
    fetched = await spool_view(
        ctx,
        stream="customers",
        module=MODULE,
        view=settings.galaxy_customers_view,
        rev_column="THIRDPARTYREVNUM",
        mapper=map_customer,
        spool=spool,
    )
    first_card = spool.min_card_holder_rev()
    if first_card is not None:
        await ctx.galaxy.read_view(
            settings.galaxy_affiliates_view,
            [Condition("AFFILIATES_REVNUM", Op.GreaterOrEqual, first_card)],
            lambda row: spool.add_affiliate(map_affiliate(row)),
        )
        spool.flush()
    ctx.report.phases["read_accounts"] = time.monotonic() - t0
    return fetched


async def write_accounts(ctx: RunContext, spool: Spool, fetched: Fetched) -> None:
    """Steps 4-5, window by window; one stream of customer batches across all windows."""
    t1 = time.monotonic()
    if not ctx.options.dry_run:
        pin_start(ctx.store, "customers", fetched.start)
    writer = _writer(ctx, "customers", moves_watermark=True)
    outcome = await writer.write(_customer_items(ctx, spool, fetched))
    _stopped(ctx, outcome)
    ctx.report.phases["write_accounts"] = time.monotonic() - t1
    ctx.report.watermark_after["customers"] = (
        ctx.store.get_watermark("customers") if not ctx.options.dry_run else fetched.start.rev
    )


@dataclass(frozen=True, slots=True)
class _Affiliates:
    """What a window's customers need from its affiliate upserts."""

    links: dict[str, str]  # customer key -> affiliate key
    ids: dict[str, str]  # affiliate key -> Zoho id
    waiting: dict[str, str]  # customer key -> its affiliate that failed in transit


async def _customer_items(
    ctx: RunContext, spool: Spool, fetched: Fetched
) -> AsyncIterator[Outgoing | Held]:
    """Customers in revision order, window by window, each after its window's affiliates.

    The next window's affiliates are written while this window's customers are, so the
    batch stream never drains at a window boundary. The time budget is checked per window:
    a window whose affiliates were started is always finished (stopping inside it would
    make the next run write those affiliates again).
    """
    windows = chunked(spool.iter_rows("customers", fetched.limit), WINDOW)
    if ctx.budget.exhausted():
        _partial(ctx)
        return
    window = next(windows, None)
    task = _affiliates_task(ctx, spool, window)
    upcoming: asyncio.Task[_Affiliates] | None = None
    try:
        while window is not None and task is not None:
            affiliates = await task
            # The next window's affiliates start only now, never alongside this window's:
            # two upserts of a shared affiliate must not race each other in Zoho.
            following = next(windows, None)
            if following is not None:
                if ctx.budget.exhausted():
                    _partial(ctx)
                    following = None
                else:
                    upcoming = _affiliates_task(ctx, spool, following)
            for item in _customers_of(ctx, window, affiliates):
                yield item
            ctx.heartbeat()
            window, task, upcoming = following, upcoming, None
    finally:
        await cancel_pending(task, upcoming)


def _affiliates_task(
    ctx: RunContext, spool: Spool, window: list[Mapped | Rejected] | None
) -> asyncio.Task[_Affiliates] | None:
    if window is None:
        return None
    return asyncio.create_task(_write_affiliates(ctx, spool, window))


async def _write_affiliates(
    ctx: RunContext, spool: Spool, window: list[Mapped | Rejected]
) -> _Affiliates:
    """Link the window's card holders (pure) and upsert their affiliates."""
    report = ctx.report
    card_holders = {m.rev: m.key for m in window if isinstance(m, Mapped) and m.card_holder}
    if not card_holders:
        return _Affiliates({}, {}, {})
    rows = spool.affiliates_between(min(card_holders), max(card_holders))
    plan = link_affiliates(card_holders, [r for r in rows if isinstance(r, Mapped)])
    report.warnings.extend(plan.warnings[:10])
    held = [
        Held(LedgerEntry("affiliates", r.key, r.rev, "rejected", r.reason, r.detail))
        for r in rows
        if isinstance(r, Rejected) and r.rev in card_holders
    ]
    report.affiliates.fetched += len(plan.affiliates) + len(held)
    items: list[Outgoing | Held] = [Outgoing(a.key, a.rev, a.payload) for a in plan.affiliates]
    items.extend(held)
    outcome = await _writer(ctx, "affiliates", moves_watermark=False).write(items)
    _stopped(ctx, outcome)
    # Every card holder of an affiliate that failed in transit waits with it, linked or
    # not: re-reading the card holder next run is what retries the affiliate.
    waiting = {
        card_holders[r.rev]: r.key
        for r in rows
        if isinstance(r, Mapped) and r.key in outcome.transient_keys and r.rev in card_holders
    }
    return _Affiliates(plan.links, outcome.ids, waiting)


def _customers_of(
    ctx: RunContext, window: list[Mapped | Rejected], affiliates: _Affiliates
) -> Iterator[Outgoing | Held]:
    report = ctx.report
    for item in window:
        if isinstance(item, Rejected):
            yield Held(
                LedgerEntry("customers", item.key, item.rev, "rejected", item.reason, item.detail)
            )
            continue
        report.customers.warnings += len(item.warnings)
        if item.key in affiliates.waiting:
            # an affiliate of it failed in transit: hold the customer so it is never
            # written without its link and forgotten; retried with the affiliate next run
            yield Held(
                LedgerEntry(
                    "customers",
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
        yield Outgoing(item.key, item.rev, payload)


def _writer(ctx: RunContext, stream: str, *, moves_watermark: bool) -> BatchWriter:
    """A writer for one stream; the budget is checked per window, not per batch."""
    counts = ctx.report.affiliates if stream == "affiliates" else ctx.report.customers
    return BatchWriter(
        zoho=ctx.zoho,
        store=ctx.store,
        stream="affiliates" if stream == "affiliates" else "customers",
        module=MODULE,
        duplicate_field=KEY_FIELD,
        counts=counts,
        concurrency=ctx.settings.zoho_concurrency,
        moves_watermark=moves_watermark,
        dry_run=ctx.options.dry_run,
        failures=ctx.failures,
        collect_ids=stream == "affiliates",
        on_progress=(lambda n: ctx.progress.advance("customers", n))
        if stream == "customers"
        else None,
    )


def _stopped(ctx: RunContext, outcome: WriteOutcome) -> None:
    """A writer that stopped for consecutive failures aborts the run."""
    if outcome.stopped == "failures":
        assert outcome.error is not None
        raise outcome.error


def _partial(ctx: RunContext) -> None:
    ctx.report.status = "partial"
    ctx.report.message = "stopped at the time budget; the next run carries on"
