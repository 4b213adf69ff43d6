"""`gzsync warnings`: the records of a run whose values were dropped or changed.

For an ERP admin fixing data at the source: each line names the record (entity, key,
revision), the Zoho field, the reason (``invalid_number``, ``name_truncated``,
``last_name_fallback`` ...) and the Galaxy value. Reads only the state store, where every
run keeps its warnings (the last 50 runs; at most 20,000 per entity and run).
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gzsync.cli.common import fail, print_json, settings_or_exit
from gzsync.cli.ops import EntityOption, _store, _stream
from gzsync.state.store import WarningRecord

stdout = Console()


def warnings_command(
    run_id: Annotated[
        str | None,
        typer.Option("--run", help="Run id (see gzsync status); the last run when omitted."),
    ] = None,
    entity: EntityOption = None,
    reason: Annotated[
        str | None,
        typer.Option("--reason", "-r", help="Only this reason, e.g. invalid_number."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most N warnings.", min=1)] = 1000,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """List the records of a run whose values were dropped or changed on the way to Zoho.

    A table on a terminal, one tab-separated line per warning otherwise (entity, key, rev,
    field, reason, value, detail). `--json` prints {"run_id", "warnings": [...], "shown",
    "total"}. Exit 1 when there is no such run.
    """
    settings = settings_or_exit()
    stream = _stream(entity)
    with _store(settings) as store:
        found = None
        if store is not None:
            runs = store.runs(1) if run_id is None else []
            found = runs[0] if runs else (store.run(run_id) if run_id else None)
        if store is None or found is None:
            fail(f"no run {run_id}" if run_id else "no runs recorded yet", code=1)
        every = store.warnings_list(found.run_id, stream=stream, reason=reason)
    shown = every[:limit]
    if json_out:
        print_json(
            {
                "run_id": found.run_id,
                "warnings": [asdict(w) for w in shown],
                "shown": len(shown),
                "total": len(every),
            }
        )
        return
    if sys.stdout.isatty():
        _table(found.run_id, shown)
    else:
        for w in shown:
            cells = (w.stream, w.key, w.rev, w.field, w.reason, w.value, w.detail)
            sys.stdout.write("\t".join(_flat(c) for c in cells) + "\n")
    if len(every) > len(shown):
        print(
            f"gzsync: showing {len(shown)} of {len(every)} warnings (use --limit)", file=sys.stderr
        )


def _flat(value: object) -> str:
    return str(value).replace("\t", " ").replace("\n", " ")


def _table(run_id: str, warnings: list[WarningRecord]) -> None:
    if not warnings:
        stdout.print(f"Run {run_id} dropped or changed no values.", highlight=False)
        return
    table = Table(title=f"Values dropped or changed in run {run_id}")
    for column in ("entity", "key", "field", "reason", "value"):
        table.add_column(column)
    for w in warnings:
        table.add_row(w.stream, w.key, w.field, w.reason, w.value)
    stdout.print(table, highlight=False)
