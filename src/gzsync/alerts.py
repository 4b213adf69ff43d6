"""Alerts: tell people when the sync needs them, once per cause, through Apprise.

`ALERT_URLS` holds Apprise URLs separated by commas or spaces (`mailtos://...`,
`slack://...`, `msteams://...`, `json://host/path` for a generic JSON webhook such as Zoho
Cliq's incoming webhook). Five conditions are watched:

- **run_aborted**: the newest finished run aborted (a service down, credentials refused);
- **new_failures**: the newest finished run added records to the ledger as `rejected`,
  `refused` or `failed` (entries first seen while it ran; `waiting_parent` is not a failure);
- **ledger_growth**: the ledger grew in each of the last `ALERT_LEDGER_GROWTH_RUNS` runs;
- **read_stuck**: the last `STUCK_RUNS` (3) runs all stopped `partial` while reading the same
  view (issue 15: a read that does not fit in the time budget is abandoned, exit 0, and would
  otherwise be abandoned run after run with nobody told);
- **stale**: no run has succeeded for `ALERT_STALE_AFTER` (default 6h). "Succeeded" means
  finished without aborting (`success`, `partial` or `incomplete`): an old rejected row in
  the ledger does not make the sync stale, a sync that cannot run does.

**Each alert once.** Every active condition has a fingerprint (the first run of an aborted
streak, the run that added failures, the first run of a growth streak, the last success);
the fingerprints sent are kept in the state store (`alerts:sent`), and a condition alerts
again only when its fingerprint changes, i.e. after it cleared and came back. An alert
that could not be delivered is not recorded, so the next check tries again.

**When checked.** After every run (`run_sync`, which never fails because of an alert), every
minute while `gzsync serve` runs, and on `gzsync alerts` (for cron hosts without the
console: it also catches a scheduler that stopped running altogether). Two checkers racing
may both send the same alert once; no lock is taken for that.

Each message names the cause and where to look: a `gzsync` command, and the console page
when `CONSOLE_URL` is set. URLs are registered as secrets (a webhook URL is a credential),
so they never reach a log.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gzsync import logs
from gzsync.config import Settings
from gzsync.ops.schedule import parse_every
from gzsync.state.store import RunRecord, StateStore
from gzsync.sync.read_budget import READ_CUT

log = logging.getLogger("gzsync.alerts")

STATE_KEY = "alerts:sent"
SUCCEEDED = frozenset({"success", "partial", "incomplete"})
FAILURE_KINDS = frozenset({"rejected", "refused", "failed"})
HISTORY = 50
#: runs in a row cut while reading the same view before `read_stuck` alerts
STUCK_RUNS = 3


@dataclass(frozen=True, slots=True)
class Alert:
    condition: str  # run_aborted | new_failures | ledger_growth | read_stuck | stale
    fingerprint: str
    title: str
    body: str


def alert_urls(settings: Settings) -> list[str]:
    if settings.alert_urls is None:
        return []
    return [u for u in re.split(r"[,\s]+", settings.alert_urls.get_secret_value()) if u]


def _where(console_url: str | None, path: str) -> str:
    return f" or {console_url.rstrip('/')}{path}" if console_url else ""


def _hours(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min"


def active_conditions(
    runs: Sequence[RunRecord],
    new_failures: Mapping[str, int],
    *,
    now: float,
    stale_after_s: float,
    growth_runs: int,
    console_url: str | None = None,
) -> list[Alert]:
    """The conditions true now, each with its fingerprint and message (pure).

    `runs` newest first; `new_failures`: reason -> count of entries the newest finished
    run added to the ledger as a failure.
    """
    real = [r for r in runs if not r.report.get("dry_run")]
    finished = [r for r in real if r.status != "running"]
    out: list[Alert] = []
    if finished:
        latest = finished[0]
        if latest.status == "aborted":
            streak = 0
            while streak < len(finished) and finished[streak].status == "aborted":
                streak += 1
            first = finished[streak - 1]
            cause = str(latest.report.get("message") or "no cause recorded")
            out.append(
                Alert(
                    "run_aborted",
                    first.run_id,
                    f"gzsync: run {latest.run_id} aborted",
                    f"Run {latest.run_id} aborted: {cause}."
                    + (f" {streak} runs in a row have aborted." if streak > 1 else "")
                    + " Nothing is lost: what was not confirmed is retried by the next run."
                    f" More: `gzsync status`, `gzsync report {latest.run_id}`"
                    + _where(console_url, f"/runs/{latest.run_id}")
                    + ".",
                )
            )
        total = sum(new_failures.values())
        if total:
            reasons = ", ".join(f"{r} {n}" for r, n in sorted(new_failures.items()))
            out.append(
                Alert(
                    "new_failures",
                    latest.run_id,
                    f"gzsync: {total} new records wait in the ledger",
                    f"Run {latest.run_id} added {total} records to the ledger ({reasons})."
                    " They are retried when they change in Galaxy, or on `gzsync ledger retry`."
                    " More: `gzsync ledger`"
                    + _where(console_url, f"/ledger?run={latest.run_id}")
                    + ".",
                )
            )
        pending = [r.report.get("ledger_pending") for r in finished]
        grew = 0
        while grew + 1 < len(pending):
            newer, older = pending[grew], pending[grew + 1]
            if not isinstance(newer, int) or not isinstance(older, int) or newer <= older:
                break
            grew += 1
        if grew >= growth_runs:
            first = finished[grew - 1]
            trend = " -> ".join(str(p) for p in reversed(pending[: grew + 1]))
            out.append(
                Alert(
                    "ledger_growth",
                    first.run_id,
                    f"gzsync: the ledger grew in {grew} runs in a row",
                    f"The ledger grew in each of the last {grew} runs ({trend} records)."
                    " More: `gzsync status`, `gzsync ledger`"
                    + _where(console_url, "/ledger")
                    + ".",
                )
            )
        stuck = _read_stuck(finished, console_url)
        if stuck is not None:
            out.append(stuck)
    last_ok = next((r for r in finished if r.status in SUCCEEDED), None)
    if last_ok is not None:
        since = last_ok.finished_at or last_ok.started_at
        what = f"the last successful run was {last_ok.run_id}"
    elif real:
        since = real[-1].started_at
        what = "no run has succeeded in the recorded history"
    else:
        since = None
        what = ""
    if since is not None and now - since > stale_after_s:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(since))
        out.append(
            Alert(
                "stale",
                last_ok.run_id if last_ok else "never",
                f"gzsync: no successful run for {_hours(now - since)}",
                f"No run has succeeded for more than {_hours(stale_after_s)}: {what} "
                f"({stamp}). Check that the schedule still runs and what the last runs say."
                " More: `gzsync status`" + _where(console_url, "/") + ".",
            )
        )
    return out


def _read_stuck(finished: Sequence[RunRecord], console_url: str | None) -> Alert | None:
    """The newest runs all abandoned the same read at the time budget (newest first)."""
    message = str(finished[0].report.get("message") or "")
    if finished[0].status != "partial" or not message.startswith(READ_CUT):
        return None
    streak = 0
    while (
        streak < len(finished)
        and finished[streak].status == "partial"
        and finished[streak].report.get("message") == message
    ):
        streak += 1
    if streak < STUCK_RUNS:
        return None
    what = message.removeprefix(READ_CUT).split(";", 1)[0]
    return Alert(
        "read_stuck",
        finished[streak - 1].run_id,
        f"gzsync: {streak} runs in a row could not finish reading {what}",
        f"The last {streak} runs stopped at the time budget while reading {what}: that read"
        " does not fit in the time a run has, so the stream behind it makes no progress."
        " Give the runs more time (`--max-duration` / `MAX_DURATION`, the Catalyst function's"
        " timeout) or run that read once where no platform limit applies (`gzsync run`"
        " on a host). Nothing is lost. More: `gzsync status`" + _where(console_url, "/") + ".",
    )


def new_failures_of_latest(store: StateStore, runs: Sequence[RunRecord]) -> dict[str, int]:
    """Reason -> count of failure entries first seen while the newest finished run ran."""
    finished = [r for r in runs if r.status != "running" and not r.report.get("dry_run")]
    if not finished:
        return {}
    run = finished[0]
    end = (run.finished_at or time.time()) + 1
    counts: Counter[str] = Counter(
        e.reason
        for e in store.ledger_list()
        if e.kind in FAILURE_KINDS and run.started_at <= e.first_seen <= end
    )
    return dict(counts)


def _load_sent(store: StateStore) -> dict[str, str]:
    raw = store.kv_get(STATE_KEY)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def send(urls: Sequence[str], alert: Alert) -> bool:
    """Deliver one alert to every URL through Apprise; True when all accepted it."""
    import apprise  # imported here: only deployments with ALERT_URLS pay for it

    notifier = apprise.Apprise()
    for url in urls:
        if not notifier.add(url):
            log.warning("ALERT_URLS: an entry is not a URL Apprise understands; skipped")
    if len(notifier) == 0:
        return False
    return bool(notifier.notify(title=alert.title, body=alert.body))


def check_and_notify(
    settings: Settings, store: StateStore, *, now: float | None = None
) -> list[Alert]:
    """Evaluate the conditions, send the alerts not sent yet, remember them; returns the
    alerts delivered. Does nothing without `ALERT_URLS`."""
    urls = alert_urls(settings)
    if not urls:
        return []
    for url in urls:
        logs.register_secret(url)
    runs = store.runs(HISTORY)
    active = active_conditions(
        runs,
        new_failures_of_latest(store, runs),
        now=time.time() if now is None else now,
        stale_after_s=parse_every(settings.alert_stale_after),
        growth_runs=settings.alert_ledger_growth_runs,
        console_url=settings.console_url,
    )
    sent = _load_sent(store)
    remembered: dict[str, str] = {}
    delivered: list[Alert] = []
    for alert in active:
        if sent.get(alert.condition) == alert.fingerprint:
            remembered[alert.condition] = alert.fingerprint
            continue
        if send(urls, alert):
            delivered.append(alert)
            remembered[alert.condition] = alert.fingerprint
            log.info("alert sent: %s", alert.title)
        else:
            log.warning("alert not delivered (tried again at the next check): %s", alert.title)
            if alert.condition in sent:
                remembered[alert.condition] = sent[alert.condition]
    if remembered != sent:
        store.kv_put(STATE_KEY, json.dumps(remembered, sort_keys=True))
    return delivered


def after_run(settings: Settings, store: StateStore) -> None:
    """The pipeline's hook: check and notify; an alert problem never fails a run."""
    if settings.alert_urls is None:
        return
    try:
        check_and_notify(settings, store)
    except Exception as exc:  # a notifier must never turn a good run into a crash
        log.warning("alerts not checked: %s", logs.redact(str(exc)))
