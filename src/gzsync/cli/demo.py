"""`gzsync demo`: a full sync and an incremental one against in-process sandboxes."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer

from gzsync import logs
from gzsync.cli.common import print_json, render_report, stderr
from gzsync.cli.demo_quotes import quotes_parity, touch_offers
from gzsync.cli.reconcile_cmd import run_drift_demo
from gzsync.cli.server_stack import require_server_stack
from gzsync.config import Settings
from gzsync.sync.options import RunOptions
from gzsync.sync.pipeline import run_sync
from gzsync.sync.progress import NoProgress

#: Where the demo keeps its state, relative to the working directory.
DEMO_STATE_DIR = Path(".gzsync-demo")


def fresh_state_db(state_dir: Path) -> Path:
    """The demo's state file, emptied: each demo starts fresh sandboxes, so an old
    watermark would skip everything."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    state_db = state_dir / "state.db"
    for path in state_dir.glob("state.db*"):
        path.unlink()
    return state_db


def demo_command(
    customers: Annotated[int, typer.Option(help="Customers in the Galaxy sandbox.", min=10)] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 1,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    state_dir: Annotated[
        Path,
        typer.Option(
            "--state-dir",
            help="Where the demo keeps its state file (replaced by every demo run).",
            file_okay=False,
        ),
    ] = DEMO_STATE_DIR,
    drift: Annotated[
        bool,
        typer.Option(
            "--drift",
            help="Then tamper with Zoho as a CRM user would and watch `gzsync reconcile` "
            "find and repair every class.",
        ),
    ] = False,
    catalyst: Annotated[
        bool,
        typer.Option("--catalyst", help="Keep the state in a local Catalyst console (NoSQL)."),
    ] = False,
) -> None:
    """Show a whole sync with no configuration at all.

    Starts both sandboxes in-process, runs a full sync, changes 10% of the customers (and of
    the contacts, and the lines of some offers) in Galaxy, runs an incremental sync, and
    checks that Zoho now holds exactly what Galaxy holds. Nothing leaves this machine. The
    state lives in ./.gzsync-demo/state.db (--state-dir), replaced by each demo run, so
    `gzsync status`, `gzsync ledger` and `gzsync report` can look at it afterwards with
    STATE_DB=.gzsync-demo/state.db. With --catalyst the state lives instead in a local
    Catalyst console, through zcatalyst-sdk, as a Catalyst Job function keeps it (temporary:
    it stops with the demo). Exit code 0 when Zoho matches Galaxy.
    """
    require_server_stack("demo")
    from gzsync.sandbox.galaxy import create_galaxy_app
    from gzsync.sandbox.parity import check_parity
    from gzsync.sandbox.serve import serve_sandboxes
    from gzsync.sandbox.zoho import create_zoho_app

    logs.configure_logging(debug=False, quiet=json_out)
    galaxy_app = create_galaxy_app(customers=customers, seed=seed)
    zoho_app = create_zoho_app(seed=seed)
    galaxy = galaxy_app.state.galaxy
    zoho = zoho_app.state.zoho
    state_db = fresh_state_db(state_dir)
    with serve_sandboxes(galaxy_app, zoho_app) as urls, contextlib.ExitStack() as extra:
        console = _catalyst_console(extra) if catalyst else None
        backend = {"STATE_BACKEND": "catalyst"} if console is not None else {}
        settings = Settings.from_values(**urls.env(), STATE_DB=state_db, **backend)
        stderr.print(
            f"Galaxy sandbox {urls.galaxy_url} with {customers} customers; "
            f"Zoho sandbox {urls.zoho_api_url}",
            highlight=False,
        )
        full = run_sync(settings, RunOptions(), progress=NoProgress())
        touched = galaxy.touch(customers=customers // 10, contacts=customers // 10, seed=seed + 1)
        book = galaxy_app.state.galaxy_offers  # phase 2: offers whose lines change
        touched["offers"] = touch_offers(book, max(1, customers // 40), seed + 2)
        incremental = run_sync(settings, RunOptions(), progress=NoProgress())
        parity = check_parity(
            galaxy_customers=galaxy.rows("zh_Customers_fin"),
            galaxy_affiliates=galaxy.rows("ZH_AFFILIATE"),
            galaxy_contacts=galaxy.rows("ZH_CONTACTS"),
            zoho_accounts=zoho.records("Accounts"),
            zoho_contacts=zoho.records("Contacts"),
            number_decimal=settings.number_decimal,
        )
        quotes = quotes_parity(
            book,
            urls.zoho_api_url,
            zoho.records("Accounts"),
            settings.zoho_tax_names,
            settings.number_decimal,
        )
        drifted = run_drift_demo(settings, galaxy, urls.zoho_api_url, quiet=True) if drift else {}
    if json_out:
        print_json(
            {
                "full": full.to_json(),
                "changed": {k: len(v) for k, v in touched.items()},
                "incremental": incremental.to_json(),
                "parity": {"ok": parity.ok, "summary": parity.summary(), "checked": parity.checked},
                "quotes_parity": {
                    "ok": quotes.ok,
                    "summary": quotes.summary(),
                    "checked": quotes.checked,
                },
                **({"drift": drifted} if drift else {}),
                **({"catalyst": console.stats_json()} if console is not None else {}),
            }
        )
    else:
        render_report(full, "full sync")
        stderr.print(
            f"changed in Galaxy: {len(touched['customers'])} customers, "
            f"{len(touched['contacts'])} contacts, {len(touched['offers'])} offers' lines",
            highlight=False,
        )
        render_report(incremental, "incremental sync")
        stderr.print(("OK: " if parity.ok else "FAILED: ") + parity.summary(), highlight=False)
        stderr.print(("OK: " if quotes.ok else "FAILED: ") + quotes.summary(), highlight=False)
        if full.ledger_pending:
            stderr.print(
                f"{full.ledger_pending} Galaxy rows are in the ledger by design: the "
                "sandbox generates about 1% bad rows.",
                highlight=False,
            )
        if drift:
            stderr.print(("OK: " if drifted["ok"] else "FAILED: ") + drifted["summary"])
        if console is not None:
            stderr.print(
                "The demo's state was in a local Catalyst console, which stopped with the demo.",
                highlight=False,
            )
        else:
            stderr.print(
                f"The demo's state is in {state_db} (replaced by the next demo). "
                f"Look at it with: STATE_DB={state_db} gzsync ledger",
                highlight=False,
                soft_wrap=True,
            )
    raise typer.Exit(0 if parity.ok and quotes.ok and drifted.get("ok", True) else 1)


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
