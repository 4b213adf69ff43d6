"""Prometheus metrics of the sync, computed from the state store at each scrape.

Served by the console at `GET /metrics` and written by `gzsync metrics --textfile PATH` for
node_exporter's textfile collector (written atomically: a temporary file, then a rename).
Every value comes from the store (run history, ledger, watermarks), so the figures are the
same whichever process serves them, on SQLite or on Catalyst.

Metrics (all gauges: a run's history is pruned, so counts over it are not monotonic):

- `gzsync_runs{status}`: runs in the recorded history (the last 200) by status;
- `gzsync_last_run_records{stream,outcome}`: the last finished run's counts
  (fetched, inserted, updated, rejected, failed, warnings);
- `gzsync_ledger_entries{stream,kind,reason}`: what waits in the ledger now;
- `gzsync_last_run_duration_seconds`, `gzsync_last_run_zoho_credits`,
  `gzsync_zoho_credits_remaining` (as Zoho last reported it), `gzsync_last_run_timestamp_seconds`,
  `gzsync_last_run_status{status}` (1 for the last finished run's status);
- `gzsync_last_success_timestamp_seconds`: when the last run that finished without aborting
  ended (the staleness alert's clock); 0 when none did;
- `gzsync_run_in_progress`: 1 while the history's newest run is still running;
- `gzsync_watermark{stream}`.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, generate_latest, write_to_textfile

from gzsync.console.views import ENTITIES, OUTCOMES, run_row
from gzsync.state.store import StateStore
from gzsync.streams import WATERMARKED

#: Statuses that count as "the sync is moving" for the last-success clock and alerts.
SUCCEEDED = frozenset({"success", "partial", "incomplete"})
HISTORY = 200


def build_registry(store: StateStore | None) -> CollectorRegistry:
    """A fresh registry holding every gzsync metric read from `store` (None: empty store)."""
    registry = CollectorRegistry(auto_describe=True)
    runs_g = Gauge(
        "gzsync_runs", "Runs in the recorded history, by status", ["status"], registry=registry
    )
    records = Gauge(
        "gzsync_last_run_records",
        "Records of the last finished run, by stream and outcome",
        ["stream", "outcome"],
        registry=registry,
    )
    ledger = Gauge(
        "gzsync_ledger_entries",
        "Records waiting in the ledger, by stream, kind and reason",
        ["stream", "kind", "reason"],
        registry=registry,
    )
    duration = Gauge(
        "gzsync_last_run_duration_seconds", "Duration of the last finished run", registry=registry
    )
    credits = Gauge(
        "gzsync_last_run_zoho_credits",
        "Zoho API credits the last finished run used",
        registry=registry,
    )
    remaining = Gauge(
        "gzsync_zoho_credits_remaining",
        "Zoho API credits left for the day, as Zoho last reported them",
        registry=registry,
    )
    last_ts = Gauge(
        "gzsync_last_run_timestamp_seconds",
        "When the last finished run ended (Unix time)",
        registry=registry,
    )
    last_status = Gauge(
        "gzsync_last_run_status",
        "1 for the status of the last finished run",
        ["status"],
        registry=registry,
    )
    success_ts = Gauge(
        "gzsync_last_success_timestamp_seconds",
        "When the last run that did not abort ended (Unix time)",
        registry=registry,
    )
    in_progress = Gauge("gzsync_run_in_progress", "1 while a run is in progress", registry=registry)
    watermark = Gauge(
        "gzsync_watermark", "Confirmed Galaxy revision per stream", ["stream"], registry=registry
    )
    if store is None:
        in_progress.set(0)
        return registry
    history = [r for r in store.runs(HISTORY) if not r.report.get("dry_run")]
    counted: dict[str, int] = {}
    for record in history:
        counted[record.status] = counted.get(record.status, 0) + 1
    for status, n in counted.items():
        runs_g.labels(status=status).set(n)
    in_progress.set(1 if history and history[0].status == "running" else 0)
    finished = [r for r in history if r.status != "running"]
    if finished:
        last = run_row(finished[0])
        for stream in ENTITIES:
            counts = last.counts.get(stream, {})
            for outcome in OUTCOMES:
                records.labels(stream=stream, outcome=outcome).set(counts.get(outcome, 0))
        duration.set(last.duration_s or 0.0)
        credits.set(last.credits)
        if last.credits_remaining is not None:
            remaining.set(last.credits_remaining)
        last_ts.set(finished[0].finished_at or finished[0].started_at)
        last_status.labels(status=last.status).set(1)
    for record in finished:
        if record.status in SUCCEEDED:
            success_ts.set(record.finished_at or record.started_at)
            break
    for (stream, kind, reason), n in store.ledger_counts().items():
        ledger.labels(stream=stream, kind=kind, reason=reason).set(n)
    for stream in WATERMARKED:
        mark = store.get_watermark(stream)
        if mark is not None:
            watermark.labels(stream=stream).set(mark)
    return registry


def render(store: StateStore | None) -> bytes:
    """The Prometheus text exposition."""
    return generate_latest(build_registry(store))


def write_textfile(path: Path, store: StateStore | None) -> None:
    """Write the metrics for node_exporter's textfile collector (atomically)."""
    write_to_textfile(str(path), build_registry(store))
