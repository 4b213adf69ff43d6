"""`gzsync report`: one run as a self-contained HTML page.

Inline CSS and inline SVG only: no script, no external asset, so the file can be mailed or
attached to a ticket and opens anywhere. Every value that reaches the page goes through
:func:`html.escape` (record keys and details come from Galaxy, which we do not trust), and
only the run's report is read: no setting ever reaches the page.
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping, Sequence
from typing import Any

from gzsync.ops import words
from gzsync.ops.data_quality import data_quality_html
from gzsync.state.store import RunRecord, WarningRecord

ENTITIES = ("customers", "affiliates", "contacts", "quotes", "products")
COUNT_COLUMNS = ("fetched", "inserted", "updated", "rejected", "failed", "warnings")

_STATUS_COLOURS = {
    "success": "#1a7f37",
    "partial": "#9a6700",
    "incomplete": "#bc4c00",
    "aborted": "#cf222e",
    "running": "#57606a",
}

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;
margin:2rem auto;max-width:60rem;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.1rem;margin-top:2rem;
border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
.status{display:inline-block;color:#fff;border-radius:1rem;padding:.1rem .7rem;font-weight:600}
.meta{color:#57606a}table{border-collapse:collapse;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f6f8fa}
.message{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem .8rem;border-radius:.3rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:90%}
svg text{font:11px system-ui,sans-serif;fill:#57606a}footer{margin-top:3rem;color:#8c959f}
"""


def render_run_html(
    run: RunRecord,
    history: Sequence[RunRecord] = (),
    warnings: Sequence[WarningRecord] | None = None,
) -> str:
    """The page for `run`; `history` (any order) feeds the ledger trend chart; `warnings`
    (the run's, from the state store) the data-quality section."""
    report = run.report
    title = f"gzsync run {run.run_id}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        _summary(run),
    ]
    message = report.get("message")
    if message:
        parts.append(f'<p class="message">{_e(message)}</p>')
    parts += [
        _counts(report),
        _phases(report),
        _failures(report),
        data_quality_html(report, warnings),
        _trend(run, history),
        _usage(report),
        f"<footer>Written by gzsync on {_e(_when(time.time()))}.</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _summary(run: RunRecord) -> str:
    report = run.report
    colour = _STATUS_COLOURS.get(run.status, "#57606a")
    duration = report.get("duration_s")
    if duration is None and run.finished_at is not None:
        duration = run.finished_at - run.started_at
    bits = [f"started {_e(_when(run.started_at))}"]
    if duration is not None:
        bits.append(f"took {_num(duration):.1f} s")
    if report.get("dry_run"):
        bits.append("dry run: nothing written")
    entities = report.get("entities")
    if isinstance(entities, list) and entities:
        bits.append("entities " + _e(", ".join(str(e) for e in entities)))
    return (
        f'<p><span class="status" style="background:{colour}">{_e(run.status)}</span> '
        f'<span class="meta">{" · ".join(bits)}</span></p>'
    )


def _counts(report: Mapping[str, Any]) -> str:
    head = "".join(f'<th class="n">{c}</th>' for c in COUNT_COLUMNS)
    rows = []
    for entity in ENTITIES:
        counts = _dict(report.get(entity))
        cells = "".join(f'<td class="n">{_int(counts.get(c))}</td>' for c in COUNT_COLUMNS)
        rows.append(f"<tr><th>{entity}</th>{cells}</tr>")
    extra = (
        f'<p class="meta">affiliates linked {_int(report.get("linked"))} · '
        f"ledger pending after the run {_int(report.get('ledger_pending'))}</p>"
    )
    return f"<h2>Records</h2><table><tr><th>entity</th>{head}</tr>{''.join(rows)}</table>{extra}"


def _phases(report: Mapping[str, Any]) -> str:
    phases = {str(k): _num(v) for k, v in _dict(report.get("phases")).items()}
    if not phases:
        return "<h2>Timings</h2><p class=meta>No phase timings in this report.</p>"
    longest = max(phases.values()) or 1.0
    width, bar_h, label_w = 640, 18, 150
    height = bar_h * len(phases) + 4
    bars = []
    for i, (name, seconds) in enumerate(phases.items()):
        y = i * bar_h + 2
        w = max(1.0, (width - label_w - 60) * seconds / longest)
        bars.append(
            f'<text x="0" y="{y + 13}">{_e(name)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 4}" fill="#0969da">'
            f"<title>{_e(name)}: {seconds:.3f} s</title></rect>"
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}">{seconds:.2f} s</text>'
        )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="seconds per phase">{"".join(bars)}</svg>'
    )
    return f"<h2>Timings per phase</h2>{svg}"


def _failures(report: Mapping[str, Any]) -> str:
    by_reason = sorted(
        ((str(k), _int(v)) for k, v in _dict(report.get("ledger_by_reason")).items()),
        key=lambda kv: (-kv[1], kv[0]),
    )
    out = ["<h2>Failures by reason</h2>"]
    if by_reason:
        rows = "".join(
            f'<tr><td><code>{_e(reason)}</code></td><td class="n">{n}</td></tr>'
            for reason, n in by_reason
        )
        out.append(
            '<p class="meta">Everything waiting in the ledger after this run.</p>'
            f'<table><tr><th>reason</th><th class="n">records</th></tr>{rows}</table>'
        )
    else:
        out.append('<p class="meta">Nothing waits in the ledger.</p>')
    samples = []
    for entity in ENTITIES:
        for sample in _dict(report.get(entity)).get("samples") or []:
            s = _dict(sample)
            samples.append(
                f"<tr><td>{entity}</td><td><code>{_e(s.get('key', ''))}</code></td>"
                f"<td><code>{_e(s.get('reason', ''))}</code></td><td>{_e(s.get('detail', ''))}</td>"
                "</tr>"
            )
    if samples:
        out.append(
            "<h3>Samples from this run</h3><table><tr><th>entity</th><th>key</th>"
            f"<th>reason</th><th>detail</th></tr>{''.join(samples)}</table>"
        )
    return "".join(out)


def _trend(run: RunRecord, history: Sequence[RunRecord], last: int = 20) -> str:
    """Ledger pending over the runs up to this one, oldest left, as SVG bars."""
    ordered = sorted(
        {r.run_id: r for r in [*history, run]}.values(), key=lambda r: (r.started_at, r.run_id)
    )
    upto = [r for r in ordered if r.started_at <= run.started_at][-last:]
    points = [(r, _int(r.report.get("ledger_pending"))) for r in upto if r.report]
    if len(points) < 2:
        return "<h2>Ledger trend</h2><p class=meta>Not enough finished runs for a trend yet.</p>"
    top = max(n for _, n in points) or 1
    width, height, pad = 640, 140, 20
    slot = (width - pad) / len(points)
    bars = []
    for i, (record, n) in enumerate(points):
        h = (height - 2 * pad) * n / top
        x = pad + i * slot
        colour = "#bc4c00" if record.run_id == run.run_id else "#8c959f"
        bars.append(
            f'<rect x="{x + 2:.1f}" y="{height - pad - h:.1f}" width="{max(slot - 4, 1):.1f}" '
            f'height="{h:.1f}" fill="{colour}"><title>{_e(record.run_id)}: {n} pending'
            "</title></rect>"
        )
    axis = (
        f'<line x1="{pad}" y1="{height - pad}" x2="{width}" y2="{height - pad}" '
        'stroke="#d0d7de"/>'
        f'<text x="0" y="{pad - 6}">{top}</text><text x="0" y="{height - pad}">0</text>'
        f'<text x="{pad}" y="{height - 4}">{_e(_when(points[0][0].started_at))}</text>'
        f'<text x="{width}" y="{height - 4}" text-anchor="end">'
        f"{_e(_when(points[-1][0].started_at))}</text>"
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="ledger pending per run">{axis}{"".join(bars)}</svg>'
    )
    return (
        f"<h2>Ledger trend</h2><p class=meta>Records waiting after each of the last "
        f"{len(points)} runs (this run highlighted).</p>{svg}"
    )


def _usage(report: Mapping[str, Any]) -> str:
    rows = [
        ("Zoho API calls", _int(report.get("zoho_calls"))),
        ("Zoho API credits", _int(report.get("zoho_credits"))),
        ("Zoho credits remaining", report.get("zoho_credits_remaining")),
        ("Zoho 429 answers", _int(report.get("zoho_throttled"))),
        ("Galaxy calls", _int(report.get("galaxy_calls"))),
    ]
    before = _dict(report.get("watermarks_before"))
    after = _dict(report.get("watermarks_after"))
    for stream in sorted(set(before) | set(after)):
        rows.append(
            (
                f"watermark {stream}",
                f"{words.watermark(before.get(stream))} → {words.watermark(after.get(stream))}",
            )
        )
    body = "".join(
        f'<tr><th>{_e(name)}</th><td class="n">{_e("—" if v is None else v)}</td></tr>'
        for name, v in rows
    )
    out = f"<h2>API usage and watermarks</h2><table>{body}</table>"
    warnings = report.get("warnings")
    if isinstance(warnings, list) and warnings:
        items = "".join(f"<li>{_e(w)}</li>" for w in warnings)
        out += f"<h3>Warnings</h3><ul>{items}</ul>"
    return out


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _num(value: object) -> float:
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, int | float):
        return float(value)
    return 0.0


def _int(value: object) -> int:
    return int(_num(value))


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))
