"""`gzsync catalyst init`: write a ready Zoho Catalyst Job function folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gzsync.catalyst.scaffold import SUPPORTED_STACKS, write_function_folder
from gzsync.cli.common import fail

catalyst_app = typer.Typer(
    help="Deploy gzsync as a Zoho Catalyst Job function.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@catalyst_app.command("init")
def catalyst_init_command(
    directory: Annotated[
        Path | None,
        typer.Argument(
            metavar="[DIR]",
            help="Folder to write; default functions/<function name> (a Catalyst project's "
            "layout).",
            show_default=False,
            file_okay=False,
        ),
    ] = None,
    function_name: Annotated[
        str, typer.Option("--function-name", help="The Catalyst function's name.")
    ] = "gzsync_job",
    stack: Annotated[
        str, typer.Option("--stack", help=f"Python stack: {', '.join(SUPPORTED_STACKS)}.")
    ] = SUPPORTED_STACKS[0],
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    gzsync_requirement: Annotated[
        str | None,
        typer.Option(
            "--gzsync-requirement",
            help="requirements.txt line that installs gzsync (a private index name or a Git "
            "URL) instead of the wheel of this gzsync that init writes into DIR.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write catalyst-config.json, main.py, requirements.txt, a wheel of this gzsync and a
    README.

    requirements.txt installs gzsync from that wheel, by file and with its sha256, so a
    deploy needs no package index for gzsync. The README says how to create the NoSQL
    table, set the environment variables, and schedule the job every two hours in a job
    pool. No secret is written. Exit 1 when a
    file exists (use --force), 2 for a bad name or stack.
    """
    target = directory or Path("functions") / function_name
    try:
        written = write_function_folder(
            target,
            function_name=function_name,
            stack=stack,
            force=force,
            gzsync_requirement=gzsync_requirement,
        )
    except FileExistsError as exc:
        fail(str(exc).replace("use force", "use --force"), code=1)
    except ValueError as exc:
        fail(str(exc), code=2)
    for path in written:
        sys.stdout.write(f"{path}\n")
    print(
        f"gzsync: wrote the Catalyst function {function_name} in {target}; see its README.md",
        file=sys.stderr,
    )
