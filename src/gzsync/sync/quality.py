"""A run's data-quality warnings: counted in the report, a few sampled, all persisted.

Every mapped record the run sends (or holds for a parent) passes through
:meth:`WarningLog.add` once: its warnings (values left out of the payload or changed, see
:mod:`gzsync.mapping.warnings`) are counted per entity and reason
(``warnings_by_reason`` in the report), a few are kept as samples (``warning_samples``:
``key``, ``field``, ``value``, ``reason``, ``detail``), and all are written to the state
store for ``gzsync warnings`` and the HTML report, in chunks as the run goes.

At most :data:`KEPT_PER_STREAM` warnings per entity are written per run (the counts stay
exact): a first sync of a very messy view must not fill the store.
"""

from __future__ import annotations

import logging

from gzsync.mapping.records import Mapped
from gzsync.state.store import StateStore, StreamName, WarningRecord
from gzsync.sync.report import RunReport

log = logging.getLogger("gzsync.sync")

#: Warnings per entity and run written to the state store.
KEPT_PER_STREAM = 20_000
#: Samples in the report: per reason, and in all, per entity.
SAMPLES_PER_REASON = 3
SAMPLES_MAX = 20
_FLUSH_EVERY = 500


class WarningLog:
    """Collects one run's warnings (see the module docstring)."""

    def __init__(self, store: StateStore, run_id: str, report: RunReport) -> None:
        self._store = store
        self._run_id = run_id
        self._report = report
        self._buffer: list[WarningRecord] = []
        self._kept: dict[str, int] = {}

    def add(self, stream: StreamName, item: Mapped) -> None:
        """Count, sample and keep the warnings of one record sent (or held) this run."""
        if not item.warnings:
            return
        counts = self._report.counts(stream)
        counts.warnings += len(item.warnings)
        by_reason = counts.warnings_by_reason
        samples = counts.warning_samples
        kept = self._kept.get(stream, 0)
        for w in item.warnings:
            seen = by_reason.get(w.reason, 0)
            by_reason[w.reason] = seen + 1
            if seen < SAMPLES_PER_REASON and len(samples) < SAMPLES_MAX:
                samples.append(
                    {
                        "key": item.key,
                        "field": w.field,
                        "value": w.value,
                        "reason": w.reason,
                        "detail": w.detail,
                    }
                )
            if kept < KEPT_PER_STREAM:
                kept += 1
                self._buffer.append(
                    WarningRecord(stream, item.key, item.rev, w.field, w.reason, w.value, w.detail)
                )
        self._kept[stream] = kept
        if len(self._buffer) >= _FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write what is buffered to the state store."""
        if self._buffer:
            batch, self._buffer = self._buffer, []
            self._store.warnings_add(self._run_id, batch)
