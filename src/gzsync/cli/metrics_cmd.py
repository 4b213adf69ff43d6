"""`gzsync metrics`: the Prometheus metrics, on stdout or into a node_exporter textfile."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gzsync.cli.common import fail, settings_or_exit
from gzsync.errors import GzsyncError


def metrics_command(
    textfile: Annotated[
        Path | None,
        typer.Option(
            "--textfile",
            help="Write here (atomically) for node_exporter's textfile collector, e.g. "
            "/var/lib/node_exporter/textfile/gzsync.prom.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Print gzsync's metrics in Prometheus text format, or write them to --textfile.

    Read from the state store only (no network): runs by status, the last run's records by
    stream and outcome, the ledger by reason, duration, credits, last success time. Run it
    from cron after `gzsync run` (or every few minutes) on hosts without the console.
    """
    from gzsync import metrics
    from gzsync.state import open_store

    settings = settings_or_exit()
    try:
        if settings.state_backend == "sqlite" and not Path(settings.state_db).exists():
            store = None
        else:
            store = open_store(settings)
        try:
            if textfile is None:
                sys.stdout.write(metrics.render(store).decode())
            else:
                metrics.write_textfile(textfile, store)
        finally:
            if store is not None:
                store.close()
    except GzsyncError as exc:
        fail(exc)
    except OSError as exc:
        fail(f"cannot write {textfile}: {exc.strerror}", code=1)
