"""`gzsync warnings`, the warnings column of `gzsync status` and the HTML data-quality
section (issue 11), on a state file filled directly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.process import gzsync
from typer.testing import CliRunner

from gzsync.cli import app
from gzsync.ops.html_report import render_run_html
from gzsync.state.sqlite import open_sqlite_store
from gzsync.state.store import RunRecord, WarningRecord

T0 = 1_700_000_000.0
OLD, NEW = "20240101T000000Z-old", "20240102T000000Z-new"
WARNINGS = [
    WarningRecord("customers", "C1", 10, "Credit_Limit", "invalid_number", "n/a", "BALANCE"),
    WarningRecord("customers", "C2", 11, "Credit_Limit", "invalid_number", "<b>—</b>", "x"),
    WarningRecord("customers", "C3", 12, "Account_Name", "name_truncated", "Ω" * 120, "cut"),
    WarningRecord("contacts", "K1", 13, "Last_Name", "last_name_fallback", "Μαρία", "no LASTNAME"),
]


def _report(warnings: dict[str, dict[str, int]]) -> dict[str, object]:
    return {
        "status": "success",
        **{
            entity: {"fetched": 5, "warnings": sum(by.values()), "warnings_by_reason": by}
            for entity, by in warnings.items()
        },
    }


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    db = tmp_path / "state.db"
    store = open_sqlite_store(db)
    store.run_started(OLD, T0)
    store.warnings_add(OLD, [WarningRecord("customers", "OLD1", 1, "Watt", "invalid_number")])
    store.run_finished(OLD, T0 + 1, _report({"customers": {"invalid_number": 1}}))
    store.run_started(NEW, T0 + 7200)
    store.warnings_add(NEW, WARNINGS)
    store.run_finished(
        NEW,
        T0 + 7201,
        _report(
            {
                "customers": {"invalid_number": 2, "name_truncated": 1},
                "contacts": {"last_name_fallback": 1},
            }
        ),
    )
    store.close()
    monkeypatch.chdir(tmp_path)
    return {"STATE_DB": str(db)}


def test_warnings_of_the_last_run_as_json_in_a_subprocess(
    state: dict[str, str], tmp_path: Path
) -> None:
    result = gzsync("warnings", "--json", inherit=True, env=state, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["run_id"], data["shown"], data["total"]) == (NEW, 4, 4)
    first = data["warnings"][0]
    assert {k: first[k] for k in ("key", "field", "value", "reason")} == {
        "key": "C1",
        "field": "Credit_Limit",
        "value": "n/a",
        "reason": "invalid_number",
    }


def test_warnings_filtered_by_run_entity_and_reason(state: dict[str, str]) -> None:
    runner = CliRunner()
    old = runner.invoke(app, ["warnings", "--run", OLD, "--json"], env=state)
    assert [w["key"] for w in json.loads(old.stdout)["warnings"]] == ["OLD1"]
    contacts = runner.invoke(app, ["warnings", "--entity", "contacts", "--json"], env=state)
    assert [w["key"] for w in json.loads(contacts.stdout)["warnings"]] == ["K1"]
    numbers = runner.invoke(
        app, ["warnings", "-r", "invalid_number", "--limit", "1", "--json"], env=state
    )
    body = json.loads(numbers.stdout)
    assert (body["shown"], body["total"]) == (1, 2)
    plain = runner.invoke(app, ["warnings", "--reason", "last_name_fallback"], env=state)
    assert plain.exit_code == 0
    assert plain.stdout.split("\t")[:5] == [
        "contacts",
        "K1",
        "13",
        "Last_Name",
        "last_name_fallback",
    ]


def test_warnings_of_an_unknown_run_exit_1(state: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["warnings", "--run", "nope"], env=state)
    assert result.exit_code == 1
    assert "no run nope" in result.output


def test_status_counts_warnings_per_run(state: dict[str, str]) -> None:
    data = json.loads(CliRunner().invoke(app, ["status", "--json"], env=state).stdout)
    newest, oldest = data["runs"]
    assert newest["warnings"] == 4
    assert newest["warnings_by_reason"] == {
        "invalid_number": 2,
        "name_truncated": 1,
        "last_name_fallback": 1,
    }
    assert oldest["warnings"] == 1


def test_status_table_has_a_warnings_column(state: dict[str, str], tmp_path: Path) -> None:
    wide = {**state, "COLUMNS": "200"}
    result = gzsync("status", inherit=True, env=wide, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if "fetched" in line)
    assert header.split()[-1] == "warnings"
    row = next(line for line in result.stdout.splitlines() if NEW in line)
    assert row.split()[-1] == "4"


def test_the_html_report_has_a_data_quality_section(state: dict[str, str], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "-o", str(tmp_path / "r.html")], env=state)
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    section = page[page.index("<h2>Data quality</h2>") :]
    assert '<code>Credit_Limit</code></td><td class="n">2</td>' in section
    assert "invalid_number 2" in section
    assert "&lt;b&gt;—&lt;/b&gt;" in section
    assert "<b>—</b>" not in section
    assert "Last_Name" in section
    assert "Μαρία" in section


def test_the_data_quality_section_falls_back_on_the_report_samples() -> None:
    report = {
        "customers": {
            "warnings": 7,
            "warning_samples": [
                {"key": "C9", "field": "Watt", "value": "-", "reason": "invalid_number"}
            ],
        }
    }
    page = render_run_html(RunRecord("r", T0, T0 + 1, "success", report))
    assert "C9" in page
    assert "Only samples are shown" in page
    clean = render_run_html(RunRecord("r", T0, T0 + 1, "success", {"customers": {}}))
    assert "No value was dropped or changed" in clean
