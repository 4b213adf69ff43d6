"""Serving the sandboxes: on a port in a background thread (tests, demo, benchmarks) or in
the foreground (`gzsync sandbox`).

The listening socket is bound before the server thread starts, so the URL is usable at once:
connections wait in the socket's backlog until uvicorn accepts them. No polling, no sleeps.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.types import ASGIApp

from gzsync.sandbox import credentials


class ServedApp:
    """An ASGI app served by uvicorn on a loopback port in a daemon thread."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(2048)
        self.host, self.port = self._sock.getsockname()[:2]
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_keep_alive=30,
            backlog=2048,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServedApp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> ServedApp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(slots=True)
class SandboxUrls:
    """Where the sandboxes listen and the credentials they accept (`gzsync sandbox` prints it)."""

    galaxy_url: str
    zoho_api_url: str
    zoho_accounts_url: str
    username: str = credentials.GALAXY_USERNAME
    password: str = credentials.GALAXY_PASSWORD
    client_id: str = credentials.ZOHO_CLIENT_ID
    client_secret: str = credentials.ZOHO_CLIENT_SECRET
    refresh_token: str = credentials.ZOHO_REFRESH_TOKEN
    extra: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, str]:
        return {
            "galaxy_url": self.galaxy_url,
            "zoho_api_url": self.zoho_api_url,
            "zoho_accounts_url": self.zoho_accounts_url,
            "username": self.username,
            "password": self.password,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }

    def env(self) -> dict[str, str]:
        """Environment variables that point gzsync at these sandboxes."""
        return {
            "BASE_URL": self.galaxy_url,
            "AUTH_USERNAME": self.username,
            "AUTH_PASSWORD": self.password,
            "ZOHO_CLIENT_ID": self.client_id,
            "ZOHO_CLIENT_SECRET": self.client_secret,
            "ZOHO_REFRESH_TOKEN": self.refresh_token,
            "ZOHO_API_URL": self.zoho_api_url,
            "ZOHO_ACCOUNTS_URL": self.zoho_accounts_url,
        }


@contextmanager
def serve_sandboxes(
    galaxy_app: ASGIApp,
    zoho_app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    galaxy_port: int = 0,
    zoho_port: int = 0,
) -> Iterator[SandboxUrls]:
    """Serve both sandbox apps for the duration of the block."""
    with (
        ServedApp(galaxy_app, host, galaxy_port) as galaxy,
        ServedApp(zoho_app, host, zoho_port) as zoho,
    ):
        yield SandboxUrls(galaxy_url=galaxy.url, zoho_api_url=zoho.url, zoho_accounts_url=zoho.url)
