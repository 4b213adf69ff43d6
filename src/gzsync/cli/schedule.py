"""`gzsync schedule`: the sync on a fixed-rate schedule, in the foreground."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from gzsync.cli.common import BulkOption, LogFormatOption, fail, settings_or_exit
from gzsync.errors import ConfigError
from gzsync.ops.schedule import Scheduler, parse_every, stop_on_signals
from gzsync.sync.options import ENTITIES, RunOptions, parse_entities
from gzsync.sync.report import RunReport

log = logging.getLogger("gzsync.schedule")

#: Shown under `gzsync schedule --help`; the same examples are in docs/DEPLOY.md.
EPILOG = """\
Prefer cron or systemd? gzsync takes its own lock (a second run exits 75 at once), so no
flock is needed. Examples (also in docs/DEPLOY.md):

\b
# crontab: every 2 hours, on the hour
0 */2 * * *  cd /srv/gzsync && .venv/bin/gzsync run --quiet --log-format json >>sync.log 2>&1

\b
# /etc/systemd/system/gzsync.service
[Unit]
Description=gzsync: Galaxy ERP to Zoho CRM
Wants=network-online.target
After=network-online.target
[Service]
Type=oneshot
WorkingDirectory=/srv/gzsync
EnvironmentFile=/srv/gzsync/.env
ExecStart=/srv/gzsync/.venv/bin/gzsync run --log-format json
# 1: finished, some records wait in the ledger (retried next time)
SuccessExitStatus=1

\b
# /etc/systemd/system/gzsync.timer
[Unit]
Description=Run gzsync every 2 hours
[Timer]
OnCalendar=0/2:00
RandomizedDelaySec=2m
Persistent=true
[Install]
WantedBy=timers.target

\b
# then
systemctl daemon-reload && systemctl enable --now gzsync.timer

In a container, run `gzsync schedule --every 2h --log-format json` as the main process:
it stops cleanly on SIGTERM between runs.
"""


def schedule_command(
    every: Annotated[
        str, typer.Option("--every", help="Interval between run starts: 90s, 15m, 2h, 1h30m.")
    ],
    max_runs: Annotated[
        int | None,
        typer.Option("--max-runs", help="Stop after N runs (default: run until stopped).", min=1),
    ] = None,
    jitter: Annotated[
        float,
        typer.Option(
            "--jitter", help="Add a random delay of up to S seconds to each interval.", min=0
        ),
    ] = 0.0,
    entities: Annotated[
        str, typer.Option("--entities", help="What to sync, as for gzsync run.")
    ] = ",".join(ENTITIES),
    max_duration: Annotated[
        float | None,
        typer.Option(
            "--max-duration",
            help="Time budget of each run in seconds (default: the interval).",
            min=1,
        ),
    ] = None,
    bulk: BulkOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only warnings and errors in the log.")
    ] = False,
    log_format: LogFormatOption = "text",
) -> None:
    """Run the sync now and then every --every, in the foreground, until stopped.

    Fixed rate: each run starts one interval after the previous one started; a run that
    overruns is followed at once by the next, never overlapped. Another process holding
    the run lock makes a tick log a warning and skip. SIGTERM or SIGINT stops the loop
    between runs (a second one interrupts the current run). Each run's time budget is the
    interval unless --max-duration says otherwise, so a slow run hands over to the next.

    Exit codes: 0 stopped (signal or --max-runs), 2 configuration error.
    """
    from gzsync.cli.common import setup_logging
    from gzsync.sync.pipeline import run_sync
    from gzsync.sync.progress import LogProgress, NoProgress

    try:
        every_s = parse_every(every)
        options = RunOptions(
            entities=parse_entities(entities),
            max_duration_s=max_duration or every_s,
            bulk=bulk,
        )
    except ValueError as exc:
        fail(str(exc), code=2)
    settings = settings_or_exit(for_sync=True)
    setup_logging(settings.debug, log_format, quiet)

    def run_once() -> RunReport:
        progress = NoProgress() if quiet else LogProgress(every_s=60.0)
        return run_sync(settings, options, progress=progress)

    scheduler = Scheduler(run_once, every_s, max_runs=max_runs, jitter_s=jitter)
    log.info("scheduling a sync every %s", every)
    try:
        with stop_on_signals(scheduler.stop):
            scheduler.run()
    except ConfigError as exc:
        fail(exc)
    log.info("schedule stopped after %d run(s)", len(scheduler.ticks))
