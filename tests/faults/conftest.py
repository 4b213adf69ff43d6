"""Fixtures and tools shared by the fault, crash, malformed-input and security suites.

- `fault_env(...)`: both sandboxes on loopback like `tests.e2e.helpers.make_env`, with each
  app wrapped in an :class:`InFlight` counter (so a test can wait until requests abandoned
  by a timed-out or killed client have finished on the server) and optionally in a wrapper
  of the test's own (a recorder, a response rewriter).
- `expected_ledger(env)`: the ledger a fault-free world implies, computed from the Galaxy
  rows with the mapping alone (an oracle independent of the pipeline).
- `gzsync_subprocess(...)`: `python -m gzsync ...` as a real process pointed at an env.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from tests.e2e.helpers import Env, parity
from tests.retries import no_retry_waits  # noqa: F401  (autouse: no sleeps between retries)

from gzsync.config import DEFAULT_CONTACT_COLUMNS, Settings
from gzsync.mapping.records import Mapped, Rejected, map_affiliate, map_contact, map_customer
from gzsync.sandbox.serve import SandboxUrls, ServedApp

LedgerKey = tuple[str, str, str, str]  # (stream, key, kind, reason)


class InFlight:
    """ASGI wrapper counting HTTP requests the app is still handling.

    A client that times out or dies leaves its request running on the server (a stalled
    upsert still writes when the stall ends). Waiting for this count to reach zero before
    the next run, or before checking the end state, keeps such leftovers from racing it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.count -= 1


@dataclass
class FaultEnv(Env):
    """An `Env` whose sandboxes count their in-flight requests."""

    galaxy_flight: InFlight | None = None
    zoho_flight: InFlight | None = None

    def settle(self, deadline_s: float = 10.0) -> None:
        """Wait until neither sandbox is handling a request (polling, with a deadline)."""
        flights = [f for f in (self.galaxy_flight, self.zoho_flight) if f is not None]
        end = time.monotonic() + deadline_s
        while any(f.count for f in flights):
            if time.monotonic() > end:
                raise AssertionError(f"sandboxes still busy: {[f.count for f in flights]}")
            time.sleep(0.01)


Wrap = Callable[[ASGIApp], ASGIApp]


@contextmanager
def fault_env(
    tmp_path: Path,
    *,
    customers: int = 300,
    seed: int = 7,
    offers: int = 0,  # phase-1 fault tests: no offers (tests/e2e/test_quotes_sync.py has them)
    galaxy_wrap: Wrap | None = None,
    zoho_wrap: Wrap | None = None,
    **zoho: Any,
) -> Iterator[FaultEnv]:
    """Both sandboxes served on loopback, wrapped as asked; settings point at them."""
    from gzsync.sandbox.galaxy import create_galaxy_app
    from gzsync.sandbox.zoho import create_zoho_app

    galaxy_app = create_galaxy_app(customers=customers, seed=seed, offers=offers)
    zoho.setdefault("strict_fields", True)
    zoho_app = create_zoho_app(seed=seed, **zoho)
    galaxy_flight = InFlight(galaxy_wrap(galaxy_app) if galaxy_wrap else galaxy_app)
    zoho_flight = InFlight(zoho_wrap(zoho_app) if zoho_wrap else zoho_app)
    with ServedApp(galaxy_flight) as g, ServedApp(zoho_flight) as z:
        urls = SandboxUrls(galaxy_url=g.url, zoho_api_url=z.url, zoho_accounts_url=z.url)
        state_db = tmp_path / "state.db"
        yield FaultEnv(
            urls=urls,
            galaxy=galaxy_app.state.galaxy,
            zoho=zoho_app.state.zoho,
            settings=Settings.from_values(**urls.env(), STATE_DB=state_db),
            state_db=state_db,
            galaxy_flight=galaxy_flight,
            zoho_flight=zoho_flight,
        )


def expected_ledger(env: Env) -> set[LedgerKey]:
    """What the ledger holds once every transient failure has been retried.

    Only data-caused entries remain: rows our validation rejects (customers, contacts, and
    the affiliates of this data's card holders) and contacts whose customer is not a valid
    Account (`waiting_parent`). Computed from Galaxy's rows with the mapping alone.
    """
    out: set[LedgerKey] = set()
    customers: dict[str, Mapped] = {}
    for row in env.galaxy.rows("zh_Customers_fin"):
        item = map_customer(row)
        if isinstance(item, Rejected):
            out.add(("customers", item.key, "rejected", item.reason))
        elif item.key not in customers or customers[item.key].rev < item.rev:
            customers[item.key] = item
    card_revs = {m.rev for m in customers.values() if m.card_holder}
    for row in env.galaxy.rows("ZH_AFFILIATE"):
        affiliate = map_affiliate(row)
        if isinstance(affiliate, Rejected) and affiliate.rev in card_revs:
            out.add(("affiliates", affiliate.key, "rejected", affiliate.reason))
    for row in env.galaxy.rows("ZH_CONTACTS"):
        contact = map_contact(row, DEFAULT_CONTACT_COLUMNS)
        if isinstance(contact, Rejected):
            out.add(("contacts", contact.key, "rejected", contact.reason))
        elif contact.parent_key not in customers:
            out.add(("contacts", contact.key, "waiting_parent", "parent_not_in_zoho"))
    return out


def ledger_keys(env: Env) -> set[LedgerKey]:
    """The ledger as (stream, key, kind, reason), read from the state file."""
    from tests.e2e.helpers import ledger

    return {(e.stream, e.key, e.kind, e.reason) for e in ledger(env)}


def assert_nothing_duplicated_or_extra(env: Env) -> None:
    """The invariant of every moment, storm or not: no key twice, nothing Galaxy lacks."""
    result = parity(env)
    assert not result.duplicated, result.summary()
    assert not result.unexpected, result.summary()


def lock_row(state_db: Path) -> tuple[str, float] | None:
    """The run lock as the state file holds it: (owner, expires_at), or None when free."""
    conn = sqlite3.connect(state_db)
    try:
        row = conn.execute("SELECT owner, expires_at FROM lock").fetchone()
    finally:
        conn.close()
    return None if row is None else (str(row[0]), float(row[1]))


def subprocess_env(env: Env, **extra: str) -> dict[str, str]:
    """The environment of a `gzsync` child process pointed at `env` (and nothing else)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ZOHO_", "GALAXY_"))}
    for name in ("BASE_URL", "AUTH_USERNAME", "AUTH_PASSWORD", "DEBUG", "DEV_LIMIT", "STATE_DB"):
        base.pop(name, None)
    base.update(env.urls.env())
    base["STATE_DB"] = str(env.state_db)
    base.update(extra)
    return base


def start_gzsync(env: Env, *args: str, cwd: Path, **extra: str) -> subprocess.Popen[bytes]:
    """`python -m gzsync <args>` as a real child process (no `.env`: it runs in `cwd`)."""
    return subprocess.Popen(
        [sys.executable, "-m", "gzsync", *args],
        cwd=cwd,
        env=subprocess_env(env, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def run_gzsync(env: Env, *args: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[bytes]:
    """Run `python -m gzsync <args>` to completion (60 s at most); output captured."""
    return subprocess.run(
        [sys.executable, "-m", "gzsync", *args],
        cwd=cwd,
        env=subprocess_env(env, **extra),
        capture_output=True,
        timeout=60,
        check=False,
    )
