"""`gzsync status`, `ledger` (list, retry, drop), `report` and `catalyst init`."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.cli.process import gzsync
from tests.e2e.helpers import Env, make_env, sync
from typer.testing import CliRunner

from gzsync.cli import app
from gzsync.state.sqlite import SqliteStore, open_sqlite_store
from gzsync.state.store import BatchCommit, LedgerEntry


def entry(stream: Any, key: str, rev: int, kind: Any, reason: str) -> LedgerEntry:
    return LedgerEntry(stream, key, rev, kind, reason, detail=f"detail of {key}")


def fill(store: SqliteStore) -> None:
    """Three finished runs, watermarks and five ledger entries."""
    for i, pending in enumerate((7, 6, 5)):
        run_id = f"2024010{i}T000000Z-r{i}"
        store.run_started(run_id, 1_700_000_000.0 + i * 7200)
        store.run_finished(
            run_id,
            1_700_000_000.0 + i * 7200 + 12.5,
            {
                "run_id": run_id,
                "status": "incomplete",
                "customers": {"fetched": 10 + i, "inserted": 8, "updated": i, "rejected": 2},
                "contacts": {"fetched": 4, "inserted": 4},
                "ledger_pending": pending,
                "ledger_by_reason": {"missing_trader_id": pending},
                "phases": {"customers.write": 1.5},
                "duration_s": 12.5,
            },
        )
    store.set_watermark("customers", 1000100)
    store.set_watermark("contacts", 2000200)
    store.commit_batch(
        BatchCommit(
            stream="customers",
            module="Accounts",
            ledger=[
                entry("customers", "C1", 10, "rejected", "missing_trader_id"),
                entry("customers", "C2", 11, "rejected", "missing_trader_id"),
                entry("customers", "SAME", 12, "refused", "INVALID_DATA"),
            ],
        )
    )
    store.commit_batch(
        BatchCommit(
            stream="affiliates",
            module="Accounts",
            ledger=[entry("affiliates", "SAME", 13, "failed", "http_503")],
        )
    )
    store.commit_batch(
        BatchCommit(
            stream="contacts",
            module="Contacts",
            ledger=[entry("contacts", "K1", 20, "waiting_parent", "parent_missing")],
        )
    )


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A filled state file; the environment that points gzsync at it; cwd = tmp_path."""
    db = tmp_path / "state.db"
    store = open_sqlite_store(db)
    fill(store)
    store.close()
    monkeypatch.chdir(tmp_path)
    return {"STATE_DB": str(db)}


def invoke(args: list[str], env: dict[str, str], stdin: str | None = None) -> Any:
    return CliRunner().invoke(app, args, env=env, input=stdin)


def ledger_keys(db: str) -> list[tuple[str, str]]:
    store = open_sqlite_store(Path(db))
    try:
        return [(e.stream, e.key) for e in store.ledger_list()]
    finally:
        store.close()


# -- status ------------------------------------------------------------------------------


def test_status_json_as_a_subprocess(state: dict[str, str], tmp_path: Path) -> None:
    result = gzsync("status", "--json", "--runs", "2", inherit=True, env=state, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == ["runs", "watermarks", "ledger", "ledger_total", "bulk_jobs"]
    assert [r["run_id"] for r in data["runs"]] == ["20240102T000000Z-r2", "20240101T000000Z-r1"]
    newest = data["runs"][0]
    assert newest["status"] == "incomplete"
    assert newest["duration_s"] == 12.5
    assert newest["finished_at"] - newest["started_at"] == pytest.approx(12.5)
    assert newest["counts"]["customers"]["fetched"] == 12
    assert newest["counts"]["contacts"]["inserted"] == 4
    assert data["watermarks"] == {"customers": 1000100, "contacts": 2000200, "quotes": None}
    assert data["ledger_total"] == 5
    assert {
        "stream": "customers",
        "kind": "rejected",
        "reason": "missing_trader_id",
        "count": 2,
    } in (data["ledger"])


def test_status_for_people(state: dict[str, str]) -> None:
    result = invoke(["status"], state)
    assert result.exit_code == 0
    assert "20240102T000000Z-r2" in result.stdout
    assert "customers 1000100, contacts 2000200" in result.stdout
    assert "Waiting in the ledger: 5" in result.stdout


def test_status_without_a_state_file_creates_none(tmp_path: Path) -> None:
    db = tmp_path / "nothing" / "state.db"
    result = invoke(["status", "--json"], {"STATE_DB": str(db)})
    assert result.exit_code == 0
    assert json.loads(result.stdout)["runs"] == []
    assert not db.exists()


# -- ledger ------------------------------------------------------------------------------


def test_ledger_lists_plain_lines_when_piped(state: dict[str, str], tmp_path: Path) -> None:
    result = gzsync("ledger", "--entity", "customers", inherit=True, env=state, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header, *lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert header == [
        "stream",
        "key",
        "rev",
        "kind",
        "reason",
        "attempts",
        "retry_requested",
        "first_seen",
        "last_seen",
        "detail",
    ]
    assert [(f[0], f[1], f[4]) for f in lines] == [
        ("customers", "C1", "missing_trader_id"),
        ("customers", "C2", "missing_trader_id"),
        ("customers", "SAME", "INVALID_DATA"),
    ]
    assert lines[0][-1] == "detail of C1"
    assert {f[6] for f in lines} == {"no"}  # words, not Python's False
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", f[8]) for f in lines)


def test_ledger_csv_export(state: dict[str, str]) -> None:
    result = invoke(["ledger", "--format", "csv"], state)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["key"] for r in rows] == ["C1", "C2", "SAME", "SAME", "K1"]
    assert rows[3]["stream"] == "affiliates"
    assert rows[3]["reason"] == "http_503"


def test_ledger_reason_is_case_blind_and_listed_in_help(state: dict[str, str]) -> None:
    data = json.loads(invoke(["ledger", "--reason", "invalid_data", "--json"], state).stdout)
    assert [(e["stream"], e["key"]) for e in data["entries"]] == [("customers", "SAME")]
    missing = invoke(["ledger", "--reason", "NO_SUCH", "--json"], state)
    assert json.loads(missing.stdout)["total"] == 0
    assert "the ledger holds: INVALID_DATA, http_503" in missing.stderr
    helped = invoke(["ledger", "--help"], {"COLUMNS": "200"})
    for reason in ("missing_trader_id", "INVALID_DATA", "parent_not_in_zoho"):
        assert reason in helped.stdout


def test_ledger_by_run(state: dict[str, str], tmp_path: Path) -> None:
    store = open_sqlite_store(Path(state["STATE_DB"]))
    now = time.time()
    store.run_started("later-run", now - 1)
    store.commit_batch(
        BatchCommit(
            stream="contacts",
            module="Contacts",
            ledger=[entry("contacts", "K9", 30, "refused", "INVALID_DATA")],
        )
    )
    store.run_finished("later-run", time.time() + 1, {"status": "incomplete"})
    store.close()
    data = json.loads(invoke(["ledger", "--run", "later-run", "--json"], state).stdout)
    # the fixture's entries were written before this run started (same second, though:
    # compare by key set, which the fixture's commit time cannot satisfy by chance)
    assert "K9" in [e["key"] for e in data["entries"]]
    unknown = invoke(["ledger", "--run", "nope"], state)
    assert unknown.exit_code == 2
    assert "no run nope" in unknown.stderr


def test_ledger_table_fits_80_columns_and_never_cuts_a_key(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = open_sqlite_store(db)
    long_key = "CUSTOMER-KEY-0000000000123456"
    store.commit_batch(
        BatchCommit(
            stream="customers",
            module="Accounts",
            ledger=[
                LedgerEntry(
                    "customers",
                    long_key,
                    1016260,
                    "refused",
                    "MANDATORY_NOT_FOUND",
                    detail="Zoho says a required field is missing: " + "Last_Name " * 6,
                    retry_requested=True,
                )
            ],
        )
    )
    store.close()
    env = {"STATE_DB": str(db), "COLUMNS": "80"}
    result = gzsync("ledger", "--format", "table", inherit=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, result.stdout
    assert long_key in result.stdout
    assert "False" not in result.stdout
    assert "True" not in result.stdout
    assert "retry asked" in result.stdout


def test_ledger_table_at_80_columns_keeps_every_column_it_shows(
    state: dict[str, str], tmp_path: Path
) -> None:
    env = {**state, "COLUMNS": "80"}
    result = gzsync("ledger", "--format", "table", inherit=True, env=env, cwd=tmp_path)
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, result.stdout
    assert lines[0].split() == ["stream", "key", "rev", "reason", "detail"]
    firsts = [line.split()[:4] for line in lines[1:] if not line.startswith(" ")]
    assert firsts[0] == ["customers", "C1", "10", "missing_trader_id"]
    assert [f[1] for f in firsts] == ["C1", "C2", "SAME", "SAME", "K1"]


def test_status_fits_80_columns_in_words(state: dict[str, str], tmp_path: Path) -> None:
    env = {**state, "COLUMNS": "80"}
    result = gzsync("status", inherit=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    assert "20240102T000000Z-r2" in result.stdout
    empty = gzsync("status", inherit=True, env={"STATE_DB": str(tmp_path / "no.db")}, cwd=tmp_path)
    assert "Watermarks: customers none yet, contacts none yet" in empty.stdout
    assert "None" not in empty.stdout


@pytest.mark.parametrize(
    ("args", "keys", "total"),
    [
        (["--reason", "http_503"], ["SAME"], 1),
        (["--kind", "waiting_parent"], ["K1"], 1),
        (["--limit", "2"], ["C1", "C2"], 5),
    ],
)
def test_ledger_filters(
    state: dict[str, str], args: list[str], keys: list[str], total: int
) -> None:
    result = invoke(["ledger", *args, "--json"], state)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [e["key"] for e in data["entries"]] == keys
    assert data["total"] == total
    assert data["entries"][0]["reason"]


def test_ledger_rejects_an_unknown_entity(state: dict[str, str]) -> None:
    result = invoke(["ledger", "--entity", "deals"], state)
    assert result.exit_code == 2


def test_ledger_retry_mark_only(state: dict[str, str]) -> None:
    result = invoke(["ledger", "retry", "C1", "K1", "--mark-only"], state)
    assert result.exit_code == 0, result.output
    assert "marked 2 ledger entries" in result.stderr
    data = json.loads(invoke(["ledger", "--json"], state).stdout)
    marked = {e["key"] for e in data["entries"] if e["retry_requested"]}
    assert marked == {"C1", "K1"}
    result = invoke(["ledger", "retry", "--entity", "customers", "--mark-only"], state)
    assert "marked 3 ledger entries" in result.stderr


def test_ledger_retry_filters_by_reason_and_kind(state: dict[str, str]) -> None:
    result = invoke(["ledger", "retry", "--reason", "MISSING_TRADER_ID", "--mark-only"], state)
    assert "marked 2 ledger entries" in result.stderr
    result = invoke(["ledger", "retry", "--kind", "failed", "--mark-only"], state)
    assert "marked 1 ledger entries" in result.stderr
    data = json.loads(invoke(["ledger", "--json"], state).stdout)
    marked = {(e["stream"], e["key"]) for e in data["entries"] if e["retry_requested"]}
    assert marked == {("customers", "C1"), ("customers", "C2"), ("affiliates", "SAME")}


def test_ledger_retry_of_an_unknown_key_is_an_error_naming_it(state: dict[str, str]) -> None:
    result = invoke(["ledger", "retry", "C1", "NOT-A-KEY", "--mark-only"], state)
    assert result.exit_code == 2
    assert "NOT-A-KEY" in result.stderr
    assert "C1" not in result.stderr.split("NOT-A-KEY")[0].split(":")[-1]
    data = json.loads(invoke(["ledger", "--json"], state).stdout)
    assert not any(e["retry_requested"] for e in data["entries"])  # nothing marked


def test_ledger_drop_asks_first(state: dict[str, str]) -> None:
    declined = invoke(["ledger", "drop", "C1"], state, stdin="n\n")
    assert declined.exit_code == 1
    assert "Drop customers C1 (rev 10, rejected missing_trader_id" in declined.stdout
    assert ("customers", "C1") in ledger_keys(state["STATE_DB"])

    accepted = invoke(["ledger", "drop", "C1"], state, stdin="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert ("customers", "C1") not in ledger_keys(state["STATE_DB"])


def test_ledger_drop_exit_codes(state: dict[str, str], tmp_path: Path) -> None:
    unknown = invoke(["ledger", "drop", "NOPE", "--yes"], state)
    assert unknown.exit_code == 2
    assert "NOPE" in unknown.stderr
    ambiguous = invoke(["ledger", "drop", "SAME", "--yes"], state)
    assert ambiguous.exit_code == 2
    assert "--entity" in ambiguous.stderr
    args = ("ledger", "drop", "SAME", "--entity", "affiliates", "--yes")
    result = gzsync(*args, inherit=True, env=state, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    keys = ledger_keys(state["STATE_DB"])
    assert ("affiliates", "SAME") not in keys
    assert ("customers", "SAME") in keys


# -- report ------------------------------------------------------------------------------


def test_report_writes_the_last_run_here(state: dict[str, str], tmp_path: Path) -> None:
    result = gzsync("report", inherit=True, env=state, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    path = tmp_path / result.stdout.strip()
    assert path.name == "gzsync-report-20240102T000000Z-r2.html"
    page = path.read_text(encoding="utf-8")
    assert "gzsync run 20240102T000000Z-r2" in page
    assert page.count("<svg") == 2


def test_report_of_a_named_run_to_a_file(state: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out.html"
    result = invoke(["report", "20240100T000000Z-r0", "--output", str(out)], state)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    assert "gzsync run 20240100T000000Z-r0" in out.read_text(encoding="utf-8")


def test_report_of_an_unknown_run_fails(state: dict[str, str], tmp_path: Path) -> None:
    result = invoke(["report", "nope"], state)
    assert result.exit_code == 1
    assert "no run nope" in result.stderr
    empty = invoke(["report"], {"STATE_DB": str(tmp_path / "none.db")})
    assert empty.exit_code == 1


# -- ledger retry runs a sync now ---------------------------------------------------------


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path, customers=40, seed=7)


def test_ledger_retry_runs_a_sync_now(sandboxes: Env, tmp_path: Path) -> None:
    first = sync(sandboxes, entities=("accounts",))
    assert first.status == "success"
    row = sandboxes.galaxy.rows("zh_Customers_fin")[3]
    key = row["TRDRID"].strip().upper()
    store = open_sqlite_store(sandboxes.state_db)
    store.commit_batch(
        BatchCommit(
            stream="customers",
            module="Accounts",
            ledger=[entry("customers", key, row["THIRDPARTYREVNUM"], "refused", "INVALID_DATA")],
        )
    )
    store.close()  # a refused record is retried only when it changes, or when asked to

    env = {**sandboxes.urls.env(), "STATE_DB": str(sandboxes.state_db)}
    result = gzsync(
        "ledger", "retry", key, "--json", "--quiet", inherit=True, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "success"
    assert report["customers"]["fetched"] == 1
    assert report["customers"]["updated"] == 1
    assert ledger_keys(str(sandboxes.state_db)) == []


def test_ledger_retry_checks_the_configuration_before_marking(state: dict[str, str]) -> None:
    env = {**state, "BASE_URL": "", "AUTH_USERNAME": "", "AUTH_PASSWORD": ""}
    result = invoke(["ledger", "retry"], env)
    assert result.exit_code == 2
    data = json.loads(invoke(["ledger", "--json"], state).stdout)
    assert not any(e["retry_requested"] for e in data["entries"])


# -- catalyst init -----------------------------------------------------------------------


def test_catalyst_init(tmp_path: Path) -> None:
    target = tmp_path / "fn"
    args = ("catalyst", "init", str(target), "--function-name", "sync_job")
    result = gzsync(*args, inherit=True, env={}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    config = json.loads((target / "catalyst-config.json").read_text())
    assert config["deployment"]["name"] == "sync_job"
    assert config["deployment"]["type"] == "job"
    assert {Path(p).name for p in result.stdout.split()} == {
        "catalyst-config.json",
        "main.py",
        "requirements.txt",
        "README.md",
        "gzsync-0.1.0-py3-none-any.whl",
    }
    again = invoke(["catalyst", "init", str(target)], {})
    assert again.exit_code == 1
    assert "--force" in again.stderr
    assert invoke(["catalyst", "init", str(target), "--force"], {}).exit_code == 0
    assert invoke(["catalyst", "init", str(target), "--stack", "node18"], {}).exit_code == 2


def test_catalyst_init_default_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke(["catalyst", "init"], {}).exit_code == 0
    assert (tmp_path / "functions" / "gzsync_job" / "main.py").is_file()
