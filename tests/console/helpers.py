"""Console test helpers: the console served on loopback with a client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from tests.e2e.helpers import Env

from gzsync.config import Settings
from gzsync.console.app import Console, create_app
from gzsync.sandbox.serve import ServedApp


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


def serve(env: Env, settings: Settings | None = None, **kwargs: Any) -> Iterator[Served]:
    app = create_app(settings or env.settings, **kwargs)
    with ServedApp(app) as served, httpx.Client(base_url=served.url, timeout=30) as client:
        yield Served(env=env, url=served.url, console=app.state.console, client=client)
        app.state.console.runner.join(60)
