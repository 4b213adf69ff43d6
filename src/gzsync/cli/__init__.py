"""The `gzsync` command line: thin — parse, call the library, print, exit with a code.

Exit codes (a contract for cron, systemd and Catalyst):
0 everything synced (or stopped cleanly at the time budget, or only records rejected by
earlier runs wait) · 1 finished, and this run added rejections or left transient failures
(`--strict`: any record waits in the ledger) · 2 configuration error · 3 aborted: a service
unreachable or refusing our credentials, nothing half-written · 75 another run holds the
lock.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gzsync import __version__
from gzsync.cli import (
    alerts_cmd,
    catalyst_cmd,
    check,
    console_cmd,
    demo,
    metrics_cmd,
    ops,
    quality,
    reconcile_cmd,
    run,
    sandbox,
    schedule,
    state_cmd,
)

app = typer.Typer(
    name="gzsync",
    help="Keep Zoho CRM in step with Galaxy ERP: customers, affiliates, contacts and "
    "sales offers (Quotes with their Products), one way, incrementally.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gzsync {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Keep Zoho CRM in step with Galaxy ERP: customers, affiliates, contacts and sales offers
    (Quotes with their Products), one way, incrementally. Start with `gzsync demo`;
    `gzsync COMMAND --help` explains each command."""


app.command("run")(run.run_command)
app.command("demo")(demo.demo_command)
app.command("sandbox")(sandbox.sandbox_command)
app.command("check")(check.check_command)
app.command("status")(ops.status_command)
app.add_typer(ops.ledger_app, name="ledger")
app.command("report")(ops.report_command)
app.command("warnings")(quality.warnings_command)
app.command("schedule", epilog=schedule.EPILOG)(schedule.schedule_command)
app.add_typer(catalyst_cmd.catalyst_app, name="catalyst")
app.add_typer(state_cmd.state_app, name="state")
app.command("serve")(console_cmd.serve_command)
app.command("metrics")(metrics_cmd.metrics_command)
app.command("alerts")(alerts_cmd.alerts_command)
app.command("reconcile")(reconcile_cmd.reconcile_command)


def main() -> None:
    """Console-script entry point."""
    app()
