"""`gzsync reconcile`: does Zoho hold exactly what Galaxy holds? Find the drift, repair it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gzsync.cli.common import LogFormatOption, fail, print_json, settings_or_exit, setup_logging
from gzsync.cli.common import stderr as console
from gzsync.config import Settings
from gzsync.errors import GzsyncError
from gzsync.reconcile import ReconcileOptions, ReconcileReport, reconcile
from gzsync.reconcile.classify import CLASSES, REPAIRED
from gzsync.reconcile.html import render_reconcile_html
from gzsync.reconcile.quotes import LINE_MODES
from gzsync.reconcile.report import STREAMS
from gzsync.sandbox.drift import CrmUser, make_drift
from gzsync.sync.options import parse_entities


def reconcile_command(
    entities: Annotated[
        str,
        typer.Option(
            "--entities",
            help="What to compare: accounts (customers and affiliates), contacts, quotes "
            "(Quotes and the Products their lines name).",
        ),
    ] = "accounts,contacts,quotes",
    quote_lines: Annotated[
        str,
        typer.Option(
            "--quote-lines",
            help="Which quotes' line items to compare (one Galaxy call and one Zoho GET per "
            "quote): auto (those whose header or Grand_Total says they may differ), all, none.",
        ),
    ] = "auto",
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (streams, samples, ...).")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", help="Also write an HTML page to this file.")
    ] = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Re-send missing, stale, drifted and link_wrong records through the normal "
            "write path; orphans follow ORPHAN_ACTION; duplicates are only listed.",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="With --repair: count what would be sent, send nothing."),
    ] = False,
    max_duration: Annotated[
        float | None,
        typer.Option(
            "--max-duration",
            help="Time budget in seconds; a stopped reconcile resumes on the next call.",
            min=1,
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table on stderr.")] = False,
    log_format: LogFormatOption = "text",
) -> None:
    """Compare the whole of each stream in Galaxy and Zoho and classify every key:
    missing, stale, drifted, orphan, duplicate, link_wrong, unkeyed.

    Exit codes: 0 Zoho matches Galaxy (with --repair: everything repairable was repaired;
    also a stop at the time budget), 1 differences remain, 2 configuration error,
    3 aborted (a service failed), 75 a sync holds the lock.
    """
    settings = settings_or_exit()
    setup_logging(settings.debug, log_format, quiet)
    try:
        mode = quote_lines.strip().lower()
        if mode not in LINE_MODES:
            raise ValueError(f"--quote-lines must be one of {', '.join(LINE_MODES)}")
        options = ReconcileOptions(
            entities=parse_entities(entities),
            quote_lines=mode,
            repair=repair,
            dry_run=dry_run,
            max_duration_s=max_duration,
        )
    except ValueError as exc:
        fail(str(exc), code=2)
    try:
        report = reconcile(settings, options)
    except GzsyncError as exc:
        fail(exc)
    data = report.to_json()
    if output is not None:
        output.write_text(render_reconcile_html(data), encoding="utf-8")
    if json_out:
        print_json(data)
    if not quiet and log_format != "json":
        _render(report)
    raise typer.Exit(report.exit_code)


def _render(report: ReconcileReport) -> None:
    data = report.to_json()
    table = Table(title=f"gzsync reconcile: {data['status']}")
    table.add_column("class")
    streams = list(data["streams"])
    for stream in streams:
        table.add_column(stream, justify="right")
    table.add_row("keys compared", *(str(data["checked"].get(s, 0)) for s in streams))
    for cls in CLASSES:
        table.add_row(cls, *(str(data["streams"][s][cls]) for s in streams))
    console.print(table)
    lines = data.get("quote_lines")
    if lines:
        console.print(
            f"quote line items ({lines['mode']}): {lines['galaxy_reads']} offers' lines read, "
            f"{lines['compared']} quotes' rows compared, {lines['differ']} differ"
            + (f", {lines['read_failed']} could not be read" if lines["read_failed"] else ""),
            highlight=False,
        )
    for stream, repaired in data["repaired"].items():
        console.print(
            f"{stream}: re-sent {repaired['sent']}, confirmed {repaired['confirmed']}, "
            f"to the ledger {repaired['ledgered']}, orphans tagged {repaired['tagged']}"
            + (" (dry run)" if report.dry_run else ""),
            highlight=False,
        )
    for merge in data["merge_candidates"][:20]:
        console.print(
            f"duplicate {merge['stream']} {merge['key']}: merge Zoho ids {', '.join(merge['ids'])}",
            highlight=False,
        )
    console.print(
        f"Zoho calls {data['zoho_calls']} ({data['zoho_credits']} credits) · "
        f"Galaxy calls {data['galaxy_calls']} · {data['duration_s']} s",
        highlight=False,
    )
    if report.message:
        console.print(report.message, highlight=False)


def run_drift_demo(
    settings: Settings, galaxy: Any, zoho_api_url: str, *, quiet: bool
) -> dict[str, Any]:
    """`gzsync demo --drift`: a CRM user tampers with Zoho through its API (every class
    once per stream), then reconcile finds it, repairs it, and finds nothing left to repair."""
    with CrmUser(zoho_api_url) as user:
        drift = make_drift(
            user,
            customers=galaxy.rows(settings.galaxy_customers_view),
            affiliates=galaxy.rows(settings.galaxy_affiliates_view),
            contacts=galaxy.rows(settings.galaxy_contacts_view),
        )
    phase1 = STREAMS  # the drift made is phase 1's (accounts, contacts)
    found = reconcile(settings, ReconcileOptions(entities=phase1))
    repaired = reconcile(settings, ReconcileOptions(entities=phase1, repair=True))
    after = reconcile(settings, ReconcileOptions(entities=phase1))
    made = {s: {c: len(getattr(drift, s).get(c, ())) for c in CLASSES} for s in STREAMS}
    exact = all(found.counts(s).counts == made[s] for s in STREAMS)
    converged = all(after.counts(s).counts[c] == 0 for s in STREAMS for c in REPAIRED)
    if not quiet:
        console.print("A CRM user changed Zoho: every class once per stream.", highlight=False)
        for title, report in (("found", found), ("repaired", repaired), ("after", after)):
            console.print(f"reconcile ({title}):", highlight=False)
            _render(report)
        console.print(
            ("OK: " if exact and converged else "FAILED: ")
            + f"found exactly what was made: {exact}; nothing left to repair: {converged}",
            highlight=False,
        )
    return {
        "ok": exact and converged,
        "summary": (
            f"a CRM user made {sum(sum(m.values()) for m in made.values())} differences "
            "(every class, both streams); reconcile found "
            f"{'exactly those' if exact else 'OTHERS'}; "
            f"after --repair {'nothing is left to repair' if converged else 'SOME ARE LEFT'} "
            "(orphans, duplicates and hand-made records stay for a person)"
        ),
        "made": made,
        "found": found.to_json()["streams"],
        "repaired": repaired.to_json()["repaired"],
        "after": after.to_json()["streams"],
    }
