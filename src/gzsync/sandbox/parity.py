"""Does Zoho hold what Galaxy holds? The end-state check of the demo and the end-to-end tests.

Computes what Zoho *should* contain from the Galaxy sandbox's rows (through the same
mapping and linking rules the sync uses; those rules have their own unit tests) and compares
it with every record the Zoho sandbox stores: nothing missing, nothing duplicated, nothing
extra, every mapped field equal, every link pointing at the right record.

A field the mapping left out of a record (a value that was no number, a bad phone: issue
11) is not compared: Zoho keeps what it had, whatever that was. `left_out` counts them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gzsync.config import DEFAULT_CONTACT_COLUMNS
from gzsync.mapping.records import Mapped, map_affiliate, map_contact, map_customer
from gzsync.mapping.rules import DEFAULT_RULES, MappingRules
from gzsync.sync.fullread import same_value
from gzsync.sync.linking import card_holders_of, link_affiliates


@dataclass(slots=True)
class ParityReport:
    """Differences between the Zoho end state and Galaxy; empty lists mean parity."""

    missing: list[str] = field(default_factory=list)  # expected in Zoho, absent
    duplicated: list[str] = field(default_factory=list)  # key held by several Zoho records
    unexpected: list[str] = field(default_factory=list)  # in Zoho, not expected
    mismatched: list[str] = field(default_factory=list)  # "key.Field: zoho=... galaxy=..."
    wrong_links: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    left_out: int = 0  # fields the mapping left out (Zoho keeps its value): not compared

    @property
    def ok(self) -> bool:
        return not (
            self.missing
            or self.duplicated
            or self.unexpected
            or self.mismatched
            or self.wrong_links
        )

    def summary(self, sample: int = 5) -> str:
        if self.ok:
            parts = ", ".join(f"{n} {what}" for what, n in self.checked.items())
            return f"Zoho matches Galaxy ({parts})"
        lines = []
        for name in ("missing", "duplicated", "unexpected", "mismatched", "wrong_links"):
            items: list[str] = getattr(self, name)
            if items:
                lines.append(f"{name}: {len(items)} e.g. {', '.join(items[:sample])}")
        return "Zoho differs from Galaxy: " + "; ".join(lines)


def expected_accounts(
    customers: Iterable[Mapping[str, Any]],
    affiliate_rows: Iterable[Mapping[str, Any]],
    rules: MappingRules = DEFAULT_RULES,
) -> tuple[dict[str, Mapped], dict[str, Mapped], dict[str, str]]:
    """(customers by key, affiliates by key, customer key -> affiliate key) Galaxy implies."""
    by_key: dict[str, Mapped] = {}
    for row in customers:
        item = map_customer(row, rules)
        if isinstance(item, Mapped) and (item.key not in by_key or by_key[item.key].rev < item.rev):
            by_key[item.key] = item
    # several card holders may share a revision: all of them, told apart by the link rule
    card_holders = card_holders_of(by_key.values())
    mapped_affiliates = [
        a for a in (map_affiliate(row, rules) for row in affiliate_rows) if isinstance(a, Mapped)
    ]
    plan = link_affiliates(card_holders, mapped_affiliates)
    return by_key, {a.key: a for a in plan.affiliates}, dict(plan.links)


def check_parity(
    *,
    galaxy_customers: Iterable[Mapping[str, Any]],
    galaxy_affiliates: Iterable[Mapping[str, Any]],
    galaxy_contacts: Iterable[Mapping[str, Any]] | None,
    zoho_accounts: Iterable[Mapping[str, Any]],
    zoho_contacts: Iterable[Mapping[str, Any]] | None,
    rules: MappingRules = DEFAULT_RULES,
) -> ParityReport:
    """Compare the Zoho sandbox's records with what the Galaxy sandbox's rows imply."""
    report = ParityReport()
    customers, affiliates, links = expected_accounts(galaxy_customers, galaxy_affiliates, rules)
    accounts = list(zoho_accounts)
    counts = Counter(str(r.get("Trader_ID")) for r in accounts)
    report.duplicated.extend(sorted(k for k, n in counts.items() if n > 1))
    zoho_by_key = {str(r.get("Trader_ID")): r for r in accounts}
    for key, item in customers.items():
        record = zoho_by_key.get(key)
        if record is None:
            report.missing.append(f"Account {key}")
            continue
        _compare(report, key, item.payload, record)
        want = links.get(key)
        got = _lookup_id(record.get("Affiliate_To"))
        want_id = None if want is None else _record_id(zoho_by_key.get(want))
        if got != want_id:
            report.wrong_links.append(f"{key}.Affiliate_To: zoho={got} galaxy={want}")
    for key, item in affiliates.items():
        record = zoho_by_key.get(key)
        if record is None:
            report.missing.append(f"affiliate Account {key}")
        elif key not in customers:
            _compare(report, key, item.payload, record)
    expected_keys = customers.keys() | affiliates.keys()
    report.unexpected.extend(sorted(k for k in zoho_by_key if k not in expected_keys))
    report.checked["customers"] = len(customers)
    report.left_out += sum(_left_out(m) for m in (*customers.values(), *affiliates.values()))
    report.checked["affiliates"] = len(affiliates)
    if galaxy_contacts is not None and zoho_contacts is not None:
        _check_contacts(report, galaxy_contacts, zoho_contacts, customers, zoho_by_key, rules)
    return report


def _check_contacts(
    report: ParityReport,
    galaxy_contacts: Iterable[Mapping[str, Any]],
    zoho_contacts: Iterable[Mapping[str, Any]],
    customers: Mapping[str, Mapped],
    zoho_accounts: Mapping[str, Mapping[str, Any]],
    rules: MappingRules = DEFAULT_RULES,
) -> None:
    expected: dict[str, Mapped] = {}
    for row in galaxy_contacts:
        item = map_contact(row, DEFAULT_CONTACT_COLUMNS, rules)
        # a contact is expected only when its customer is a valid one (else it waits)
        if isinstance(item, Mapped) and item.parent_key in customers:
            expected[item.key] = item
    records = list(zoho_contacts)
    counts = Counter(str(r.get("Galaxy_Contact_ID")) for r in records)
    report.duplicated.extend(sorted(f"contact {k}" for k, n in counts.items() if n > 1))
    by_key = {str(r.get("Galaxy_Contact_ID")): r for r in records}
    for key, item in expected.items():
        record = by_key.get(key)
        if record is None:
            report.missing.append(f"Contact {key}")
            continue
        _compare(report, key, item.payload, record)
        want = _record_id(zoho_accounts.get(item.parent_key or ""))
        got = _lookup_id(record.get("Account_Name"))
        if got != want:
            report.wrong_links.append(f"contact {key}.Account_Name: zoho={got} want={want}")
    report.unexpected.extend(sorted(f"contact {k}" for k in by_key if k not in expected))
    report.checked["contacts"] = len(expected)
    report.left_out += sum(_left_out(m) for m in expected.values())


def _compare(
    report: ParityReport, key: str, payload: Mapping[str, Any], record: Mapping[str, Any]
) -> None:
    # A field left out of the payload is not in it: Zoho keeps its own value there.
    for name, want in payload.items():
        got = record.get(name)
        if not same_value(got, want):
            report.mismatched.append(f"{key}.{name}: zoho={got!r:.40} galaxy={want!r:.40}")


def _left_out(item: Mapped) -> int:
    """Fields of `item` the mapping left out (its warnings name them)."""
    return len(
        {w.field for w in item.warnings if w.field not in item.payload} - {"AFFILIATES_CUST_TRDRID"}
    )


def _lookup_id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        found = value.get("id")
        return None if found is None else str(found)
    return None if value is None else str(value)


def _record_id(record: Mapping[str, Any] | None) -> str | None:
    return None if record is None else str(record.get("id"))


# -- phase 2: Quotes (issue 14) ---------------------------------------------------------------


def check_quotes_parity(
    *,
    galaxy_offers: Iterable[Mapping[str, Any]],
    galaxy_lines: Iterable[Mapping[str, Any]],
    zoho_quotes: Iterable[Mapping[str, Any]],
    zoho_accounts: Iterable[Mapping[str, Any]],
    tax_names: Mapping[str, str] | None = None,
) -> ParityReport:
    """Zoho's Quotes (as `/__sandbox/records/Quotes` shows them, rows included) against
    Galaxy's offers: every offer whose Account is in Zoho (found by `TRDRID`, else by a TIN
    only one Account holds) and whose lines all map has exactly one quote, on that Account,
    with exactly its lines in Galaxy's order (product code, quantity, price, discount,
    tax names). Offers of unknown customers are expected absent (`checked["waiting"]`)."""
    from gzsync.mapping.line_items import same_line
    from gzsync.mapping.quotes import MappedLine, MappedQuote, TaxTable, map_lines, map_offer

    report = ParityReport()
    taxes = TaxTable(tax_names)
    lines_of: dict[str, list[Mapping[str, Any]]] = {}
    for galaxy_line in galaxy_lines:
        lines_of.setdefault(str(galaxy_line.get("DOC_ID")), []).append(galaxy_line)
    by_trdrid = {str(a.get("Trader_ID")): str(a["id"]) for a in zoho_accounts}
    by_tin: dict[str, list[str]] = {}
    for account in zoho_accounts:
        if account.get("Account_AFM"):
            by_tin.setdefault(str(account["Account_AFM"]), []).append(str(account["id"]))
    held: dict[str, list[Mapping[str, Any]]] = {}
    for quote in zoho_quotes:
        held.setdefault(str(quote.get("ERP_ID_Offer")), []).append(quote)
    expected: set[str] = set()
    waiting = 0
    for offer in galaxy_offers:
        mapped = map_offer(offer)
        if not isinstance(mapped, MappedQuote):
            continue
        lines = map_lines(lines_of.get(mapped.galaxy_id, []), taxes)
        if mapped.account_trdrid:
            found = by_trdrid.get(mapped.account_trdrid)
            accounts = [found] if found else []
        else:
            accounts = by_tin.get(mapped.account_tin or "", [])
        good = [line for line in lines if isinstance(line, MappedLine)]
        if len(accounts) != 1 or not good or len(good) != len(lines):
            waiting += 1
            continue
        expected.add(mapped.key)
        quotes = held.get(mapped.key, [])
        if not quotes:
            report.missing.append(f"Quotes:{mapped.key}")
            continue
        if len(quotes) > 1:
            report.duplicated.append(f"Quotes:{mapped.key}")
        quote = quotes[0]
        if _lookup_id(quote.get("Account_Name")) != accounts[0]:
            report.wrong_links.append(f"Quotes:{mapped.key}.Account_Name")
        rows = [r for r in quote.get("Quoted_Items") or [] if isinstance(r, Mapping)]
        if len(rows) != len(good):
            report.mismatched.append(
                f"Quotes:{mapped.key}.Quoted_Items: zoho={len(rows)} rows galaxy={len(good)}"
            )
            continue
        for n, (line, row) in enumerate(zip(good, rows, strict=True), start=1):
            product = row.get("Product_Name") or {}
            code = product.get("Product_Code") if isinstance(product, Mapping) else None
            desired = {**line.item, "Product_Name": product}
            if code != line.product_code or not same_line(desired, row):
                report.mismatched.append(f"Quotes:{mapped.key}.Quoted_Items[{n}]")
    report.unexpected.extend(f"Quotes:{k}" for k in sorted(held.keys() - expected))
    report.checked["quotes"] = len(expected)
    report.checked["waiting"] = waiting
    return report
