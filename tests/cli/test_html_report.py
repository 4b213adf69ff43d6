"""The HTML run report: self-contained, escaped, with its charts."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from gzsync.ops.html_report import render_run_html
from gzsync.state.store import RunRecord

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def report(run_id: str, pending: int, **extra: Any) -> dict[str, Any]:
    counts = {
        "fetched": 10,
        "inserted": 7,
        "updated": 1,
        "rejected": 1,
        "failed": 1,
        "warnings": 0,
        "samples": [],
    }
    base: dict[str, Any] = {
        "run_id": run_id,
        "status": "incomplete",
        "dry_run": False,
        "message": "",
        "entities": ["accounts", "contacts"],
        "customers": dict(counts),
        "affiliates": dict(counts, fetched=3),
        "contacts": dict(counts, fetched=5),
        "linked": 2,
        "ledger_pending": pending,
        "ledger_by_reason": {"missing_trader_id": pending - 1, "INVALID_DATA": 1},
        "zoho_calls": 4,
        "zoho_credits": 4,
        "zoho_credits_remaining": 9996,
        "zoho_throttled": 0,
        "galaxy_calls": 3,
        "phases": {"customers.read": 0.5, "customers.write": 1.25, "contacts.write": 0.75},
        "duration_s": 2.5,
        "watermarks_before": {"customers": 100, "contacts": 50},
        "watermarks_after": {"customers": 110, "contacts": 55},
        "warnings": [],
    }
    base.update(extra)
    return base


def record(i: int, pending: int, **extra: Any) -> RunRecord:
    run_id = f"2024010{i}T000000Z-abc{i}"
    started = 1_700_000_000.0 + i * 7200
    return RunRecord(run_id, started, started + 2.5, "incomplete", report(run_id, pending, **extra))


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def test_galaxy_data_is_escaped_everywhere() -> None:
    hostile = record(
        1,
        3,
        message=HOSTILE,
        customers={
            "fetched": 1,
            "samples": [{"key": HOSTILE, "reason": HOSTILE, "detail": HOSTILE}],
        },
        ledger_by_reason={HOSTILE: 3},
        warnings=[HOSTILE],
        phases={HOSTILE: 1.0},
    )
    page = render_run_html(hostile)
    names = [t for t, _ in tags(page)]
    assert "script" not in names
    assert "img" not in names
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") >= 5


def test_the_page_is_self_contained() -> None:
    history = [record(i, 10 - i) for i in range(1, 6)]
    page = render_run_html(history[-1], history)
    found = tags(page)
    assert not [t for t, _ in found if t in ("script", "link", "img", "iframe", "object")]
    urls = re.findall(r"""(?:src|href)\s*=\s*["']?([^"' >]+)""", page)
    assert urls == []
    assert "http://www.w3.org/2000/svg" in page  # the SVG namespace, not a fetched asset
    assert [t for t, _ in found].count("svg") == 2  # phases and ledger trend


def test_counts_phases_reasons_and_trend_are_shown() -> None:
    history = [record(i, 10 - i) for i in range(1, 6)]
    current = history[2]
    page = render_run_html(current, history)
    assert "missing_trader_id" in page
    assert "INVALID_DATA" in page
    assert "customers.write" in page
    assert "1.25 s" in page
    # the trend holds the runs up to this one (3), the current one highlighted
    trend = page[page.index("Ledger trend") :]
    bars = re.findall(r'<rect [^>]*fill="(#[0-9a-f]+)"><title>([^<]+)</title>', trend)
    assert [title for _, title in bars] == [
        f"{history[i].run_id}: {10 - (i + 1)} pending" for i in range(3)
    ]
    assert [colour for colour, _ in bars].count("#bc4c00") == 1
    assert bars[-1][0] == "#bc4c00"


def test_a_run_still_running_renders() -> None:
    running = RunRecord("20240101T000000Z-run", 1_700_000_000.0, None, "running", {})
    page = render_run_html(running, [running])
    assert "running" in page
    assert "Not enough finished runs" in page
    assert "No phase timings" in page


def test_an_empty_watermark_reads_none_yet_not_none() -> None:
    page = render_run_html(
        record(1, 0, watermarks_before={"customers": None}, watermarks_after={"customers": 7}),
        [],
    )
    assert "none yet → 7" in page
    assert "None" not in page
