"""Console test helpers: the console served on loopback with a client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from tests.e2e.helpers import Env

from gzsync.config import Settings
from gzsync.console.app import Console, create_app
from gzsync.console.security import CSRF_COOKIE
from gzsync.sandbox.serve import ServedApp


@dataclass
class Served:
    """The console on a loopback port, a client for it, and the sandboxes behind it."""

    env: Env
    url: str
    console: Console
    client: httpx.Client

    def csrf(self, path: str = "/ledger") -> str:
        """The CSRF token the pages give this client (loading `path` sets its cookie)."""
        self.client.get(path)
        cookie = self.client.cookies.get(CSRF_COOKIE)
        assert cookie, "the console sets its CSRF cookie on the first page"
        return self.console.csrf.token(cookie)


def serve(env: Env, settings: Settings | None = None, **kwargs: Any) -> Iterator[Served]:
    app = create_app(settings or env.settings, **kwargs)
    with ServedApp(app) as served, httpx.Client(base_url=served.url, timeout=30) as client:
        yield Served(env=env, url=served.url, console=app.state.console, client=client)
        app.state.console.runner.join(60)
