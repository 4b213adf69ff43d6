"""The accounts phase: customers and their affiliates into Zoho Accounts (SPEC §1, steps 1-5).

1. Starting point: the confirmed watermark (or Zoho's, see :mod:`gzsync.sync.watermark`).
2. Customers changed since then (plus ledger retries) are read into the spool.
3. Affiliate rows from the smallest card-holder revision on are read into the spool. If
   that read fails the run aborts here, before anything is written: customers are never
   written without their links.
4. Then, window by window in ascending revision order: link the window's card holders to
   their affiliates (pure, :func:`gzsync.sync.linking.link_affiliates`), upsert those
   affiliates, then upsert the window's customers with `Affiliate_To` set to the
   affiliate's id — or cleared (`null`) when Galaxy no longer links one.

Windows keep memory flat and bound how far Zoho's `Rev_Number` can run ahead of the
customers written (affiliates carry their card holder's revision): at most one window.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from gzsync.galaxy.filters import Condition, Op
from gzsync.mapping.records import Mapped, Rejected, map_affiliate, map_customer
from gzsync.state.store import LedgerEntry
from gzsync.sync.budget import Budget
from gzsync.sync.context import RunContext
from gzsync.sync.fetch import spool_view
from gzsync.sync.linking import link_affiliates
from gzsync.sync.spool import Spool
from gzsync.sync.writer import BatchWriter, Held, Outgoing, WriteOutcome

log = logging.getLogger("gzsync.sync.accounts")

MODULE = "Accounts"
KEY_FIELD = "Trader_ID"
#: Customers per window (see the module docstring).
WINDOW = 5000


async def sync_accounts(ctx: RunContext, spool: Spool) -> None:
    """Run the accounts phase; updates `ctx.report`."""
    report = ctx.report
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
    report.phases["read_accounts"] = time.monotonic() - t0

    t1 = time.monotonic()
    for window in _windows(spool.iter_rows("customers", fetched.limit), WINDOW):
        stopped = await _sync_window(ctx, spool, window)
        ctx.heartbeat()
        if stopped:
            break
    report.phases["write_accounts"] = time.monotonic() - t1
    report.watermark_after["customers"] = (
        ctx.store.get_watermark("customers") if not ctx.options.dry_run else fetched.start.rev
    )


async def _sync_window(ctx: RunContext, spool: Spool, window: list[Mapped | Rejected]) -> bool:
    """Affiliates, then customers, of one window. True when the run must stop here."""
    report = ctx.report
    card_holders = {m.rev: m.key for m in window if isinstance(m, Mapped) and m.card_holder}
    links: dict[str, str] = {}
    affiliate_ids: dict[str, str] = {}
    affiliates_waiting: dict[str, str] = {}  # customer key -> affiliate that failed
    if card_holders:
        rows = spool.affiliates_between(min(card_holders), max(card_holders))
        plan = link_affiliates(card_holders, [r for r in rows if isinstance(r, Mapped)])
        links = plan.links
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
        if _stopped(ctx, outcome):
            return True
        affiliate_ids = outcome.ids
        # Every card holder of an affiliate that failed in transit waits with it, linked or
        # not: re-reading the card holder next run is what retries the affiliate.
        affiliates_waiting = {
            card_holders[r.rev]: r.key
            for r in rows
            if isinstance(r, Mapped) and r.key in outcome.transient_keys and r.rev in card_holders
        }

    def customers() -> Iterator[Outgoing | Held]:
        for item in window:
            if isinstance(item, Rejected):
                yield Held(
                    LedgerEntry(
                        "customers", item.key, item.rev, "rejected", item.reason, item.detail
                    )
                )
                continue
            report.customers.warnings += len(item.warnings)
            payload = dict(item.payload)
            affiliate = links.get(item.key)
            if item.key in affiliates_waiting:
                # an affiliate of it failed in transit: hold the customer so it is never
                # written without its link and forgotten; retried with the affiliate next run
                yield Held(
                    LedgerEntry(
                        "customers",
                        item.key,
                        item.rev,
                        "waiting_parent",
                        "affiliate_not_in_zoho",
                        f"affiliate {affiliates_waiting[item.key]} did not reach Zoho",
                    )
                )
                continue
            if affiliate is not None and (affiliate in affiliate_ids or ctx.options.dry_run):
                payload["Affiliate_To"] = (
                    {"id": affiliate_ids[affiliate]} if affiliate in affiliate_ids else None
                )
                report.linked += 1
            else:
                payload["Affiliate_To"] = None
            yield Outgoing(item.key, item.rev, payload)

    # Once a window's affiliates are written, its customers are written too, budget or not:
    # stopping in between would make the next run write those affiliates again.
    committed = bool(card_holders) and not ctx.options.dry_run
    writer = _writer(ctx, "customers", moves_watermark=True, unbudgeted=committed)
    outcome = await writer.write(customers())
    return _stopped(ctx, outcome)


def _writer(
    ctx: RunContext, stream: str, *, moves_watermark: bool, unbudgeted: bool = False
) -> BatchWriter:
    counts = ctx.report.affiliates if stream == "affiliates" else ctx.report.customers
    return BatchWriter(
        zoho=ctx.zoho,
        store=ctx.store,
        stream="affiliates" if stream == "affiliates" else "customers",
        module=MODULE,
        duplicate_field=KEY_FIELD,
        counts=counts,
        budget=Budget() if unbudgeted else ctx.budget,
        concurrency=ctx.settings.zoho_concurrency,
        moves_watermark=moves_watermark,
        dry_run=ctx.options.dry_run,
        failures=ctx.failures,
        on_progress=(lambda n: ctx.progress.advance("customers", n))
        if stream == "customers"
        else None,
    )


def _stopped(ctx: RunContext, outcome: WriteOutcome) -> bool:
    """Record why a writer stopped early; True when the run must stop."""
    if outcome.stopped == "budget":
        ctx.report.status = "partial"
        ctx.report.message = "stopped at the time budget; the next run carries on"
        return True
    if outcome.stopped == "failures":
        assert outcome.error is not None
        raise outcome.error
    return False


def _windows(rows: Iterator[Mapped | Rejected], size: int) -> Iterator[list[Mapped | Rejected]]:
    window: list[Mapped | Rejected] = []
    for row in rows:
        window.append(row)
        if len(window) >= size:
            yield window
            window = []
    if window:
        yield window
