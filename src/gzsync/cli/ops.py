"""`gzsync status`, `gzsync ledger` (list, retry, drop) and `gzsync report`.

They read (and, for `ledger retry` / `ledger drop`, change) only the state store: no
network, except `ledger retry`, which runs a sync right after marking unless
`--mark-only`. A SQLite state file that does not exist yet is read as empty, not created.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from gzsync.cli.common import LogFormatOption, fail, print_json, settings_or_exit
from gzsync.config import Settings
from gzsync.errors import GzsyncError
from gzsync.ops.html_report import COUNT_COLUMNS, ENTITIES, render_run_html
from gzsync.state.store import LedgerEntry, LedgerKind, RunRecord, StateStore, StreamName

stdout = Console()


class Entity(StrEnum):
    """Ledger streams, as `--entity` takes them."""

    customers = "customers"
    affiliates = "affiliates"
    contacts = "contacts"


class Kind(StrEnum):
    """Ledger kinds, as `--kind` takes them."""

    rejected = "rejected"
    refused = "refused"
    failed = "failed"
    waiting_parent = "waiting_parent"


EntityOption = Annotated[
    Entity | None, typer.Option("--entity", "-e", help="Only this stream.", show_default=False)
]


def _stream(entity: Entity | None) -> StreamName | None:
    return entity.value if entity else None


@contextmanager
def _store(settings: Settings) -> Iterator[StateStore | None]:
    """The state store, or None when its SQLite file does not exist yet (nothing to read)."""
    if settings.state_backend == "sqlite" and not Path(settings.state_db).exists():
        yield None
        return
    from gzsync.state import open_store

    try:
        store = open_store(settings)
    except GzsyncError as exc:
        fail(exc)
    try:
        yield store
    except GzsyncError as exc:
        fail(exc)
    finally:
        store.close()


# -- status ------------------------------------------------------------------------------


def status_data(store: StateStore | None, runs: int = 10) -> dict[str, Any]:
    """The `gzsync status --json` object: `runs` (newest first), `watermarks`, `ledger`."""
    if store is None:
        return {
            "runs": [],
            "watermarks": {"customers": None, "contacts": None},
            "ledger": [],
            "ledger_total": 0,
        }
    counts = store.ledger_counts()
    ledger = [
        {"stream": stream, "kind": kind, "reason": reason, "count": n}
        for (stream, kind, reason), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return {
        "runs": [_run_summary(r) for r in store.runs(runs)],
        "watermarks": {s: store.get_watermark(s) for s in ("customers", "contacts")},
        "ledger": ledger,
        "ledger_total": sum(counts.values()),
    }


def _run_summary(record: RunRecord) -> dict[str, Any]:
    report = record.report
    duration = report.get("duration_s")
    if duration is None and record.finished_at is not None:
        duration = round(record.finished_at - record.started_at, 3)
    counts = {}
    for entity in ENTITIES:
        entity_counts = report.get(entity)
        if isinstance(entity_counts, dict):
            counts[entity] = {c: entity_counts.get(c, 0) for c in COUNT_COLUMNS}
    return {
        "run_id": record.run_id,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "duration_s": duration,
        "status": record.status,
        "dry_run": bool(report.get("dry_run", False)),
        "counts": counts,
        "ledger_pending": report.get("ledger_pending"),
        "message": report.get("message", ""),
        "warnings": sum(c["warnings"] for c in counts.values()),
        "warnings_by_reason": _warnings_by_reason(report),
    }


def _warnings_by_reason(report: dict[str, Any]) -> dict[str, int]:
    """{reason: count} over the entities of a run's report (issue 11)."""
    total: dict[str, int] = {}
    for entity in ENTITIES:
        counts = report.get(entity)
        by_reason = counts.get("warnings_by_reason") if isinstance(counts, dict) else None
        for reason, n in (by_reason if isinstance(by_reason, dict) else {}).items():
            if isinstance(n, int):
                total[str(reason)] = total.get(str(reason), 0) + n
    return total


def status_command(
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    runs: Annotated[int, typer.Option("--runs", "-n", help="How many runs to show.", min=1)] = 10,
) -> None:
    """Show the last runs, the watermarks and what waits in the ledger, by reason.

    Reads only the state store (no network). `--json` prints one object with keys `runs`
    (newest first: run_id, started_at, finished_at, duration_s, status, counts ...),
    `watermarks`, `ledger` (stream, kind, reason, count) and `ledger_total`.
    """
    settings = settings_or_exit()
    with _store(settings) as store:
        data = status_data(store, runs)
    if json_out:
        print_json(data)
        return
    if not data["runs"]:
        stdout.print("No runs recorded yet.", highlight=False)
    else:
        table = Table(title="Last runs (newest first)")
        table.add_column("run", no_wrap=True)
        table.add_column("started (UTC)", no_wrap=True)
        table.add_column("took", justify="right")
        table.add_column("status")
        for column in ("fetched", "written", "failed", "warnings"):
            table.add_column(column, justify="right")
        for run in data["runs"]:
            counts = run["counts"].values()
            written = sum(c["inserted"] + c["updated"] for c in counts)
            failed = sum(c["rejected"] + c["failed"] for c in counts)
            warned = sum(c["warnings"] for c in counts)
            took = "-" if run["duration_s"] is None else f"{run['duration_s']:.1f} s"
            table.add_row(
                run["run_id"],
                _when(run["started_at"]),
                took,
                run["status"] + (" (dry run)" if run["dry_run"] else ""),
                str(sum(c["fetched"] for c in counts)),
                str(written),
                str(failed),
                str(warned),
            )
        stdout.print(table)
    marks = data["watermarks"]
    stdout.print(
        f"Watermarks: customers {marks['customers']}, contacts {marks['contacts']}",
        highlight=False,
    )
    if not data["ledger"]:
        stdout.print("The ledger is empty.", highlight=False)
        return
    ledger = Table(title=f"Waiting in the ledger: {data['ledger_total']}")
    for column in ("stream", "kind", "reason", "records"):
        ledger.add_column(column, justify="right" if column == "records" else "left")
    for row in data["ledger"]:
        ledger.add_row(row["stream"], row["kind"], row["reason"], str(row["count"]))
    stdout.print(ledger)


# -- ledger ------------------------------------------------------------------------------

ledger_app = typer.Typer(
    help="List what waits in the ledger; retry it, or give up on one record.",
    no_args_is_help=False,
    invoke_without_command=True,
    rich_markup_mode=None,
)


@ledger_app.callback()
def ledger_list_command(
    ctx: typer.Context,
    entity: EntityOption = None,
    reason: Annotated[
        str | None, typer.Option("--reason", "-r", help="Only this reason code.")
    ] = None,
    kind: Annotated[
        Kind | None,
        typer.Option("--kind", "-k", help="Only this kind.", show_default=False),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most N entries.", min=1)] = 100,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """List the records waiting in the ledger with their reasons (oldest revision first).

    A table on a terminal, one tab-separated line per entry otherwise (stream, key, rev,
    kind, reason, attempts, retry requested, detail). `--json` prints {"entries": [...],
    "shown": N, "total": M}.
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_or_exit()
    with _store(settings) as store:
        if store is None:
            entries: list[LedgerEntry] = []
            total = 0
        else:
            stream = _stream(entity)
            kind_value: LedgerKind | None = kind.value if kind else None
            entries = store.ledger_list(stream, kind=kind_value, reason=reason, limit=limit)
            total = sum(
                n
                for (s, k, r), n in store.ledger_counts().items()
                if (stream is None or s == stream)
                and (kind_value is None or k == kind_value)
                and (reason is None or r == reason)
            )
    if json_out:
        print_json({"entries": [asdict(e) for e in entries], "shown": len(entries), "total": total})
        return
    if sys.stdout.isatty():
        _ledger_table(entries)
    else:
        for e in entries:
            fields = (e.stream, e.key, e.rev, e.kind, e.reason, e.attempts, e.retry_requested)
            detail = e.detail.replace("\t", " ").replace("\n", " ")
            sys.stdout.write("\t".join(str(f) for f in fields) + f"\t{detail}\n")
    if total > len(entries):
        print(f"gzsync: showing {len(entries)} of {total} entries (use --limit)", file=sys.stderr)


def _ledger_table(entries: list[LedgerEntry]) -> None:
    if not entries:
        stdout.print("The ledger holds no such entries.", highlight=False)
        return
    table = Table()
    for column in ("stream", "key", "rev", "kind", "reason", "attempts", "last seen", "detail"):
        table.add_column(column, justify="right" if column in ("rev", "attempts") else "left")
    for e in entries:
        table.add_row(
            e.stream,
            e.key,
            str(e.rev),
            e.kind + (" (retry)" if e.retry_requested else ""),
            e.reason,
            str(e.attempts),
            _when(e.last_seen),
            e.detail,
        )
    stdout.print(table, highlight=False)


@ledger_app.command("retry")
def ledger_retry_command(
    keys: Annotated[
        list[str] | None,
        typer.Argument(
            help="Keys (Trader_ID or contact id) to retry; all when none.", show_default=False
        ),
    ] = None,
    entity: EntityOption = None,
    mark_only: Annotated[
        bool,
        typer.Option("--mark-only", help="Only mark them; the next scheduled run retries them."),
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the run's JSON report on stdout.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress and no summary on stderr.")
    ] = False,
    log_format: LogFormatOption = "text",
) -> None:
    """Retry ledger entries now: mark them, then run a sync (unless --mark-only).

    Marked entries are retried by the next run whatever their kind (a record Zoho refused
    is otherwise retried only when it changes in Galaxy). The run is a normal incremental
    run, so it also syncs what changed meanwhile; its exit code is this command's (0, 1,
    3, or 75 when another run holds the lock: the marks stay for the next run).
    """
    from gzsync.cli.common import finish, progress_for, setup_logging

    settings = settings_or_exit()
    if not mark_only:
        try:
            settings.require_sync()  # before marking: a config error changes nothing
        except GzsyncError as exc:
            fail(exc)
    stream = _stream(entity)
    with _store(settings) as store:
        marked = 0 if store is None else store.ledger_request_retry(stream, keys or None)
    if not quiet or mark_only:
        print(f"gzsync: marked {marked} ledger entries for retry", file=sys.stderr)
    if mark_only or marked == 0:
        return
    from gzsync.sync.options import RunOptions
    from gzsync.sync.pipeline import run_sync

    setup_logging(settings.debug, log_format, quiet)
    try:
        report = run_sync(settings, RunOptions(), progress=progress_for(quiet, log_format))
    except GzsyncError as exc:
        fail(exc)
    finish(
        report, json_out=json_out, quiet=quiet, log_format=log_format, title="gzsync ledger retry"
    )


@ledger_app.command("drop")
def ledger_drop_command(
    key: Annotated[str, typer.Argument(help="The key (Trader_ID or contact id) to give up on.")],
    entity: EntityOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Give up on one ledger entry (asks first unless --yes).

    The record leaves the ledger and is not retried; it syncs again only when it changes in
    Galaxy. Exit 1 when no entry has this key (or when you answer no), 2 when the key is in
    several streams and --entity is missing.
    """
    settings = settings_or_exit()
    stream = _stream(entity)
    with _store(settings) as store:
        matches = [] if store is None else [e for e in store.ledger_list(stream) if e.key == key]
        if not matches:
            where = f" in {stream}" if stream else ""
            fail(f"no ledger entry {key}{where}", code=1)
        if len(matches) > 1:
            streams = ", ".join(e.stream for e in matches)
            fail(f"{key} waits in several streams ({streams}): choose one with --entity", code=2)
        entry = matches[0]
        assert store is not None
        question = (
            f"Drop {entry.stream} {entry.key} (rev {entry.rev}, {entry.kind} {entry.reason}, "
            f"{entry.attempts} attempts)? It will not be retried until it changes in Galaxy"
        )
        if not yes and not typer.confirm(question, default=False):
            fail("nothing dropped", code=1)
        if not store.ledger_drop(entry.stream, entry.key):
            fail(f"no ledger entry {key} in {entry.stream}", code=1)
    print(f"gzsync: dropped {entry.stream} {entry.key} from the ledger", file=sys.stderr)


# -- report ------------------------------------------------------------------------------


def report_command(
    run_id: Annotated[
        str | None,
        typer.Argument(
            metavar="[RUN]", help="Run id (see gzsync status); the last run when omitted."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the page; default gzsync-report-<run id>.html here.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Write a run's report as one self-contained HTML page and print its path.

    Counts per entity, timings per phase, failures by reason with samples, and the ledger
    trend over the last 20 runs; inline CSS and SVG, no script, nothing fetched. Exit 1 when
    there is no such run.
    """
    settings = settings_or_exit()
    with _store(settings) as store:
        record: RunRecord | None = None
        history: list[RunRecord] = []
        if store is not None:
            history = store.runs(200)
            record = store.run(run_id) if run_id else (history[0] if history else None)
        if record is None:
            fail(f"no run {run_id}" if run_id else "no runs recorded yet", code=1)
        assert store is not None
        warnings = store.warnings_list(record.run_id)
    path = output or Path(f"gzsync-report-{_safe(record.run_id)}.html")
    try:
        path.write_text(render_run_html(record, history, warnings), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}", code=1)
    sys.stdout.write(f"{path}\n")


def _safe(text: str) -> str:
    """A run id fit for a file name (ids are ours, but the store is a file anyone can edit)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def _when(epoch: float | None) -> str:
    if not epoch:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))
