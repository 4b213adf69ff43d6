"""The `gzsync` command line: thin — parse, call the library, print, exit with a code.

Exit codes (a contract for cron, systemd and Catalyst):
0 everything synced (or stopped cleanly at the time budget) · 1 finished, some records wait
in the ledger · 2 configuration error · 3 aborted: a service unreachable or refusing our
credentials, nothing half-written · 75 another run holds the lock.
"""

from __future__ import annotations

import typer

from gzsync.cli import catalyst_cmd, check, demo, ops, run, sandbox, schedule

app = typer.Typer(
    name="gzsync",
    help="Keep Zoho CRM in step with Galaxy ERP: customers, affiliates and contacts, "
    "one way, incrementally.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("run")(run.run_command)
app.command("demo")(demo.demo_command)
app.command("sandbox")(sandbox.sandbox_command)
app.command("check")(check.check_command)
app.command("status")(ops.status_command)
app.add_typer(ops.ledger_app, name="ledger")
app.command("report")(ops.report_command)
app.command("schedule", epilog=schedule.EPILOG)(schedule.schedule_command)
app.add_typer(catalyst_cmd.catalyst_app, name="catalyst")


def main() -> None:
    """Console-script entry point."""
    app()
