"""The console's pure parts: charts, run rows, credits per day, warnings by field."""

from __future__ import annotations

import re

from gzsync.console import charts
from gzsync.console.views import (
    LedgerFilter,
    credits_by_day,
    run_charts,
    run_row,
    warnings_by_field,
)
from gzsync.state.store import RunRecord

DAY = 86_400.0


def _record(n: int, at: float, **report: object) -> RunRecord:
    return RunRecord(f"r{n}", at, at + 5, str(report.get("status", "success")), dict(report))


def test_bar_chart_escapes_labels_and_flags_bars_over_the_limit() -> None:
    svg = charts.bar_chart(
        "d", "t", [charts.Bar("<b>", 5), charts.Bar("x", 20, over=True)], limit=10, unit=" s"
    )
    assert "<b>" not in svg
    assert "&lt;b&gt;" in svg
    assert len(re.findall(r'<rect class="bar"', svg)) == 2
    assert svg.count('fill="#cf222e"') == 1  # only the bar over the limit is red
    assert 'class="limit"' in svg
    assert "no data yet" in charts.bar_chart("d", "t", [])


def test_line_chart_has_one_series_per_reason() -> None:
    svg = charts.line_chart("l", "t", ["a", "b"], {"INVALID_DATA": [1, 3], "x<y": [0, 2]})
    assert 'data-series="INVALID_DATA"' in svg
    assert 'data-series="x&lt;y"' in svg
    assert "INVALID_DATA (3)" in svg


def test_run_row_and_charts_from_reports() -> None:
    report = {
        "customers": {"fetched": 10, "inserted": 4, "updated": 3, "rejected": 1, "failed": 2},
        "zoho_credits": 7,
        "zoho_credits_remaining": 93,
        "duration_s": 120.0,
        "ledger_pending": 3,
        "ledger_by_reason": {"INVALID_DATA": 3},
    }
    row = run_row(_record(1, 10 * DAY, **report), default_budget_s=100.0)
    assert (row.written, row.failed, row.credits) == (7, 3, 7)
    assert row.over_budget
    drawn = run_charts([row])
    assert 'data-value="7"' in drawn["records_written"]
    assert 'data-series="INVALID_DATA"' in drawn["ledger_by_reason"]
    assert 'fill="#cf222e"' in drawn["duration_vs_budget"]


def test_credits_per_day_against_the_allowance() -> None:
    rows = [
        run_row(_record(3, 11 * DAY + 60, zoho_credits=5, zoho_credits_remaining=90)),
        run_row(_record(2, 10 * DAY + 120, zoho_credits=4, zoho_credits_remaining=80)),
        run_row(_record(1, 10 * DAY + 60, zoho_credits=6, zoho_credits_remaining=84)),
    ]
    assert credits_by_day(rows) == [("1970-01-11", 10, 90), ("1970-01-12", 5, 95)]
    assert credits_by_day(rows, daily_allowance=50)[0] == ("1970-01-11", 10, 50)


def test_warnings_grouped_by_field() -> None:
    report = {
        "warnings": [
            "Email dropped: EMAIL 'x@' is not a valid e-mail address",
            "Email dropped: EMAIL 'y@' is not a valid e-mail address",
            "Phone: skipped TRDSPHONE1, too long",
            "something else entirely",
        ],
        "contacts": {"warning_samples": [{"key": "K1", "field": "Mobile", "value": "12"}]},
    }
    grouped = {w.field: w.count for w in warnings_by_field(report)}
    assert grouped == {"Email": 2, "Phone": 1, "(other)": 1, "Mobile": 1}
    assert warnings_by_field({}) == []


def test_ledger_filter_ignores_unknown_values() -> None:
    flt = LedgerFilter.parse({"stream": "bogus", "kind": "failed", "reason": " X ", "run": ""})
    assert flt == LedgerFilter(stream=None, kind="failed", reason="X", run=None)
    assert flt.as_params() == {"kind": "failed", "reason": "X"}
