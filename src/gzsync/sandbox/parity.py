"""Does Zoho hold what Galaxy holds? The end-state check of the demo and the end-to-end tests.

Computes what Zoho *should* contain from the Galaxy sandbox's rows and compares it with
every record the Zoho sandbox stores: nothing missing, nothing duplicated, nothing extra,
every mapped field equal, every link pointing at the right record.

The links and the value comparison are this module's own model (`_expected_links`,
`_same`), written apart from the sync's `linking` and `fullread`, so a linking regression
cannot hide in both (tested by breaking the sync's linking on purpose). The field values
come from the sync's mapping (`gzsync.mapping.records`), and are cross-checked by a small
model of its own (`_PLAIN_FIELDS`): every Zoho field whose Galaxy column holds a *plain*
value (trimmed short text, an integer or a float, a plain numeral) must hold that value, so
a mapping that reads the wrong column, or loses a field, fails the check even though the
expected payload came from that same mapping (tested by breaking the table on purpose).
Values that need normalising (decimal commas, phones, e-mails, long texts) are left to the
mapping's own tests (issue 13, point 5: partly done).

A field the mapping left out of a record (a value that was no number, a bad phone: issue
11) is not compared: Zoho keeps what it had, whatever that was. `left_out` counts them.

Zoho's `Rev_Number` may be *lower* than Galaxy's revision (issue 15): a revision bump that
changes no synced field is not sent, so Zoho shows the last revision that changed one. A
lower `Rev_Number` is in sync when every other field is equal (as `gzsync reconcile` says);
a higher one is a mismatch.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gzsync.config import DEFAULT_CONTACT_COLUMNS
from gzsync.mapping.records import Mapped, map_affiliate, map_contact, map_customer
from gzsync.mapping.rules import DEFAULT_RULES, MappingRules


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
    plain_checked: int = 0  # plain Galaxy values checked against this module's own table

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
    raw: dict[str, Mapping[str, Any]] | None = None,
) -> tuple[dict[str, Mapped], dict[str, Mapped], dict[str, str]]:
    """(customers by key, affiliates by key, customer key -> affiliate key) Galaxy implies."""
    by_key: dict[str, Mapped] = {}
    card: dict[str, bool] = {}
    for row in customers:
        item = map_customer(row, rules)
        if isinstance(item, Mapped) and (item.key not in by_key or by_key[item.key].rev < item.rev):
            by_key[item.key] = item
            card[item.key] = _has_card(row.get(CARD_COLUMN))
            if raw is not None:
                raw[item.key] = row
    mapped_affiliates = [
        a for a in (map_affiliate(row, rules) for row in affiliate_rows) if isinstance(a, Mapped)
    ]
    holders: dict[int, list[str]] = {}
    for key, item in by_key.items():
        if card[key] and item.rev > 0:
            holders.setdefault(item.rev, []).append(key)
    affiliates, links = _expected_links(holders, mapped_affiliates)
    return by_key, affiliates, links


#: The customers view's member card column: a customer with one (and a revision > 0) is a
#: card holder, whose affiliates carry its revision (SPEC §1 step 4).
CARD_COLUMN = "ZH_CUSTOMERS_MEMBER_CARDNO"


#: Zoho field <- Galaxy column, per module, written here apart from mapping/tables.py
#: (SPEC §3): what `_check_plain` holds Zoho to wherever the column's value is plain.
_PLAIN_FIELDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "customers": (
        ("Account_Name", "TRDRNAME", "text"),
        ("Account_AFM", "TIN", "text"),
        ("Billing_Street", "TRDSSTREET", "text"),
        ("Shipping_Street", "TRDSSTREET", "text"),
        ("Billing_State", "PREFDESCR", "text"),
        ("Shipping_State", "PREFDESCR", "text"),
        ("Billing_Country", "CNTRCODE", "text"),
        ("Shipping_Country", "CNTRCODE", "text"),
        ("Industry", "CAT_EPAGG", "text"),
        ("Account_Category", "CATEGDISCOUNT", "text"),
        ("Credit_Limit", "BALANCE", "number"),
        ("Open_Balance", "MAXBALANCE", "number"),
        ("Watt", "WATT_CY", "number"),
        ("Turnover_YTD", "TURNOVER_YTD", "number"),
        ("Turnover_LTD", "TURNOVER_LTD", "number"),
        ("Turnover_LY", "TURVOVER_LY", "number"),
        ("SALESNAME", "SALESNAME", "text"),
    ),
    "contacts": (
        ("Last_Name", "LASTNAME", "text"),
        ("Title", "JOBTITLE", "text"),
    ),
}
_PLAIN_NUMERAL = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,6})?")
#: texts up to this long are below every field's limit: never cut
_PLAIN_TEXT_MAX = 40


def _plain(value: Any, kind: str) -> tuple[bool, Any]:
    """(True, what Zoho must hold) for a value no normalising can change; else (False, _).
    A `number` field takes numbers and numerals only (a placeholder text is dropped)."""
    if isinstance(value, bool) or value is None:
        return False, None
    if isinstance(value, int):
        return abs(value) < 10**12, value
    if isinstance(value, float):
        return value == value and abs(value) < 1e12, value
    if not isinstance(value, str) or value != value.strip() or not value:
        return False, None
    if _PLAIN_NUMERAL.fullmatch(value):
        return True, float(value)
    if kind == "number":
        return False, None
    plain = len(value) <= _PLAIN_TEXT_MAX and value.isprintable() and "," not in value
    return plain and not any(c.isdigit() for c in value), value


def _check_plain(
    report: ParityReport, entity: str, key: str, row: Mapping[str, Any], record: Mapping[str, Any]
) -> None:
    """Zoho holds every plain Galaxy value where this module's own table says it goes."""
    for zoho_field, column, kind in _PLAIN_FIELDS[entity]:
        plain, want = _plain(row.get(column), kind)
        if not plain:
            continue
        report.plain_checked += 1
        got = record.get(zoho_field)
        if not _same(got, want):
            report.mismatched.append(f"{key}.{zoho_field}: zoho={got!r:.40} {column}={want!r:.40}")


def _has_card(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    return isinstance(value, int)


def _expected_links(
    holders: Mapping[int, list[str]], affiliates: Iterable[Mapped]
) -> tuple[dict[str, Mapped], dict[str, str]]:
    """SPEC §1 step 4, modelled here on its own: an affiliate row belongs to the card holder
    of its revision (the one its AFFILIATES_CUST_TRDRID names when several share it; none
    when it names none of them); each affiliate once, from its highest revision (the first
    row of equal ones); a card holder links the smallest affiliate key of its rows."""
    expected: dict[str, Mapped] = {}
    owned: dict[str, set[str]] = {}
    for row in affiliates:
        at = holders.get(row.rev)
        if not at:
            continue
        if row.key not in expected or row.rev > expected[row.key].rev:
            expected[row.key] = row
        owner = at[0] if len(at) == 1 else (row.parent_key if row.parent_key in at else None)
        if owner is not None:
            owned.setdefault(owner, set()).add(row.key)
    return expected, {customer: min(keys) for customer, keys in owned.items()}


def _same(zoho: Any, want: Any) -> bool:
    """Zoho holds `want` (an empty text is null; numbers within rounding)."""
    if want is None or want == "":
        return zoho is None or zoho == ""
    if isinstance(want, int | float) and not isinstance(want, bool):
        try:
            return abs(float(zoho) - float(want)) < 1e-6
        except (TypeError, ValueError):
            return False
    return bool(zoho == want)


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
    raw: dict[str, Mapping[str, Any]] = {}
    customers, affiliates, links = expected_accounts(
        galaxy_customers, galaxy_affiliates, rules, raw
    )
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
        _check_plain(report, "customers", key, raw[key], record)
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
    raw: dict[str, Mapping[str, Any]] = {}
    for row in galaxy_contacts:
        item = map_contact(row, DEFAULT_CONTACT_COLUMNS, rules)
        # a contact is expected only when its customer is a valid one (else it waits)
        if isinstance(item, Mapped) and item.parent_key in customers:
            expected[item.key] = item
            raw[item.key] = row
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
        _check_plain(report, "contacts", key, raw[key], record)
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
        if name == "Rev_Number" and _lags(got, want):
            continue  # unchanged since Zoho's revision: not re-sent (see the module)
        if not _same(got, want):
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


def _lags(zoho: Any, galaxy: Any) -> bool:
    """Zoho's `Rev_Number` is below Galaxy's revision (both numbers)."""
    try:
        return float(zoho) < float(galaxy)
    except (TypeError, ValueError):
        return False


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
