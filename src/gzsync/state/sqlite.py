"""The SQLite state store: one local file holding everything gzsync keeps between runs.

The file is created with mode 0600 (it holds the Galaxy session and the Zoho access token).
It runs in WAL mode with `synchronous=NORMAL`: a committed transaction survives the process
being killed at any point; on power loss or an OS crash the last few transactions may be lost,
but always whole ones, never half of one. Because :meth:`SqliteStore.commit_batch` writes a
batch's ledger, id cache and watermark in one transaction, losing it only means the next run
fetches those records again and upserts them again (upserts are keyed by `Trader_ID`, so this
repeats work but loses and duplicates nothing).

Every write is a `BEGIN IMMEDIATE` transaction, so concurrent writers (two processes, or two
connections) queue on SQLite's write lock, waiting up to `busy_timeout_s`, instead of failing
when a read turns into a write. The schema version lives in `PRAGMA user_version`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, cast

from gzsync.errors import LockHeldError, StateError

try:  # POSIX only; elsewhere a killed run's lock is taken over when it expires
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
from gzsync.state.store import (
    WARNING_RUNS_KEPT,
    BatchCommit,
    LedgerEntry,
    LedgerKind,
    RunRecord,
    StreamName,
    WarningRecord,
)

#: Each item brings the schema from version `i` to `i + 1`; `PRAGMA user_version` says where a
#: file stands. Append new migrations, never edit a released one.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE kv (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            expires_at REAL
        ) STRICT""",
        """CREATE TABLE watermarks (
            stream TEXT PRIMARY KEY,
            rev INTEGER NOT NULL
        ) STRICT""",
        """CREATE TABLE ledger (
            stream TEXT NOT NULL,
            key TEXT NOT NULL,
            rev INTEGER NOT NULL,
            kind TEXT NOT NULL
                CHECK (kind IN ('rejected', 'refused', 'failed', 'waiting_parent')),
            reason TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            attempts INTEGER NOT NULL,
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL,
            retry_requested INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (stream, key)
        ) STRICT""",
        "CREATE INDEX ledger_by_rev ON ledger (rev, stream, key)",
        """CREATE TABLE ids (
            module TEXT NOT NULL,
            key TEXT NOT NULL,
            zoho_id TEXT NOT NULL,
            PRIMARY KEY (module, key)
        ) STRICT, WITHOUT ROWID""",
        """CREATE TABLE lock (
            singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
            owner TEXT NOT NULL,
            expires_at REAL NOT NULL,
            acquired_at REAL NOT NULL
        ) STRICT""",
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            started_at REAL NOT NULL,
            finished_at REAL,
            status TEXT NOT NULL,
            report TEXT NOT NULL DEFAULT '{}'
        ) STRICT""",
        "CREATE INDEX runs_by_start ON runs (started_at)",
    ),
    (  # 2: data-quality warnings per run, meta entries (issue 11)
        """CREATE TABLE warnings (
            run_id TEXT NOT NULL,
            stream TEXT NOT NULL,
            key TEXT NOT NULL,
            rev INTEGER NOT NULL,
            field TEXT NOT NULL,
            reason TEXT NOT NULL,
            value TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT ''
        ) STRICT""",
        "CREATE INDEX warnings_by_run ON warnings (run_id, stream, reason)",
        """CREATE TABLE meta (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) STRICT""",
    ),
)

#: The schema version this code writes and reads.
SCHEMA_VERSION = len(_MIGRATIONS)

# Below SQLite's historical limit of 999 bound parameters, with room for the fixed ones.
_MAX_IN_PARAMS = 500

_LEDGER_COLUMNS = (
    "stream, key, rev, kind, reason, detail, attempts, first_seen, last_seen, retry_requested"
)

_UPSERT_LEDGER = """
    INSERT INTO ledger (
        stream, key, rev, kind, reason, detail, attempts, first_seen, last_seen, retry_requested
    ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (stream, key) DO UPDATE SET
        rev = excluded.rev,
        kind = excluded.kind,
        reason = excluded.reason,
        detail = excluded.detail,
        attempts = ledger.attempts + 1,
        last_seen = excluded.last_seen,
        retry_requested = 0
"""

_PUT_ID = """
    INSERT INTO ids (module, key, zoho_id) VALUES (?, ?, ?)
    ON CONFLICT (module, key) DO UPDATE SET zoho_id = excluded.zoho_id
"""


class SqliteStore:
    """The default :class:`~gzsync.state.store.StateStore`: one SQLite file.

    `clock` gives the current epoch time for expiries, the lock and ledger timestamps; tests
    pass a fake one so nothing sleeps. Safe to use from several threads (one connection,
    guarded by a lock) and from several processes (SQLite's own locking).
    """

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = 5.0,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._mutex = threading.Lock()
        self._conn: sqlite3.Connection | None = _connect(self.path, busy_timeout_s)
        self._os_lock = _OsLock(self.path.with_name(self.path.name + ".lock"))
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        """One `BEGIN IMMEDIATE` write transaction; rolled back on any exception."""
        with self._mutex, _translated(what, self.path):
            conn = self._open_connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                # SQLite may already have rolled back on its own (e.g. disk full).
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _reading(self, what: str) -> Iterator[sqlite3.Connection]:
        """The connection for reads (each statement is its own implicit transaction)."""
        with self._mutex, _translated(what, self.path):
            yield self._open_connection()

    def _open_connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StateError(f"state store {self.path} is closed")
        return self._conn

    def _migrate(self) -> None:
        with self._transaction("create the schema") as conn:
            # Read inside the write transaction: two processes opening a new file at once
            # must not both create the tables.
            version = _user_version(conn)
            if version > SCHEMA_VERSION:
                raise StateError(
                    f"state store {self.path} has schema version {version}; this gzsync "
                    f"knows up to {SCHEMA_VERSION} (upgrade gzsync)"
                )
            for statements in _MIGRATIONS[version:]:
                for statement in statements:
                    conn.execute(statement)
            if version != SCHEMA_VERSION:
                # PRAGMA takes no bound parameters; SCHEMA_VERSION is our own integer.
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")

    # -- key/value with expiry ------------------------------------------------------------

    def kv_get(self, key: str) -> str | None:
        """The value, or None when absent or expired."""
        with self._reading("read a key") as conn:
            row = conn.execute("SELECT value, expires_at FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        value, expires_at = row
        if expires_at is not None and expires_at <= self._clock():
            return None
        return cast(str, value)

    def kv_put(self, key: str, value: str, ttl_s: float | None = None) -> None:
        """Store a value; `ttl_s` None means no expiry."""
        expires_at = None if ttl_s is None else self._clock() + ttl_s
        with self._transaction("write a key") as conn:
            conn.execute(
                "INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                "expires_at = excluded.expires_at",
                (key, value, expires_at),
            )

    def kv_delete(self, key: str) -> None:
        """Forget a key (nothing happens when it is absent)."""
        with self._transaction("delete a key") as conn:
            conn.execute("DELETE FROM kv WHERE key = ?", (key,))

    # -- watermarks -----------------------------------------------------------------------

    def get_watermark(self, stream: StreamName) -> int | None:
        """The confirmed watermark, or None when this store has never recorded one."""
        with self._reading("read a watermark") as conn:
            row = conn.execute("SELECT rev FROM watermarks WHERE stream = ?", (stream,)).fetchone()
        return None if row is None else int(row[0])

    def set_watermark(self, stream: StreamName, rev: int) -> None:
        """Set the watermark, also backwards (used by `--since-rev` backfills and tests)."""
        with self._transaction("set a watermark") as conn:
            conn.execute(
                "INSERT INTO watermarks (stream, rev) VALUES (?, ?) "
                "ON CONFLICT (stream) DO UPDATE SET rev = excluded.rev",
                (stream, rev),
            )

    # -- the one atomic write per batch ---------------------------------------------------

    def commit_batch(self, commit: BatchCommit) -> None:
        """Atomically: resolve ledger entries of confirmed records (entry.rev <= rev), put the
        id cache entries, upsert ledger entries (attempts + 1 when already present, keeping
        first_seen), and move the watermark when given (never backwards).

        Confirmed records are applied before ledger entries, so a key that is in both stays
        in the ledger.
        """
        now = self._clock()
        resolved = [(commit.stream, c.key, c.rev) for c in commit.confirmed]
        ids = [(commit.module, c.key, c.zoho_id) for c in commit.confirmed]
        ledger = [_ledger_row(entry, now) for entry in commit.ledger]
        with self._transaction("commit a batch") as conn:
            conn.executemany(
                "DELETE FROM ledger WHERE stream = ? AND key = ? AND rev <= ?", resolved
            )
            conn.executemany(_PUT_ID, ids)
            conn.executemany(_UPSERT_LEDGER, ledger)
            if commit.watermark is not None:
                conn.execute(
                    "INSERT INTO watermarks (stream, rev) VALUES (?, ?) "
                    "ON CONFLICT (stream) DO UPDATE SET rev = max(rev, excluded.rev)",
                    (commit.stream, commit.watermark),
                )

    # -- the ledger -----------------------------------------------------------------------

    def ledger_list(
        self,
        stream: StreamName | None = None,
        *,
        kind: LedgerKind | None = None,
        reason: str | None = None,
        limit: int | None = None,
    ) -> list[LedgerEntry]:
        """Entries, oldest revision first (then by stream and key), filtered as asked."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("stream", stream), ("kind", kind), ("reason", reason)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {_LEDGER_COLUMNS} FROM ledger {where} ORDER BY rev, stream, key"  # noqa: S608
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(limit, 0))
        with self._reading("list the ledger") as conn:
            rows = conn.execute(sql, params).fetchall()
        return [_ledger_entry(row) for row in rows]

    def ledger_counts(self) -> dict[tuple[str, str, str], int]:
        """Number of entries by (stream, kind, reason)."""
        with self._reading("count the ledger") as conn:
            rows = conn.execute(
                "SELECT stream, kind, reason, count(*) FROM ledger GROUP BY stream, kind, reason"
            ).fetchall()
        return {(stream, kind, reason): int(n) for stream, kind, reason, n in rows}

    def ledger_request_retry(self, stream: StreamName | None, keys: Iterable[str] | None) -> int:
        """Mark entries for retry in the next run (all when keys is None); returns how many.

        `stream` None means every stream; with keys, a key matches in any stream.
        """
        # Here and below, only fixed clauses and `?` placeholders go into the SQL text.
        stream_clause = "" if stream is None else " AND stream = ?"
        stream_params: list[Any] = [] if stream is None else [stream]
        with self._transaction("request ledger retries") as conn:
            if keys is None:
                sql = f"UPDATE ledger SET retry_requested = 1 WHERE 1 = 1{stream_clause}"  # noqa: S608
                return conn.execute(sql, stream_params).rowcount
            marked = 0
            for chunk in _chunks(sorted(set(keys))):
                marks = ", ".join("?" * len(chunk))
                sql = (
                    f"UPDATE ledger SET retry_requested = 1 "  # noqa: S608
                    f"WHERE key IN ({marks}){stream_clause}"
                )
                marked += conn.execute(sql, [*chunk, *stream_params]).rowcount
            return marked

    def ledger_drop(self, stream: StreamName, key: str) -> bool:
        """Give up on one entry; True when it existed."""
        with self._transaction("drop a ledger entry") as conn:
            cursor = conn.execute("DELETE FROM ledger WHERE stream = ? AND key = ?", (stream, key))
            return cursor.rowcount > 0

    # -- the id cache ---------------------------------------------------------------------

    def ids_get(self, module: str, keys: Iterable[str]) -> dict[str, str]:
        """Known Zoho ids of these keys (absent keys are left out)."""
        found: dict[str, str] = {}
        with self._reading("read the id cache") as conn:
            for chunk in _chunks(sorted(set(keys))):
                marks = ", ".join("?" * len(chunk))
                sql = f"SELECT key, zoho_id FROM ids WHERE module = ? AND key IN ({marks})"  # noqa: S608
                found.update(conn.execute(sql, [module, *chunk]).fetchall())
        return found

    def ids_put(self, module: str, ids: dict[str, str]) -> None:
        """Remember (or replace) the Zoho ids of these keys."""
        with self._transaction("write the id cache") as conn:
            conn.executemany(_PUT_ID, [(module, key, zoho_id) for key, zoho_id in ids.items()])

    def ids_evict(self, module: str, keys: Iterable[str]) -> None:
        """Forget the ids of these keys (e.g. after Zoho says a record no longer exists)."""
        with self._transaction("evict from the id cache") as conn:
            for chunk in _chunks(sorted(set(keys))):
                marks = ", ".join("?" * len(chunk))
                sql = f"DELETE FROM ids WHERE module = ? AND key IN ({marks})"  # noqa: S608
                conn.execute(sql, [module, *chunk])

    # -- the run lock ---------------------------------------------------------------------

    def acquire_lock(self, owner: str, ttl_s: float) -> None:
        """Take the lock or raise LockHeldError naming the holder; an expired lock is taken.

        Taking a lock we already hold refreshes it. Next to the lock row, the run holds an OS
        lock on `<state file>.lock` (`flock`) for as long as it runs; the kernel drops it when
        the process dies. So when we get that OS lock, whoever the row names is dead (a
        killed run on this machine) and the row is taken over at once instead of after its
        expiry. When the OS lock is busy, the row and its expiry decide, as across machines.
        """
        # Only an OS lock newly taken proves the row's holder dead: one we already hold may
        # sit under another owner name of this very process.
        os_lock = "held" if self._os_lock.held else self._os_lock.acquire()
        with self._transaction("take the run lock") as conn:
            now = self._clock()
            holder = _lock_holder(conn)
            if os_lock == "busy":
                # a live process holds the OS lock: its row may be expired (a run that
                # could not renew it in time), but the run is not dead; or it has not
                # written its row yet
                if holder is None:
                    raise LockHeldError("another gzsync run that is starting", now)
                if holder[0] != owner:
                    raise LockHeldError(holder[0], holder[1])
            if holder is not None and holder[0] != owner and holder[1] > now and os_lock != "taken":
                raise LockHeldError(holder[0], holder[1])
            _write_lock(conn, owner, now, now + ttl_s)

    def refresh_lock(self, owner: str, ttl_s: float) -> None:
        """Extend our lock; raise LockHeldError if another owner took it meanwhile.

        When nobody holds the lock (released, or never taken) it is taken again: no other run
        is active, so continuing keeps runs one at a time.
        """
        with self._transaction("refresh the run lock") as conn:
            now = self._clock()
            holder = _lock_holder(conn)
            # Another owner's row means it took over our expired lock, even if its own
            # lock has expired since: either way our run is no longer the only one.
            if holder is not None and holder[0] != owner:
                raise LockHeldError(holder[0], holder[1])
            _write_lock(conn, owner, now, now + ttl_s)
        self._os_lock.acquire()

    def release_lock(self, owner: str) -> None:
        """Release the lock if we hold it (nothing happens otherwise)."""
        with self._transaction("release the run lock") as conn:
            released = conn.execute(
                "DELETE FROM lock WHERE singleton = 1 AND owner = ?", (owner,)
            ).rowcount
        if released:
            self._os_lock.release()

    # -- run history ----------------------------------------------------------------------

    def run_started(self, run_id: str, started_at: float) -> None:
        """Record a run as `running`."""
        with self._transaction("record a run start") as conn:
            conn.execute(
                "INSERT INTO runs (run_id, started_at, finished_at, status, report) "
                "VALUES (?, ?, NULL, 'running', '{}')",
                (run_id, started_at),
            )

    def run_finished(self, run_id: str, finished_at: float, report: dict[str, object]) -> None:
        """Record the run's report; `report["status"]` becomes the run's status.

        A run whose start was never recorded is recorded with `started_at = finished_at`, so
        a report is never lost.
        """
        try:
            body = json.dumps(report, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise StateError(f"run {run_id}: the report is not JSON ({exc})") from None
        status = str(report.get("status", "finished"))
        with self._transaction("record a run report") as conn:
            conn.execute(
                "INSERT INTO runs (run_id, started_at, finished_at, status, report) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET "
                "finished_at = excluded.finished_at, status = excluded.status, "
                "report = excluded.report",
                (run_id, finished_at, finished_at, status, body),
            )

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The last runs, newest first."""
        with self._reading("list runs") as conn:
            rows = conn.execute(
                "SELECT run_id, started_at, finished_at, status, report FROM runs "
                "ORDER BY started_at DESC, rowid DESC LIMIT ?",
                (max(limit, 0),),
            ).fetchall()
        return [_run_record(row) for row in rows]

    def run(self, run_id: str) -> RunRecord | None:
        """One run, or None when unknown."""
        with self._reading("read a run") as conn:
            row = conn.execute(
                "SELECT run_id, started_at, finished_at, status, report FROM runs WHERE run_id = ?",
                (run_id,),
            ).fetchone()
        return None if row is None else _run_record(row)

    # -- data-quality warnings per run ---------------------------------------------------

    def warnings_add(self, run_id: str, warnings: Sequence[WarningRecord]) -> None:
        """Append a run's warnings; prunes those of runs older than the last few."""
        rows = [
            (run_id, w.stream, w.key, w.rev, w.field, w.reason, w.value, w.detail) for w in warnings
        ]
        with self._transaction("record warnings") as conn:
            conn.executemany(
                "INSERT INTO warnings (run_id, stream, key, rev, field, reason, value, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.execute(
                "DELETE FROM warnings WHERE run_id != ? AND run_id NOT IN "
                "(SELECT run_id FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?)",
                (run_id, WARNING_RUNS_KEPT),
            )

    def warnings_list(
        self,
        run_id: str,
        *,
        stream: StreamName | None = None,
        reason: str | None = None,
        limit: int | None = None,
    ) -> list[WarningRecord]:
        """A run's warnings in the order added, filtered as asked."""
        clauses = ["run_id = ?"]
        params: list[Any] = [run_id]
        for column, value in (("stream", stream), ("reason", reason)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        sql = (
            "SELECT stream, key, rev, field, reason, value, detail FROM warnings "  # noqa: S608
            f"WHERE {' AND '.join(clauses)} ORDER BY rowid"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(limit, 0))
        with self._reading("list warnings") as conn:
            rows = conn.execute(sql, params).fetchall()
        return [WarningRecord(*row) for row in rows]

    # -- meta entries ---------------------------------------------------------------------

    def meta_get(self, name: str) -> str | None:
        """A durable named value, or None."""
        with self._reading("read a meta entry") as conn:
            row = conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def meta_put(self, name: str, value: str) -> None:
        with self._transaction("write a meta entry") as conn:
            conn.execute(
                "INSERT INTO meta (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    def close(self) -> None:
        """Close the connection; calling it again does nothing."""
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        # The OS lock stays with the process while its run lock row stands: release_lock
        # drops it, and so does the kernel when the process ends.


class _OsLock:
    """An exclusive `flock` on a sidecar file, held while a run holds the run lock."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> Literal["taken", "held", "busy", "unsupported"]:
        """Take the OS lock: "taken" now, "held" already, "busy" (a live process has it)."""
        if fcntl is None:
            return "unsupported"
        if self._fd is not None:
            return "held"
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return "busy"
        self._fd = fd
        return "taken"

    def release(self) -> None:
        if self._fd is not None and fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def open_sqlite_store(path: Path) -> SqliteStore:
    """Open (creating when needed) the SQLite state store at `path`."""
    return SqliteStore(path)


# -- helpers --------------------------------------------------------------------------------


def _connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """Create the file with mode 0600 if needed, then open it in WAL mode."""
    with _translated("open", path):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Create the file ourselves so it is never readable by others, not even briefly;
        # tighten an existing file that is looser (it holds session ids and tokens).
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_mode & 0o077:
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        # `timeout` sets SQLite's busy_timeout. isolation_level=None: we issue BEGIN and
        # COMMIT ourselves. check_same_thread=False: a worker thread may use the store;
        # SqliteStore serialises access with its mutex.
        conn = sqlite3.connect(
            path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StateError(f"state store {path}: cannot use WAL journal mode ({mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn


@contextmanager
def _translated(what: str, path: Path) -> Iterator[None]:
    """Turn SQLite and file-system failures into StateError (messages carry no values)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StateError(f"state store {path}: {what} failed: {exc}") from exc
    except OSError as exc:
        raise StateError(f"state store {path}: {what} failed: {exc.strerror}") from exc


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _MAX_IN_PARAMS):
        yield items[start : start + _MAX_IN_PARAMS]


def _ledger_row(entry: LedgerEntry, now: float) -> tuple[Any, ...]:
    return (
        entry.stream,
        entry.key,
        entry.rev,
        entry.kind,
        entry.reason,
        entry.detail,
        entry.attempts,
        entry.first_seen or now,
        entry.last_seen or now,
        entry.retry_requested,
    )


def _ledger_entry(row: tuple[Any, ...]) -> LedgerEntry:
    stream, key, rev, kind, reason, detail, attempts, first_seen, last_seen, retry = row
    return LedgerEntry(
        stream=cast(StreamName, stream),
        key=key,
        rev=int(rev),
        kind=cast(LedgerKind, kind),
        reason=reason,
        detail=detail,
        attempts=int(attempts),
        first_seen=float(first_seen),
        last_seen=float(last_seen),
        retry_requested=bool(retry),
    )


def _lock_holder(conn: sqlite3.Connection) -> tuple[str, float] | None:
    row = conn.execute("SELECT owner, expires_at FROM lock WHERE singleton = 1").fetchone()
    return None if row is None else (str(row[0]), float(row[1]))


def _write_lock(conn: sqlite3.Connection, owner: str, now: float, expires_at: float) -> None:
    """Write the lock row; `acquired_at` is kept when the same owner refreshes."""
    conn.execute(
        "INSERT INTO lock (singleton, owner, expires_at, acquired_at) VALUES (1, ?, ?, ?) "
        "ON CONFLICT (singleton) DO UPDATE SET "
        "acquired_at = CASE WHEN lock.owner = excluded.owner THEN lock.acquired_at "
        "ELSE excluded.acquired_at END, "
        "owner = excluded.owner, expires_at = excluded.expires_at",
        (owner, expires_at, now),
    )


def _run_record(row: tuple[Any, ...]) -> RunRecord:
    run_id, started_at, finished_at, status, report = row
    return RunRecord(
        run_id=run_id,
        started_at=float(started_at),
        finished_at=None if finished_at is None else float(finished_at),
        status=status,
        report=json.loads(report),
    )
