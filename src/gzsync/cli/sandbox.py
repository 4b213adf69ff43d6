"""`gzsync sandbox`: serve the Galaxy and Zoho CRM sandboxes until interrupted."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from typing import Annotated

import typer

from gzsync.cli.common import fail
from gzsync.cli.server_stack import require_server_stack


def parse_latency(text: str) -> tuple[float, float]:
    """`"400"` or `"400,2"` -> (base ms, ms per record)."""
    parts = [p.strip() for p in text.split(",")]
    try:
        if len(parts) == 1:
            return float(parts[0]), 0.0
        if len(parts) == 2:
            return float(parts[0]), float(parts[1])
    except ValueError:
        pass
    raise ValueError("--zoho-latency-ms takes BASE or BASE,PER_RECORD (milliseconds)")


def sandbox_command(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = (
        "127.0.0.1"
    ),
    galaxy_port: Annotated[int, typer.Option(help="Galaxy port; 0 picks a free one.")] = 0,
    zoho_port: Annotated[int, typer.Option(help="Zoho CRM port; 0 picks a free one.")] = 0,
    customers: Annotated[int, typer.Option(help="Customers to generate.", min=0)] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the generated data and faults.")] = 1,
    zoho_latency_ms: Annotated[
        str, typer.Option(help="Zoho call latency: BASE[,PER_RECORD] in ms.")
    ] = "0",
    zoho_concurrency: Annotated[
        int, typer.Option(help="Zoho's concurrent-call limit (429 above it).", min=1)
    ] = 10,
    zoho_credits: Annotated[
        int, typer.Option(help="Zoho's daily API credit budget.", min=1)
    ] = 1_000_000,
    catalyst: Annotated[
        bool,
        typer.Option(
            "--catalyst",
            help="Also serve a local Catalyst console (NoSQL, Cache, Connections, job runtime).",
        ),
    ] = False,
    catalyst_latency_ms: Annotated[
        float, typer.Option(help="Latency of every Catalyst call, in ms.", min=0)
    ] = 0.0,
    offers: Annotated[
        int | None,
        typer.Option(help="Sales offers to generate (default: customers/4, at most 2,000).", min=0),
    ] = None,
) -> None:
    """Serve local sandboxes of Galaxy ERP and Zoho CRM until interrupted.

    The first line on stdout is one JSON object with galaxy_url, zoho_api_url,
    zoho_accounts_url and the sandbox credentials; logs go to stderr. Point gzsync at it
    with BASE_URL, ZOHO_API_URL, ZOHO_ACCOUNTS_URL and the credentials. With --catalyst it
    also has `catalyst`: the console's `console_url` and the `env` that points
    zcatalyst-sdk (and STATE_BACKEND) at it.
    """
    require_server_stack("sandbox")
    from gzsync.sandbox.galaxy import create_galaxy_app
    from gzsync.sandbox.serve import serve_sandboxes
    from gzsync.sandbox.zoho import create_zoho_app

    try:
        latency = parse_latency(zoho_latency_ms)
    except ValueError as exc:
        fail(str(exc), code=2)
    galaxy_app = create_galaxy_app(customers=customers, seed=seed, offers=offers)
    zoho_app = create_zoho_app(
        latency_ms=latency,
        concurrency_limit=zoho_concurrency,
        daily_credits=zoho_credits,
        seed=seed,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with (
            serve_sandboxes(
                galaxy_app, zoho_app, host=host, galaxy_port=galaxy_port, zoho_port=zoho_port
            ) as urls,
            contextlib.ExitStack() as extra,
        ):
            first_line: dict[str, object] = dict(urls.as_json())
            if catalyst:
                first_line["catalyst"] = _serve_catalyst(extra, host, catalyst_latency_ms, seed)
            sys.stdout.write(json.dumps(first_line) + "\n")
            sys.stdout.flush()
            print(
                f"sandboxes up: Galaxy {urls.galaxy_url}, Zoho {urls.zoho_api_url} "
                f"({customers} customers, seed {seed}); Ctrl-C stops",
                file=sys.stderr,
            )
            while not stop.wait(3600):
                pass
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        fail(f"cannot listen: {exc}", code=2)


def _serve_catalyst(
    stack: contextlib.ExitStack, host: str, latency_ms: float, seed: int
) -> dict[str, object]:
    """Serve the Catalyst console for the life of `stack`; what the first line says of it."""
    from gzsync.sandbox.catalyst import create_catalyst_app, sdk_environment
    from gzsync.sandbox.serve import ServedApp

    served = stack.enter_context(
        ServedApp(create_catalyst_app(latency_ms=latency_ms, seed=seed), host)
    )
    env = {**sdk_environment(served.url), "STATE_BACKEND": "catalyst"}
    print(f"Catalyst console {served.url}", file=sys.stderr)
    return {"console_url": served.url, "env": env}
