"""Charts as inline SVG, rendered on the server: no script, no library, nothing fetched.

Pure functions from numbers to markup. Every label goes through :func:`html.escape` (run
ids and reasons come from the state store, which anyone with the file can edit). Each chart
carries a `<title>` per mark, so hovering a bar shows its exact value, and a `data-chart`
attribute naming it, for tests and for people reading the page source.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WIDTH = 640
HEIGHT = 180
_PAD_LEFT = 48
_PAD_RIGHT = 12
_PAD_TOP = 12
_PAD_BOTTOM = 28

#: Colours for series, in order (colour-blind friendly, after Okabe & Ito).
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442")


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label on the x axis, its value, an over-limit flag, and a longer
    `title` shown on hover (the label when empty)."""

    label: str
    value: float
    over: bool = False
    title: str = ""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fmt(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _frame(name: str, title: str, body: list[str], top: float) -> str:
    """The SVG element, a y axis with its top value, and the body."""
    inner_h = HEIGHT - _PAD_TOP - _PAD_BOTTOM
    axis = (
        f'<line x1="{_PAD_LEFT}" y1="{_PAD_TOP}" x2="{_PAD_LEFT}" y2="{_PAD_TOP + inner_h}" '
        'stroke="#8c959f"/>'
        f'<line x1="{_PAD_LEFT}" y1="{_PAD_TOP + inner_h}" x2="{WIDTH - _PAD_RIGHT}" '
        f'y2="{_PAD_TOP + inner_h}" stroke="#8c959f"/>'
        f'<text x="{_PAD_LEFT - 4}" y="{_PAD_TOP + 10}" text-anchor="end">{_e(_fmt(top))}</text>'
        f'<text x="{_PAD_LEFT - 4}" y="{_PAD_TOP + inner_h}" text-anchor="end">0</text>'
    )
    return (
        f'<svg class="chart" data-chart="{_e(name)}" role="img" aria-label="{_e(title)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" preserveAspectRatio="xMinYMin meet">'
        f"<title>{_e(title)}</title>{axis}{''.join(body)}</svg>"
    )


def _empty(name: str, title: str) -> str:
    return (
        f'<svg class="chart" data-chart="{_e(name)}" role="img" aria-label="{_e(title)}" '
        f'viewBox="0 0 {WIDTH} 40" width="100%"><text x="8" y="24">no data yet</text></svg>'
    )


def bar_chart(
    name: str, title: str, bars: Sequence[Bar], *, limit: float | None = None, unit: str = ""
) -> str:
    """Bars left to right (oldest first); `limit` draws a dashed line (a budget, an
    allowance) and bars flagged `over` are drawn in red."""
    if not bars:
        return _empty(name, title)
    top = max([b.value for b in bars] + ([limit] if limit else []) + [1.0])
    inner_w = WIDTH - _PAD_LEFT - _PAD_RIGHT
    inner_h = HEIGHT - _PAD_TOP - _PAD_BOTTOM
    slot = inner_w / len(bars)
    width = max(1.0, slot * 0.7)
    body: list[str] = []
    for i, bar in enumerate(bars):
        h = inner_h * bar.value / top
        x = _PAD_LEFT + i * slot + (slot - width) / 2
        y = _PAD_TOP + inner_h - h
        colour = "#cf222e" if bar.over else PALETTE[0]
        body.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" '
            f'fill="{colour}" data-value="{bar.value:g}"><title>{_e(bar.title or bar.label)}: '
            f"{_e(_fmt(bar.value))}{_e(unit)}</title></rect>"
        )
    if limit:
        y = _PAD_TOP + inner_h - inner_h * limit / top
        body.append(
            f'<line class="limit" x1="{_PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH - _PAD_RIGHT}" '
            f'y2="{y:.1f}" stroke="#cf222e" stroke-dasharray="4 3"><title>limit '
            f"{_e(_fmt(limit))}{_e(unit)}</title></line>"
        )
    body.extend(_x_labels([b.label for b in bars], slot))
    return _frame(name, title, body, top)


def line_chart(
    name: str, title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]]
) -> str:
    """One polyline per series over the same x labels (oldest first), with a legend."""
    if not labels or not series:
        return _empty(name, title)
    top = max([max(values, default=0.0) for values in series.values()] + [1.0])
    inner_w = WIDTH - _PAD_LEFT - _PAD_RIGHT
    inner_h = HEIGHT - _PAD_TOP - _PAD_BOTTOM
    step = inner_w / max(1, len(labels) - 1)
    body: list[str] = []
    for n, (serie, values) in enumerate(sorted(series.items())):
        colour = PALETTE[n % len(PALETTE)]
        points = " ".join(
            f"{_PAD_LEFT + i * step:.1f},{_PAD_TOP + inner_h - inner_h * v / top:.1f}"
            for i, v in enumerate(values)
        )
        last = values[-1] if values else 0
        body.append(
            f'<polyline class="series" data-series="{_e(serie)}" points="{points}" fill="none" '
            f'stroke="{colour}" stroke-width="2"><title>{_e(serie)}: {_e(_fmt(last))} now'
            "</title></polyline>"
        )
        body.append(
            f'<text x="{_PAD_LEFT + 8}" y="{_PAD_TOP + 12 + 13 * n}" fill="{colour}">'
            f"{_e(serie)} ({_e(_fmt(last))})</text>"
        )
    body.extend(_x_labels(labels, step, centred=False))
    return _frame(name, title, body, top)


def _x_labels(labels: Sequence[str], slot: float, *, centred: bool = True) -> list[str]:
    """The first and last labels (more would collide on a narrow chart)."""
    if not labels:
        return []
    y = HEIGHT - 8
    first = _PAD_LEFT + (slot / 2 if centred else 0)
    out = [f'<text x="{first:.1f}" y="{y}" text-anchor="start">{_e(labels[0])}</text>']
    if len(labels) > 1:
        out.append(
            f'<text x="{WIDTH - _PAD_RIGHT}" y="{y}" text-anchor="end">{_e(labels[-1])}</text>'
        )
    return out
