"""Fixtures for the Catalyst tests: one Catalyst sandbox console per test session.

zcatalyst-sdk binds its console URL when it is imported (`_constants.APP_DOMAIN`, copied into
`_http_client`) and caches each app's HTTP sessions, so the session starts one fake console,
points the SDK's constants at it (the in-process equivalent of setting
`X_ZOHO_CATALYST_CONSOLE_URL` before import), and each test gets a fresh table name and an
empty cache. Subprocess tests set the real environment variable instead.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gzsync.sandbox.serve import ServedApp

# Test helpers are imported by module name (the tests have no packages): `fake_console` from
# this folder, `store_contract` from tests/state, whichever test file pytest collects first.
for _folder in (Path(__file__).parent, Path(__file__).parent.parent / "state"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from fake_console import ConsoleState, create_console_app, sdk_environment  # noqa: E402

_tables = itertools.count()


@pytest.fixture(scope="session")
def console_server() -> Iterator[tuple[str, ConsoleState]]:
    """The fake console's URL and state; the SDK in this process talks to it."""
    import zcatalyst_sdk._constants as constants
    import zcatalyst_sdk._http_client as http_client

    # A replica an hour late: any read that is not consistent sees stale data at once.
    app = create_console_app(replica_lag_s=3600.0)
    with ServedApp(app) as served, pytest.MonkeyPatch.context() as patch:
        patch.setattr(constants, "APP_DOMAIN", served.url)
        patch.setattr(http_client, "APP_DOMAIN", served.url)
        for name, value in sdk_environment(served.url).items():
            patch.setenv(name, value)
        yield served.url, app.state.console


@pytest.fixture
def console(console_server: tuple[str, ConsoleState]) -> ConsoleState:
    """The fake console's state, with the cache emptied for this test."""
    state = console_server[1]
    state.faults.clear()
    state.reset_calls()
    state.gate.limit = 10
    state.cache.clear()
    state.connections.clear()
    state.job_statuses.clear()
    return state


@pytest.fixture
def table_name(console: ConsoleState) -> str:
    """A NoSQL table of this test's own."""
    return f"gzsync_state_{os.getpid()}_{next(_tables)}"
