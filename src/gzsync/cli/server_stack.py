"""The commands that serve HTTP (`serve`, `sandbox`, `demo`) need starlette and uvicorn, the
`server` extra. A Catalyst function folder, or a cron host installed from its requirements,
leaves them out (issue 13): those commands then say what to install instead of failing with
an import error deep in a traceback."""

from __future__ import annotations

import importlib

from gzsync.cli.common import fail

#: The server stack: the packages of the `server` extra, as imported.
SERVER_MODULES = ("starlette", "uvicorn")


def require_server_stack(command: str) -> None:
    """Exit 2 naming the fix when the server stack is not installed."""
    missing = []
    for name in SERVER_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        fail(
            f"gzsync {command} needs {' and '.join(missing)} (the server extra): "
            "pip install 'gzsync[server]'",
            code=2,
        )
