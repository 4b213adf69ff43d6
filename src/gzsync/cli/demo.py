"""`gzsync demo`: a full sync and an incremental one against in-process sandboxes."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from gzsync import logs
from gzsync.cli.common import print_json, render_report, stderr
from gzsync.config import Settings
from gzsync.sync.options import RunOptions
from gzsync.sync.pipeline import run_sync
from gzsync.sync.progress import NoProgress


def demo_command(
    customers: Annotated[int, typer.Option(help="Customers in the Galaxy sandbox.", min=10)] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 1,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    catalyst: Annotated[
        bool,
        typer.Option("--catalyst", help="Keep the state in a local Catalyst console (NoSQL)."),
    ] = False,
) -> None:
    """Show a whole sync with no configuration at all.

    Starts both sandboxes in-process, runs a full sync, changes 10% of the customers (and
    of the contacts) in Galaxy, runs an incremental sync, and checks that Zoho now holds
    exactly what Galaxy holds. Nothing leaves this machine; state lives in a temporary
    folder (with --catalyst: in a local Catalyst console, through zcatalyst-sdk, as a
    Catalyst Job function keeps it). Exit code 0 when Zoho matches Galaxy.
    """
    from gzsync.sandbox.galaxy import create_galaxy_app
    from gzsync.sandbox.parity import check_parity
    from gzsync.sandbox.serve import serve_sandboxes
    from gzsync.sandbox.zoho import create_zoho_app

    logs.configure_logging(debug=False, quiet=json_out)
    galaxy_app = create_galaxy_app(customers=customers, seed=seed)
    zoho_app = create_zoho_app(seed=seed)
    galaxy = galaxy_app.state.galaxy
    zoho = zoho_app.state.zoho
    with (
        serve_sandboxes(galaxy_app, zoho_app) as urls,
        tempfile.TemporaryDirectory() as tmp,
        contextlib.ExitStack() as extra,
    ):
        console = _catalyst_console(extra) if catalyst else None
        backend = {"STATE_BACKEND": "catalyst"} if console is not None else {}
        settings = Settings.from_values(**urls.env(), STATE_DB=Path(tmp) / "state.db", **backend)
        stderr.print(
            f"Galaxy sandbox {urls.galaxy_url} with {customers} customers; "
            f"Zoho sandbox {urls.zoho_api_url}",
            highlight=False,
        )
        full = run_sync(settings, RunOptions(), progress=NoProgress())
        touched = galaxy.touch(customers=customers // 10, contacts=customers // 10, seed=seed + 1)
        incremental = run_sync(settings, RunOptions(), progress=NoProgress())
        parity = check_parity(
            galaxy_customers=galaxy.rows("zh_Customers_fin"),
            galaxy_affiliates=galaxy.rows("ZH_AFFILIATE"),
            galaxy_contacts=galaxy.rows("ZH_CONTACTS"),
            zoho_accounts=zoho.records("Accounts"),
            zoho_contacts=zoho.records("Contacts"),
        )
    if json_out:
        print_json(
            {
                "full": full.to_json(),
                "changed": {k: len(v) for k, v in touched.items()},
                "incremental": incremental.to_json(),
                "parity": {"ok": parity.ok, "summary": parity.summary(), "checked": parity.checked},
                **({"catalyst": console.stats_json()} if console is not None else {}),
            }
        )
    else:
        render_report(full, "full sync")
        stderr.print(
            f"changed in Galaxy: {len(touched['customers'])} customers, "
            f"{len(touched['contacts'])} contacts",
            highlight=False,
        )
        render_report(incremental, "incremental sync")
        stderr.print(("OK: " if parity.ok else "FAILED: ") + parity.summary(), highlight=False)
        if full.ledger_pending:
            stderr.print(
                f"{full.ledger_pending} Galaxy rows are in the ledger by design: the "
                "sandbox generates about 1% bad rows (see `gzsync ledger`).",
                highlight=False,
            )
    raise typer.Exit(0 if parity.ok else 1)


def _catalyst_console(stack: contextlib.ExitStack) -> Any:
    """Serve a Catalyst console for the demo and point zcatalyst-sdk at it; its state."""
    try:
        import zcatalyst_sdk  # noqa: F401 - only to fail early and clearly
    except ImportError:
        stderr.print("--catalyst needs zcatalyst-sdk: pip install 'gzsync[catalyst]'")
        raise typer.Exit(2) from None
    from gzsync.sandbox.catalyst import create_catalyst_app, point_sdk_at
    from gzsync.sandbox.serve import ServedApp

    app = create_catalyst_app()
    served = stack.enter_context(ServedApp(app))
    point_sdk_at(served.url)
    stderr.print(f"Catalyst console {served.url} holds the state", highlight=False)
    return app.state.console
