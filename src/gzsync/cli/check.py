"""`gzsync check`: is this deployment ready to sync? Configuration, both systems, Zoho's
fields."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gzsync.cli.common import LogFormatOption, print_json, settings_or_exit
from gzsync.config import setting_names
from gzsync.config_report import near_misses
from gzsync.ops.check import CheckResult, Problem, probe


def name_problems() -> list[Problem]:
    """Names in the environment or `.env` close to a setting but not one: a typo that
    would silently leave the setting at its default."""
    return [
        Problem(m.name, f"(in {m.source}) is not a gzsync setting", f"Rename it to {m.meant}.")
        for m in near_misses(setting_names())
    ]


def check_command(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object: ok, checks, problems.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the problems (and no logs).")
    ] = False,
    log_format: LogFormatOption = "text",
) -> None:
    """Check the configuration, both systems and Zoho's fields against our mappings.

    Loads the settings (names close to a setting but not one are problems); logs in to
    Galaxy and reads one row of each view; opens the state store read-write, checks it is
    not corrupt and says whose the run lock is; gets a Zoho token and the field metadata of
    Accounts and Contacts; checks that every mapped field exists with a compatible type,
    that Trader_ID and Galaxy_Contact_ID are unique fields, that Affiliate_To and the
    contact's Account_Name are lookups to Accounts, and that Zoho has no mandatory field
    gzsync does not fill. Every problem is printed with its fix. Writes nothing: the
    probes use a throwaway state store, so they test the credentials themselves.

    Exit codes: 0 ready, 1 problems found (listed), 2 configuration error.
    """
    from gzsync.cli.common import setup_logging

    settings = settings_or_exit(for_sync=True)
    setup_logging(settings.debug, log_format, quiet)
    result = probe(settings)
    result.problems[:0] = name_problems()
    if json_out:
        print_json(result.to_json())
    else:
        _print(result, quiet=quiet)
    raise typer.Exit(0 if result.ok else 1)


def _print(result: CheckResult, *, quiet: bool) -> None:
    out = sys.stdout
    if not quiet:
        out.write("ok   configuration\n")
        for name, ok, detail in result.checks:
            out.write(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}\n")
    if result.ok:
        if not quiet:
            out.write("Ready to sync.\n")
        return
    out.write(f"{len(result.problems)} problem(s):\n")
    for problem in result.problems:
        out.write(f"- {problem.field} {problem.problem}\n  fix: {problem.fix}\n")
