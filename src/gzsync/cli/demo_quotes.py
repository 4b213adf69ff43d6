"""The demo's phase 2 (issue 14): offers changed in the Galaxy sandbox between the two
runs, and the check that Zoho's Quotes then hold exactly Galaxy's offer lines."""

from __future__ import annotations

import random
from typing import Any

import httpx

from gzsync.sandbox.parity import ParityReport, check_quotes_parity


def touch_offers(book: Any, count: int, seed: int) -> list[str]:
    """Change `count` offers' lines (a quantity changed, a line added): each such offer
    gets a new revision (`OfferBook.add_lines`). Returns the offer ids changed."""
    rng = random.Random(seed)
    offers = [o["ID"] for o in book.offer_rows()]
    chosen = rng.sample(offers, min(count, len(offers)))
    changed: list[dict[str, Any]] = []
    for doc in chosen:
        lines = book.line_rows(doc)
        if not lines:
            continue
        first = dict(lines[0])
        first["QTY"] = (first.get("QTY") or 0) + 1
        extra = dict(lines[-1])
        extra["LINENUM"] = max(int(line.get("LINENUM") or 0) for line in lines) + 1
        changed += [first, extra]
    book.add_lines(changed)
    return chosen


def quotes_parity(
    book: Any, zoho_url: str, zoho_accounts: Any, taxes: Any, number_decimal: str = "comma"
) -> ParityReport:
    """Zoho's Quotes (rows included, from the sandbox's control route) against the offers."""
    quotes = httpx.get(f"{zoho_url}/__sandbox/records/Quotes", timeout=60).json()
    return check_quotes_parity(
        galaxy_offers=book.offer_rows(),
        galaxy_lines=book.line_rows(),
        zoho_quotes=quotes,
        zoho_accounts=zoho_accounts,
        tax_names=taxes,
        number_decimal=number_decimal,
    )
