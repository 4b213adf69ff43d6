"""Operating phase 2 from the command line: `run --entities quotes`, `status`, `ledger
--entity quotes|products` and the HTML report, as subprocesses against the sandboxes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e.helpers import Env, sync
from tests.e2e.quotes_helpers import galaxy_get, galaxy_put, line, offer
from tests.e2e.test_quotes_sync import _world


def _gzsync(env: Env, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **env.urls.env(), "STATE_DB": str(env.state_db)}
    return subprocess.run(
        [sys.executable, "-m", "gzsync", *args],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


def test_quotes_from_the_command_line(env: Env, tmp_path: Path) -> None:
    _world(env)
    sync(env, entities=("accounts", "contacts"))  # the Accounts first
    galaxy_put(env, "zh_offers", [offer("o9", 5000010, trdrid="C9")], method="POST")
    galaxy_put(env, "offer_lines", [line("o9", 1, "P1", 1, 10.0)], method="POST")

    run = _gzsync(env, tmp_path, "run", "--entities", "quotes", "--json", "--quiet")
    assert run.returncode == 1, run.stderr  # one offer waits for its customer: news
    report = _json(run)
    assert report["entities"] == ["quotes"]
    assert report["quotes"]["inserted"] == 3
    assert report["quotes"]["failed"] == 1
    assert report["products"]["inserted"] == 3
    assert report["customers"]["fetched"] == 0  # accounts were not asked for

    status = _json(_gzsync(env, tmp_path, "status", "--json"))
    # the waiting offer is in the ledger: the watermark moves past every offer read
    revs = [o["CommercialEntry_GXREVNUM"] for o in galaxy_get(env, "zh_offers")]
    assert status["watermarks"]["quotes"] == max(revs)
    assert {k: status["ledger"][0][k] for k in ("stream", "kind", "reason")} == {
        "stream": "quotes",
        "kind": "waiting_parent",
        "reason": "parent_not_in_zoho",
    }

    waiting = _json(_gzsync(env, tmp_path, "ledger", "--entity", "quotes", "--json"))
    assert [e["key"] for e in waiting["entries"]] == ["O9"]
    products = _json(_gzsync(env, tmp_path, "ledger", "--entity", "products", "--json"))
    assert products["entries"] == []

    page = tmp_path / "report.html"
    made = _gzsync(env, tmp_path, "report", "--output", str(page))
    assert made.returncode == 0, made.stderr
    html = page.read_text()
    assert "<th>quotes</th>" in html
    assert "<th>products</th>" in html
