"""The console in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright.

The README's test command installs the browser (`scripts/install-browser`) before pytest, so
these run in CI. One user's path: see a run, filter the ledger, retry a record, press Sync
now, see a second press refused while the run works, and watch the run finish.

The run is held at its first batch commit by a gate the test opens (the console is given a
store whose `commit_batch` waits for it), so "the page shows the run in progress, then its
result" is observed deterministically, not raced.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.console.helpers import Served, serve
from tests.e2e.helpers import Env

from gzsync.state.sqlite import open_sqlite_store
from gzsync.state.store import BatchCommit, StateStore

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FINISH_TIMEOUT_MS = 60_000


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Chromium for one test; requested after the sandbox fixtures, because Playwright's sync
    API runs an event loop in this thread (no `asyncio.run` after it starts)."""
    assert Path(CHROMIUM).exists(), "run scripts/install-browser (the README's test command does)"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class GatedStore:
    """A store whose batch commits wait for `gate`: the run stays in progress until then."""

    def __init__(self, inner: StateStore, gate: threading.Event) -> None:
        self._inner = inner
        self._gate = gate

    def commit_batch(self, commit: BatchCommit) -> None:
        assert self._gate.wait(120), "the test never opened the gate"
        self._inner.commit_batch(commit)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture
def gate() -> threading.Event:
    return threading.Event()


@pytest.fixture
def gated(synced: Env, gate: threading.Event) -> Iterator[Served]:
    def open_store() -> StateStore:
        return GatedStore(open_sqlite_store(synced.state_db), gate)  # type: ignore[return-value]

    try:
        yield from serve(synced, open_store=open_store)
    finally:
        gate.set()  # never leave a run waiting


def _fix_in_galaxy(env: Env, key: str) -> None:
    """Make the rejected customer `key` valid, keeping its revision (an admin's fix that a
    retry picks up; no new revision, so only the retry brings it in)."""
    rows = env.galaxy.rows("zh_Customers_fin")
    bad = next(r for r in rows if (r["TRDRID"] or "").upper() == key)  # keys are normalised
    good = next(
        r for r in rows if r["TRDRID"] and r["TRDRNAME"] and not r.get("ZH_CUSTOMERS_MEMBER_CARDNO")
    )
    fixed = {**good, "TRDRID": bad["TRDRID"], "THIRDPARTYREVNUM": bad["THIRDPARTYREVNUM"]}
    fixed["TRDRNAME"] = f"Fixed {key[:8]}"
    env.galaxy.add_rows("zh_Customers_fin", [fixed])


def test_see_filter_retry_and_sync_now(
    gated: Served, gate: threading.Event, browser: Browser
) -> None:
    env = gated.env
    store = open_sqlite_store(env.state_db)
    try:
        first_run = store.runs(1)[0]
        rejected = store.ledger_list("customers", kind="rejected")
    finally:
        store.close()
    assert rejected, "the generator's bad rows should be in the ledger"
    target = rejected[0]

    page: Page = browser.new_page()
    # -- see a run -------------------------------------------------------------------------
    page.goto(gated.url + "/")
    row = page.locator(f'#runs tr[data-run="{first_run.run_id}"]')
    expect(row).to_contain_text("incomplete")
    expect(page.locator('svg[data-chart="records-written"] rect.bar')).to_have_count(1)
    row.get_by_role("link", name=first_run.run_id).click()
    expect(page.locator("h1")).to_contain_text(first_run.run_id)
    expect(page.locator("#run-status")).to_have_attribute("data-status", "incomplete")
    customers = page.locator("#counts tr", has_text="customers")
    expect(customers).to_contain_text(str(first_run.report["customers"]["fetched"]))  # type: ignore[index]

    # -- filter the ledger -----------------------------------------------------------------
    page.get_by_role("link", name="Ledger").click()
    page.locator('select[name="stream"]').select_option("customers")
    page.locator('select[name="kind"]').select_option("rejected")
    page.locator("#apply-filters").click()
    expect(page).to_have_url(re.compile(r"stream=customers.*kind=rejected"))
    expect(page.locator("#ledger tbody tr")).to_have_count(len(rejected))
    expect(page.locator("#ledger-count")).to_contain_text(f"{len(rejected)} entr")
    page.locator('input[name="reason"]').fill(target.reason)
    page.locator("#apply-filters").click()
    same_reason = [e for e in rejected if e.reason == target.reason]
    expect(page.locator("#ledger tbody tr")).to_have_count(len(same_reason))

    # -- retry a record (after fixing it at the source) ------------------------------------
    _fix_in_galaxy(env, target.key)
    entry_row = page.locator(f'#ledger tr[data-key="{target.key}"]')
    entry_row.locator("button.retry").click()
    expect(page.locator(".flash")).to_contain_text("Marked 1 ledger entries for retry")
    expect(page.locator(f'#ledger tr[data-key="{target.key}"]')).to_contain_text("retry marked")

    # -- Sync now, a second press refused, and the run followed to its end -----------------
    page.locator("#sync-now").click()
    expect(page).to_have_url(re.compile(r"/runs/"))
    status = page.locator("#run-status")
    expect(status).to_have_attribute("data-status", "running")
    expect(page.locator("#progress")).to_be_visible()
    expect(page.locator("#progress-bars .bar", has_text="customers")).to_be_visible()
    new_run = status.get_attribute("data-run")
    assert new_run
    assert new_run != first_run.run_id

    other = browser.new_page()
    other.goto(gated.url + "/")
    other.locator("#sync-now").click()
    expect(other.locator("#message")).to_contain_text("already in progress")
    expect(other.locator("#message")).to_contain_text(new_run)
    other.close()

    gate.set()  # let the run write: the open page follows it to its result
    expect(status).not_to_have_attribute("data-status", "running", timeout=FINISH_TIMEOUT_MS)
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", re.compile("success|incomplete")
    )
    expect(page.locator("#progress")).to_be_hidden()

    # the retried record left the ledger and is in Zoho
    page.goto(f"{gated.url}/ledger/customers/{target.key}")
    expect(page.locator("#in-ledger")).to_have_text("no")
    expect(page.locator("#in-zoho")).to_contain_text("yes, record id")
    accounts = {r.get("Trader_ID"): r for r in env.zoho.records("Accounts")}
    assert accounts[target.key]["Account_Name"] == f"Fixed {target.key[:8]}"
    page.close()
