"""Every command has a working --help and is documented (after sqlite-utils' test_docs)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from gzsync.cli import app
from gzsync.cli.schedule import EPILOG

ROOT = Path(__file__).resolve().parents[2]


def command_paths() -> list[tuple[str, ...]]:
    """Every command and subcommand registered on the app, e.g. ("ledger", "retry")."""
    paths: list[tuple[str, ...]] = []

    def walk(command: Any, prefix: tuple[str, ...]) -> None:
        # duck-typed: typer vendors its own click, so isinstance(click.Group) would not hold
        for name, sub in getattr(command, "commands", {}).items():
            paths.append((*prefix, name))
            walk(sub, (*prefix, name))

    walk(typer.main.get_command(app), ())
    return paths


COMMANDS = command_paths()


def test_the_expected_commands_are_registered() -> None:
    names = {" ".join(p) for p in COMMANDS}
    assert {
        "run",
        "check",
        "status",
        "ledger",
        "ledger retry",
        "ledger drop",
        "report",
        "schedule",
        "catalyst",
        "catalyst init",
    } <= names


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_help_exits_0(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_documented_in_readme(path: tuple[str, ...]) -> None:
    """`gzsync <path>` appears in a code span or block, or a heading names it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    name = " ".join(path)
    in_code = re.search(rf"`[^`\n]*gzsync {re.escape(name)}(?![\w-])", readme) or re.search(
        rf"^\s*(?:\$ )?gzsync {re.escape(name)}(?![\w-])", readme, re.MULTILINE
    )
    in_heading = re.search(rf"^#+ .*\b{re.escape(name)}\b", readme, re.MULTILINE)
    assert in_code or in_heading, f"README.md does not document `gzsync {name}`"


@pytest.mark.parametrize("long_running", ["run", "schedule", "check", "ledger retry"])
def test_long_running_commands_take_quiet_and_log_format(long_running: str) -> None:
    result = CliRunner().invoke(app, [*long_running.split(), "--help"])
    assert "--quiet" in result.stdout
    assert "--log-format" in result.stdout


def test_deploy_guide_holds_the_schedule_examples() -> None:
    guide = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    examples = [
        line.strip()
        for line in EPILOG.splitlines()
        if line.strip() and line.strip() != "\b" and not line.startswith(("Prefer", "flock"))
    ]
    code_lines = [line for line in examples if not line.startswith(("#", "In a ", "it stops"))]
    missing = [line for line in code_lines if line not in guide]
    assert not missing, f"docs/DEPLOY.md lacks: {missing}"
    for topic in ("gzsync schedule --every 2h", "gzsync catalyst init", "OnCalendar=", "flock"):
        assert topic in guide
