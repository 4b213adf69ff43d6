"""`gzsync status`, `gzsync ledger` (list, retry, drop) and `gzsync report`.

They read (and, for `ledger retry` / `ledger drop`, change) only the state store: no
network, except `ledger retry`, which runs a sync right after marking unless
`--mark-only`. A SQLite state file that does not exist yet is read as empty, not created.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from gzsync.cli.common import (
    LogFormatOption,
    StrictOption,
    fail,
    print_json,
    settings_or_exit,
)
from gzsync.config import Settings
from gzsync.errors import GzsyncError
from gzsync.ops import words
from gzsync.ops.html_report import COUNT_COLUMNS, ENTITIES, render_run_html
from gzsync.ops.ledger import (
    COLUMNS,
    REASONS_HELP,
    LedgerFilter,
    LedgerSelectionError,
    Selection,
    drop,
    entry_json,
    entry_row,
    find_for_drop,
    present_reasons,
    request_retry,
    select,
)
from gzsync.state.store import LedgerEntry, RunRecord, StateStore, StreamName
from gzsync.streams import STREAM_NAMES, WATERMARKED

stdout = Console()


#: Ledger streams, as `--entity` takes them: every declared stream.
Entity = StrEnum("Entity", {name: name for name in STREAM_NAMES})  # type: ignore[misc]


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


def pending_jobs(store: StateStore) -> dict[str, dict[str, Any]]:
    """Bulk Write jobs submitted and not yet committed, by stream (sync/bulk_path.py)."""
    from gzsync.streams import STREAM_NAMES
    from gzsync.sync.bulk_path import PendingJob, pending_key

    jobs: dict[str, dict[str, Any]] = {}
    for stream in STREAM_NAMES:
        job = PendingJob.from_text(store.meta_get(pending_key(stream)))
        if job is not None:
            jobs[stream] = {"job_id": job.job_id, "records": job.records}
    return jobs


def status_data(store: StateStore | None, runs: int = 10) -> dict[str, Any]:
    """The `gzsync status --json` object: `runs` (newest first), `watermarks`, `ledger`."""
    if store is None:
        return {
            "runs": [],
            "watermarks": dict.fromkeys(WATERMARKED),
            "ledger": [],
            "ledger_total": 0,
            "bulk_jobs": {},
        }
    counts = store.ledger_counts()
    ledger = [
        {"stream": stream, "kind": kind, "reason": reason, "count": n}
        for (stream, kind, reason), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return {
        "runs": [_run_summary(r) for r in store.runs(runs)],
        "watermarks": {s: store.get_watermark(s) for s in WATERMARKED},
        "ledger": ledger,
        "ledger_total": sum(counts.values()),
        "bulk_jobs": pending_jobs(store),  # issue 15: jobs the next run collects
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
    print_status(data, stdout)


def print_status(data: dict[str, Any], out: Console) -> None:
    """`gzsync status` for people; fits 80 columns (the start time, which the run id
    already spells, is shown from 100 columns on, and the counts' full headers)."""
    if not data["runs"]:
        out.print("No runs recorded yet.", highlight=False)
    else:
        wide = out.width >= 100
        table = Table(title="Last runs (newest first)", box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("run", no_wrap=True)
        if wide:
            table.add_column("started (UTC)", no_wrap=True)
        table.add_column("took", justify="right", no_wrap=True)
        table.add_column("status", overflow="fold")
        # below 100 columns the counts take short headers so that nothing is cut
        headers = (
            ("fetched", "written", "failed", "warnings")
            if wide
            else ("read", "wrote", "failed", "warned")
        )
        for column in headers:
            table.add_column(column, justify="right", no_wrap=True)
        for run in data["runs"]:
            counts = run["counts"].values()
            written = sum(c["inserted"] + c["updated"] for c in counts)
            failed = sum(c["rejected"] + c["failed"] for c in counts)
            warned = sum(c["warnings"] for c in counts)
            took = "-" if run["duration_s"] is None else f"{run['duration_s']:.1f} s"
            cells = [run["run_id"]]
            if wide:
                cells.append(words.iso_time(run["started_at"]))
            cells += [
                took,
                run["status"] + (" (dry run)" if run["dry_run"] else ""),
                str(sum(c["fetched"] for c in counts)),
                str(written),
                str(failed),
                str(warned),
            ]
            table.add_row(*cells)
        out.print(table)
    out.print(f"Watermarks: {words.watermarks(data['watermarks'])}", highlight=False)
    for stream, job in data.get("bulk_jobs", {}).items():
        out.print(
            f"Bulk Write job {job['job_id']} ({stream}, {job['records']} records) was submitted "
            "and is collected by the next run",
            highlight=False,
        )
    if not data["ledger"]:
        out.print("The ledger is empty.", highlight=False)
        return
    ledger = Table(
        title=f"Waiting in the ledger: {data['ledger_total']}", box=box.SIMPLE_HEAD, pad_edge=False
    )
    for column in ("stream", "kind", "reason", "records"):
        ledger.add_column(
            column,
            justify="right" if column == "records" else "left",
            overflow="fold",
        )
    for row in data["ledger"]:
        ledger.add_row(row["stream"], row["kind"], row["reason"], str(row["count"]))
    out.print(ledger)


# -- ledger ------------------------------------------------------------------------------

ledger_app = typer.Typer(
    help="List what waits in the ledger; retry it, or give up on one record.",
    no_args_is_help=False,
    invoke_without_command=True,
    rich_markup_mode=None,
)


class Format(StrEnum):
    """Output formats of `gzsync ledger`."""

    table = "table"
    tsv = "tsv"
    csv = "csv"
    json = "json"


ReasonOption = Annotated[
    str | None, typer.Option("--reason", "-r", help=REASONS_HELP, show_default=False)
]
KindOption = Annotated[
    Kind | None,
    typer.Option(
        "--kind",
        "-k",
        help="Only this kind: rejected, refused (retried when the Galaxy row changes), "
        "failed, waiting_parent (retried every run).",
        show_default=False,
    ),
]
RunOption = Annotated[
    str | None,
    typer.Option(
        "--run",
        help="Only entries this run wrote (a run id from gzsync status).",
        show_default=False,
    ),
]


def _filter(
    entity: Entity | None,
    kind: Kind | None,
    reason: str | None,
    run_id: str | None,
    keys: list[str] | None = None,
) -> LedgerFilter:
    return LedgerFilter(
        stream=_stream(entity),
        kind=kind.value if kind else None,
        reason=reason,
        run_id=run_id,
        keys=tuple(keys or ()),
    )


@ledger_app.callback()
def ledger_list_command(
    ctx: typer.Context,
    entity: EntityOption = None,
    reason: ReasonOption = None,
    kind: KindOption = None,
    run_id: RunOption = None,
    limit: Annotated[int, typer.Option("--limit", help="At most N entries.", min=1)] = 100,
    output: Annotated[
        Format | None,
        typer.Option(
            "--format",
            "-f",
            help="table (default on a terminal), tsv (default when piped), csv or json.",
            show_default=False,
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="The same as --format json.")] = False,
) -> None:
    """List the records waiting in the ledger with their reasons (oldest revision first).

    A table on a terminal (it fits the terminal's width: keys are never cut, details wrap);
    tab-separated lines with a header row when piped; `--format csv` for a spreadsheet;
    `--format json` prints {"entries": [...], "shown": N, "total": M}. Values are words:
    yes/no, times in ISO 8601 UTC.
    """
    if ctx.invoked_subcommand is not None:
        return
    default = Format.table if sys.stdout.isatty() else Format.tsv
    fmt = Format.json if json_out else output or default
    flt = _filter(entity, kind, reason, run_id)
    settings = settings_or_exit()
    reasons: list[str] = []
    with _store(settings) as store:
        if store is None:
            selection = Selection(entries=[], total=0)
        else:
            try:
                selection = select(store, flt, limit=limit)
            except LedgerSelectionError as exc:
                fail(str(exc), code=2)
            if not selection.total and reason is not None:
                reasons = present_reasons(store)
    entries = selection.entries
    if fmt is Format.json:
        print_json(
            {
                "entries": [entry_json(e) for e in entries],
                "shown": len(entries),
                "total": selection.total,
            }
        )
    elif fmt is Format.table:
        _ledger_table(entries)
    else:
        writer = csv.DictWriter(
            sys.stdout,
            fieldnames=COLUMNS,
            delimiter="\t" if fmt is Format.tsv else ",",
            lineterminator="\n",
            quoting=csv.QUOTE_MINIMAL,
        )
        writer.writeheader()
        for e in entries:
            row = entry_row(e)
            if fmt is Format.tsv:
                row["detail"] = row["detail"].replace("\t", " ")
            writer.writerow(row)
    if reasons:
        print(
            f"gzsync: no entry has reason {reason}; the ledger holds: {', '.join(reasons)}",
            file=sys.stderr,
        )
    if selection.total > len(entries):
        print(
            f"gzsync: showing {len(entries)} of {selection.total} entries (use --limit)",
            file=sys.stderr,
        )


def _ledger_table(entries: list[LedgerEntry], console: Console | None = None) -> None:
    """The entries as a table fitting the console.

    Keys are never cut: the key column is as wide as the longest key. From 120 columns on
    every field has its column; below, the kind goes under the reason, attempts and times
    are left out (`--format tsv` has them) and details wrap; when even that leaves the
    details under 24 columns, each entry is printed as a short block instead.
    """
    out = console or stdout
    if not entries:
        out.print("The ledger holds no such entries.", highlight=False)
        return
    wide = out.width >= 120
    kinds = [e.kind + (", retry asked" if e.retry_requested else "") for e in entries]
    widths: dict[str, int] = {
        "stream": max(6, *(len(e.stream) for e in entries)),
        "key": max(3, *(len(e.key) for e in entries)),
        "rev": max(3, *(len(str(e.rev)) for e in entries)),
    }
    if wide:
        widths["kind"] = max(4, *(len(k) for k in kinds))
    widths["reason"] = max(6, *(len(e.reason) for e in entries), *([] if wide else map(len, kinds)))
    if wide:
        widths["attempts"] = 8
        widths["last seen (UTC)"] = 20
    gap = 2
    detail_width = out.width - sum(widths.values()) - gap * len(widths) - 1
    if detail_width < 24:
        _ledger_blocks(entries, out)
        return
    widths["detail"] = detail_width
    table = Table(box=None, padding=(0, gap, 0, 0), header_style="bold", collapse_padding=True)
    for name, width in widths.items():
        right = name in ("rev", "attempts")
        table.add_column(
            name,
            width=width,
            justify="right" if right else "left",
            no_wrap=name != "detail",
            overflow="fold",
        )
    for e, kind in zip(entries, kinds, strict=True):
        if wide:
            cells = [e.stream, e.key, str(e.rev), kind, e.reason, str(e.attempts)]
            cells.append(words.iso_time(e.last_seen))
        else:
            cells = [e.stream, e.key, str(e.rev), f"{e.reason}\n{kind}"]
        table.add_row(*cells, e.detail)
    out.print(table, highlight=False)


def _ledger_blocks(entries: list[LedgerEntry], out: Console) -> None:
    """One short block per entry, for terminals too narrow for a table."""
    for e in entries:
        retry = " · retry asked" if e.retry_requested else ""
        out.print(f"{e.stream} {e.key} rev {e.rev}", highlight=False, soft_wrap=True)
        out.print(f"  {e.kind} {e.reason}{retry} · {e.attempts} attempt(s)", highlight=False)
        if e.detail:
            out.print(f"  {e.detail}", highlight=False)


@ledger_app.command("retry")
def ledger_retry_command(
    keys: Annotated[
        list[str] | None,
        typer.Argument(
            help="Keys (Trader_ID or contact id) to retry; every matching entry when none.",
            show_default=False,
        ),
    ] = None,
    entity: EntityOption = None,
    reason: ReasonOption = None,
    kind: KindOption = None,
    run_id: RunOption = None,
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
    strict: StrictOption = False,
) -> None:
    """Retry ledger entries now: mark them, then run a sync (unless --mark-only).

    Filters as for `gzsync ledger` (--entity, --reason, --kind, --run) and keys narrow
    what is marked. A key that is not in the ledger is an error (exit 2) naming it, and
    nothing is marked. Marked entries are retried by the next run whatever their kind (a
    record Zoho refused is otherwise retried only when it changes in Galaxy). The run is a
    normal incremental run, so it also syncs what changed meanwhile; its exit code is this
    command's (0, 1, 3, or 75 when another run holds the lock: the marks stay for the next
    run).
    """
    from gzsync.cli.common import finish, progress_for, setup_logging

    # before marking: a config error changes nothing
    settings = settings_or_exit(for_sync=not mark_only)
    flt = _filter(entity, kind, reason, run_id, keys)
    with _store(settings) as store:
        if store is None:
            if flt.keys:
                fail(f"not in the ledger: {', '.join(flt.keys)} (the ledger is empty)", code=2)
            marked = 0
        else:
            try:
                marked = request_retry(store, flt)
            except LedgerSelectionError as exc:
                fail(str(exc), code=2)
    if not quiet or mark_only:
        print(f"gzsync: marked {marked} ledger entries for retry", file=sys.stderr)
    if marked == 0 and flt.narrowed:
        print(
            "gzsync: no ledger entry matches these filters (see `gzsync ledger`)", file=sys.stderr
        )
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
        report,
        json_out=json_out,
        quiet=quiet,
        log_format=log_format,
        title="gzsync ledger retry",
        strict=strict,
    )


@ledger_app.command("drop")
def ledger_drop_command(
    key: Annotated[str, typer.Argument(help="The key (Trader_ID or contact id) to give up on.")],
    entity: EntityOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Give up on one ledger entry (asks first unless --yes).

    The record leaves the ledger and is not retried; it syncs again only when it changes in
    Galaxy. Exit 2 when no entry has this key, or when the key is in several streams and
    --entity is missing; 1 when you answer no.
    """
    settings = settings_or_exit()
    stream = _stream(entity)
    with _store(settings) as store:
        if store is None:
            fail(f"no ledger entry {key} (the ledger is empty)", code=2)
        try:
            entry = find_for_drop(store, key, stream)
        except LedgerSelectionError as exc:
            fail(str(exc), code=2)
        question = (
            f"Drop {entry.stream} {entry.key} (rev {entry.rev}, {entry.kind} {entry.reason}, "
            f"{entry.attempts} attempts)? It will not be retried until it changes in Galaxy"
        )
        if not yes and not typer.confirm(question, default=False):
            fail("nothing dropped", code=1)
        try:
            drop(store, entry.key, entry.stream)
        except LedgerSelectionError as exc:
            fail(str(exc), code=2)
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
