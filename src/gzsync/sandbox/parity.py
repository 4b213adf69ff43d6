"""Does Zoho hold what Galaxy holds? The end-state check of the demo and the end-to-end tests.

Computes what Zoho *should* contain from the Galaxy sandbox's rows and compares it with
every record the Zoho sandbox stores: nothing missing, nothing duplicated, nothing extra,
every field equal, every link pointing at the right record.

It checks the sync without using the sync: no import of `gzsync.mapping` or `gzsync.sync`
(a test walks this module's imports). The expected values come from the sandbox's own
model (:mod:`gzsync.sandbox.expected`, :mod:`gzsync.sandbox.expected_quotes`, written
from SPEC §3 and §7 as small tables), the links from `_expected_links` (SPEC §1 step 4,
written apart from `sync/linking.py`). A regression in the mapping or in the linking then
fails the check instead of moving the expected values with it (tested by breaking each on
purpose in tests/e2e/test_parity_model.py).

A field the sync leaves out of a record (a value that is no number, a bad phone: issue
11) is not compared: Zoho keeps what it had, whatever that was. `left_out` counts them.

Zoho's `Rev_Number` may be *lower* than Galaxy's revision (issue 15): a revision bump that
changes no synced field is not sent, so Zoho shows the last revision that changed one. A
lower `Rev_Number` is in sync when every other field is equal (as `gzsync reconcile` says);
a higher one is a mismatch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from gzsync.sandbox.expected import (
    CARD_COLUMN,
    CONTACT_COLUMNS,
    Expected,
    expect_affiliate,
    expect_contact,
    expect_customer,
)
from gzsync.sandbox.expected_quotes import ExpectedLine, expect_lines, expect_offer, tax_table

__all__ = [
    "CARD_COLUMN",
    "ParityReport",
    "check_parity",
    "check_quotes_parity",
    "expected_accounts",
]

#: CONTACT_NAME_FALLBACK's default: where a contact without a last name gets one.
NAME_FALLBACK = ("first_name", "email")


@dataclass(slots=True)
class ParityReport:
    """Differences between the Zoho end state and Galaxy; empty lists mean parity."""

    missing: list[str] = field(default_factory=list)  # expected in Zoho, absent
    duplicated: list[str] = field(default_factory=list)  # key held by several Zoho records
    unexpected: list[str] = field(default_factory=list)  # in Zoho, not expected
    mismatched: list[str] = field(default_factory=list)  # "key.Field: zoho=... galaxy=..."
    wrong_links: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    left_out: int = 0  # fields the sync does not send (Zoho keeps its value): not compared
    fields_checked: int = 0  # field values compared with this module's own model

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
    number_decimal: str = "comma",
) -> tuple[dict[str, Expected], dict[str, Expected], dict[str, str]]:
    """(customers by key, affiliates by key, customer key -> affiliate key) Galaxy implies.

    A key held by several customer rows: the highest revision, the first of equal ones."""
    by_key: dict[str, Expected] = {}
    for row in customers:
        item = expect_customer(row, number_decimal)
        if item is not None and (item.key not in by_key or by_key[item.key].rev < item.rev):
            by_key[item.key] = item
    holders: dict[int, list[str]] = {}
    for key, item in by_key.items():
        if item.card_holder:
            holders.setdefault(item.rev, []).append(key)
    rows = (expect_affiliate(row) for row in affiliate_rows)
    affiliates, links = _expected_links(holders, [a for a in rows if a is not None])
    return by_key, affiliates, links


class _Linkable(Protocol):
    """What linking reads of an affiliate row (this model's Expected, or a test's stand-in)."""

    @property
    def key(self) -> str: ...
    @property
    def rev(self) -> int: ...
    @property
    def parent_key(self) -> str | None: ...


_T = TypeVar("_T", bound=_Linkable)


def _expected_links(
    holders: Mapping[int, list[str]], affiliates: Iterable[_T]
) -> tuple[dict[str, _T], dict[str, str]]:
    """SPEC §1 step 4, modelled here on its own: an affiliate row belongs to the card holder
    of its revision (the one its AFFILIATES_CUST_TRDRID names when several share it; none
    when it names none of them); each affiliate once, from its highest revision (the first
    row of equal ones); a card holder links the smallest affiliate key of its rows."""
    expected: dict[str, _T] = {}
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
    number_decimal: str = "comma",
    name_fallback: Sequence[str] = NAME_FALLBACK,
    contact_columns: Mapping[str, str] = CONTACT_COLUMNS,
) -> ParityReport:
    """Compare the Zoho sandbox's records with what the Galaxy sandbox's rows imply.

    `number_decimal`, `name_fallback` and `contact_columns` are the sync's settings
    (NUMBER_DECIMAL, CONTACT_NAME_FALLBACK, GALAXY_CONTACT_COLUMNS) the model must follow."""
    report = ParityReport()
    customers, affiliates, links = expected_accounts(
        galaxy_customers, galaxy_affiliates, number_decimal
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
        _compare(report, key, item.fields, record)
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
            _compare(report, key, item.fields, record)
    expected_keys = customers.keys() | affiliates.keys()
    report.unexpected.extend(sorted(k for k in zoho_by_key if k not in expected_keys))
    report.checked["customers"] = len(customers)
    report.left_out += sum(len(m.left_out) for m in (*customers.values(), *affiliates.values()))
    report.checked["affiliates"] = len(affiliates)
    if galaxy_contacts is not None and zoho_contacts is not None:
        contacts = _expected_contacts(galaxy_contacts, customers, contact_columns, name_fallback)
        _check_contacts(report, contacts, zoho_contacts, zoho_by_key)
    return report


def _expected_contacts(
    rows: Iterable[Mapping[str, Any]],
    customers: Mapping[str, Expected],
    columns: Mapping[str, str],
    name_fallback: Sequence[str],
) -> dict[str, Expected]:
    """The contacts Zoho must hold: valid ones whose customer is a valid one (the others
    wait for it); a key held by several rows: the last row."""
    expected: dict[str, Expected] = {}
    for row in rows:
        item = expect_contact(row, columns, name_fallback)
        if item is not None and item.parent_key in customers:
            expected[item.key] = item
    return expected


def _check_contacts(
    report: ParityReport,
    expected: Mapping[str, Expected],
    zoho_contacts: Iterable[Mapping[str, Any]],
    zoho_accounts: Mapping[str, Mapping[str, Any]],
) -> None:
    records = list(zoho_contacts)
    counts = Counter(str(r.get("Galaxy_Contact_ID")) for r in records)
    report.duplicated.extend(sorted(f"contact {k}" for k, n in counts.items() if n > 1))
    by_key = {str(r.get("Galaxy_Contact_ID")): r for r in records}
    for key, item in expected.items():
        record = by_key.get(key)
        if record is None:
            report.missing.append(f"Contact {key}")
            continue
        _compare(report, key, item.fields, record)
        want = _record_id(zoho_accounts.get(item.parent_key or ""))
        got = _lookup_id(record.get("Account_Name"))
        if got != want:
            report.wrong_links.append(f"contact {key}.Account_Name: zoho={got} want={want}")
    report.unexpected.extend(sorted(f"contact {k}" for k in by_key if k not in expected))
    report.checked["contacts"] = len(expected)
    report.left_out += sum(len(m.left_out) for m in expected.values())


def _compare(
    report: ParityReport, key: str, fields: Mapping[str, Any], record: Mapping[str, Any]
) -> None:
    # A field left out of `fields` is not sent: Zoho keeps its own value there.
    report.fields_checked += len(fields)
    for name, want in fields.items():
        got = record.get(name)
        if got == want and type(got) is type(want):
            continue  # the common case, first
        if name == "Rev_Number" and _lags(got, want):
            continue  # unchanged since Zoho's revision: not re-sent (see the module)
        if not _same(got, want):
            report.mismatched.append(f"{key}.{name}: zoho={got!r:.40} galaxy={want!r:.40}")


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
    number_decimal: str = "comma",
) -> ParityReport:
    """Zoho's Quotes (as `/__sandbox/records/Quotes` shows them, rows included) against
    Galaxy's offers: every offer whose Account is in Zoho (found by `TRDRID`, else by a TIN
    only one Account holds) and whose lines all can be sent has exactly one quote, on that
    Account, with the header fields of the model and exactly its lines in Galaxy's order
    (product code, quantity, price, discount, description, tax names). Offers of unknown
    customers are expected absent (`checked["waiting"]`). `tax_names` and `number_decimal`
    are the sync's settings (ZOHO_TAX_NAMES, NUMBER_DECIMAL) the model must follow."""
    report = ParityReport()
    taxes = tax_table(tax_names)
    lines_of: dict[str, list[Mapping[str, Any]]] = {}
    for galaxy_line in galaxy_lines:
        lines_of.setdefault(str(galaxy_line.get("DOC_ID")), []).append(galaxy_line)
    zoho_accounts = list(zoho_accounts)
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
        want = expect_offer(offer, number_decimal)
        if want is None:
            continue
        lines = expect_lines(lines_of.get(want.galaxy_id, []), taxes, number_decimal)
        if want.trdrid:
            found = by_trdrid.get(want.trdrid)
            accounts = [found] if found else []
        else:
            accounts = by_tin.get(want.tin or "", [])
        if len(accounts) != 1 or not lines:
            waiting += 1
            continue
        expected.add(want.key)
        quotes = held.get(want.key, [])
        if not quotes:
            report.missing.append(f"Quotes:{want.key}")
            continue
        if len(quotes) > 1:
            report.duplicated.append(f"Quotes:{want.key}")
        quote = quotes[0]
        if _lookup_id(quote.get("Account_Name")) != accounts[0]:
            report.wrong_links.append(f"Quotes:{want.key}.Account_Name")
        _compare(report, f"Quotes:{want.key}", want.header, quote)
        report.left_out += len(want.left_out)
        _compare_lines(report, want.key, lines, quote.get("Quoted_Items"))
    report.unexpected.extend(f"Quotes:{k}" for k in sorted(held.keys() - expected))
    report.checked["quotes"] = len(expected)
    report.checked["waiting"] = waiting
    return report


def _compare_lines(
    report: ParityReport, key: str, lines: Sequence[ExpectedLine], items: Any
) -> None:
    """The quote's `Quoted_Items` are exactly `lines`, in order (numbers to the cent)."""
    rows = [r for r in items or [] if isinstance(r, Mapping)]
    if len(rows) != len(lines):
        report.mismatched.append(
            f"Quotes:{key}.Quoted_Items: zoho={len(rows)} rows galaxy={len(lines)}"
        )
        return
    for n, (line, row) in enumerate(zip(lines, rows, strict=True), start=1):
        product = row.get("Product_Name")
        code = product.get("Product_Code") if isinstance(product, Mapping) else None
        wrong = [] if code == line.code else [f"Product_Code={code!r:.30} galaxy={line.code!r}"]
        for name, want in (
            ("Quantity", line.quantity),
            ("List_Price", line.price),
            ("Discount", line.discount),
        ):
            if _cents(row.get(name)) != _cents(want):
                wrong.append(f"{name}={row.get(name)!r:.20} galaxy={want!r}")
        if (row.get("Description") or "") != (line.description or ""):
            wrong.append(f"Description={row.get('Description')!r:.30}")
        if _taxes(row.get("Line_Tax")) != sorted((n, round(p, 2)) for n, p in line.taxes):
            wrong.append(f"Line_Tax={row.get('Line_Tax')!r:.60} galaxy={list(line.taxes)}")
        report.fields_checked += 6
        if wrong:
            report.mismatched.append(f"Quotes:{key}.Quoted_Items[{n}]: {'; '.join(wrong)}")


def _cents(value: Any) -> int | None:
    """A number to the cent (what Zoho keeps of a line's amounts), None when no number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return round(float(value) * 100)
    except (TypeError, ValueError):
        return None


def _taxes(value: Any) -> list[tuple[str, float | None]]:
    """A `Line_Tax` array as sorted (name, percentage) pairs."""
    pairs: list[tuple[str, float | None]] = []
    for tax in value if isinstance(value, list) else []:
        if isinstance(tax, Mapping):
            cents = _cents(tax.get("percentage"))
            pairs.append((str(tax.get("name") or ""), None if cents is None else cents / 100))
    return sorted(pairs)
