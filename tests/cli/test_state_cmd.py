"""`gzsync state backup|restore|reset|set-watermark`: say what is lost, ask, then do it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.cli.process import gzsync
from typer.testing import CliRunner

from gzsync.cli import app
from gzsync.state.sqlite import open_sqlite_store
from gzsync.state.store import BatchCommit, LedgerEntry


def _fill(db: Path, customers: int, ledger: int) -> None:
    store = open_sqlite_store(db)
    store.set_watermark("customers", customers)
    store.commit_batch(
        BatchCommit(
            stream="customers",
            module="Accounts",
            ledger=[
                LedgerEntry("customers", f"C{i}", i, "rejected", "missing_name")
                for i in range(ledger)
            ],
        )
    )
    store.run_finished(f"R{customers}", 1_700_000_010.0, {"status": "incomplete"})
    store.close()


def _watermark(db: Path) -> int | None:
    store = open_sqlite_store(db)
    try:
        return store.get_watermark("customers")
    finally:
        store.close()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "state.db"
    _fill(path, customers=1000, ledger=3)
    return path


def invoke(args: list[str], db: Path, stdin: str | None = None) -> Any:
    return CliRunner().invoke(app, ["state", *args], env={"STATE_DB": str(db)}, input=stdin)


def test_backup_then_restore_brings_the_old_state_back(db: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backups" / "before.db"
    done = gzsync("state", "backup", str(backup), env={"STATE_DB": str(db)}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (
        "watermarks customers 1000, contacts none yet, quotes none yet; 3 ledger entries"
        in done.stderr
    )
    assert backup.stat().st_mode & 0o777 == 0o600

    _fill(db, customers=5000, ledger=10)  # the state moves on after the backup
    declined = invoke(["restore", str(backup)], db, stdin="n\n")
    assert declined.exit_code == 1
    assert "watermarks customers 5000" in declined.stderr  # what is lost, before asking
    assert "watermarks customers 1000" in declined.stderr  # what comes back
    assert _watermark(db) == 5000

    restored = invoke(["restore", str(backup)], db, stdin="y\n")
    assert restored.exit_code == 0, restored.output
    assert _watermark(db) == 1000
    store = open_sqlite_store(db)
    assert len(store.ledger_list()) == 3
    store.close()


def test_restore_refuses_a_file_that_is_not_a_state(db: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all " * 100)
    result = invoke(["restore", str(junk), "--yes"], db)
    assert result.exit_code == 2
    assert "not restored" in result.stderr
    assert _watermark(db) == 1000


def test_restore_recovers_a_corrupt_state_file(db: Path, tmp_path: Path) -> None:
    backup = tmp_path / "good.db"
    assert invoke(["backup", str(backup)], db).exit_code == 0
    db.write_bytes(b"\0garbage" * 500)
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    result = invoke(["restore", str(backup), "--yes"], db)
    assert result.exit_code == 0, result.output
    assert "is unreadable" in result.stderr  # it said what it was replacing
    assert _watermark(db) == 1000


def test_reset_says_what_it_loses_and_keeps_the_old_file(db: Path, tmp_path: Path) -> None:
    declined = invoke(["reset"], db, stdin="n\n")
    assert declined.exit_code == 1
    assert "3 ledger entries" in declined.stderr
    assert "not retried until they change in Galaxy" in declined.stderr
    assert db.exists()

    done = invoke(["reset", "--yes"], db)
    assert done.exit_code == 0, done.output
    assert not db.exists()
    kept = list(tmp_path.glob("state.db.reset-*"))
    assert [p.name for p in kept if not p.name.endswith(("-wal", "-shm"))]
    assert _watermark(db) is None  # a fresh, empty state


def test_set_watermark_says_what_is_skipped_or_re_read(db: Path) -> None:
    raised = invoke(["set-watermark", "customers", "1500"], db, stdin="n\n")
    assert raised.exit_code == 1
    assert "revisions 1001..1500 are SKIPPED" in raised.stderr
    assert _watermark(db) == 1000
    lowered = invoke(["set-watermark", "customers", "900", "--yes"], db)
    assert lowered.exit_code == 0, lowered.output
    assert "revisions 901..1000 are read again" in lowered.stderr
    assert _watermark(db) == 900


def test_set_watermark_waits_for_no_run(db: Path) -> None:
    store = open_sqlite_store(db)
    store.acquire_lock("another host pid 1 run R2", 600)
    store.close()
    store = open_sqlite_store(db)  # a second handle: the row names another owner
    result = gzsync("state", "set-watermark", "customers", "5", "--yes", env={"STATE_DB": str(db)})
    store.close()
    assert result.returncode == 75, result.stderr
    assert _watermark(db) == 1000
