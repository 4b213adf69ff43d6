"""The report of one reconcile: counts per class and stream, samples, repairs, API usage.

`ReconcileReport.to_json` is what `gzsync reconcile --json` prints; its keys `streams`
(stream → {class: count}) and `samples` (stream → {class: [sample, ...]}) are a contract,
other keys are only ever added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from gzsync.reconcile.classify import CLASSES, REPAIRED, ClassCounts

#: complete: every key classified (and repaired, with --repair) · partial: stopped at the
#: time budget, the next reconcile carries on · aborted: a service or the store failed.
ReconcileStatus = Literal["complete", "partial", "aborted"]

#: The sections of phase 1's drift demo (`gzsync demo --drift`).
STREAMS = ("accounts", "contacts")
#: Sections whose orphans `ORPHAN_ACTION=tag` does not tag (their modules have no
#: `Galaxy_Status`; products have no orphans): with --repair they are left for a person.
UNTAGGED = frozenset({"quotes", "products"})
#: How many merge candidates the report lists in full.
MERGE_LIST_LIMIT = 1000


@dataclass(slots=True)
class ReconcileReport:
    """Everything one reconcile reports."""

    status: ReconcileStatus = "complete"
    message: str = ""
    repair: bool = False
    dry_run: bool = False
    orphan_action: str = "report"
    resumed: bool = False
    streams: dict[str, ClassCounts] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)  # keys compared per stream
    #: per stream: records re-sent, confirmed by Zoho, left in the ledger, orphans tagged
    repaired: dict[str, dict[str, int]] = field(default_factory=dict)
    merge_candidates: list[dict[str, Any]] = field(default_factory=list)
    zoho_calls: dict[str, int] = field(default_factory=dict)
    zoho_credits: int = 0
    galaxy_calls: int = 0
    duration_s: float = 0.0
    #: with quotes: what comparing line items cost and found (gzsync.reconcile.quotes)
    quote_lines: dict[str, Any] | None = None

    def counts(self, stream: str) -> ClassCounts:
        return self.streams.setdefault(stream, ClassCounts())

    def repairs(self, stream: str) -> dict[str, int]:
        return self.repaired.setdefault(
            stream, {"sent": 0, "confirmed": 0, "ledgered": 0, "tagged": 0}
        )

    def differences(self) -> int:
        """Keys in any class but `unkeyed` (records made by hand are not a difference)."""
        return sum(
            n for c in self.streams.values() for cls, n in c.counts.items() if cls != "unkeyed"
        )

    @property
    def exit_code(self) -> int:
        """0 in parity (or everything repairable repaired, or stopped at the budget) · 1
        differences remain · 3 aborted."""
        if self.status == "aborted":
            return 3
        if self.status == "partial":
            return 0
        if not self.repair or self.dry_run:
            return 1 if self.differences() else 0
        left = sum(r["ledgered"] for r in self.repaired.values())
        for stream, counts in self.streams.items():
            left += counts.counts["duplicate"]
            if self.orphan_action != "tag" or stream in UNTAGGED:
                left += counts.counts["orphan"]
        return 1 if left else 0

    def to_json(self) -> dict[str, Any]:
        streams = {s: dict(self.counts(s).counts) for s in self.streams}
        samples = {s: {c: list(v) for c, v in self.counts(s).samples.items()} for s in self.streams}
        data = {
            "status": self.status,
            "message": self.message,
            "repair": self.repair,
            "dry_run": self.dry_run,
            "orphan_action": self.orphan_action,
            "resumed": self.resumed,
            "classes": list(CLASSES),
            "repaired_classes": sorted(REPAIRED),
            "streams": streams,
            "samples": samples,
            "checked": dict(self.checked),
            "repaired": {s: dict(r) for s, r in self.repaired.items()},
            "merge_candidates": list(self.merge_candidates),
            "zoho_calls": sum(self.zoho_calls.values()),
            "zoho_calls_by_endpoint": dict(self.zoho_calls),
            "zoho_credits": self.zoho_credits,
            "galaxy_calls": self.galaxy_calls,
            "duration_s": round(self.duration_s, 3),
        }
        if self.quote_lines is not None:
            data["quote_lines"] = dict(self.quote_lines)
        return data
