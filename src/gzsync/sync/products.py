"""Products for the quotes stream: every product a quote line names, upserted by
`Product_Code` before the quotes that name it, **once per run**.

A run keeps what it learnt about each code: the Zoho id of a product Zoho confirmed, or the
reason it was refused (or its call failed). A quote naming a refused product is held in
the ledger by the quotes stream (`waiting_parent` / `product_refused`, retried every run),
never sent without that line. The product itself is ledgered under the `products` stream
(key = its code, revision 0: products have no revision and no watermark of their own:
`streams.PRODUCTS` is declared `read_with` the quotes); a
later confirmation resolves the entry. Products are sent 100 per upsert, the upserts of one
block concurrently (the Zoho client's slots bound how many are in flight).

**Unchanged products cost nothing** (issue 15's skip, :mod:`gzsync.sync.unchanged`): the id
cache keeps, per code, the hash of the payload Zoho last confirmed (under
`hash_module("products")`). With `skip` (an incremental run: not `--force`, not
`--since-rev`), a product whose payload hashes the same, whose id is in the id cache and
which is not in the ledger is not upserted: its cached id serves, it counts `unchanged`.
A product's `Unit_Price` is the price of the line that named it first in its block, so a
product quoted at several prices is sent again when another price comes first. A quote
that Zoho refuses or whose rows fail clears its products' hashes (:meth:`ProductSync.forget`):
a product deleted in Zoho is upserted (re-created) the next time a quote needs it.

A dry run sends nothing: every product counts as known, under a placeholder id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from gzsync.errors import ServiceError
from gzsync.mapping.payload_hash import payload_hash
from gzsync.state.store import BatchCommit, Confirmed, LedgerEntry, LedgerKind, hash_module
from gzsync.streams import PRODUCTS
from gzsync.sync.context import RunContext
from gzsync.sync.writer import BATCH_SIZE, TRANSIENT_CODES

log = logging.getLogger("gzsync.sync.products")

STREAM = PRODUCTS.name
MODULE = PRODUCTS.module
KEY_FIELD = PRODUCTS.key_field
HASHES = hash_module(STREAM)
DRY_RUN_ID = "0"


@dataclass(slots=True)
class ProductSync:
    """What this run knows about products: ids of confirmed codes, reasons of refused ones."""

    ctx: RunContext
    ids: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    #: do not send a product Zoho holds as it is (incremental runs)
    skip: bool = False
    _ledgered: set[str] | None = None

    async def ensure(self, products: Mapping[str, Mapping[str, Any]]) -> None:
        """Upsert the products of `products` (code -> payload) this run has not sent yet."""
        todo = [code for code in products if code not in self.ids and code not in self.refused]
        if not todo:
            return
        # `fetched`: the distinct products this run's lines named (each counted once, like
        # the other streams' rows), so fetched = inserted + updated + failed + unchanged
        self.ctx.report.counts(STREAM).fetched += len(todo)
        if self.ctx.options.dry_run:
            for code in todo:
                self.ids[code] = DRY_RUN_ID
            return
        if self.skip:
            known = await asyncio.to_thread(self._unchanged, todo, products)
            self.ids.update(known)
            self.ctx.report.counts(STREAM).unchanged += len(known)
            todo = [code for code in todo if code not in known]
        chunks = [todo[i : i + BATCH_SIZE] for i in range(0, len(todo), BATCH_SIZE)]
        await asyncio.gather(*(self._send([products[c] for c in chunk]) for chunk in chunks))

    def _unchanged(
        self, todo: list[str], products: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, str]:
        """Code -> cached id of the products of `todo` Zoho holds as they are (store reads
        only: runs in a worker thread)."""
        store = self.ctx.store
        if self._ledgered is None:
            self._ledgered = {e.key for e in store.ledger_list(STREAM)}
        keys = [code for code in todo if code not in self._ledgered]
        stored = store.ids_get(HASHES, keys) if keys else {}
        same = [code for code in keys if stored.get(code) == payload_hash(products[code])]
        ids = store.ids_get(MODULE, same) if same else {}
        return {code: ids[code] for code in same if ids.get(code)}

    def codes_of(self, product_ids: set[str]) -> list[str]:
        """The codes of the products with these Zoho ids."""
        return [code for code, zoho_id in self.ids.items() if zoho_id in product_ids]

    async def _send(self, payloads: list[Mapping[str, Any]]) -> None:
        counts = self.ctx.report.counts(STREAM)
        codes = [str(p[KEY_FIELD]) for p in payloads]
        confirmed: list[Confirmed] = []
        ledger: list[LedgerEntry] = []
        try:
            results = await self.ctx.zoho.upsert(
                MODULE, payloads, duplicate_check_fields=[KEY_FIELD]
            )
        except (ServiceError, httpx.HTTPError) as exc:
            reason = getattr(exc, "code", None) or "transport_error"
            log.warning(
                "Products upsert failed after retries (%s); %d products", reason, len(codes)
            )
            for code in codes:
                self.refused[code] = f"the Products call failed ({reason})"
                ledger.append(LedgerEntry(STREAM, code, 0, "failed", reason, str(exc)[:200]))
                counts.failed += 1
        else:
            for code, payload, result in zip(codes, payloads, results, strict=True):
                if result.ok and result.zoho_id:
                    self.ids[code] = result.zoho_id
                    confirmed.append(Confirmed(code, 0, result.zoho_id, payload_hash(payload)))
                    if result.action == "update":
                        counts.updated += 1
                    else:
                        counts.inserted += 1
                    continue
                kind: LedgerKind = "failed" if result.code in TRANSIENT_CODES else "refused"
                where = f"{result.api_name}: " if result.api_name else ""
                detail = f"{where}{result.message}"[:200]
                self.refused[code] = f"{result.code} {detail}".strip()
                ledger.append(LedgerEntry(STREAM, code, 0, kind, result.code, detail))
                counts.failed += 1
                counts.add_sample(code, result.code, detail)
        await asyncio.to_thread(
            self.ctx.store.commit_batch,
            BatchCommit(stream=STREAM, module=MODULE, confirmed=confirmed, ledger=ledger),
        )
        hashes = {c.key: c.payload_hash for c in confirmed if c.payload_hash}
        if hashes:  # after the commit: a hash never stands for a payload Zoho did not confirm
            await asyncio.to_thread(self.ctx.store.ids_put, HASHES, hashes)
