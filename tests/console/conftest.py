"""Console fixtures: sandboxes with one finished sync, and the console served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina
from tests.e2e.helpers import Env, make_env, sync

from gzsync.config import Settings
from gzsync.console.app import Console, create_app
from gzsync.sandbox.serve import ServedApp


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    stamina.set_testing(True, attempts=6)
    yield
    stamina.set_testing(False)


@dataclass
class Served:
    """The console on a loopback port, a client for it, and the sandboxes behind it."""

    env: Env
    url: str
    console: Console
    client: httpx.Client

    def csrf(self, path: str = "/ledger") -> str:
        """The CSRF token of a page this client loaded (its cookie is now set)."""
        page = self.client.get(path).text
        marker = 'name="csrf" value="'
        start = page.index(marker) + len(marker)
        return page[start : page.index('"', start)]


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[Env]:
    """Both sandboxes (120 customers, some bad rows) after one full sync."""
    for env in make_env(tmp_path, customers=120, seed=11):
        report = sync(env)
        assert report.status == "incomplete"  # the generator's bad rows wait in the ledger
        yield env


def serve(env: Env, settings: Settings | None = None, **kwargs: Any) -> Iterator[Served]:
    app = create_app(settings or env.settings, **kwargs)
    with ServedApp(app) as served, httpx.Client(base_url=served.url, timeout=30) as client:
        yield Served(env=env, url=served.url, console=app.state.console, client=client)
        app.state.console.runner.join(60)


@pytest.fixture
def served(synced: Env) -> Iterator[Served]:
    yield from serve(synced)
