"""`gzsync reconcile --output FILE`: the reconcile as a self-contained HTML page.

The run report's look (:mod:`gzsync.ops.html_report`): inline CSS, no script, no external
asset. Every value that reaches the page is escaped (keys and ids come from Galaxy and
Zoho, which we do not trust); only the reconcile's report is read, never a setting.
"""

from __future__ import annotations

import html
import time
from typing import Any

from gzsync.ops.html_report import _CSS  # one look for every page gzsync writes
from gzsync.reconcile.classify import CLASSES

_STATUS_COLOURS = {"complete": "#1a7f37", "partial": "#9a6700", "aborted": "#cf222e"}


def render_reconcile_html(data: dict[str, Any]) -> str:
    """The page for one reconcile; `data` is `ReconcileReport.to_json()`."""
    status = str(data.get("status", ""))
    title = "gzsync reconcile"
    colour = _STATUS_COLOURS.get(status, "#57606a")
    mode = "repair" if data.get("repair") else "check"
    if data.get("dry_run"):
        mode += " (dry run)"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title><style>{_CSS}</style></head><body>",
        f"<h1>{title}</h1>",
        f'<p><span class="status" style="background:{colour}">{_e(status)}</span> '
        f'<span class="meta">{_e(mode)} · orphans: {_e(data.get("orphan_action"))} · '
        f"took {float(data.get('duration_s') or 0):.1f} s</span></p>",
    ]
    if data.get("message"):
        parts.append(f'<p class="message">{_e(data["message"])}</p>')
    parts += [_classes(data), _lines(data), _repairs(data), _samples(data), _merges(data)]
    parts.append(_usage(data))
    parts.append(
        f"<footer>Written by gzsync on "
        f"{_e(time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime()))}.</footer></body></html>"
    )
    return "\n".join(parts) + "\n"


def _classes(data: dict[str, Any]) -> str:
    streams = data.get("streams") or {}
    checked = data.get("checked") or {}
    head = "".join(f'<th class="n">{c}</th>' for c in CLASSES)
    rows = []
    for stream, counts in streams.items():
        cells = "".join(f'<td class="n">{int(counts.get(c, 0))}</td>' for c in CLASSES)
        rows.append(
            f'<tr><th>{_e(stream)}</th><td class="n">{int(checked.get(stream, 0))}</td>{cells}</tr>'
        )
    return (
        "<h2>Keys by class</h2>"
        f'<table><tr><th>stream</th><th class="n">keys</th>{head}</tr>{"".join(rows)}</table>'
    )


def _lines(data: dict[str, Any]) -> str:
    lines = data.get("quote_lines")
    if not lines:
        return ""
    rows = [
        ("offers whose lines were read (one Galaxy call each)", lines.get("galaxy_reads")),
        ("quotes whose rows were compared (one Zoho GET each)", lines.get("compared")),
        ("quotes whose rows differ", lines.get("differ")),
        ("offers whose lines could not be read", lines.get("read_failed")),
    ]
    body = "".join(f'<tr><th>{_e(n)}</th><td class="n">{_e(v)}</td></tr>' for n, v in rows)
    return f"<h2>Quote line items ({_e(lines.get('mode'))})</h2><table>{body}</table>"


def _repairs(data: dict[str, Any]) -> str:
    repaired = data.get("repaired") or {}
    if not repaired:
        return ""
    rows = "".join(
        f'<tr><th>{_e(s)}</th><td class="n">{int(r.get("sent", 0))}</td>'
        f'<td class="n">{int(r.get("confirmed", 0))}</td>'
        f'<td class="n">{int(r.get("ledgered", 0))}</td>'
        f'<td class="n">{int(r.get("tagged", 0))}</td></tr>'
        for s, r in repaired.items()
    )
    return (
        "<h2>Repairs</h2><table><tr><th>stream</th><th class=n>re-sent</th>"
        "<th class=n>confirmed</th><th class=n>to the ledger</th>"
        "<th class=n>orphans tagged</th></tr>"
        f"{rows}</table>"
    )


def _samples(data: dict[str, Any]) -> str:
    rows = []
    for stream, by_class in (data.get("samples") or {}).items():
        for cls, samples in by_class.items():
            for s in samples:
                what = s.get("key") or s.get("id") or ""
                extra = ", ".join(s.get("fields") or []) or ", ".join(s.get("ids") or [])
                rows.append(
                    f"<tr><td>{_e(stream)}</td><td>{_e(cls)}</td><td><code>{_e(what)}</code></td>"
                    f"<td>{_e(s.get('detail', ''))}</td><td><code>{_e(extra)}</code></td></tr>"
                )
    if not rows:
        return "<h2>Samples</h2><p class=meta>Galaxy and Zoho agree on every key.</p>"
    return (
        "<h2>Samples</h2><table><tr><th>stream</th><th>class</th><th>key</th><th>detail</th>"
        f"<th>fields / ids</th></tr>{''.join(rows)}</table>"
    )


def _merges(data: dict[str, Any]) -> str:
    merges = data.get("merge_candidates") or []
    if not merges:
        return ""
    rows = "".join(
        f"<tr><td>{_e(m.get('stream'))}</td><td><code>{_e(m.get('key'))}</code></td>"
        f"<td><code>{_e(', '.join(m.get('ids') or []))}</code></td></tr>"
        for m in merges
    )
    return (
        "<h2>Duplicates to merge in the CRM</h2><p class=meta>Never merged automatically.</p>"
        f"<table><tr><th>stream</th><th>key</th><th>Zoho ids</th></tr>{rows}</table>"
    )


def _usage(data: dict[str, Any]) -> str:
    rows = [
        ("Zoho API calls", data.get("zoho_calls")),
        ("Zoho API credits", data.get("zoho_credits")),
        ("Galaxy calls", data.get("galaxy_calls")),
        ("resumed from a checkpoint", "yes" if data.get("resumed") else "no"),
    ]
    body = "".join(f'<tr><th>{_e(n)}</th><td class="n">{_e(v)}</td></tr>' for n, v in rows)
    return f"<h2>API usage</h2><table>{body}</table>"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)
