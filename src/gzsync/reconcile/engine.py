"""One reconcile, start to finish: lock, read both sides, classify every key, repair.

Steps, each a checkpoint in the index (so a reconcile stopped by ``--max-duration`` resumes
where it stopped):

1. **Galaxy** — the customers, affiliates and (with contacts) contacts views, whole, mapped
   and linked into the index. Galaxy answers a view in one response, so this step is redone
   whole if it did not finish.
2. **Zoho** — Accounts (always: contacts are checked against their ids) and Contacts, COQL
   page by page; the last id read is the checkpoint.
3. **Classify** — a merge join of both sides per module (pure rules in
   :mod:`gzsync.reconcile.classify`); counts, samples and the verdicts ``--repair`` uses.
4. **Repair** (``--repair``) — missing, stale, drifted and link_wrong records are re-sent
   through the sync's own :class:`~gzsync.sync.writer.BatchWriter`: batches of 100, per-record
   results, the ledger for what Zoho refuses, commits that cache ids and resolve ledger
   entries — but never move a watermark (a repair is not in revision order). Affiliates go
   before the customers that link to them, Accounts before Contacts. Orphans follow
   ``ORPHAN_ACTION``: ``report`` leaves them, ``tag`` sets ``Galaxy_Status`` to ``deleted``
   (an upsert on the key); nothing is ever deleted. Duplicates are listed with the ids to
   merge, never merged.

With ``quotes`` (:mod:`gzsync.reconcile.quotes`): step 1 also reads the offers view, step 2
the Quotes and Products modules, step 3 classifies them after the other streams (line items
read and fetched only where ``--quote-lines`` says), and step 4 re-sends missing and drifted
products, then the quotes through the sync's ``QuoteWriter``.

Decisions:

- A reconcile takes the run lock, so no sync changes either side while it reads: a
  snapshot of Galaxy older than Zoho would turn a fresh sync into false drift. It does not
  enter the run history (``gzsync status`` lists syncs).
- A checkpoint is trusted only when no sync started after the reconcile that wrote it
  began, for the same entities and orphan action, and for at most a day; otherwise the
  reconcile starts over. A finished reconcile deletes its index.
- The index lives next to the state file (``<STATE_DB dir>/reconcile/``); with the Catalyst
  backend it is a temporary directory, so a Catalyst reconcile does not resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gzsync import logs, streams
from gzsync.clients import galaxy_client, token_source, zoho_client
from gzsync.config import Settings
from gzsync.errors import LockHeldError, ServiceError, StateError
from gzsync.mapping.quotes import TaxTable
from gzsync.mapping.rules import MappingRules
from gzsync.reconcile.classify import REPAIRED, Verdict, ZohoRecord, classify
from gzsync.reconcile.index import ReconcileIndex, pairs
from gzsync.reconcile.quotes import (
    LineMode,
    LineStats,
    QuoteClassifier,
    products_to_resend,
    quotes_to_resend,
)
from gzsync.reconcile.read import (
    ACCOUNTS,
    CONTACTS,
    PRODUCTS,
    QUOTES,
    STATUS_FIELD,
    ModuleSpec,
    read_galaxy_accounts,
    read_galaxy_contacts,
    read_galaxy_offers,
    read_zoho_page,
)
from gzsync.reconcile.report import MERGE_LIST_LIMIT, ReconcileReport
from gzsync.state.store import LedgerEntry, StateStore, StreamName
from gzsync.sync.budget import Budget
from gzsync.sync.failures import FailureCounter, abort_if_tripped
from gzsync.sync.options import ENTITIES
from gzsync.sync.pipeline import register_secrets
from gzsync.sync.quotes import QuoteWriter
from gzsync.sync.report import EntityCounts
from gzsync.sync.writer import BatchWriter, Held, Outgoing, WriteOptions, WriteOutcome
from gzsync.zoho.client import ZohoClient

log = logging.getLogger("gzsync.reconcile")

#: A checkpoint older than this is not resumed.
CHECKPOINT_MAX_AGE_S = 24 * 3600
_INDEX_NAME = "index.db"


@dataclass(frozen=True, slots=True)
class ReconcileOptions:
    """What one reconcile is asked to do (the command-line flags)."""

    #: the groups reconcile compares: every group a run syncs (accounts, contacts, quotes)
    entities: tuple[str, ...] = ENTITIES
    repair: bool = False
    dry_run: bool = False  # with repair: count what would be re-sent, send nothing
    max_duration_s: float | None = None
    #: which quotes' line items are compared (`--quote-lines`, gzsync.reconcile.quotes)
    quote_lines: LineMode = "auto"


def reconcile(
    settings: Settings,
    options: ReconcileOptions,
    *,
    store: StateStore | None = None,
    workdir: Path | None = None,
    budget: Budget | None = None,
) -> ReconcileReport:
    """Run one reconcile; raises ConfigError (exit 2) or LockHeldError (exit 75) only.

    `budget` replaces the one built from `--max-duration` / MAX_DURATION (tests)."""
    settings.require_sync()
    register_secrets(settings)
    with contextlib.ExitStack() as stack:
        if store is None:
            from gzsync.state import open_store

            store = open_store(settings)
            stack.callback(store.close)
        if workdir is None:
            if settings.state_backend == "sqlite":
                workdir = settings.state_db.parent / "reconcile"
            else:
                workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        return asyncio.run(_reconcile(settings, options, store, workdir, budget))
    raise AssertionError("unreachable")  # pragma: no cover - for type checkers


async def _reconcile(
    settings: Settings,
    options: ReconcileOptions,
    store: StateStore,
    workdir: Path,
    budget: Budget | None,
) -> ReconcileReport:
    report = ReconcileReport(
        repair=options.repair, dry_run=options.dry_run, orphan_action=settings.orphan_action
    )
    t0 = time.monotonic()
    owner = f"{socket.gethostname()} pid {os.getpid()} reconcile {uuid.uuid4().hex[:6]}"
    store.acquire_lock(owner, settings.lock_ttl_s)  # LockHeldError: exit 75
    try:
        index = _open_index(workdir, store, options, settings, report)
        galaxy = galaxy_client(settings, store)
        tokens = token_source(settings, store)
        zoho = zoho_client(settings, tokens)
        keeper = asyncio.create_task(_keep_lock(store, owner, settings.lock_ttl_s))
        if budget is None:
            budget = Budget(max_duration_s=options.max_duration_s or settings.max_duration_s)
        job = _Job(settings, options, store, index, zoho, budget, report)
        try:
            if await job.read(galaxy):
                job.classify()
                if await job.classify_quotes(galaxy) and options.repair:
                    await job.repair()
        except (ServiceError, StateError) as exc:
            report.status = "aborted"
            report.message = logs.redact(str(exc))
            log.error("reconcile aborted: %s", report.message)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, LockHeldError):
                await keeper
            report.galaxy_calls = galaxy.calls
            report.zoho_calls = dict(zoho.stats.calls)
            report.zoho_credits = zoho.stats.credits
            for closer in (galaxy.aclose, zoho.aclose, tokens.aclose):
                with contextlib.suppress(Exception):
                    await closer()
            index.close()
        if report.status == "complete":
            shutil.rmtree(workdir, ignore_errors=True)
    finally:
        report.duration_s = time.monotonic() - t0
        store.release_lock(owner)
    return report


def _open_index(
    workdir: Path,
    store: StateStore,
    options: ReconcileOptions,
    settings: Settings,
    report: ReconcileReport,
) -> ReconcileIndex:
    """The index to resume, or a fresh one (see the module docstring)."""
    path = workdir / _INDEX_NAME
    identity = json.dumps(
        {"entities": list(options.entities), "orphan_action": settings.orphan_action}
        | ({"quote_lines": options.quote_lines} if "quotes" in options.entities else {})
    )
    if path.exists():
        index = ReconcileIndex(path)
        started = float(index.get("started_at") or 0)
        fresh_enough = time.time() - started < CHECKPOINT_MAX_AGE_S
        synced_since = any(r.started_at >= started for r in store.runs(limit=1))
        if index.get("identity") == identity and fresh_enough and not synced_since:
            report.resumed = True
            log.info("resuming the reconcile started at %s", time.ctime(started))
            return index
        index.close()
        shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        workdir.chmod(0o700)  # Galaxy data: private, like the state file
    index = ReconcileIndex(path)
    index.put("started_at", repr(time.time()))
    index.put("identity", identity)
    return index


async def _keep_lock(store: StateStore, owner: str, ttl_s: float) -> None:
    while True:
        await asyncio.sleep(min(30.0, ttl_s / 3))
        store.refresh_lock(owner, ttl_s)


class _Job:
    """The steps of one reconcile over its index."""

    def __init__(
        self,
        settings: Settings,
        options: ReconcileOptions,
        store: StateStore,
        index: ReconcileIndex,
        zoho: ZohoClient,
        budget: Budget,
        report: ReconcileReport,
    ) -> None:
        self.settings = settings
        self.options = options
        self.store = store
        self.index = index
        self.zoho = zoho
        self.budget = budget
        self.report = report
        self.contacts = "contacts" in options.entities
        self.accounts = "accounts" in options.entities
        self.quotes = "quotes" in options.entities
        self.tag = settings.orphan_action == "tag"
        self.failures = FailureCounter()
        # the sync's mapping rules: the same NUMBER_DECIMAL and CONTACT_NAME_FALLBACK readings
        self.rules = MappingRules.from_text(settings.number_decimal, settings.contact_name_fallback)

    def _stop(self) -> bool:
        if self.budget.exhausted():
            self.report.status = "partial"
            self.report.message = "stopped at the time budget; the next reconcile carries on"
            return True
        return False

    # -- 1 and 2: read ---------------------------------------------------------------------
    async def read(self, galaxy: Any) -> bool:
        """Both sides into the index; False when the budget stopped it."""
        index, settings = self.index, self.settings
        if index.get("galaxy") != "done":
            if self._stop():
                return False
            index.clear_galaxy()
            if self.accounts or self.contacts:
                await read_galaxy_accounts(
                    galaxy,
                    index,
                    settings.galaxy_customers_view,
                    settings.galaxy_affiliates_view,
                    self.rules,
                )
            if self.quotes:
                await read_galaxy_offers(
                    galaxy,
                    index,
                    settings.galaxy_offers_view,
                    settings.galaxy_offers_entity,
                    decimal=settings.number_decimal,
                )
            if self.contacts:
                await read_galaxy_contacts(
                    galaxy,
                    index,
                    settings.galaxy_contacts_view,
                    settings.galaxy_contact_columns,
                    self.rules,
                )
            index.put("galaxy", "done")
        specs = [ACCOUNTS, *([CONTACTS] if self.contacts else [])]
        specs += [QUOTES, PRODUCTS] if self.quotes else []
        for spec in specs:
            if index.get(f"zoho_done:{spec.module}") == "1":
                continue
            last = index.get(f"zoho_last:{spec.module}")
            finished = False
            while not finished:
                if self._stop():
                    return False
                last, finished = await read_zoho_page(
                    self.zoho, index, spec, last, status=self.tag and spec in (ACCOUNTS, CONTACTS)
                )
                if last is not None:
                    index.put(f"zoho_last:{spec.module}", last)
            index.put(f"zoho_done:{spec.module}", "1")
        return True

    # -- 3: classify -----------------------------------------------------------------------
    def classify(self) -> None:
        self.index.clear_verdicts()
        if self.accounts:
            self._classify(ACCOUNTS, "accounts")
        if self.contacts:
            self._classify(CONTACTS, "contacts")

    async def classify_quotes(self, galaxy: Any) -> bool:
        """Quotes and the products their lines name (gzsync.reconcile.quotes); False when
        the time budget stopped the reconcile before it."""
        if not self.quotes:
            return True
        if self._stop():
            return False
        settings = self.settings
        classifier = QuoteClassifier(
            self.index,
            galaxy,
            self.zoho,
            TaxTable(settings.zoho_tax_names),
            settings.galaxy_offer_lines_view,
            settings.galaxy_concurrency,
            self.options.quote_lines,
            self.report.counts("quotes"),
            self.report.counts("products"),
            LineStats(),
            decimal=settings.number_decimal,
        )
        await classifier.run()
        self.report.checked.update(classifier.checked)
        self.report.quote_lines = classifier.stats.to_json()
        room = MERGE_LIST_LIMIT - len(self.report.merge_candidates)
        self.report.merge_candidates.extend(classifier.merge_candidates[: max(room, 0)])
        return True

    def _classify(self, spec: ModuleSpec, stream: str) -> None:
        counts = self.report.counts(stream)
        verdicts: list[tuple[str, str, str, str | None]] = []
        checked = 0
        for key, kind, expected, records, known in pairs(self.index, spec.module):
            verdict = classify(
                expected,
                records,
                in_galaxy=known or expected is not None,
                key_field=spec.key_field,
                check_link=kind != "affiliate",
            )
            checked += 1
            if verdict.cls is None:
                continue
            counts.add(verdict.cls, _sample(key, kind, verdict, records))
            verdicts.append((spec.module, key, verdict.cls, kind))
            if verdict.cls == "duplicate" and len(self.report.merge_candidates) < MERGE_LIST_LIMIT:
                self.report.merge_candidates.append(
                    {"stream": stream, "key": key, "ids": list(verdict.ids)}
                )
            if len(verdicts) >= 2000:
                self.index.add_verdicts(verdicts)
                verdicts = []
        self.index.add_verdicts(verdicts)
        for record_id in self.index.unkeyed(spec.module):
            counts.add("unkeyed", {"id": record_id, "detail": f"no {spec.key_field}"})
        self.report.checked[stream] = checked

    # -- 4: repair -------------------------------------------------------------------------
    async def repair(self) -> None:
        if self.accounts and self.index.get("repaired:accounts") != "1":
            if not await self._repair_accounts():
                return
            await self._tag_orphans(ACCOUNTS, "accounts")
            self.index.put("repaired:accounts", "1")
        if self.contacts and self.index.get("repaired:contacts") != "1":
            if not await self._repair_contacts():
                return
            await self._tag_orphans(CONTACTS, "contacts")
            self.index.put("repaired:contacts", "1")
        if self.quotes and self.index.get("repaired:quotes") != "1":
            if not await self._repair_quotes():
                return
            self.index.put("repaired:quotes", "1")

    async def _repair_quotes(self) -> bool:
        """Products first (the quotes' rows name them), then the quotes through the
        sync's QuoteWriter; orphan quotes are only reported (no Galaxy_Status on Quotes)."""
        written = await self._write(
            "products", PRODUCTS, products_to_resend(self.index), collect_ids=True
        )
        if written is None:
            return False
        known: dict[str, str] = {}
        items = quotes_to_resend(self.index, written.ids, known)
        return await self._write("quotes", QUOTES, items, known=known) is not None

    async def _repair_accounts(self) -> bool:
        index = self.index
        affiliates = (
            Outgoing(a.key, a.rev, a.payload)
            for a in index.to_resend("Accounts", "affiliate", REPAIRED)
        )
        outcome = await self._write("affiliates", ACCOUNTS, affiliates, collect_ids=True)
        if outcome is None:
            return False
        written = outcome.ids

        def customers() -> Iterator[Outgoing | Held]:
            for item in index.to_resend("Accounts", "customer", REPAIRED):
                payload = dict(item.payload)
                link = item.parent_key  # the affiliate this customer links to
                if link is None:
                    payload["Affiliate_To"] = None
                else:
                    found = written.get(link) or next(iter(index.zoho_ids("Accounts", link)), None)
                    if found is None:
                        yield Held(
                            LedgerEntry(
                                "customers",
                                item.key,
                                item.rev,
                                "waiting_parent",
                                "affiliate_not_in_zoho",
                                f"affiliate {link} is not in Zoho",
                            )
                        )
                        continue
                    payload["Affiliate_To"] = {"id": found}
                yield Outgoing(item.key, item.rev, payload)

        return await self._write("customers", ACCOUNTS, customers()) is not None

    async def _repair_contacts(self) -> bool:
        index, store = self.index, self.store

        def contacts() -> Iterator[Outgoing | Held]:
            for item in index.to_resend("Contacts", "contact", REPAIRED):
                parent = item.parent_key or ""
                found = next(iter(index.zoho_ids("Accounts", parent)), None)
                if found is None:
                    found = store.ids_get("Accounts", [parent]).get(parent)
                if found is None:
                    yield Held(
                        LedgerEntry(
                            "contacts",
                            item.key,
                            item.rev,
                            "waiting_parent",
                            "parent_not_in_zoho",
                            f"Account {parent} is not in Zoho",
                        )
                    )
                    continue
                payload = dict(item.payload)
                payload["Account_Name"] = {"id": found}
                yield Outgoing(item.key, item.rev, payload, parent_key=parent)

        return await self._write("contacts", CONTACTS, contacts()) is not None

    async def _write(
        self,
        stream: StreamName,
        spec: ModuleSpec,
        items: Iterator[Outgoing | Held] | Any,
        *,
        collect_ids: bool = False,
        known: dict[str, str] | None = None,
    ) -> WriteOutcome | None:
        """Re-send `items` through the sync's writer (QuoteWriter for quotes: `known` are
        the quotes Zoho holds); None when the budget stopped it."""
        section = "accounts" if stream in ("customers", "affiliates") else stream
        repairs = self.report.repairs(section)
        if self.options.dry_run:
            repairs["sent"] += sum(1 for _ in items)
            return WriteOutcome()
        declared = streams.stream(stream)
        assert (declared.module, declared.key_field) == (spec.module, spec.key_field)
        run = _RepairRun(
            self.zoho, self.store, self.failures, self.settings.zoho_concurrency, EntityCounts()
        )
        counts = run.tally
        write_options = WriteOptions(
            moves_watermark=False, budget=self.budget, collect_ids=collect_ids
        )
        writer: BatchWriter
        if known is not None:
            quote_writer = QuoteWriter(declared, run, write_options)
            writer = quote_writer
            outcome = await writer.write(_known_then(items, known, quote_writer.known))
        else:
            writer = BatchWriter(declared, run, write_options)
            outcome = await writer.write(_async(items))
        confirmed = counts.inserted + counts.updated
        ledgered = counts.failed + counts.rejected
        repairs["sent"] += confirmed + ledgered
        repairs["confirmed"] += confirmed
        repairs["ledgered"] += ledgered
        abort_if_tripped(outcome)
        if outcome.stopped == "budget":
            self._stop()
            return None
        return outcome

    async def _tag_orphans(self, spec: ModuleSpec, stream: str) -> None:
        """ORPHAN_ACTION=tag: `Galaxy_Status = deleted` on every untagged orphan."""
        if not self.tag:
            return
        repairs = self.report.repairs(stream)
        pending = [
            key for key, _id, status in self.index.orphans(spec.module) if status != "deleted"
        ]
        for start in range(0, len(pending), 100):
            chunk = pending[start : start + 100]
            if self.options.dry_run:
                repairs["tagged"] += len(chunk)
                continue
            results = await self.zoho.upsert(
                spec.module,
                [{spec.key_field: key, STATUS_FIELD: "deleted"} for key in chunk],
                duplicate_check_fields=[spec.key_field],
            )
            for key, result in zip(chunk, results, strict=True):
                if result.ok:
                    repairs["tagged"] += 1
                else:
                    log.warning("could not tag orphan %s %s: %s", spec.module, key, result.code)


def _sample(
    key: str, kind: str | None, verdict: Verdict, records: list[ZohoRecord]
) -> dict[str, Any]:
    sample: dict[str, Any] = {"key": key, "detail": verdict.detail}
    if kind is not None:
        sample["kind"] = kind
    if verdict.ids:
        sample["ids"] = list(verdict.ids)
    if verdict.fields:
        sample["fields"] = list(verdict.fields)
    return sample


async def _async(items: Any) -> AsyncIterator[Outgoing | Held]:
    for item in items:
        yield item


async def _known_then(
    items: Iterator[Outgoing | Held], found: dict[str, str], known: dict[str, str]
) -> AsyncIterator[Outgoing | Held]:
    """`items`, telling the QuoteWriter each quote Zoho holds before it is sent."""
    for item in items:
        if isinstance(item, Outgoing) and item.key in found:
            known[item.key] = found.pop(item.key)
        yield item


@dataclass(slots=True)
class _RepairRun:
    """What a reconcile gives the sync's writer (:class:`gzsync.sync.writer.WriteRun`):
    its clients, its failure counter, and counts of its own; never a dry run (a dry
    reconcile sends nothing)."""

    zoho: ZohoClient
    store: StateStore
    failures: FailureCounter
    concurrency: int
    tally: EntityCounts
    dry_run: bool = False

    def counts(self, stream: str) -> EntityCounts:
        return self.tally

    def advanced(self, stream: str, n: int) -> None:
        return None
