"""`gzsync serve`: the web console, in the foreground."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

import typer

from gzsync.cli.common import fail, settings_or_exit, setup_logging
from gzsync.cli.server_stack import require_server_stack
from gzsync.errors import GzsyncError

log = logging.getLogger("gzsync.console")

#: How often the console checks the alert conditions (stale runs, mostly) while it serves.
ALERT_CHECK_S = 60.0


def serve_command(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; not loopback needs CONSOLE_TOKEN.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on.", min=0, max=65535)
    ] = 8765,
    read_only: Annotated[
        bool,
        typer.Option("--read-only", help="Views and metrics only: no Sync now, retry or drop."),
    ] = False,
    log_format: Annotated[
        str, typer.Option("--log-format", help="text or json (one object per line).")
    ] = "text",
) -> None:
    """Serve the web console: runs, charts, the ledger (retry, drop), Sync now, /metrics.

    Listens on loopback unless told otherwise; any other address needs CONSOLE_TOKEN (or
    CONSOLE_USER and CONSOLE_PASSWORD), else exit 2. Stops on Ctrl-C / SIGTERM. While it
    runs it checks the alert conditions every minute when ALERT_URLS is set.
    """
    require_server_stack("serve")
    import uvicorn

    from gzsync.console.app import create_app
    from gzsync.console.security import check_bind

    settings = settings_or_exit()
    try:
        check_bind(host, settings)
    except GzsyncError as exc:
        fail(exc)
    setup_logging(settings.debug, log_format, quiet=False)
    app = create_app(settings, read_only=read_only)
    stop = threading.Event()
    if settings.alert_urls is not None:
        threading.Thread(
            target=_alert_loop, args=(app.state.console, stop), daemon=True, name="alerts"
        ).start()
    print(f"gzsync console on http://{host}:{port}/", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        stop.set()


def _alert_loop(console: object, stop: threading.Event) -> None:
    from gzsync.alerts import after_run
    from gzsync.console.app import Console

    assert isinstance(console, Console)
    while not stop.wait(ALERT_CHECK_S):
        try:
            with console.store() as store:
                if store is not None:
                    after_run(console.settings, store)
        except GzsyncError as exc:
            log.warning("alerts not checked: %s", exc)
