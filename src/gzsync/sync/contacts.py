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

import logging
import time
from collections.abc import AsyncIterator, Iterator
from functools import partial

from gzsync.mapping.records import Mapped, Rejected, map_contact
from gzsync.state.store import LedgerEntry
from gzsync.sync.context import RunContext
from gzsync.sync.fetch import spool_view
from gzsync.sync.spool import Spool
from gzsync.sync.writer import BatchWriter, Held, Outgoing

log = logging.getLogger("gzsync.sync.contacts")

MODULE = "Contacts"
KEY_FIELD = "Galaxy_Contact_ID"
PARENT_MODULE = "Accounts"
PARENT_KEY_FIELD = "Trader_ID"
LOOKUP_FIELD = "Account_Name"
#: Contacts whose parents are resolved together (one COQL at most per chunk).
CHUNK = 100


async def sync_contacts(ctx: RunContext, spool: Spool) -> None:
    """Run the contacts phase; updates `ctx.report`."""
    report = ctx.report
    settings = ctx.settings
    columns = settings.galaxy_contact_columns
    t0 = time.monotonic()
    fetched = await spool_view(
        ctx,
        stream="contacts",
        module=MODULE,
        view=settings.galaxy_contacts_view,
        rev_column=columns["CONTACTS_REVNUM"],
        mapper=partial(map_contact, columns=columns),
        spool=spool,
    )
    report.phases["read_contacts"] = time.monotonic() - t0

    t1 = time.monotonic()
    writer = BatchWriter(
        zoho=ctx.zoho,
        store=ctx.store,
        stream="contacts",
        module=MODULE,
        duplicate_field=KEY_FIELD,
        counts=report.contacts,
        budget=ctx.budget,
        concurrency=settings.zoho_concurrency,
        moves_watermark=True,
        dry_run=ctx.options.dry_run,
        lookup_field=LOOKUP_FIELD,
        repair=partial(_repair, ctx),
        failures=ctx.failures,
        on_progress=partial(_progressed, ctx),
    )
    outcome = await writer.write(_items(ctx, spool.iter_rows("contacts", fetched.limit)))
    report.phases["write_contacts"] = time.monotonic() - t1
    if outcome.stopped == "budget":
        report.status = "partial"
        report.message = "stopped at the time budget; the next run carries on"
    elif outcome.stopped == "failures":
        assert outcome.error is not None
        raise outcome.error
    report.watermark_after["contacts"] = (
        ctx.store.get_watermark("contacts") if not ctx.options.dry_run else fetched.start.rev
    )


def _progressed(ctx: RunContext, n: int) -> None:
    ctx.progress.advance("contacts", n)
    ctx.heartbeat()


async def _items(
    ctx: RunContext, rows: Iterator[Mapped | Rejected]
) -> AsyncIterator[Outgoing | Held]:
    """Contacts ready to upsert (parent resolved) or held, in revision order."""
    chunk: list[Mapped | Rejected] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            for item in await _resolve_chunk(ctx, chunk):
                yield item
            chunk = []
    if chunk:
        for item in await _resolve_chunk(ctx, chunk):
            yield item


async def _resolve_chunk(ctx: RunContext, chunk: list[Mapped | Rejected]) -> list[Outgoing | Held]:
    parents = {m.parent_key for m in chunk if isinstance(m, Mapped) and m.parent_key}
    ids = await resolve_parents(ctx, parents)
    out: list[Outgoing | Held] = []
    for item in chunk:
        if isinstance(item, Rejected):
            out.append(
                Held(
                    LedgerEntry(
                        "contacts", item.key, item.rev, "rejected", item.reason, item.detail
                    )
                )
            )
            continue
        ctx.report.contacts.warnings += len(item.warnings)
        parent_id = ids.get(item.parent_key or "")
        if parent_id is None:
            out.append(
                Held(
                    LedgerEntry(
                        "contacts",
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
        out.append(Outgoing(item.key, item.rev, payload, parent_key=item.parent_key))
    return out


async def resolve_parents(ctx: RunContext, keys: set[str]) -> dict[str, str]:
    """Trader_ID -> Zoho Account id: the id cache first, then COQL for the rest."""
    if not keys:
        return {}
    ids = ctx.store.ids_get(PARENT_MODULE, keys)
    unknown = sorted(keys - ids.keys())
    if unknown:
        found = await ctx.zoho.ids_by_key(PARENT_MODULE, PARENT_KEY_FIELD, unknown)
        if found:
            ctx.store.ids_put(PARENT_MODULE, found)
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
    return Outgoing(record.key, record.rev, payload, parent_key=record.parent_key)
