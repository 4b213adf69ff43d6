"""`gzsync alerts`: check the alert conditions now and notify ALERT_URLS."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gzsync.cli.common import fail, print_json, settings_or_exit
from gzsync.errors import GzsyncError


def alerts_command(
    json_out: Annotated[bool, typer.Option("--json", help="Print what was sent as JSON.")] = False,
) -> None:
    """Check the alert conditions and send those not sent yet (each alert once).

    Conditions: the last run aborted, it added rejections or failures to the ledger, the
    ledger grew for ALERT_LEDGER_GROWTH_RUNS runs in a row, no run succeeded for
    ALERT_STALE_AFTER. Runs after every sync on its own; schedule this (e.g. every 15 min
    from cron) to also hear when the sync stopped running at all. Exit 2 without ALERT_URLS.
    """
    from gzsync.alerts import check_and_notify
    from gzsync.logs import register_secret
    from gzsync.state import open_store

    settings = settings_or_exit()
    if settings.alert_urls is None:
        fail("ALERT_URLS is not set: nowhere to send alerts", code=2)
    register_secret(settings.alert_urls.get_secret_value())
    if settings.state_backend == "sqlite" and not Path(settings.state_db).exists():
        sent = []
    else:
        try:
            store = open_store(settings)
            try:
                sent = check_and_notify(settings, store)
            finally:
                store.close()
        except GzsyncError as exc:
            fail(exc)
    if json_out:
        print_json({"sent": [{"condition": a.condition, "title": a.title} for a in sent]})
    else:
        for alert in sent:
            print(f"gzsync: alert sent: {alert.title}", file=sys.stderr)
        if not sent:
            print("gzsync: no new alert", file=sys.stderr)
