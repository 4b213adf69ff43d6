"""The SQLite state store: the store contract, plus what only a local file has (file mode,
WAL, schema version, other processes and threads on the same file)."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from store_contract import FakeClock, OpenStore, StoreContract, commit, entry

from gzsync.config import Settings
from gzsync.errors import LockHeldError, StateError
from gzsync.state import SqliteStore, open_sqlite_store, open_store
from gzsync.state.sqlite import _MIGRATIONS, SCHEMA_VERSION
from gzsync.state.store import Confirmed, StateStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "gzsync.db"


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def open_store(self, db_path: Path, clock: FakeClock) -> Iterator[OpenStore]:
        opened: list[SqliteStore] = []

        def _open() -> StateStore:
            opened.append(SqliteStore(db_path, clock=clock))
            return opened[-1]

        yield _open
        for store in opened:
            store.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- the file -------------------------------------------------------------------------------


def test_new_file_is_private_and_parents_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.db"
    store = open_sqlite_store(path)
    try:
        store.kv_put("zoho.token", "secret-token")
        assert _mode(path) == 0o600
        wal = path.with_name("state.db-wal")
        assert wal.exists()  # WAL mode: the write sits in the -wal file until checkpoint
        assert _mode(wal) == 0o600  # SQLite gives it the database file's mode
    finally:
        store.close()


def test_existing_loose_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.touch()
    path.chmod(0o644)
    SqliteStore(path).close()
    assert _mode(path) == 0o600


def test_wal_mode_and_schema_version_are_on_the_file(db_path: Path) -> None:
    SqliteStore(db_path).close()
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {"kv", "watermarks", "ledger", "ids", "lock", "runs", "warnings", "meta"}
    finally:
        conn.close()


def test_a_version_1_file_is_migrated_and_keeps_its_data(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path)
    for statement in _MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO watermarks (stream, rev) VALUES ('customers', 41)")
    conn.commit()
    conn.close()
    store = SqliteStore(db_path)
    try:
        assert store.get_watermark("customers") == 41
        store.meta_put("rules", "v2")
        assert store.meta_get("rules") == "v2"
    finally:
        store.close()


def test_reopening_does_not_recreate_the_schema(db_path: Path) -> None:
    for _ in range(3):
        store = SqliteStore(db_path)
        store.ids_put("Accounts", {"T1": "z1"})
        store.close()
    store = SqliteStore(db_path)
    assert store.ids_get("Accounts", ["T1"]) == {"T1": "z1"}
    store.close()


def test_newer_schema_is_refused(db_path: Path) -> None:
    SqliteStore(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StateError, match=f"schema version {SCHEMA_VERSION + 1}"):
        SqliteStore(db_path)


def test_a_file_that_is_not_a_database_is_a_state_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match="state store"):
        SqliteStore(path)


def test_closed_store_raises_state_error(db_path: Path) -> None:
    store = SqliteStore(db_path)
    store.close()
    with pytest.raises(StateError, match="closed"):
        store.kv_get("k")


def test_busy_database_is_a_state_error_after_the_timeout(db_path: Path) -> None:
    store = SqliteStore(db_path, busy_timeout_s=0.05)
    blocker = sqlite3.connect(db_path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # holds the write lock
        with pytest.raises(StateError, match="locked"):
            store.kv_put("k", "v")
        assert store.kv_get("k") is None  # readers are not blocked in WAL mode
        blocker.execute("ROLLBACK")
        store.kv_put("k", "v")
        assert store.kv_get("k") == "v"
    finally:
        blocker.close()
        store.close()


def test_a_failed_transaction_leaves_the_connection_usable(db_path: Path) -> None:
    store = SqliteStore(db_path)
    bogus = replace(entry("N1", 2), kind="lost")  # type: ignore[arg-type]
    with pytest.raises(StateError):
        store.commit_batch(commit(ledger=(bogus,)))
    store.commit_batch(commit(ledger=(entry("N1", 2),), watermark=2))
    assert store.get_watermark("customers") == 2
    store.close()


def test_bad_report_is_a_state_error(db_path: Path) -> None:
    store = SqliteStore(db_path)
    store.run_started("r1", 1.0)
    with pytest.raises(StateError, match="not JSON"):
        store.run_finished("r1", 2.0, {"status": "ok", "when": object()})
    run = store.run("r1")
    assert run is not None
    assert run.status == "running"
    store.close()


def test_run_finished_without_start_is_recorded(db_path: Path) -> None:
    store = SqliteStore(db_path)
    store.run_finished("r9", 5.0, {"status": "aborted"})
    run = store.run("r9")
    assert run is not None
    assert (run.started_at, run.finished_at, run.status) == (5.0, 5.0, "aborted")
    store.close()


def test_lock_row_keeps_when_it_was_first_acquired(db_path: Path) -> None:
    clock = FakeClock()
    store = SqliteStore(db_path, clock=clock)
    conn = sqlite3.connect(db_path)

    def lock_row() -> tuple[str, float, float]:
        row: tuple[str, float, float] = conn.execute(
            "SELECT owner, acquired_at, expires_at FROM lock"
        ).fetchone()
        return row

    try:
        store.acquire_lock("run-a", ttl_s=100)
        clock.advance(50)
        store.refresh_lock("run-a", ttl_s=100)
        assert lock_row() == ("run-a", clock.now - 50, clock.now + 100)
        clock.advance(500)
        store.acquire_lock("run-b", ttl_s=100)
        assert lock_row() == ("run-b", clock.now, clock.now + 100)
    finally:
        conn.close()
        store.close()


def test_key_lists_are_chunked_below_the_parameter_limit(db_path: Path) -> None:
    store = SqliteStore(db_path)
    # Old SQLite builds allow 999 bound parameters; make this one as strict.
    assert store._conn is not None
    store._conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    ids = {f"T{i:05}": f"z{i}" for i in range(2500)}
    store.ids_put("Accounts", ids)
    store.commit_batch(commit(ledger=tuple(entry(k, 1) for k in ids)))
    assert store.ids_get("Accounts", ids) == ids
    assert store.ledger_request_retry("customers", ids) == 2500
    store.ids_evict("Accounts", ids)
    assert store.ids_get("Accounts", ids) == {}
    store.close()


# -- other connections, threads and processes -------------------------------------------------


def test_only_one_of_many_racing_stores_gets_the_lock(db_path: Path) -> None:
    stores = [SqliteStore(db_path) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    winners: list[str] = []
    losers: list[str] = []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            stores[n].acquire_lock(f"run-{n}", ttl_s=60)
            winners.append(f"run-{n}")
        except LockHeldError as exc:
            losers.append(exc.holder)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert len(winners) == 1
    assert len(losers) == 7
    # every loser names the one winner, or (when it came between the winner's OS lock and
    # its row) says a run is starting
    assert set(losers) <= {winners[0], "another gzsync run that is starting"}


def test_threads_can_share_one_store(db_path: Path) -> None:
    store = SqliteStore(db_path)

    def work(n: int) -> None:
        for i in range(25):
            key = f"T{n}-{i}"
            store.commit_batch(
                commit(confirmed=(Confirmed(key, i, f"z-{key}"),), watermark=n * 100 + i)
            )

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = [f"T{n}-{i}" for n in range(4) for i in range(25)]
    assert store.ids_get("Accounts", keys) == {k: f"z-{k}" for k in keys}
    assert store.get_watermark("customers") == 324
    store.close()


_LOCK_HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from gzsync.state.sqlite import SqliteStore

    store = SqliteStore(Path(sys.argv[1]))
    store.acquire_lock("child-run", ttl_s=float(sys.argv[2]))
    print("locked", flush=True)
    sys.stdin.readline()
    store.release_lock("child-run")
    store.close()
    print("released", flush=True)
    """
)


@pytest.fixture
def lock_holder(db_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A separate Python process that takes the lock (60 s) and holds it until told."""
    SqliteStore(db_path).close()  # create the file before the child opens it
    child = subprocess.Popen(
        [sys.executable, "-c", _LOCK_HOLDER, str(db_path), "60"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "locked"
    yield child
    if child.poll() is None:
        child.kill()
    child.wait(timeout=10)


def test_lock_held_by_another_process(db_path: Path, lock_holder: subprocess.Popen[str]) -> None:
    store = SqliteStore(db_path)
    with pytest.raises(LockHeldError) as raised:
        store.acquire_lock("parent-run", ttl_s=60)
    assert raised.value.holder == "child-run"
    assert raised.value.expires_at > time.time() + 30
    with pytest.raises(LockHeldError):
        store.refresh_lock("parent-run", ttl_s=60)

    assert lock_holder.stdin is not None
    assert lock_holder.stdout is not None
    lock_holder.stdin.write("\n")
    lock_holder.stdin.flush()
    assert lock_holder.stdout.readline().strip() == "released"
    store.acquire_lock("parent-run", ttl_s=60)
    store.close()


def test_lock_of_a_killed_process_is_taken_over_at_once(
    db_path: Path, lock_holder: subprocess.Popen[str]
) -> None:
    store = SqliteStore(db_path)
    with pytest.raises(LockHeldError):  # alive: its OS lock and its row both stand
        store.acquire_lock("next-run", ttl_s=60)
    lock_holder.kill()
    lock_holder.wait(timeout=10)
    # the kernel dropped the dead run's OS lock: its row is stale although not expired
    store.acquire_lock("next-run", ttl_s=60)
    store.close()


# -- speed ----------------------------------------------------------------------------------


# -- choosing the backend -------------------------------------------------------------------


def test_open_store_gives_sqlite_at_state_db(tmp_path: Path) -> None:
    path = tmp_path / "dir" / "state.db"
    settings = Settings(state_backend="sqlite", state_db=path, _env_file=None)  # type: ignore[call-arg]
    store = open_store(settings)
    try:
        assert isinstance(store, SqliteStore)
        store.set_watermark("customers", 5)
        assert path.exists()
        assert os.stat(path).st_size > 0
    finally:
        store.close()
