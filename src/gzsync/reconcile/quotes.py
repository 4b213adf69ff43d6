"""Reconcile of phase 2: Galaxy offers against Zoho Quotes (with their line items), and the
Products the offers' lines name.

**What is read.** Galaxy: the offers view whole (one call). Zoho: Quotes and Products by
keyset-paged COQL (``id > last``, pages of 2,000, 3 credits a page, like Accounts), and the
Accounts (read anyway) to check each quote's ``Account_Name``. COQL cannot select
``Quoted_Items`` (a subform: line items come only with the single-record GET,
reference zoho-quotes.md §5), and Galaxy serves an offer's lines only one offer per call
(SPEC §7: the lines view is filtered by ``DOC_ID`` ``Equal``). Comparing the lines of every
quote therefore costs **one Galaxy call and one Zoho GET per quote** (20,000 offers: 20,000
Galaxy calls and 20,000 GETs); so line items are compared selectively
(``--quote-lines``, :data:`LINE_MODES`):

- ``auto`` (default): lines are read for the quotes whose header says they may differ —
  header fields stale or drifted, the Account link wrong, the quote missing (its lines
  are needed to confirm it is Zoho's to hold and to repair it) — and for the quotes whose
  Zoho ``Grand_Total`` (Zoho's sum of the rows, taxes included) differs from the offer's
  ``TotalValue`` (``ERP_Total_Amount``). A row a CRM user edits, adds or deletes moves
  ``Grand_Total``; an edit that keeps the total (a description, two rows swapped at the
  same price) is only seen by ``all``. Where an installation's ``TotalValue`` is not the
  gross total Zoho computes, every quote looks different and ``auto`` costs what ``all``
  costs: correct, not cheap (``none`` then skips the line compare).
- ``all``: every quote's lines (the full cost above).
- ``none``: headers and links only; lines are read only for the quotes ``--repair`` must
  send (it needs their rows) and for missing ones (to confirm them); no GET.

**Classes.** The classes of :mod:`gzsync.reconcile.classify`, keyed by ``ERP_ID_Offer``:
``missing`` (an offer Zoho should hold: mapped, its lines all map, its Account found —
by ``TRDRID``, else by a TIN exactly one Account holds, as the sync finds it), ``orphan`` (a
quote whose offer Galaxy no longer has), ``duplicate``, ``stale`` / ``drifted`` (header
fields, or the line items: the field is then ``Quoted_Items``, with Zoho's ``Rev_Number``
deciding stale vs drifted as for any synced field), ``link_wrong`` (``Account_Name`` is not
the Account of the offer's customer) and ``unkeyed`` (quotes without ``ERP_ID_Offer``). An
offer whose Account is not in Zoho (or whose TIN is ambiguous), or whose lines our mapping
rejects, waits in the ledger: neither missing nor orphan. Line items compare as the sync
writes them (:func:`gzsync.mapping.line_items.diff_line_items` is empty: same rows, order,
products, quantities, prices, discounts, descriptions and taxes).

**Products** (stream ``products``): the codes the lines read name. ``missing`` (no Zoho
Product has the code), ``drifted`` (its ``Product_Name`` differs: products have no
revision, so no ``stale``), ``duplicate`` (two Products share a code, any code), ``unkeyed``
(no ``Product_Code``). ``Unit_Price`` is not compared (it is a line's price, which differs
between offers), and there is no ``orphan``: Galaxy has no product list, a product no offer
names is not "deleted in the ERP". With ``auto``/``none`` only the products of the lines read
are checked; ``all`` checks every product an offer names.

**Repair** goes through the sync's writers: missing and drifted products first (a
:class:`~gzsync.sync.writer.BatchWriter` of the ``products`` stream), then the quotes through
:class:`~gzsync.sync.quotes.QuoteWriter` — its public ``known`` map tells it which quotes Zoho
holds (upserted without rows, then GET, diff, PUT and row count: exact rows under both
readings of Zoho's subform semantics), the others are upserted with all their rows. Quote
orphans are reported, never tagged (the Quotes module has no ``Galaxy_Status`` field in
our field set) nor deleted; duplicates are listed.

A reconcile stopped by the time budget during this step does it again whole next time (its
reads of both sides are checkpointed as for the other streams).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gzsync.galaxy.client import GalaxyClient
from gzsync.galaxy.offers import read_offer_lines
from gzsync.mapping.line_items import diff_line_items
from gzsync.mapping.normalize import DecimalMark
from gzsync.mapping.quotes import MappedLine, TaxTable, line_item, map_lines
from gzsync.reconcile.classify import (
    REPAIRED,
    ClassCounts,
    Expected,
    Verdict,
    ZohoRecord,
    classify,
    same_value,
)
from gzsync.reconcile.index import TIN_LINK, ReconcileIndex, pairs
from gzsync.reconcile.read import PRODUCTS, QUOTES
from gzsync.state.store import LedgerEntry
from gzsync.sync.writer import Held, Outgoing
from gzsync.zoho.client import ZohoClient

log = logging.getLogger("gzsync.reconcile")

LineMode = Literal["auto", "all", "none"]
#: `--quote-lines` values (see the module docstring for their cost).
LINE_MODES: tuple[LineMode, ...] = ("auto", "all", "none")
ROWS_FIELD = "Quoted_Items"
#: `Grand_Total` and `TotalValue` closer than this are the same total.
TOTAL_TOLERANCE = 0.005
#: Quotes whose lines are read (and GET) together.
CHUNK = 200
#: How products of a line differ when compared (Unit_Price is a line's, not compared).
PRODUCT_FIELDS = ("Product_Name",)


@dataclass(slots=True)
class LineStats:
    """What comparing line items cost and found (the report's `quote_lines`)."""

    mode: str = "auto"
    galaxy_reads: int = 0  # offers whose lines were read (one Galaxy call each)
    read_failed: int = 0  # offers whose lines Galaxy failed to serve (left as the header says)
    compared: int = 0  # quotes whose rows were fetched (one single-record GET each)
    differ: int = 0  # quotes whose rows are not the offer's lines

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "galaxy_reads": self.galaxy_reads,
            "read_failed": self.read_failed,
            "compared": self.compared,
            "differ": self.differ,
        }


@dataclass(slots=True)
class _Case:
    """One quote whose lines are to be read: its header verdict, what Galaxy expects."""

    key: str
    expected: Expected
    record: ZohoRecord | None  # the one Zoho quote (None: missing)
    verdict: Verdict
    compare: bool  # fetch its rows and compare them


@dataclass(slots=True)
class QuoteClassifier:
    """Classifies every quote (and the products their lines name) into the report."""

    index: ReconcileIndex
    galaxy: GalaxyClient
    zoho: ZohoClient
    taxes: TaxTable
    lines_view: str
    concurrency: int
    mode: LineMode
    quotes: ClassCounts
    products: ClassCounts
    stats: LineStats = field(default_factory=LineStats)
    merge_candidates: list[dict[str, Any]] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    _verdicts: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    decimal: DecimalMark = "comma"  # NUMBER_DECIMAL: lines are read as the sync reads them

    async def run(self) -> None:
        self.stats.mode = self.mode
        self.index.clear_lines()
        pending: list[_Case] = []
        checked = 0
        for key, _kind, expected, records, known in pairs(self.index, QUOTES.module):
            checked += 1
            expected = _reachable(expected)
            verdict = classify(
                expected,
                records,
                in_galaxy=known or expected is not None,
                key_field=QUOTES.key_field,
            )
            if expected is not None and self._needs_lines(verdict, records, expected):
                record = records[0] if len(records) == 1 else None
                compare = record is not None and self.mode != "none"
                pending.append(_Case(key, expected, record, verdict, compare))
                if len(pending) >= CHUNK:
                    await self._lines(pending)
                    pending = []
                continue
            self._record(key, verdict, records)
        if pending:
            await self._lines(pending)
        self._flush()
        for record_id in self.index.unkeyed(QUOTES.module):
            self.quotes.add("unkeyed", {"id": record_id, "detail": f"no {QUOTES.key_field}"})
        self.checked["quotes"] = checked
        self._products()

    def _needs_lines(
        self, verdict: Verdict, records: Sequence[ZohoRecord], expected: Expected
    ) -> bool:
        if verdict.cls in REPAIRED:
            return True
        if verdict.cls is not None or len(records) != 1:
            return False
        if self.mode == "all":
            return True
        if self.mode == "none":
            return False
        return totals_differ(
            expected.payload.get("ERP_Total_Amount"), records[0].fields.get("Grand_Total")
        )

    async def _lines(self, cases: list[_Case]) -> None:
        """Read the cases' lines, compare the rows of those Zoho holds, classify them."""
        galaxy_ids = self.index.galaxy_ids(c.key for c in cases)
        read = await read_offer_lines(
            self.galaxy,
            [galaxy_ids[c.key] for c in cases if c.key in galaxy_ids],
            guid=self.lines_view,
            concurrency=self.concurrency,
        )
        self.stats.galaxy_reads += len(read.lines) + len(read.failures)
        keep: list[tuple[str, Any]] = []
        compared: list[tuple[_Case, list[dict[str, Any]] | None]] = []
        for case in cases:
            gid = galaxy_ids.get(case.key)
            if gid is None or gid not in read.lines:
                self.stats.read_failed += 1
                self._record(case.key, case.verdict, _records(case))
                continue
            mapped = map_lines(read.lines[gid], self.taxes, decimal=self.decimal)
            good = [m for m in mapped if isinstance(m, MappedLine)]
            if not good or len(good) != len(mapped):
                # its lines are rejected: the offer waits in the ledger, not Zoho's to hold
                self._record(case.key, classify(None, _records(case), in_galaxy=True), [])
                continue
            for line in good:
                self.index.add_expected(
                    PRODUCTS.module, line.product_code, "product", 0, line.product, None
                )
            keep.append((case.key, [_line_json(m) for m in good]))
            compared.append((case, self._desired_rows(good) if case.compare else None))
        self.index.put_quote_lines(keep)
        fetch = [(c, rows) for c, rows in compared if c.compare]
        zoho_rows = await asyncio.gather(
            *(self.zoho.get_record(QUOTES.module, _id(c)) for c, _ in fetch)
        )
        self.stats.compared += len(fetch)
        current = {c.key: q for (c, _), q in zip(fetch, zoho_rows, strict=True)}
        for case, desired in compared:
            verdict = case.verdict
            if case.compare:
                quote = current.get(case.key)
                rows = [r for r in (quote or {}).get(ROWS_FIELD) or [] if isinstance(r, dict)]
                if desired is None or not diff_line_items(desired, rows).empty:
                    self.stats.differ += 1
                    verdict = _with_rows(case, verdict, len(rows))
            self._record(case.key, verdict, _records(case))

    def _desired_rows(self, lines: Sequence[MappedLine]) -> list[dict[str, Any]] | None:
        """The rows the sync would write (None: a product is not in Zoho: rows differ)."""
        rows = []
        for line in lines:
            ids = self.index.zoho_ids(PRODUCTS.module, line.product_code)
            if not ids:
                return None
            rows.append(line_item(line, ids[0]))
        return rows

    def _record(self, key: str, verdict: Verdict, records: Sequence[ZohoRecord]) -> None:
        if verdict.cls is None:
            return
        self.quotes.add(verdict.cls, _sample(key, verdict))
        self._verdicts.append((QUOTES.module, key, verdict.cls, "quote"))
        if verdict.cls == "duplicate":
            self.merge_candidates.append({"stream": "quotes", "key": key, "ids": list(verdict.ids)})
        if len(self._verdicts) >= 2000:
            self._flush()

    def _flush(self) -> None:
        self.index.add_verdicts(self._verdicts)
        self._verdicts = []

    def _products(self) -> None:
        """The products the lines read name, and every Product_Code Zoho holds twice."""
        checked = 0
        for key, _kind, expected, records, _known in pairs(self.index, PRODUCTS.module):
            if expected is not None:
                checked += 1
            verdict = product_verdict(key, expected, records)
            if verdict.cls is None:
                continue
            self.products.add(verdict.cls, _sample(key, verdict))
            self._verdicts.append((PRODUCTS.module, key, verdict.cls, "product"))
            if verdict.cls == "duplicate":
                self.merge_candidates.append(
                    {"stream": "products", "key": key, "ids": list(verdict.ids)}
                )
        self._flush()
        for record_id in self.index.unkeyed(PRODUCTS.module):
            self.products.add("unkeyed", {"id": record_id, "detail": f"no {PRODUCTS.key_field}"})
        self.checked["products"] = checked


def totals_differ(expected_total: Any, grand_total: Any) -> bool:
    """Whether Zoho's `Grand_Total` may not be the offer's total (unknown: it may)."""
    try:
        return abs(float(expected_total) - float(grand_total)) > TOTAL_TOLERANCE
    except (TypeError, ValueError):
        return True


def product_verdict(key: str, expected: Expected | None, records: Sequence[ZohoRecord]) -> Verdict:
    """The class of one product code (see the module docstring); pure."""
    ids = tuple(sorted(r.id for r in records))
    if len(records) > 1:
        return Verdict("duplicate", ids=ids, detail=f"{len(records)} Products have this code")
    if expected is None:
        return Verdict(None)  # no offer line read names it: nothing to say
    if not records:
        return Verdict("missing", detail="an offer line names it; no Zoho Product has it")
    fields = tuple(
        f
        for f in PRODUCT_FIELDS
        if not same_value(records[0].fields.get(f), expected.payload.get(f))
    )
    if fields:
        return Verdict("drifted", fields=fields, ids=ids, detail="edited in the CRM, or renamed")
    return Verdict(None)


def _reachable(expected: Expected | None) -> Expected | None:
    """None when the sync would hold the offer: its Account is not in Zoho, or its TIN is
    held by several Accounts (`ambiguous_account`)."""
    if expected is None or expected.link_key is None:
        return expected
    if not expected.link_ids:
        return None
    if expected.link_key.startswith(TIN_LINK) and len(expected.link_ids) > 1:
        return None
    return expected


def _with_rows(case: _Case, verdict: Verdict, held: int) -> Verdict:
    """The header verdict with the line items added as a differing field."""
    record = case.record
    assert record is not None
    fields = (*verdict.fields, ROWS_FIELD)
    detail = f"line items differ (Zoho holds {held} rows)"
    if verdict.cls in ("stale", "drifted"):
        return Verdict(verdict.cls, fields, verdict.ids, f"{verdict.detail}; {detail}")
    zoho_rev = "none" if record.rev is None else str(record.rev)
    detail = f"{detail}; Zoho revision {zoho_rev}, Galaxy {case.expected.rev}"
    behind = record.rev is None or record.rev < case.expected.rev
    return Verdict("stale" if behind else "drifted", fields, (record.id,), detail)


def _id(case: _Case) -> str:
    assert case.record is not None
    return case.record.id


def _records(case: _Case) -> list[ZohoRecord]:
    return [] if case.record is None else [case.record]


def _line_json(line: MappedLine) -> dict[str, Any]:
    return {"code": line.product_code, "product": line.product, "item": line.item}


def _sample(key: str, verdict: Verdict) -> dict[str, Any]:
    sample: dict[str, Any] = {"key": key, "detail": verdict.detail}
    if verdict.ids:
        sample["ids"] = list(verdict.ids)
    if verdict.fields:
        sample["fields"] = list(verdict.fields)
    return sample


# -- repair -----------------------------------------------------------------------------


def products_to_resend(index: ReconcileIndex) -> Iterator[Outgoing]:
    """Missing and drifted products, as the sync would upsert them."""
    for item in index.to_resend(PRODUCTS.module, "product", {"missing", "drifted"}):
        yield Outgoing(item.key, 0, dict(item.payload))


def quotes_to_resend(
    index: ReconcileIndex, products: Mapping[str, str], known: dict[str, str]
) -> Iterator[Outgoing | Held]:
    """The quotes to re-send (missing, stale, drifted, link_wrong) with their rows and the
    Account Galaxy says; `known` receives the ids of those Zoho holds (QuoteWriter.known).
    A quote naming a product Zoho still lacks is held, as the sync holds it."""
    for item in index.to_resend(QUOTES.module, "quote", REPAIRED):
        lines = index.quote_lines(item.key)
        if lines is None:
            continue  # its lines could not be read: left as reported
        link = item.parent_key or ""
        accounts = index.link_ids(link)
        if not accounts:
            continue  # cannot happen: classified only when its Account is in Zoho
        rows: list[dict[str, Any]] = []
        for line in lines:
            code = str(line["code"])
            pid = products.get(code) or next(iter(index.zoho_ids(PRODUCTS.module, code)), None)
            if pid is None:
                break
            rows.append({"Product_Name": {"id": pid}, **line["item"]})
        if len(rows) != len(lines):
            yield Held(
                LedgerEntry(
                    "quotes",
                    item.key,
                    item.rev,
                    "waiting_parent",
                    "product_refused",
                    "a Product the offer names is not in Zoho",
                )
            )
            continue
        held = index.zoho_ids(QUOTES.module, item.key)
        if len(held) == 1:
            known[item.key] = held[0]
        payload = {**item.payload, QUOTES.link_field or "": {"id": accounts[0]}, ROWS_FIELD: rows}
        yield Outgoing(item.key, item.rev, payload, parent_key=link)
