"""`ledger_news`: which ledger entries make a run exit 1 (new or transient) and which are
old news waiting for a Galaxy fix."""

from __future__ import annotations

from typing import Any

import pytest

from gzsync.state.store import LedgerEntry
from gzsync.sync.ledger_news import LedgerNews, ledger_news

START = 1_000.0
BEFORE, DURING = START - 500, START + 5


def entry(stream: Any, key: str, kind: Any, *, first: float, last: float, detail: str = "") -> Any:
    return LedgerEntry(stream, key, 1, kind, "r", detail, first_seen=first, last_seen=last)


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([], LedgerNews()),
        # rejected by an earlier run, untouched by this one: old
        ([entry("customers", "C1", "rejected", first=BEFORE, last=BEFORE)], LedgerNews(old=1)),
        # rejected again in this run (the row changed, still bad): new
        (
            [entry("customers", "C1", "rejected", first=BEFORE, last=DURING)],
            LedgerNews(new_rejections=1),
        ),
        ([entry("contacts", "K1", "refused", first=DURING, last=DURING)], LedgerNews(1, 0, 0)),
        # failed in transit, whenever: transient
        ([entry("customers", "C2", "failed", first=BEFORE, last=DURING)], LedgerNews(0, 1, 0)),
        # a contact whose Account is not in Zoho for no known reason: transient
        (
            [
                entry(
                    "contacts",
                    "K2",
                    "waiting_parent",
                    first=BEFORE,
                    last=DURING,
                    detail="Account C9 is not in Zoho yet",
                )
            ],
            LedgerNews(transient=1),
        ),
    ],
)
def test_ledger_news(entries: list[LedgerEntry], expected: LedgerNews) -> None:
    assert ledger_news(entries, START) == expected


def test_a_contact_waiting_for_a_rejected_account_is_old_news_once_it_has_waited() -> None:
    parent = entry("customers", "C1", "rejected", first=BEFORE, last=BEFORE)
    waited = entry(
        "contacts", "K1", "waiting_parent", first=BEFORE, last=DURING,
        detail="Account C1 is not in Zoho yet",
    )  # fmt: skip
    fresh = entry(
        "contacts", "K2", "waiting_parent", first=DURING, last=DURING,
        detail="Account C1 is not in Zoho yet",
    )  # fmt: skip
    assert ledger_news([parent, waited], START) == LedgerNews(old=2)
    # a contact that starts waiting in this run is news, even behind an old rejection
    assert ledger_news([parent, waited, fresh], START) == LedgerNews(transient=1, old=2)


def test_a_quote_waiting_for_a_rejected_account_is_old_news_like_a_contact() -> None:
    parent = entry("customers", "C1", "rejected", first=BEFORE, last=BEFORE)
    waited = entry(
        "quotes", "Q1", "waiting_parent", first=BEFORE, last=DURING,
        detail="Account C1 is not in Zoho yet",
    )  # fmt: skip
    unknown = entry(
        "quotes", "Q2", "waiting_parent", first=BEFORE, last=DURING,
        detail="Account C9 is not in Zoho yet",
    )  # fmt: skip
    assert ledger_news([parent, waited], START) == LedgerNews(old=2)
    # an Account that is merely absent (not rejected) keeps its quotes transient
    assert ledger_news([parent, waited, unknown], START) == LedgerNews(transient=1, old=2)
