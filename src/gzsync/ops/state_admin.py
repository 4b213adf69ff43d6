"""Looking after the SQLite state file: inspect, back up, restore, reset.

What `gzsync check` and `gzsync state ...` do to the state file, apart from printing and
asking. Recovery follows Meltano's state commands: a backup is a consistent copy made with
SQLite's online backup API (safe while a run writes); a restore checks the backup first
(it opens, passes `PRAGMA quick_check`, has gzsync's tables and a schema this gzsync
reads) and then replaces the file whole; a reset moves the file aside (never deletes it),
so the next run starts from Zoho's watermark (`WATERMARK_REREAD`).

Restore and reset refuse while a run holds the OS lock on `<STATE_DB>.lock` (exit 75):
replacing a file under a live run would lose what it writes.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from gzsync.errors import LockHeldError, StateError
from gzsync.ops import words
from gzsync.state.sqlite import SCHEMA_VERSION
from gzsync.streams import WATERMARKED

_TABLES = frozenset({"kv", "watermarks", "ledger", "ids", "lock", "runs"})


@dataclass(frozen=True, slots=True)
class StateSummary:
    """What a state file holds, in numbers; `problems` empty when it is sound."""

    path: Path
    exists: bool
    watermarks: dict[str, int | None] = field(default_factory=dict)
    ledger: int = 0
    ids: int = 0
    runs: int = 0
    last_run: str | None = None
    lock_holder: str | None = None
    lock_expires_at: float | None = None
    problems: tuple[str, ...] = ()

    @property
    def sound(self) -> bool:
        return self.exists and not self.problems

    def describe(self) -> str:
        """One sentence: what would be lost if this file went."""
        if not self.exists:
            return f"{self.path} does not exist (nothing to lose)"
        if self.problems:
            return f"{self.path} is unreadable ({'; '.join(self.problems)})"
        marks = words.watermarks(self.watermarks)
        last = f", the last {self.last_run}" if self.last_run else ""
        return (
            f"{self.path}: watermarks {marks}; {self.ledger} ledger entries; "
            f"{self.ids} cached Zoho ids; {self.runs} runs in the history{last}"
        )


def summarize(path: Path) -> StateSummary:
    """Read a state file without changing it (nor creating it) and check it is sound."""
    if not path.exists():
        return StateSummary(path=path, exists=False)
    try:
        with _read_only(path) as conn:
            problems = _problems(conn)
            if problems:
                return StateSummary(path=path, exists=True, problems=tuple(problems))
            marks = dict.fromkeys(WATERMARKED) | {
                str(s): int(r) for s, r in conn.execute("SELECT stream, rev FROM watermarks")
            }
            ledger = conn.execute("SELECT count(*) FROM ledger").fetchone()[0]
            ids = conn.execute("SELECT count(*) FROM ids").fetchone()[0]
            runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
            last = conn.execute(
                "SELECT run_id FROM runs ORDER BY started_at DESC, rowid DESC LIMIT 1"
            ).fetchone()
            lock = conn.execute("SELECT owner, expires_at FROM lock").fetchone()
    except sqlite3.Error as exc:
        return StateSummary(path=path, exists=True, problems=(f"SQLite: {exc}",))
    return StateSummary(
        path=path,
        exists=True,
        watermarks=marks,
        ledger=int(ledger),
        ids=int(ids),
        runs=int(runs),
        last_run=None if last is None else str(last[0]),
        lock_holder=None if lock is None else str(lock[0]),
        lock_expires_at=None if lock is None else float(lock[1]),
    )


def writable(path: Path) -> str | None:
    """Why the state file (or, when it does not exist yet, its folder) cannot be written;
    None when it can. Creates nothing."""
    target = path if path.exists() else _existing_parent(path)
    if not os.access(target, os.W_OK):
        return f"{target} is not writable by this user"
    if path.exists():
        try:
            conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=1.0)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
            finally:
                conn.close()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                return None  # a run is writing: the file is writable, just busy
            return f"{path} cannot be opened for writing ({exc})"
        except sqlite3.Error as exc:
            return f"{path} cannot be opened for writing ({exc})"
    return None


def run_in_progress(path: Path) -> bool:
    """True when a live process holds the run's OS lock on `<path>.lock`."""
    lock_path = path.with_name(path.name + ".lock")
    if fcntl is None or not lock_path.exists():
        return False
    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def backup(path: Path, destination: Path) -> StateSummary:
    """Copy the state file to `destination` (mode 0600), consistently even while a run
    writes; returns what the copy holds."""
    source = summarize(path)
    if not source.exists:
        raise StateError(f"state store {path} does not exist: nothing to back up")
    if source.problems:
        raise StateError(f"state store {path} is unreadable: {'; '.join(source.problems)}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(destination.name + ".partial")
    _copy(path, tmp)
    os.replace(tmp, destination)
    return summarize(destination)


def restore(backup_file: Path, path: Path) -> StateSummary:
    """Replace the state file with a checked copy of `backup_file`; returns what it holds."""
    incoming = summarize(backup_file)
    if not incoming.exists:
        raise StateError(f"{backup_file} does not exist")
    if incoming.problems:
        raise StateError(f"{backup_file} is not a usable backup: {'; '.join(incoming.problems)}")
    _refuse_while_running(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".restoring")
    _copy(backup_file, tmp)
    with _lock_row_cleared(tmp):
        pass
    _drop_journal(path)  # the old file's WAL must not be replayed onto the new one
    os.replace(tmp, path)
    return summarize(path)


def reset(path: Path) -> Path | None:
    """Move the state file aside (with its WAL checkpointed); returns where it went, or
    None when there was no file."""
    if not path.exists():
        return None
    _refuse_while_running(path)
    with contextlib.suppress(sqlite3.Error):
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=1.0)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.reset-{stamp}")
    os.replace(path, aside)
    for suffix in ("-wal", "-shm"):
        journal = path.with_name(path.name + suffix)
        if journal.exists():
            os.replace(journal, aside.with_name(aside.name + suffix))
    return aside


# -- internals ------------------------------------------------------------------------------


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0)
    try:
        yield conn
    finally:
        conn.close()


def _problems(conn: sqlite3.Connection) -> list[str]:
    try:
        check = [str(row[0]) for row in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        return [f"not a SQLite database or damaged ({exc})"]
    if check != ["ok"]:
        return ["damaged: " + "; ".join(check[:3])]
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        return [f"schema version {version}, newer than this gzsync's {SCHEMA_VERSION}"]
    tables = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    missing = _TABLES - tables
    if missing:
        return [f"not a gzsync state file (no {', '.join(sorted(missing))} table)"]
    return []


def _copy(source: Path, destination: Path) -> None:
    fd = os.open(destination, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=5.0)
    try:
        dst = sqlite3.connect(destination)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            dst.close()
    finally:
        src.close()
    os.chmod(destination, 0o600)


@contextlib.contextmanager
def _lock_row_cleared(path: Path) -> Iterator[None]:
    """A restored file must not carry the run lock of the run that was backed up."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("DELETE FROM lock")
        conn.commit()
        yield
    finally:
        conn.close()


def _drop_journal(path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()


def _refuse_while_running(path: Path) -> None:
    if run_in_progress(path):
        raise LockHeldError("a gzsync run in progress on this machine", time.time())


def _existing_parent(path: Path) -> Path:
    parent = path.parent.resolve()
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent
