"""`gzsync state`: back up, restore, reset the state store, or move a watermark.

Each command says what it would lose before it asks (`--yes` skips the question; a "no"
exits 1 with nothing changed). Backup, restore and reset work on the SQLite state file
(`STATE_DB`); set-watermark works on any backend and takes the run lock while it writes.
Exit codes: 0 done · 1 answered no, or nothing to do · 2 bad arguments or a backend that
does not support the command · 3 the state store failed · 75 a run is in progress.
"""

from __future__ import annotations

import os
import socket
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gzsync.cli.common import fail, settings_or_exit
from gzsync.config import Settings
from gzsync.errors import GzsyncError
from gzsync.ops import state_admin, words

state_app = typer.Typer(
    help="Back up, restore or reset the state store, or move a watermark (each says what "
    "it loses before it asks).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


class Stream(StrEnum):
    """Streams with a watermark."""

    customers = "customers"
    contacts = "contacts"
    quotes = "quotes"


def _say(text: str) -> None:
    print(f"gzsync: {text}", file=sys.stderr)


def _confirm(question: str, yes: bool) -> None:
    if not yes and not typer.confirm(question, default=False):
        fail("nothing changed", code=1)


def _sqlite_only(settings: Settings, command: str) -> Path:
    if settings.state_backend != "sqlite":
        fail(
            f"state {command} works on the SQLite state file; with STATE_BACKEND="
            f"{settings.state_backend} use the Catalyst console (Cloud Scale > NoSQL)",
            code=2,
        )
    return Path(settings.state_db)


@state_app.command("backup")
def state_backup_command(
    file: Annotated[Path, typer.Argument(help="Where to write the copy.", dir_okay=False)],
    yes: YesOption = False,
) -> None:
    """Copy the state file to FILE, consistently even while a run writes.

    Loses nothing, unless FILE exists: then it says what FILE holds and asks first.
    """
    settings = settings_or_exit()
    path = _sqlite_only(settings, "backup")
    if file.exists():
        old = state_admin.summarize(file)
        _say(f"{file} exists and would be overwritten; it holds: {old.describe()}")
        _confirm(f"Overwrite {file}?", yes)
    try:
        copy = state_admin.backup(path, file)
    except GzsyncError as exc:
        fail(exc)
    _say(f"backed up to {copy.describe()}")


@state_app.command("restore")
def state_restore_command(
    file: Annotated[Path, typer.Argument(help="A backup made by `gzsync state backup`.")],
    yes: YesOption = False,
) -> None:
    """Replace the state file with FILE (checked first: it must be a sound gzsync state).

    Says what the current state holds and what FILE holds, then asks. What was synced
    after the backup is read from Galaxy again and upserted again (upserts are keyed, so
    nothing is duplicated); ledger entries written since are forgotten until those records
    fail again. Refuses while a run is in progress (exit 75).
    """
    settings = settings_or_exit()
    path = _sqlite_only(settings, "restore")
    incoming = state_admin.summarize(file)
    if not incoming.sound:
        fail(f"{incoming.describe()}: not restored", code=2)
    current = state_admin.summarize(path)
    _say(f"restoring replaces the current state, {current.describe()}")
    _say(f"with the backup, {incoming.describe()}")
    _say(
        "what was synced after the backup is read from Galaxy and upserted again (no "
        "duplicates); ledger entries written since are forgotten"
    )
    _confirm(f"Replace {path} with {file}?", yes)
    try:
        restored = state_admin.restore(file, path)
    except GzsyncError as exc:
        fail(exc)
    _say(f"restored: {restored.describe()}")


@state_app.command("reset")
def state_reset_command(yes: YesOption = False) -> None:
    """Start from an empty state: the file is moved aside (never deleted).

    Says what is lost first: the watermarks (the next run starts from Zoho's highest
    Rev_Number, WATERMARK_REREAD revisions back), the ledger (records rejected earlier are
    not retried until they change in Galaxy), the id cache, the Galaxy session, the Zoho
    token and the run history. Refuses while a run is in progress (exit 75).
    """
    settings = settings_or_exit()
    path = _sqlite_only(settings, "reset")
    current = state_admin.summarize(path)
    if not current.exists:
        _say(f"{path} does not exist: nothing to reset")
        raise typer.Exit(1)
    _say(f"reset loses {current.describe()}")
    _say(
        "the next run starts from Zoho's highest Rev_Number (WATERMARK_REREAD back); records "
        "waiting in the ledger are not retried until they change in Galaxy"
    )
    _confirm(f"Move {path} aside and start empty?", yes)
    try:
        aside = state_admin.reset(path)
    except GzsyncError as exc:
        fail(exc)
    except OSError as exc:
        fail(f"cannot move {path} aside: {exc.strerror}", code=3)
    _say(f"reset: the old state is kept as {aside}")


@state_app.command("set-watermark")
def state_set_watermark_command(
    stream: Annotated[Stream, typer.Argument(help="customers, contacts or quotes.")],
    rev: Annotated[int, typer.Argument(help="The Galaxy revision to continue above.", min=0)],
    yes: YesOption = False,
) -> None:
    """Set a stream's watermark: the next run reads revisions above REV.

    Says what changes first. Lowering it re-reads the revisions in between (upserts are
    idempotent: nothing is duplicated, it costs API calls); raising it skips them, and the
    rows in between are never synced unless they change again in Galaxy. Takes the run
    lock while it writes (exit 75 when a run holds it).
    """
    from gzsync.state import open_store

    settings = settings_or_exit()
    if settings.state_backend == "sqlite" and not Path(settings.state_db).exists():
        fail(f"{settings.state_db} does not exist yet: run a sync first", code=1)
    try:
        store = open_store(settings)
    except GzsyncError as exc:
        fail(exc)
    owner = f"{socket.gethostname()} pid {os.getpid()} gzsync state set-watermark"
    try:
        current = store.get_watermark(stream.value)
        if current is not None and rev < current:
            effect = (
                f"revisions {rev + 1}..{current} are read again and upserted again "
                "(no duplicates; it costs API calls)"
            )
        elif current is not None and rev > current:
            effect = (
                f"revisions {current + 1}..{rev} are SKIPPED: those rows are never synced "
                "unless they change again in Galaxy"
            )
        else:
            effect = "the next run reads every revision above it"
        _say(f"{stream.value} watermark {words.watermark(current)} -> {rev}: {effect}")
        _confirm(f"Set the {stream.value} watermark to {rev}?", yes)
        store.acquire_lock(owner, settings.lock_ttl_s)
        try:
            store.set_watermark(stream.value, rev)
        finally:
            store.release_lock(owner)
    except GzsyncError as exc:
        fail(exc)
    finally:
        store.close()
    _say(f"{stream.value} watermark set to {rev}")
