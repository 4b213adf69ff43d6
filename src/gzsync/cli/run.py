"""`gzsync run`: one sync run from the configuration."""

from __future__ import annotations

from typing import Annotated

import typer

from gzsync.cli.common import (
    BulkOption,
    LogFormatOption,
    StrictOption,
    fail,
    finish,
    progress_for,
    settings_or_exit,
    setup_logging,
)
from gzsync.errors import GzsyncError
from gzsync.sync.options import ENTITIES, RunOptions, parse_entities
from gzsync.sync.pipeline import run_sync


def run_command(
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Read both sides and report what would be "
            "inserted, updated and rejected; write nothing.",
        ),
    ] = False,
    since_rev: Annotated[
        int | None,
        typer.Option(
            "--since-rev",
            help="Read Galaxy rows above this revision instead of the watermark (backfill).",
            min=0,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", help="Process only the N lowest revisions (like DEV_LIMIT).", min=1
        ),
    ] = None,
    entities: Annotated[
        str,
        typer.Option(
            "--entities",
            help="What to sync, in order: accounts (customers with their affiliates), contacts, "
            "quotes (offers with their Products).",
        ),
    ] = ",".join(ENTITIES),
    max_duration: Annotated[
        float | None,
        typer.Option(
            "--max-duration",
            help="Time budget in seconds: stop "
            "starting batches when it is nearly spent; the next run "
            "carries on (status partial, exit 0).",
            min=1,
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Send every selected record, also those unchanged since Zoho last "
            "confirmed them (by default they cost nothing).",
        ),
    ] = False,
    bulk: BulkOption = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON report on stdout.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress and no summary on stderr.")
    ] = False,
    log_format: LogFormatOption = "text",
    strict: StrictOption = False,
) -> None:
    """Run one sync: Galaxy customers, affiliates, contacts and offers (Quotes) into Zoho CRM.

    Exit codes: 0 synced (or stopped at the time budget; records rejected by earlier runs
    may still wait in the ledger), 1 this run added new rejections or has transient
    failures waiting (with --strict: any record waits in the ledger), 2 configuration
    error, 3 aborted (a service failed; nothing half-written), 75 another run holds the
    lock.
    """
    settings = settings_or_exit(for_sync=True)
    setup_logging(settings.debug, log_format, quiet)
    try:
        options = RunOptions(
            dry_run=dry_run,
            since_rev=since_rev,
            limit=limit,
            entities=parse_entities(entities),
            max_duration_s=max_duration,
            force=force,
            bulk=bulk,
        )
    except ValueError as exc:
        fail(str(exc), code=2)
    try:
        report = run_sync(settings, options, progress=progress_for(quiet, log_format))
    except GzsyncError as exc:
        fail(exc)
    finish(report, json_out=json_out, quiet=quiet, log_format=log_format, strict=strict)
