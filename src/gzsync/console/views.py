"""What the console's pages show, computed from the state store (no web types here).

Everything is read from the store's run history (each run's JSON report), its ledger and its
id cache, so the same views work on SQLite and on Catalyst NoSQL. Decisions:

- **Budget** of a run: the report's `budget_s` (the run's own budget: `--max-duration` /
  `MAX_DURATION` or Catalyst's remaining execution time; null: the run had none). Only a
  report from before `budget_s` existed falls back to today's `MAX_DURATION`.
- **The day's credit allowance**: `ZOHO_DAILY_CREDITS` when set; otherwise estimated as the
  credits used that day plus the last `zoho_credits_remaining` Zoho reported that day.
- **The ledger's `run` filter** keeps entries a run touched: last seen while it ran.
- **A record's history** is what the store knows: its ledger entry (first and last seen,
  attempts), its Zoho id from the id cache, the runs whose report samples name it, and the
  console actions taken on it (kept under `console:history:` keys).
- **Warnings by field**: see :func:`warnings_by_field` (an adapter that reads what a report
  holds; richer per-field samples, when a version persists them, are shown as they are).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast, get_args

from gzsync.console import charts
from gzsync.ops import ledger as ops_ledger
from gzsync.state.store import LedgerEntry, LedgerKind, RunRecord, StateStore, StreamName
from gzsync.streams import STREAM_NAMES
from gzsync.streams import STREAMS as STREAM_TABLE

ENTITIES: tuple[str, ...] = STREAM_NAMES
OUTCOMES: tuple[str, ...] = ("fetched", "inserted", "updated", "rejected", "failed", "warnings")
STREAMS: tuple[str, ...] = STREAM_NAMES
KINDS: tuple[str, ...] = get_args(LedgerKind)
#: Zoho module of each stream's id cache entries.
MODULES: dict[str, str] = {s.name: s.module for s in STREAM_TABLE}
FINISHED = ("success", "incomplete", "partial", "aborted")


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run as the run list and the run page show it."""

    run_id: str
    started_at: float
    finished_at: float | None
    status: str
    dry_run: bool
    duration_s: float | None
    budget_s: float | None
    counts: dict[str, dict[str, int]]
    written: int
    failed: int
    credits: int
    credits_remaining: int | None
    ledger_pending: int | None
    ledger_by_reason: dict[str, int]
    message: str
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def over_budget(self) -> bool:
        return bool(self.budget_s and self.duration_s and self.duration_s > self.budget_s)


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _num(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def run_row(record: RunRecord, default_budget_s: float | None = None) -> RunRow:
    report = dict(record.report)
    duration = _num(report.get("duration_s"))
    if duration is None and record.finished_at is not None:
        duration = record.finished_at - record.started_at
    counts: dict[str, dict[str, int]] = {}
    for entity in ENTITIES:
        raw = report.get(entity)
        if isinstance(raw, dict):
            counts[entity] = {c: _int(raw.get(c)) for c in OUTCOMES}
    by_reason = report.get("ledger_by_reason")
    return RunRow(
        run_id=record.run_id,
        started_at=record.started_at,
        finished_at=record.finished_at,
        status=record.status,
        dry_run=bool(report.get("dry_run", False)),
        duration_s=duration,
        budget_s=_num(report["budget_s"]) if "budget_s" in report else default_budget_s,
        counts=counts,
        written=sum(c["inserted"] + c["updated"] for c in counts.values()),
        failed=sum(c["rejected"] + c["failed"] for c in counts.values()),
        credits=_int(report.get("zoho_credits")),
        credits_remaining=(
            _int(report["zoho_credits_remaining"])
            if report.get("zoho_credits_remaining") is not None
            else None
        ),
        ledger_pending=(
            _int(report["ledger_pending"]) if report.get("ledger_pending") is not None else None
        ),
        ledger_by_reason=(
            {str(k): _int(v) for k, v in by_reason.items()} if isinstance(by_reason, dict) else {}
        ),
        message=str(report.get("message", "")),
        report=report,
    )


def when(epoch: float | None) -> str:
    """UTC time for people; `-` for none."""
    if not epoch:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


def _short(epoch: float) -> str:
    return time.strftime("%m-%d %H:%M", time.gmtime(epoch))


# -- charts ------------------------------------------------------------------------------


def run_charts(rows: Sequence[RunRow], *, daily_allowance: int | None = None) -> dict[str, str]:
    """The four charts of the runs page, from runs newest first (charts run oldest first)."""
    real = [r for r in reversed(rows) if not r.dry_run and r.status in FINISHED]
    written = charts.bar_chart(
        "records-written",
        "Records written per run",
        [charts.Bar(_short(r.started_at), r.written, title=f"run {r.run_id}") for r in real],
    )
    labels = [_short(r.started_at) for r in real]
    reasons = sorted({reason for r in real for reason in r.ledger_by_reason})
    ledger = charts.line_chart(
        "ledger-by-reason",
        "Ledger size by reason, after each run",
        labels,
        {reason: [float(r.ledger_by_reason.get(reason, 0)) for r in real] for reason in reasons},
    )
    budgets = [r.budget_s for r in real if r.budget_s]
    duration = charts.bar_chart(
        "duration-vs-budget",
        "Run duration against the budget (seconds)",
        [
            charts.Bar(_short(r.started_at), r.duration_s or 0.0, r.over_budget, f"run {r.run_id}")
            for r in real
        ],
        limit=max(budgets) if budgets else None,
        unit=" s",
    )
    days = credits_by_day(rows, daily_allowance)
    credits = charts.bar_chart(
        "credits-vs-allowance",
        "Zoho API credits used per day against the day's allowance",
        [
            charts.Bar(day, used, bool(allowance and used > allowance))
            for day, used, allowance in days
        ],
        limit=max((a for _, _, a in days if a), default=None),
        unit=" credits",
    )
    return {
        "records_written": written,
        "ledger_by_reason": ledger,
        "duration_vs_budget": duration,
        "credits_vs_allowance": credits,
    }


def credits_by_day(
    rows: Sequence[RunRow], daily_allowance: int | None = None
) -> list[tuple[str, int, int | None]]:
    """(UTC day, credits used, the day's allowance) oldest first; see the module docstring."""
    used: dict[str, int] = defaultdict(int)
    remaining: dict[str, tuple[float, int]] = {}
    for r in rows:
        if r.dry_run:
            continue
        day = dt.datetime.fromtimestamp(r.started_at, dt.UTC).strftime("%Y-%m-%d")
        used[day] += r.credits
        if r.credits_remaining is not None and (
            day not in remaining or remaining[day][0] < r.started_at
        ):
            remaining[day] = (r.started_at, r.credits_remaining)
    out: list[tuple[str, int, int | None]] = []
    for day in sorted(used):
        allowance = daily_allowance
        if allowance is None and day in remaining:
            allowance = used[day] + remaining[day][1]
        out.append((day, used[day], allowance))
    return out


# -- the ledger --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerFilter:
    """The ledger page's filters, from its query parameters (unknown values are ignored)."""

    stream: StreamName | None = None
    reason: str | None = None
    kind: LedgerKind | None = None
    run: str | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> LedgerFilter:
        stream = params.get("stream") or None
        kind = params.get("kind") or None
        return cls(
            stream=stream if stream in STREAMS else None,
            reason=(params.get("reason") or "").strip() or None,
            kind=cast(LedgerKind, kind) if kind in KINDS else None,
            run=(params.get("run") or "").strip() or None,
        )

    def for_ops(self) -> ops_ledger.LedgerFilter:
        """The same filter for the ops layer's ledger module."""
        return ops_ledger.LedgerFilter(
            stream=self.stream, kind=self.kind, reason=self.reason, run_id=self.run
        )

    def as_params(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (
                ("stream", self.stream),
                ("reason", self.reason),
                ("kind", self.kind),
                ("run", self.run),
            )
            if v
        }


def query_ledger(
    store: StateStore, flt: LedgerFilter, limit: int = 500
) -> tuple[list[LedgerEntry], int]:
    """The entries matching the filter (at most `limit`) and how many match in all.

    Selected by the ops layer (:func:`gzsync.ops.ledger.select`), as `gzsync ledger` does:
    the reason is case-blind; an unknown run matches nothing here (the CLI says exit 2).
    """
    try:
        found = ops_ledger.select(store, flt.for_ops(), limit=limit)
    except ops_ledger.LedgerSelectionError:
        return [], 0
    return found.entries, found.total


def ledger_reasons(store: StateStore) -> list[str]:
    return ops_ledger.present_reasons(store)


def ledger_summary(store: StateStore) -> list[dict[str, Any]]:
    counts = store.ledger_counts()
    return [
        {"stream": s, "kind": k, "reason": r, "count": n}
        for (s, k, r), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


# -- one record --------------------------------------------------------------------------


def history_key(stream: str, key: str) -> str:
    return f"console:history:{stream}:{key}"


def record_action(store: StateStore, stream: str, key: str, action: str) -> None:
    """Remember a console action in the record's history (the 50 latest are kept)."""
    events = load_actions(store, stream, key)
    events.append({"at": time.time(), "what": action})
    store.kv_put(history_key(stream, key), json.dumps(events[-50:]))


def load_actions(store: StateStore, stream: str, key: str) -> list[dict[str, Any]]:
    raw = store.kv_get(history_key(stream, key))
    try:
        events = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []


@dataclass(frozen=True, slots=True)
class RecordView:
    stream: str
    key: str
    entry: LedgerEntry | None
    zoho_id: str | None
    last_rev: int | None
    last_sync: float | None
    events: list[tuple[float, str]]


def record_view(store: StateStore, stream: str, key: str, runs: Sequence[RunRecord]) -> RecordView:
    """What the store knows about one record (see the module docstring)."""
    entries = [e for e in store.ledger_list(stream) if e.key == key]
    entry = entries[0] if entries else None
    zoho_id = store.ids_get(MODULES.get(stream, "Accounts"), [key]).get(key)
    events: list[tuple[float, str]] = []
    if entry is not None:
        events.append((entry.first_seen, f"entered the ledger: {entry.kind} {entry.reason}"))
        events.append((entry.last_seen, f"last attempt ({entry.attempts} in all): {entry.reason}"))
    for run in runs:
        for entity in ENTITIES:
            part = run.report.get(entity)
            samples = part.get("samples") if isinstance(part, dict) else None
            for sample in samples if isinstance(samples, list) else []:
                if isinstance(sample, dict) and sample.get("key") == key and entity == stream:
                    events.append(
                        (
                            run.started_at,
                            f"run {run.run_id}: {sample.get('reason', '')} "
                            f"{sample.get('detail', '')}".strip(),
                        )
                    )
    for action in load_actions(store, stream, key):
        events.append((float(action.get("at", 0)), f"console: {action.get('what', '')}"))
    events.sort(key=lambda ev: ev[0], reverse=True)
    return RecordView(
        stream=stream,
        key=key,
        entry=entry,
        zoho_id=zoho_id,
        last_rev=entry.rev if entry else None,
        last_sync=entry.last_seen if entry else None,
        events=events,
    )


# -- data quality ------------------------------------------------------------------------

# "Email dropped: EMAIL 'x@' ..." · "Phone: skipped PHONE, ..." · "FAX ignored: ..."
_FIELD_RE = re.compile(r"^\s*([A-Za-z_][\w.]*)(?:\s+dropped|\s+ignored|:)")


@dataclass(frozen=True, slots=True)
class FieldWarnings:
    field: str
    count: int
    samples: list[str]


def warnings_by_field(report: Mapping[str, Any]) -> list[FieldWarnings]:
    """Data-quality warnings of one run, grouped by field, most frequent first.

    An adapter over what a report holds, so it degrades gracefully: per-record warning
    samples carrying a `field` (a list of objects under an entity, e.g. `warning_samples`,
    as persisted by versions that keep them), then the report's free-text `warnings`
    (`"Email dropped: ..."`), whose first word names the field.
    """
    counts: Counter[str] = Counter()
    samples: dict[str, list[str]] = defaultdict(list)
    for entity in ENTITIES:
        part = report.get(entity)
        if not isinstance(part, dict):
            continue
        for name, value in part.items():
            if name == "samples" or not isinstance(value, list):
                continue
            for item in value:
                if isinstance(item, dict) and item.get("field"):
                    fld = str(item["field"])
                    counts[fld] += 1
                    if len(samples[fld]) < 5:
                        text = " ".join(
                            str(item[k]) for k in ("key", "reason", "value") if item.get(k)
                        )
                        samples[fld].append(f"{entity} {text}")
    texts = report.get("warnings")
    for text in texts if isinstance(texts, list) else []:
        match = _FIELD_RE.match(str(text))
        fld = match.group(1) if match else "(other)"
        counts[fld] += 1
        if len(samples[fld]) < 5:
            samples[fld].append(str(text))
    return [FieldWarnings(f, n, samples[f]) for f, n in counts.most_common()]


def warning_totals(report: Mapping[str, Any]) -> dict[str, int]:
    """Warnings counted per entity (records with a value dropped or changed)."""
    out: dict[str, int] = {}
    for entity in ENTITIES:
        part = report.get(entity)
        if isinstance(part, dict):
            out[entity] = _int(part.get("warnings"))
    return out
