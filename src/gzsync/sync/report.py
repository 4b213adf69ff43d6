"""The report of one run: counts per entity, watermarks, API usage, and the exit code.

The JSON shape (`RunReport.to_json`) is a contract for scripts and the `gzsync status` /
`gzsync report` commands: keys are only ever added, never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from gzsync.streams import STREAM_NAMES

#: success: everything synced · incomplete: finished, some records wait in the ledger ·
#: partial: stopped at the time budget, the next run carries on · aborted: a service failed.
#:
#: The exit code of an `incomplete` run says whether something is *new*: 1 only when this
#: run added or kept transient failures (`failed`, `waiting_parent`, retried every run) or
#: added new rejections (`rejected`/`refused` entries written by this run); records that were
#: already rejected and wait for a Galaxy fix are reported but exit 0, so cron does not mail
#: every two hours about nothing new. `strict` (`--strict`) keeps the old rule: any record
#: waiting in the ledger exits 1.
RunStatus = Literal["success", "incomplete", "partial", "aborted"]

_EXIT_CODES: dict[str, int] = {"success": 0, "partial": 0, "incomplete": 1, "aborted": 3}


@dataclass(slots=True)
class EntityCounts:
    """What happened to one entity's records in a run."""

    fetched: int = 0  # rows read from Galaxy and selected for this run
    inserted: int = 0
    updated: int = 0
    rejected: int = 0  # refused by our validation before any upsert
    failed: int = 0  # refused by Zoho, failed in transit, or waiting for a parent
    warnings: int = 0  # values dropped from otherwise good records (bad e-mail, phone)
    #: not sent: payload equal to the one Zoho last confirmed (counted confirmed; issue 15)
    unchanged: int = 0
    samples: list[dict[str, str]] = field(default_factory=list)  # a few failures, for people
    # values dropped or changed, by reason, and a few of them (key, field, value, reason)
    warnings_by_reason: dict[str, int] = field(default_factory=dict)
    warning_samples: list[dict[str, Any]] = field(default_factory=list)

    def add_sample(self, key: str, reason: str, detail: str, limit: int = 5) -> None:
        if len(self.samples) < limit:
            self.samples.append({"key": key, "reason": reason, "detail": detail})

    def to_json(self) -> dict[str, Any]:
        return {
            "fetched": self.fetched,
            "inserted": self.inserted,
            "updated": self.updated,
            "rejected": self.rejected,
            "failed": self.failed,
            "warnings": self.warnings,
            "unchanged": self.unchanged,
            "samples": list(self.samples),
            "warnings_by_reason": dict(self.warnings_by_reason),
            "warning_samples": list(self.warning_samples),
        }


@dataclass(slots=True)
class RunReport:
    """Everything one run reports (`gzsync run --json` prints `to_json()`)."""

    run_id: str
    started_at: float
    status: RunStatus = "success"
    dry_run: bool = False
    message: str = ""
    watermark_before: dict[str, int | None] = field(default_factory=dict)
    watermark_after: dict[str, int | None] = field(default_factory=dict)
    #: counts per declared stream (:data:`gzsync.streams.STREAMS`), each a report section
    streams: dict[str, EntityCounts] = field(
        default_factory=lambda: {name: EntityCounts() for name in STREAM_NAMES}
    )
    entities: tuple[str, ...] = ()
    linked: int = 0
    ledger_pending: int = 0
    ledger_by_reason: dict[str, int] = field(default_factory=dict)
    zoho_calls: dict[str, int] = field(default_factory=dict)
    zoho_credits: int = 0
    zoho_credits_remaining: int | None = None
    zoho_throttled: int = 0
    galaxy_calls: int = 0
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase
    duration_s: float = 0.0
    #: seconds the run could take (`--max-duration` / `MAX_DURATION`, Catalyst's remaining
    #: execution time, the lesser); None without a budget
    budget_s: float | None = None
    warnings: list[str] = field(default_factory=list)
    #: ledger entries after the run that every run retries (`failed`, `waiting_parent`)
    ledger_transient: int = 0
    #: `rejected` / `refused` ledger entries this run wrote (new or changed in Galaxy)
    ledger_new_rejections: int = 0
    #: streams written (dry run: that would be) through Bulk Write: records to write,
    #: jobs submitted, jobs of an earlier run collected (issue 15; sync/bulk_path.py)
    bulk: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0, 1 (something new waits in the ledger), 3; see :data:`RunStatus`."""
        return self.exit_code_for(strict=False)

    @property
    def has_news(self) -> bool:
        """True when this run added or kept transient failures or added new rejections."""
        return self.ledger_transient > 0 or self.ledger_new_rejections > 0

    def exit_code_for(self, *, strict: bool) -> int:
        """The exit code; `strict` makes any record waiting in the ledger exit 1."""
        if self.status == "incomplete" and not strict and not self.dry_run and not self.has_news:
            return 0
        return _EXIT_CODES[self.status]

    def counts(self, stream: str) -> EntityCounts:
        """The counts of one declared stream; KeyError for a name that is not one."""
        return self.streams[stream]

    @property
    def customers(self) -> EntityCounts:
        return self.streams["customers"]

    @property
    def affiliates(self) -> EntityCounts:
        return self.streams["affiliates"]

    @property
    def contacts(self) -> EntityCounts:
        return self.streams["contacts"]

    @property
    def quotes(self) -> EntityCounts:
        return self.streams["quotes"]

    @property
    def products(self) -> EntityCounts:
        return self.streams["products"]

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "message": self.message,
            "started_at": self.started_at,
            "entities": list(self.entities),
            "watermark_before": self.watermark_before.get("customers"),
            "watermark_after": self.watermark_after.get("customers"),
            "watermarks_before": dict(self.watermark_before),
            "watermarks_after": dict(self.watermark_after),
            **{name: counts.to_json() for name, counts in self.streams.items()},
            "linked": self.linked,
            "ledger_pending": self.ledger_pending,
            "ledger_by_reason": dict(self.ledger_by_reason),
            "zoho_calls": sum(self.zoho_calls.values()),
            "zoho_calls_by_endpoint": dict(self.zoho_calls),
            "zoho_credits": self.zoho_credits,
            "zoho_credits_remaining": self.zoho_credits_remaining,
            "zoho_throttled": self.zoho_throttled,
            "galaxy_calls": self.galaxy_calls,
            "phases": {k: round(v, 3) for k, v in self.phases.items()},
            "duration_s": round(self.duration_s, 3),
            "budget_s": None if self.budget_s is None else round(self.budget_s, 3),
            "warnings": list(self.warnings[:50]),
            "ledger_transient": self.ledger_transient,
            "ledger_new_rejections": self.ledger_new_rejections,
            "exit_code": self.exit_code,
            "bulk": {k: dict(v) for k, v in self.bulk.items()},
        }
