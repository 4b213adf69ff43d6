"""The `gzsync` command line: thin — parse, call the library, print, exit with a code.

Exit codes (a contract for cron, systemd and Catalyst):
0 everything synced (or stopped cleanly at the time budget) · 1 finished, some records wait
in the ledger · 2 configuration error · 3 aborted: a service unreachable or refusing our
credentials, nothing half-written · 75 another run holds the lock.
"""

from __future__ import annotations

import typer

from gzsync.cli import demo, run, sandbox

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


def main() -> None:
    """Console-script entry point."""
    app()
