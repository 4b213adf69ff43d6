"""The data-quality section of the HTML report: field → count → samples.

From the warnings the run persisted (``StateStore.warnings_list``) when there are any, else
from the samples in the run's JSON report. Every value is escaped: it comes from Galaxy.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from gzsync.state.store import WarningRecord
from gzsync.streams import STREAM_NAMES

__all__ = ["data_quality_html"]

_ENTITIES: tuple[str, ...] = STREAM_NAMES
_SAMPLES = 5


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _from_report(report: Mapping[str, Any]) -> list[WarningRecord]:
    found: list[WarningRecord] = []
    for entity in _ENTITIES:
        counts = report.get(entity)
        samples = counts.get("warning_samples") if isinstance(counts, dict) else None
        for s in samples if isinstance(samples, list) else []:
            if isinstance(s, dict):
                found.append(
                    WarningRecord(
                        entity,
                        str(s.get("key", "")),
                        0,
                        str(s.get("field", "")),
                        str(s.get("reason", "")),
                        str(s.get("value", "")),
                        str(s.get("detail", "")),
                    )
                )
    return found


def _total(report: Mapping[str, Any]) -> int:
    total = 0
    for entity in _ENTITIES:
        counts = report.get(entity)
        n = counts.get("warnings") if isinstance(counts, dict) else 0
        total += n if isinstance(n, int) and not isinstance(n, bool) else 0
    return total


def data_quality_html(
    report: Mapping[str, Any], warnings: Sequence[WarningRecord] | None = None
) -> str:
    """The section; says so when the run dropped or changed nothing."""
    rows = list(warnings) if warnings else _from_report(report)
    total = _total(report)
    head = "<h2>Data quality</h2>"
    if not rows and not total:
        return head + "<p class=meta>No value was dropped or changed in this run.</p>"
    groups: dict[tuple[str, str], list[WarningRecord]] = {}
    for w in rows:
        groups.setdefault((w.stream, w.field), []).append(w)
    note = (
        f"{total} values were dropped from records or changed on the way to Zoho; the "
        "records synced. Fix them in Galaxy (<code>gzsync warnings</code> lists them all)."
    )
    if not warnings:
        note += " Only samples are shown: this run's warnings are not in the state store."
    body = []
    for (stream, field), items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        reasons: dict[str, int] = {}
        for w in items:
            reasons[w.reason] = reasons.get(w.reason, 0) + 1
        why = ", ".join(f"{_e(r)} {n}" for r, n in sorted(reasons.items()))
        samples = "".join(
            f"<li><code>{_e(w.key)}</code>: {_e(w.value)} <span class=meta>({_e(w.reason)})"
            "</span></li>"
            for w in items[:_SAMPLES]
        )
        body.append(
            f"<tr><td>{_e(stream)}</td><td><code>{_e(field)}</code></td>"
            f'<td class="n">{len(items)}</td><td>{why}</td><td><ul>{samples}</ul></td></tr>'
        )
    table = (
        "<table><tr><th>entity</th><th>field</th><th class=n>count</th><th>reasons</th>"
        f"<th>samples</th></tr>{''.join(body)}</table>"
    )
    return f"{head}<p class=meta>{note}</p>{table}"
