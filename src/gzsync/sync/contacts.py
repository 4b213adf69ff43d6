"""The contacts phase: Galaxy contacts into Zoho Contacts, linked to their Accounts.

Each contact hangs on its customer's Account (`Account_Name = {"id": ...}`). The Account id
comes from the local id cache — which every upsert of this run and earlier runs keeps
fresh — and, for the keys it does not know, from one COQL look-up per batch
(`... where Trader_ID in (...)`, at most 100 keys): never a call per contact.

A contact whose Account is not in Zoho (its customer was rejected, failed, or is not synced
yet) is not created as an orphan: it waits in the ledger and is retried every run until its
parent exists. A cached id of an Account deleted in the CRM is detected from Zoho's answer,
evicted, and resolved again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from functools import partial

from gzsync.mapping.records import Mapped, Rejected, map_contact
from gzsync.state.store import LedgerEntry
from gzsync.streams import CONTACTS
from gzsync.sync import bulk_path, fullread
from gzsync.sync.context import RunContext
from gzsync.sync.credit_gate import stopped_for_credits
from gzsync.sync.failures import abort_if_tripped
from gzsync.sync.fetch import Fetched, settle_full_read, spool_view, stream_start
from gzsync.sync.lookahead import cancel_pending, chunked
from gzsync.sync.spool import Spool
from gzsync.sync.unchanged import skip_unchanged
from gzsync.sync.watermark import pin_start
from gzsync.sync.writer import Held, Outgoing, WriteOptions

log = logging.getLogger("gzsync.sync.contacts")

MODULE = CONTACTS.module
KEY_FIELD = CONTACTS.key_field
PARENT_MODULE = "Accounts"
PARENT_KEY_FIELD = "Trader_ID"
LOOKUP_FIELD = "Account_Name"
#: the stream whose Accounts contacts hang on (CONTACTS.lookup)
_PARENT = CONTACTS.lookup.parent if CONTACTS.lookup else ""
#: Contacts whose parents are resolved together, ahead of the upserts.
LOOKAHEAD = 1000


async def read_contacts(ctx: RunContext, spool: Spool) -> Fetched:
    """Contacts changed since the Contacts watermark (plus ledger retries), spooled."""
    settings = ctx.settings
    columns = settings.galaxy_contact_columns
    t0 = time.monotonic()
    start = await stream_start(ctx, CONTACTS.name, MODULE)
    # an empty store with a Zoho that holds contacts: read all, send what Zoho lacks
    compare = start.source == "zoho"
    fetched = await spool_view(
        ctx,
        stream=CONTACTS.name,
        module=MODULE,
        view=settings.galaxy_contacts_view,
        rev_column=columns["CONTACTS_REVNUM"],
        mapper=partial(map_contact, columns=columns, rules=ctx.rules),
        spool=spool,
        start=start,
        from_start=compare and start.rev is None,  # WATERMARK_REREAD, when set, caps it
    )
    if compare:
        await fullread.read_zoho(
            ctx, spool, module=MODULE, key_field=KEY_FIELD, stream=CONTACTS.name
        )
        spool.skip_held_by_zoho(CONTACTS.name, MODULE)
        fetched = replace(fetched, selected=spool.count(CONTACTS.name))
        ctx.report.contacts.fetched = fetched.to_process
        ctx.progress.start(CONTACTS.name, fetched.to_process)
    fetched = replace(fetched, full=compare or start.rev is None or start.rev <= 0)
    ctx.report.phases["read_contacts"] = time.monotonic() - t0
    return fetched


async def write_contacts(ctx: RunContext, spool: Spool, fetched: Fetched) -> None:
    """Resolve parents and upsert the spooled contacts; updates `ctx.report`."""
    report = ctx.report
    t1 = time.monotonic()
    if not ctx.options.dry_run:
        pin_start(ctx.store, CONTACTS.name, fetched.start)
    # issue 15: many contacts -> Bulk Write (sync/bulk_path.py); parents resolved before
    to_write = spool.count(CONTACTS.name)
    bulk = bulk_path.wants_bulk(ctx, CONTACTS.name, min(to_write, fetched.limit or to_write))
    if not bulk and not ctx.options.dry_run and not await bulk_path.wait_for_stale(ctx, CONTACTS):
        report.contacts.fetched = 0  # not processed: read again next run
        report.watermark_after[CONTACTS.name] = ctx.store.get_watermark(CONTACTS.name)
        return
    options = WriteOptions(
        budget=ctx.budget,
        repair=partial(_repair, ctx),
        credits=ctx.credits,
        hashes=True,
        skip_unchanged=skip_unchanged(ctx, fetched),
    )
    writer = bulk_path.writer_for(
        CONTACTS, ctx, options, bulk=bulk and not ctx.options.dry_run, fetched=fetched
    )
    # Customers rejected by our validation (in this run, or waiting in the ledger) have no
    # Account to find in Zoho through this state store — an Account of an older, good
    # revision would be in the id cache, which is asked first: their contacts wait without
    # a look-up. (With a lost state file the ledger is gone too, and Zoho is asked.)
    rejected = spool.rejected_keys(_PARENT) | {
        e.key for e in ctx.store.ledger_list(_PARENT, kind="rejected")
    }
    rows = spool.iter_rows(CONTACTS.name, fetched.limit)
    outcome = await writer.write(_items(ctx, rows, rejected, fetched.settles))
    report.phases["write_contacts"] = time.monotonic() - t1
    abort_if_tripped(outcome)
    if outcome.stopped in ("budget", "credits"):
        if not stopped_for_credits(ctx.credits, report):
            report.status = "partial"
            report.message = "stopped at the time budget; the next run carries on"
        report.contacts.fetched = outcome.processed  # the rest is read again next run
    elif fetched.full:
        settle_full_read(ctx, CONTACTS.name, fetched)
    report.watermark_after[CONTACTS.name] = (
        ctx.store.get_watermark(CONTACTS.name) if not ctx.options.dry_run else fetched.start.rev
    )


async def _items(
    ctx: RunContext,
    rows: Iterator[Mapped | Rejected],
    rejected: set[str],
    settles: dict[str, int],
) -> AsyncIterator[Outgoing | Held]:
    """Contacts ready to upsert (parent resolved) or held, in revision order.

    Parents are resolved a block of LOOKAHEAD contacts ahead, while the previous block's
    batches are in flight, so look-ups never stall the stream of upserts.
    """
    blocks = chunked(rows, LOOKAHEAD)
    block = next(blocks, None)
    task = _resolve_task(ctx, block, rejected)
    upcoming: asyncio.Task[dict[str, str]] | None = None
    try:
        while block is not None and task is not None:
            following = next(blocks, None)
            upcoming = _resolve_task(ctx, following, rejected)
            ids = await task
            for item in _ready(ctx, block, ids, settles):
                yield item
            block, task, upcoming = following, upcoming, None
    finally:
        await cancel_pending(task, upcoming)


def _resolve_task(
    ctx: RunContext, block: list[Mapped | Rejected] | None, rejected: set[str]
) -> asyncio.Task[dict[str, str]] | None:
    if block is None:
        return None
    parents = {m.parent_key for m in block if isinstance(m, Mapped) and m.parent_key}
    return asyncio.create_task(resolve_parents(ctx, parents, skip=rejected))


def _ready(
    ctx: RunContext, chunk: list[Mapped | Rejected], ids: dict[str, str], settles: dict[str, int]
) -> list[Outgoing | Held]:
    out: list[Outgoing | Held] = []
    for item in chunk:
        if isinstance(item, Rejected):
            out.append(
                Held(
                    LedgerEntry(
                        CONTACTS.name, item.key, item.rev, "rejected", item.reason, item.detail
                    )
                )
            )
            continue
        ctx.quality.add(CONTACTS.name, item)
        parent_id = ids.get(item.parent_key or "")
        if parent_id is None:
            out.append(
                Held(
                    LedgerEntry(
                        CONTACTS.name,
                        item.key,
                        item.rev,
                        "waiting_parent",
                        "parent_not_in_zoho",
                        f"Account {item.parent_key} is not in Zoho yet",
                    )
                )
            )
            continue
        payload = dict(item.payload)
        payload[LOOKUP_FIELD] = {"id": parent_id}
        out.append(
            Outgoing(
                item.key,
                item.rev,
                payload,
                parent_key=item.parent_key,
                settles=settles.get(item.key),
            )
        )
    return out


async def resolve_parents(
    ctx: RunContext,
    keys: set[str],
    *,
    skip: set[str] = frozenset(),  # type: ignore[assignment]
) -> dict[str, str]:
    """Trader_ID -> Zoho Account id: the id cache first, then COQL for the rest.

    Keys in `skip` are not looked up in Zoho. ZohoClient.ids_by_key sends the COQL chunks
    of at most 100 keys concurrently.
    """
    if not keys:
        return {}
    # State calls run in a worker thread: a remote store (Catalyst) must not stall the
    # Zoho calls in flight on the event loop.
    ids = await asyncio.to_thread(ctx.store.ids_get, PARENT_MODULE, keys)
    unknown = sorted(keys - ids.keys() - skip)
    if unknown:
        found = await ctx.zoho.ids_by_key(PARENT_MODULE, PARENT_KEY_FIELD, unknown)
        if found:
            await asyncio.to_thread(ctx.store.ids_put, PARENT_MODULE, found)
            ids.update(found)
    return ids


async def _repair(ctx: RunContext, record: Outgoing) -> Outgoing | None:
    """Zoho refused the Account id (deleted in the CRM): evict it and look it up again."""
    if record.parent_key is None:
        return None
    ctx.store.ids_evict(PARENT_MODULE, [record.parent_key])
    found = await ctx.zoho.ids_by_key(PARENT_MODULE, PARENT_KEY_FIELD, [record.parent_key])
    parent_id = found.get(record.parent_key)
    if parent_id is None:
        log.info("contact %s: Account %s is gone from Zoho", record.key, record.parent_key)
        return None
    ctx.store.ids_put(PARENT_MODULE, {record.parent_key: parent_id})
    payload = dict(record.payload)
    payload[LOOKUP_FIELD] = {"id": parent_id}
    return Outgoing(
        record.key, record.rev, payload, parent_key=record.parent_key, settles=record.settles
    )
