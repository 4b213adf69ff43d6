"""One sync run, start to finish: lock, clients, phases, report.

`run_sync` is what the CLI, the scheduler and the Catalyst handler call. It returns the
report of a run that ran (status success, incomplete, partial or aborted) and raises
:class:`~gzsync.errors.GzsyncError` only for what stops a run from starting: a configuration
error (exit 2) or a lock held by another run (exit 75).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from gzsync import alerts, logs
from gzsync.clients import galaxy_client, token_source, zoho_client
from gzsync.config import Settings
from gzsync.errors import ServiceError, StateError, ZohoCreditsExhausted
from gzsync.galaxy.client import GalaxyClient
from gzsync.remedies import explain
from gzsync.state.readonly import ReadOnlyStore
from gzsync.state.store import StateStore
from gzsync.streams import STREAM_NAMES
from gzsync.sync.accounts import read_accounts, write_accounts
from gzsync.sync.budget import Budget
from gzsync.sync.contacts import read_contacts, write_contacts
from gzsync.sync.context import RunContext
from gzsync.sync.credit_gate import CreditGate, look_before_writing, remember
from gzsync.sync.ledger_news import LedgerNews, ledger_news
from gzsync.sync.options import RunOptions
from gzsync.sync.progress import NoProgress, ProgressSink
from gzsync.sync.quotes import read_quotes, write_quotes
from gzsync.sync.read_budget import ReadOutOfBudget, stopped_reading
from gzsync.sync.report import RunReport
from gzsync.sync.rules_upgrade import reevaluate_rejected
from gzsync.sync.spool import Spool
from gzsync.zoho.auth import TokenSource
from gzsync.zoho.client import ZohoClient

log = logging.getLogger("gzsync.sync")


def run_sync(
    settings: Settings,
    options: RunOptions,
    *,
    store: StateStore | None = None,
    progress: ProgressSink | None = None,
) -> RunReport:
    """Run one sync; see the module docstring for what it raises and returns."""
    if options.access_token is None:
        settings.require_sync()
    else:
        settings.model_copy(update={"zoho_connection": "given"}).require_sync()
    register_secrets(settings)
    with contextlib.ExitStack() as stack:
        if store is None:
            store = stack.enter_context(_opened_store(settings, options))
        report = asyncio.run(_run(settings, options, store, progress or NoProgress()))
        if not options.dry_run:
            alerts.after_run(settings, store)  # alerts once per cause; never fails the run
        return report
    raise AssertionError("unreachable")  # pragma: no cover - for type checkers


@contextlib.contextmanager
def _opened_store(settings: Settings, options: RunOptions) -> Iterator[StateStore]:
    """The configured store; a dry run with no SQLite state file yet gets a throwaway one,
    so that it creates nothing."""
    from gzsync.state import open_store
    from gzsync.state.sqlite import open_sqlite_store

    with contextlib.ExitStack() as stack:
        if (
            options.dry_run
            and settings.state_backend == "sqlite"
            and not settings.state_db.exists()
        ):
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="gzsync-dry-"))
            store: StateStore = open_sqlite_store(Path(scratch) / "state.db")
        else:
            store = open_store(settings)
        stack.callback(store.close)
        yield store


async def _run(
    settings: Settings, options: RunOptions, real_store: StateStore, progress: ProgressSink
) -> RunReport:
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
    owner = f"{socket.gethostname()} pid {os.getpid()} run {run_id}"
    logs.current_run_id.set(run_id)  # every log line of this run carries `run_id`
    store: StateStore = ReadOnlyStore(real_store) if options.dry_run else real_store
    report = RunReport(
        run_id=run_id, started_at=time.time(), dry_run=options.dry_run, entities=options.entities
    )
    t0 = time.monotonic()
    store.acquire_lock(owner, settings.lock_ttl_s)  # raises LockHeldError (exit 75)
    try:
        store.run_started(run_id, report.started_at)
        galaxy = galaxy_client(settings, store)
        tokens = token_source(settings, store, access_token=options.access_token)
        zoho = zoho_client(settings, tokens)
        budget = Budget(
            max_duration_s=options.max_duration_s or settings.max_duration_s,
            remaining_ms=options.remaining_ms,
        )
        gate = CreditGate(zoho.stats, settings.credit_reserve, settings.zoho_daily_credits)
        ctx = RunContext(
            settings=settings,
            options=options,
            store=store,
            galaxy=galaxy,
            zoho=zoho,
            budget=budget,
            report=report,
            owner=owner,
            progress=progress,
            credits=gate,
        )
        keeper = asyncio.create_task(_keep_lock(ctx))
        try:
            reevaluate_rejected(store, ctx.rules)
            await look_before_writing(store, zoho)  # after a credit stop (issue 15)
            with Spool() as spool:
                try:
                    await _phases(ctx, spool)
                except ReadOutOfBudget as exc:  # issue 15: reads inside the budget
                    stopped_reading(report, exc)  # partial, exit 0; nothing of it kept
            if not options.dry_run:
                remember(gate, store)
        except ZohoCreditsExhausted as exc:
            # Zoho's credits ran out outside a batch (a read, a look-up): what was written
            # is committed and nothing unconfirmed is past the watermark; the next run
            # carries on (issue 15: partial, exit 0)
            gate.used_up(exc)
            report.status = "partial"
            report.message = gate.reason or str(exc)
            if not options.dry_run:
                with contextlib.suppress(StateError):
                    remember(gate, store)
            log.warning("run stopped: %s", report.message, extra={"status": "partial"})
        except (ServiceError, StateError) as exc:
            # a remote system failed, the state store failed, or another run took our lock
            # (LockHeldError mid-run): nothing unconfirmed is past the watermark; exit 3
            report.status = "aborted"
            report.message = explain(exc, settings)  # the URL, the variable, the fix
            log.error("run aborted: %s", report.message, extra={"status": "aborted"})
        except BaseException as exc:
            report.status = "aborted"  # the run history must not call a crash a success
            report.message = f"crashed: {type(exc).__name__}: {logs.redact(str(exc))[:300]}"
            raise
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            with contextlib.suppress(StateError):  # diagnostics: never what fails a run
                ctx.quality.flush()
            progress.close()
            report.budget_s = budget.seconds()
            report.galaxy_calls = galaxy.calls
            report.zoho_calls = dict(zoho.stats.calls)
            report.zoho_credits = zoho.stats.credits
            report.zoho_credits_remaining = zoho.stats.credits_remaining
            report.zoho_throttled = zoho.stats.throttled
            await _close(galaxy, zoho, tokens)
        _finish(report, store)
        log.info(
            "run %s %s: customers %d/%d/%d, affiliates %d/%d/%d, contacts %d/%d/%d "
            "(inserted/updated/rejected+failed), ledger %d, Zoho calls %d (%d credits)",
            run_id,
            report.status,
            *(
                n
                for c in (report.customers, report.affiliates, report.contacts)
                for n in (c.inserted, c.updated, c.rejected + c.failed)
            ),
            report.ledger_pending,
            sum(report.zoho_calls.values()),
            report.zoho_credits,
            extra=_outcome_fields(report),
        )
    finally:
        report.duration_s = time.monotonic() - t0
        try:
            try:
                store.run_finished(run_id, time.time(), report.to_json())
            finally:
                store.release_lock(owner)
        except StateError as exc:
            # The store failed at the very end (it may be what stopped the run): the run
            # still answers with its report, aborted (exit 3); the lock expires on its own.
            report.status = "aborted"
            report.message = report.message or logs.redact(str(exc))
            log.error("could not record the run in the state store: %s", logs.redact(str(exc)))
    return report


def _outcome_fields(report: RunReport) -> dict[str, object]:
    """The run's outcome as JSON-log fields (not only inside the message)."""
    fields: dict[str, object] = {
        "status": report.status,
        "ledger_pending": report.ledger_pending,
        "ledger_transient": report.ledger_transient,
        "ledger_new_rejections": report.ledger_new_rejections,
        "zoho_calls": sum(report.zoho_calls.values()),
        "zoho_credits": report.zoho_credits,
        "exit_code": report.exit_code,
    }
    for stream in STREAM_NAMES:
        counts = report.counts(stream).to_json()
        counts.pop("samples")
        fields[stream] = counts
    return fields


async def _keep_lock(ctx: RunContext) -> None:
    """Renew the run lock in the background, through long reads and retry storms too."""
    interval = min(30.0, ctx.settings.lock_ttl_s / 3)
    while True:
        await asyncio.sleep(interval)
        # in a worker thread: a remote store's refresh (and its retries) must not stall
        # the Zoho calls in flight on the event loop
        await asyncio.to_thread(ctx.heartbeat, force=True)
        if ctx.lock_lost is not None:
            return


async def _phases(ctx: RunContext, spool: Spool) -> None:
    """Accounts, then contacts, then quotes; the contacts view is read while the accounts
    are written."""
    entities = ctx.options.entities
    accounts = await read_accounts(ctx, spool) if "accounts" in entities else None
    contacts_read = (
        asyncio.create_task(read_contacts(ctx, spool)) if "contacts" in entities else None
    )
    try:
        if accounts is not None:
            await write_accounts(ctx, spool, accounts)
        if contacts_read is not None:
            contacts = await contacts_read
            if not ctx.stopped:
                await write_contacts(ctx, spool, contacts)
            else:
                ctx.report.contacts.fetched = 0  # not processed: read again next run
        if "quotes" in entities and not ctx.stopped:
            await write_quotes(ctx, await read_quotes(ctx))
    finally:
        if contacts_read is not None and not contacts_read.done():
            contacts_read.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await contacts_read


def _finish(report: RunReport, store: StateStore) -> None:
    """Ledger totals and the final status."""
    try:
        counts = store.ledger_counts()
    except StateError:
        counts = {}
    report.ledger_pending = sum(counts.values())
    by_reason: dict[str, int] = {}
    for (_stream, _kind, reason), n in counts.items():
        by_reason[reason] = by_reason.get(reason, 0) + n
    report.ledger_by_reason = by_reason
    if report.status in ("aborted", "partial"):
        return
    failed = sum(report.counts(s).failed for s in STREAM_NAMES)
    rejected = sum(report.counts(s).rejected for s in STREAM_NAMES)
    pending = failed + rejected if report.dry_run else report.ledger_pending
    report.status = "incomplete" if pending else "success"
    if report.dry_run:
        report.ledger_new_rejections = rejected
        report.ledger_transient = failed
    elif counts:
        try:
            news = ledger_news(store.ledger_list(), report.started_at)
        except StateError:  # the counts above were read: call it all transient
            news = LedgerNews(transient=report.ledger_pending)
        report.ledger_new_rejections = news.new_rejections
        report.ledger_transient = news.transient


async def _close(galaxy: GalaxyClient, zoho: ZohoClient, tokens: TokenSource) -> None:
    for closer in (galaxy.aclose, zoho.aclose, tokens.aclose):
        try:
            await closer()
        except Exception:
            log.debug("error while closing a client", exc_info=True)


def register_secrets(settings: Settings) -> None:
    for secret in (
        settings.auth_password,
        settings.ss_pid_cookie,
        settings.zoho_client_secret,
        settings.zoho_refresh_token,
    ):
        if secret is not None:
            logs.register_secret(secret.get_secret_value())
