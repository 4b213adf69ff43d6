"""What the commands share: settings loading, error printing, report rendering."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from gzsync import logs
from gzsync.config import Settings, load_settings, load_sync_settings
from gzsync.errors import GzsyncError
from gzsync.ops import words
from gzsync.streams import STREAM_NAMES
from gzsync.sync.progress import LogProgress, NoProgress, ProgressSink, RichProgress
from gzsync.sync.report import RunReport

stderr = Console(stderr=True)

#: `--strict`, shared by the commands that run a sync.
StrictOption = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Exit 1 whenever any record waits in the ledger, also ones rejected by earlier "
        "runs (default: only for new rejections and transient failures).",
    ),
]

#: `--bulk/--no-bulk`, shared by `run` and `schedule` (None: by `BULK_THRESHOLD`).
BulkOption = Annotated[
    bool | None,
    typer.Option(
        "--bulk/--no-bulk",
        help="Write through Zoho Bulk Write (--bulk) or never (--no-bulk); by default "
        "a stream with more than BULK_THRESHOLD records to write goes through it.",
        show_default=False,
    ),
]

#: `--log-format`, shared by every command that logs.
LogFormatOption = Annotated[
    str, typer.Option("--log-format", help="text or json (one object per line).")
]


def fail(error: GzsyncError | str, code: int | None = None) -> NoReturn:
    """Print one line to stderr and exit with the error's code."""
    text = logs.redact(str(error))
    exit_code = code if code is not None else getattr(error, "exit_code", 1)
    print(f"gzsync: {text}", file=sys.stderr)
    raise typer.Exit(exit_code)


def settings_or_exit(*, for_sync: bool = False, **overrides: Any) -> Settings:
    """The settings, or exit 2 listing every problem; `for_sync`: also every value a sync
    run needs, in the same pass (`run`, `check`, `schedule`, `ledger retry`)."""
    try:
        return load_sync_settings(**overrides) if for_sync else load_settings(**overrides)
    except GzsyncError as exc:
        fail(exc)


def print_json(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, sort_keys=False) + "\n")
    sys.stdout.flush()


def render_report(report: RunReport, title: str = "gzsync run") -> None:
    """A human summary of a run on stderr."""
    data = report.to_json()
    table = Table(title=f"{title}: {data['status']}" + (" (dry run)" if report.dry_run else ""))
    table.add_column("entity")
    for column in ("fetched", "inserted", "updated", "rejected", "failed", "warnings"):
        table.add_column(column, justify="right")
    for entity in STREAM_NAMES:
        counts = data[entity]
        table.add_row(
            entity,
            *(
                str(counts[c])
                for c in ("fetched", "inserted", "updated", "rejected", "failed", "warnings")
            ),
        )
    stderr.print(table)
    before, after = data["watermarks_before"], data["watermarks_after"]
    marks = " · ".join(
        f"{stream} {words.watermark(before.get(stream))} -> {words.watermark(after.get(stream))}"
        for stream in dict.fromkeys([*before, *after])
    )
    stderr.print(
        f"watermarks {marks or words.NONE_YET} · "
        f"linked {data['linked']} · ledger pending {data['ledger_pending']} · "
        f"Zoho calls {data['zoho_calls']} ({data['zoho_credits']} credits) · "
        f"Galaxy calls {data['galaxy_calls']} · {data['duration_s']} s",
        highlight=False,
    )
    if report.message:
        stderr.print(report.message, highlight=False)
    for stream, bulk in report.bulk.items():
        verb = "would go" if report.dry_run else "went"
        stderr.print(
            f"{stream}: {bulk['records']} records {verb} through Zoho Bulk Write "
            f"({bulk['jobs']} job(s) submitted, {bulk['collected']} collected from an earlier run)",
            highlight=False,
        )
    if report.status == "incomplete" and not report.dry_run:
        stderr.print(_ledger_news(report), highlight=False)


def _ledger_news(report: RunReport) -> str:
    """What the ledger holds after the run, new first (it decides the exit code)."""
    old = report.ledger_pending - report.ledger_transient - report.ledger_new_rejections
    parts = []
    if report.ledger_new_rejections:
        parts.append(f"{report.ledger_new_rejections} new rejection(s)")
    if report.ledger_transient:
        parts.append(f"{report.ledger_transient} transient failure(s), retried every run")
    if old > 0:
        parts.append(
            f"{old} already rejected earlier, waiting for a fix in Galaxy (not new; "
            "exit 0 unless --strict)"
        )
    return "ledger: " + "; ".join(parts) + " · see `gzsync ledger`"


def finish(
    report: RunReport,
    *,
    json_out: bool,
    quiet: bool,
    log_format: str = "text",
    title: str = "gzsync run",
    strict: bool = False,
) -> NoReturn:
    """Print the report as asked and exit with its code.

    With `--log-format json` stderr carries only JSON log lines (the pipeline logs the run's
    outcome there), so the human table is left out.
    """
    if json_out:
        print_json(report.to_json())
    if not quiet and log_format != "json":
        render_report(report, title)
    raise typer.Exit(report.exit_code_for(strict=strict))


def setup_logging(debug: bool, log_format: str, quiet: bool) -> None:
    """Configure logging from the common flags; a bad `--log-format` is a usage error."""
    if log_format not in ("text", "json"):
        fail("--log-format must be text or json", code=2)
    logs.configure_logging(debug=debug, fmt="json" if log_format == "json" else "text", quiet=quiet)


def progress_for(quiet: bool, log_format: str) -> ProgressSink:
    """Bars on a terminal, periodic log lines elsewhere, nothing with `--quiet`."""
    if quiet:
        return NoProgress()
    if sys.stderr.isatty() and log_format == "text":
        return RichProgress()
    return LogProgress()
