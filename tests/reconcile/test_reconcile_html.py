"""The --output page: self-contained, every value from Galaxy or Zoho escaped."""

from __future__ import annotations

from gzsync.reconcile.html import render_reconcile_html
from gzsync.reconcile.report import ReconcileReport


def test_page_escapes_keys_and_lists_merges() -> None:
    report = ReconcileReport(repair=True, orphan_action="tag")
    report.counts("accounts").add(
        "duplicate", {"key": "<script>alert(1)</script>", "ids": ["1", "2"], "detail": "x & y"}
    )
    report.counts("contacts")
    report.checked = {"accounts": 3, "contacts": 0}
    report.merge_candidates.append({"stream": "accounts", "key": "<b>K</b>", "ids": ["1", "2"]})
    report.repairs("accounts")["tagged"] = 2
    page = render_reconcile_html(report.to_json())
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;K&lt;/b&gt;" in page
    assert "x &amp; y" in page
    assert "Duplicates to merge in the CRM" in page
    assert 'href="http' not in page


def test_page_shows_what_comparing_quote_lines_cost() -> None:
    report = ReconcileReport()
    report.counts("quotes").add("drifted", {"key": "Q1", "fields": ["Quoted_Items"]})
    report.quote_lines = {
        "mode": "auto",
        "galaxy_reads": 7,
        "read_failed": 0,
        "compared": 5,
        "differ": 1,
    }
    page = render_reconcile_html(report.to_json())
    assert "Quote line items (auto)" in page
    assert '<td class="n">7</td>' in page
    assert "Quoted_Items" in page
    assert "Quote line items" not in render_reconcile_html(ReconcileReport().to_json())
