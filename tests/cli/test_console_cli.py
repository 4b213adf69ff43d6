"""`gzsync serve`, `gzsync metrics` and `gzsync alerts` as real subprocesses."""

from __future__ import annotations

from pathlib import Path

from tests.cli.process import gzsync

from gzsync.state.sqlite import open_sqlite_store


def _state(tmp_path: Path) -> Path:
    db = tmp_path / "state.db"
    store = open_sqlite_store(db)
    try:
        store.run_started("20240101T000000Z-r1", 1_700_000_000.0)
        store.run_finished(
            "20240101T000000Z-r1",
            1_700_000_042.0,
            {
                "status": "success",
                "customers": {"fetched": 12, "inserted": 10, "updated": 2},
                "duration_s": 42.0,
                "zoho_credits": 3,
            },
        )
        store.set_watermark("customers", 1234)
    finally:
        store.close()
    return db


def test_serve_refuses_a_public_bind_without_credentials(tmp_path: Path) -> None:
    done = gzsync("serve", "--host", "0.0.0.0", "--port", "0", cwd=tmp_path)
    assert done.returncode == 2
    assert "CONSOLE_TOKEN" in done.stderr
    assert "loopback" in done.stderr


def test_metrics_textfile_for_node_exporter(tmp_path: Path) -> None:
    db = _state(tmp_path)
    target = tmp_path / "textfile" / "gzsync.prom"
    target.parent.mkdir()
    done = gzsync("metrics", "--textfile", str(target), env={"STATE_DB": str(db)}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = target.read_text()
    assert 'gzsync_runs{status="success"} 1.0' in text
    assert 'gzsync_last_run_records{outcome="inserted",stream="customers"} 10.0' in text
    assert "gzsync_last_success_timestamp_seconds 1.700000042e+09" in text
    assert 'gzsync_watermark{stream="customers"} 1234.0' in text
    assert list(target.parent.iterdir()) == [target]  # written via a rename, no leftovers


def test_metrics_on_stdout_with_no_state_yet(tmp_path: Path) -> None:
    done = gzsync("metrics", env={"STATE_DB": str(tmp_path / "none.db")}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "gzsync_run_in_progress 0.0" in done.stdout
    assert not (tmp_path / "none.db").exists()  # reading metrics creates nothing


def test_alerts_needs_alert_urls(tmp_path: Path) -> None:
    done = gzsync("alerts", cwd=tmp_path)
    assert done.returncode == 2
    assert "ALERT_URLS" in done.stderr
