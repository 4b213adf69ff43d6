"""The end-state check carries its own model: it imports neither the mapping nor the sync,
its expected values match hand-written golden rows, and a sync whose mapping or linking is
broken on purpose fails it."""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.e2e import golden_rows as golden
from tests.e2e.helpers import Env, assert_parity, parity, sync
from tests.e2e.quotes_helpers import galaxy_put, quotes_by_key, quotes_parity

from gzsync.mapping import normalize, quotes, records, tables
from gzsync.mapping.quotes import TaxTable, map_lines, map_offer
from gzsync.mapping.records import Mapped, map_affiliate, map_contact, map_customer
from gzsync.mapping.rules import MappingRules
from gzsync.sandbox.expected import expect_affiliate, expect_contact, expect_customer
from gzsync.sandbox.expected_quotes import expect_lines, expect_offer, tax_table
from gzsync.sandbox.expected_values import (
    LEFT_OUT,
    cut_on_word,
    parse_amount,
    read_email,
    read_number,
    read_phone,
)
from gzsync.sandbox.parity import _expected_links
from gzsync.sync import linking
from gzsync.sync.linking import link_affiliates

# -- the check stands apart ---------------------------------------------------------------


def _gzsync_imports(module: str) -> set[str]:
    """The gzsync modules `module` imports, anywhere in its source (functions too)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None
    assert spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("gzsync.")}


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # `from gzsync.x import name`: the name is no module
        return False


def test_the_check_imports_neither_the_mapping_nor_the_sync() -> None:
    seen: set[str] = set()
    todo = ["gzsync.sandbox.parity"]
    while todo:
        module = todo.pop()
        if module in seen or not _is_module(module):
            continue
        seen.add(module)
        todo.extend(_gzsync_imports(module))
        todo.extend(module.rsplit(".", n)[0] for n in range(1, module.count(".") + 1))
    assert "gzsync.sandbox.expected_values" in seen  # the walk does follow imports
    forbidden = sorted(m for m in seen if re.match(r"gzsync\.(mapping|sync)(\.|$)", m))
    assert forbidden == []


def test_the_defaults_the_check_restates_are_the_sync_s() -> None:
    from gzsync.config import DEFAULT_CONTACT_COLUMNS, DEFAULT_TAX_NAMES
    from gzsync.sandbox.expected import CONTACT_COLUMNS
    from gzsync.sandbox.expected_quotes import TAX_NAMES

    assert CONTACT_COLUMNS == DEFAULT_CONTACT_COLUMNS
    assert TAX_NAMES == DEFAULT_TAX_NAMES


# -- golden rows ----------------------------------------------------------------------------


def _model_fields(item: Any) -> dict[str, Any] | None:
    return None if item is None else item.fields


def _mapping_fields(item: Any) -> dict[str, Any] | None:
    return item.payload if isinstance(item, Mapped) else None


@pytest.mark.parametrize("n", range(len(golden.CUSTOMERS)))
def test_customers_golden(n: int) -> None:
    row, want, left_out = golden.CUSTOMERS[n]
    model = expect_customer(row)
    assert _model_fields(model) == want
    assert _mapping_fields(map_customer(row)) == want  # the sync agrees
    if model is not None:
        assert set(model.left_out) == left_out


@pytest.mark.parametrize("n", range(len(golden.CONTACTS)))
def test_contacts_golden(n: int) -> None:
    row, want, left_out = golden.CONTACTS[n]
    model = expect_contact(row)
    assert _model_fields(model) == want
    assert _mapping_fields(map_contact(row)) == want
    if model is not None:
        assert set(model.left_out) == left_out


def test_affiliates_golden() -> None:
    for row, want in golden.AFFILIATES:
        assert _model_fields(expect_affiliate(row)) == want
        assert _mapping_fields(map_affiliate(row)) == want


def _lines_as_tuples(lines: Any) -> list[tuple[Any, ...]]:
    return [
        (line.code, line.quantity, line.price, line.discount, line.description, list(line.taxes))
        for line in lines
    ]


def test_offer_golden() -> None:
    offer = expect_offer(golden.OFFER)
    assert offer is not None
    assert offer.header == golden.QUOTE_HEADER
    assert (offer.trdrid, offer.tin) == ("G-1", "094259216")
    lines = expect_lines(golden.LINES, tax_table(None))
    assert _lines_as_tuples(lines) == golden.QUOTE_LINES
    # the sync agrees
    mapped = map_offer(golden.OFFER)
    assert getattr(mapped, "payload", None) == golden.QUOTE_HEADER
    synced = [
        (
            m.product_code,
            m.item["Quantity"],
            m.item["List_Price"],
            m.item["Discount"],
            m.item["Description"],
            [(t["name"], t["percentage"]) for t in m.item["Line_Tax"]],
        )
        for m in map_lines(golden.LINES, TaxTable(None))
        if not isinstance(m, records.Rejected)
    ]
    assert synced == golden.QUOTE_LINES


@pytest.mark.parametrize("mark", ["comma", "dot"])
def test_the_quotes_model_and_the_sync_read_numbers_alike(mark: Any) -> None:
    offer = {**golden.OFFER, "TotalValue": "1,234"}
    rows = [{**golden.LINES[0], "PRICE": "1,234", "QTY": "2,000", "DISCVALUE": 0}]
    want = 1234 if mark == "dot" else 1.234
    expected = expect_offer(offer, mark)
    assert expected is not None
    assert expected.header["ERP_Total_Amount"] == want
    mapped = map_offer(offer, decimal=mark)
    assert getattr(mapped, "payload", {}).get("ERP_Total_Amount") == want
    lines = expect_lines(rows, tax_table(None), mark)
    assert lines is not None
    assert lines[0].price == want
    synced = map_lines(rows, TaxTable(None), decimal=mark)[0]
    assert isinstance(synced, quotes.MappedLine)
    assert (synced.item["List_Price"], synced.item["Quantity"]) == (
        lines[0].price,
        lines[0].quantity,
    )
    assert list(lines[0].taxes) == [(t["name"], t["percentage"]) for t in synced.item["Line_Tax"]]


def test_a_line_the_sync_cannot_send_holds_the_whole_offer() -> None:
    lines = [dict(golden.LINES[0]), {**golden.LINES[1], "QTY": "n/a"}]
    assert expect_lines(lines, tax_table(None)) is None
    assert expect_lines([{**golden.LINES[0], "ITEMCODE": " "}], tax_table(None)) is None
    unnumbered = [{**line, "LINENUM": None} for line in golden.LINES[:2]]
    codes = [line.code for line in expect_lines([*unnumbered, golden.LINES[2]], []) or []]
    assert codes == ["P-3", "P-2", "P-1"]  # numbered first, then as served


# -- numbers: the model reads every documented shape back -----------------------------------


def _greek(value: int, cents: int) -> str:
    grouped = f"{value:,}".replace(",", ".")
    return f"{grouped},{cents:02d}"


@given(st.integers(0, 10**12), st.integers(0, 99), st.booleans(), st.sampled_from(["", "€ "]))
def test_the_model_reads_greek_and_english_renderings(
    whole: int, cents: int, negative: bool, currency: str
) -> None:
    want = (-1 if negative else 1) * (whole + cents / 100)
    sign = "-" if negative else ""
    shapes = [
        f"{sign}{currency}{_greek(whole, cents)}",
        f"{sign}{whole},{cents:02d}",
        f"{sign}{whole:,}.{cents:02d}",
        f"{sign}{whole:,}.{cents:02d}".replace(",", " ") + (" EUR" if currency else ""),
    ]
    if negative:
        shapes.append(f"({_greek(whole, cents)})")
    for text in shapes:
        got = parse_amount(text)
        assert got is not None, text
        assert abs(got - want) < 1e-6 * max(1, abs(want)), text


@pytest.mark.parametrize(
    ("text", "comma", "dot"),
    [
        ("1,234", 1.234, 1234),
        ("12,345", 12.345, 12345),
        ("1.234", 1.234, 1.234),
        ("1.234.567", 1234567, 1234567),
        ("1234,5", 1234.5, 1234.5),
        ("n/a", LEFT_OUT, LEFT_OUT),
        ("—", LEFT_OUT, LEFT_OUT),
        ("1e5", LEFT_OUT, LEFT_OUT),
        ("١٢٣", LEFT_OUT, LEFT_OUT),
        ("1.234.5", LEFT_OUT, LEFT_OUT),
        ("   ", None, None),
        ("12345678901234567", LEFT_OUT, LEFT_OUT),  # 17 digits: Zoho holds 16
    ],
)
def test_number_decimal_and_what_is_no_number(text: str, comma: Any, dot: Any) -> None:
    assert read_number(text, "comma") == comma
    assert read_number(text, "dot") == dot


@given(st.text(alphabet="ab Α\t", max_size=60), st.integers(1, 40))
def test_a_cut_keeps_whole_words_when_it_can(text: str, limit: int) -> None:
    cut = cut_on_word(text, limit)
    assert len(cut) <= limit
    assert text.startswith(cut)
    if len(text) > limit:
        assert cut == cut.rstrip()
        after = text[len(cut) :]
        # the cut ends at a blank, or inside the first word (nothing before it to keep)
        inside_first_word = not any(c.isspace() for c in cut.lstrip())
        assert not after or after[0].isspace() or inside_first_word


@pytest.mark.parametrize(
    ("cell", "want"),
    [
        ("  maria.p@example.gr ", "maria.p@example.gr"),
        ("μαρία@παράδειγμα.ελ", "μαρία@παράδειγμα.ελ"),  # Unicode letters (CRM API §7)
        ("a@b.c", LEFT_OUT),  # a one-letter TLD
        ("a..b@example.gr", LEFT_OUT),
        ("a@-x.gr", LEFT_OUT),
        ("a@example.g1", LEFT_OUT),
        ("@example.gr", LEFT_OUT),
        ("a" * 95 + "@ex.gr", LEFT_OUT),  # over 100 characters: never cut
        ("", None),
    ],
)
def test_e_mails(cell: str, want: Any) -> None:
    assert read_email(cell) == want


@pytest.mark.parametrize(
    ("cell", "want"),
    [
        ("+30 (210) 123-4567", "+302101234567"),
        ("210.123.4567", "2101234567"),
        (2101234567, "2101234567"),
        ("210 123", LEFT_OUT),  # 6 digits
        ("2101234567 ext 12", LEFT_OUT),
        ("1234567890123456", LEFT_OUT),  # 16 digits
        (" - ", None),  # only separators: empty
        (True, LEFT_OUT),
    ],
)
def test_phones(cell: Any, want: Any) -> None:
    assert read_phone(cell) == want


# -- linking -----------------------------------------------------------------------------------


def test_a_linking_regression_fails_the_check(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # A regression inside the sync's linking module (every caller of link_affiliates gets
    # it): no affiliate row finds its card holder. A check that linked through the same
    # module would expect no links either, and pass.
    monkeypatch.setattr(linking, "owner_of", lambda affiliate, holders: None)
    sync(env)
    result = parity(env)
    assert not result.ok
    assert len(result.wrong_links) > 10
    assert all(".Affiliate_To: zoho=None" in w for w in result.wrong_links)
    monkeypatch.undo()
    sync(env, since_rev=0)  # the sync's own rule repairs it, and the check agrees
    assert_parity(env)


affiliate_rows = st.lists(
    st.tuples(
        st.sampled_from(["A1", "A2", "A3", "A4"]),
        st.integers(1, 4),
        st.sampled_from([None, "C1", "C2", "C3"]),
    ),
    max_size=12,
)
holders = st.dictionaries(
    st.integers(1, 4),
    st.lists(st.sampled_from(["C1", "C2", "C3"]), min_size=1, max_size=3, unique=True),
)


@given(holders=holders, rows=affiliate_rows)
def test_the_model_agrees_with_the_sync_s_rule(
    holders: dict[int, list[str]], rows: list[tuple[str, int, str | None]]
) -> None:
    mapped = [Mapped(key, rev, {"Trader_ID": key}, parent_key=p) for key, rev, p in rows]
    plan = link_affiliates(holders, mapped)
    expected, links = _expected_links(holders, mapped)
    assert links == plan.links
    assert {k: (a.rev, a.parent_key) for k, a in expected.items()} == {
        a.key: (a.rev, a.parent_key) for a in plan.affiliates
    }


# -- mapping regressions, through a real sync ----------------------------------------------


def _golden_world(env: Env) -> None:
    env.galaxy.put_rows("zh_Customers_fin", [row for row, _, _ in golden.CUSTOMERS])
    env.galaxy.put_rows("ZH_AFFILIATE", [])
    env.galaxy.put_rows("ZH_CONTACTS", [row for row, _, _ in golden.CONTACTS])
    galaxy_put(env, "zh_offers", [golden.OFFER])
    galaxy_put(env, "offer_lines", golden.LINES)


def test_the_golden_rows_reach_zoho_as_written(env: Env) -> None:
    _golden_world(env)
    sync(env)
    result = assert_parity(env)
    assert result.checked["customers"] == 2
    assert result.checked["contacts"] == 3
    assert result.left_out == 7 + 2
    accounts = {r["Trader_ID"]: r for r in env.zoho.records("Accounts")}
    for _, want, _ in golden.CUSTOMERS:
        if want is not None:
            assert {k: accounts[want["Trader_ID"]].get(k) for k in want} == want
    contacts = {r["Galaxy_Contact_ID"]: r for r in env.zoho.records("Contacts")}
    for _, want, _ in golden.CONTACTS:
        if want is not None:
            assert {k: contacts[want["Galaxy_Contact_ID"]].get(k) for k in want} == want
    quotes_result = quotes_parity(env)
    assert quotes_result.ok, quotes_result.summary()
    assert quotes_result.checked["quotes"] == 1
    quote = quotes_by_key(env)["O-GOLD"]
    assert [r["Product_Name"]["Product_Code"] for r in quote["Quoted_Items"]] == [
        "P-1",
        "P-2",
        "P-3",
    ]


def _rebuild_plans(monkeypatch: pytest.MonkeyPatch, **tables_: Any) -> None:
    """Recompile the mapping's plans after a part of it was broken (they bind at build)."""
    customer = tables_.get("customer", tables.CUSTOMER)
    monkeypatch.setattr(records, "_CUSTOMER_PLAN", records._plan(customer))
    monkeypatch.setattr(records, "_CONTACT_PLAN", records._plan(tables.CONTACT))


def _comma_read_as_grouping(monkeypatch: pytest.MonkeyPatch) -> None:
    original = normalize.parse_number
    monkeypatch.setattr(
        normalize, "parse_number", lambda raw, decimal="comma": original(raw.replace(",", ""))
    )
    monkeypatch.setattr(records, "_COMMA_NUMBER", re.compile(r"(?!)"))
    _rebuild_plans(monkeypatch)


def _phones_not_cleaned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(records._NORMALISERS, "phone", normalize.text)
    monkeypatch.setattr(records, "PHONE_SEPARATORS", str.maketrans("", ""))
    _rebuild_plans(monkeypatch)


def _cut_inside_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "truncate_words", lambda text, limit: text[:limit])
    _rebuild_plans(monkeypatch)


def _industry_at_255(monkeypatch: pytest.MonkeyPatch) -> None:
    fields = tuple(
        replace(f, max_length=255) if f.zoho_field == "Industry" else f
        for f in tables.CUSTOMER.fields
    )
    _rebuild_plans(monkeypatch, customer=replace(tables.CUSTOMER, fields=fields))


def _name_from_email_first(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = records._plan(tables.CONTACT, MappingRules(contact_name_fallback=("email",)))
    monkeypatch.setattr(records, "_contact_plan", lambda columns, rules=None: plan)


def _lines_reversed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        quotes, "_line_order", lambda row, position, column, decimal="comma": (0, 0.0, -position)
    )


def _one_tax_for_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quotes.TaxTable, "name_for", lambda self, rate: "VAT 24%")


def _discount_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    original = quotes.map_line

    def broken(
        row: Any, taxes: Any, columns: Any = quotes.LINE_COLUMNS, decimal: Any = "comma"
    ) -> Any:
        line = original(row, taxes, columns, decimal=decimal)
        if isinstance(line, quotes.MappedLine):
            line.item["Discount"] = 0
        return line

    monkeypatch.setattr(quotes, "map_line", broken)


#: (how the mapping is broken, the mismatch the check must report)
REGRESSIONS: dict[str, tuple[Callable[[pytest.MonkeyPatch], None], str]] = {
    "decimal comma read as grouping": (_comma_read_as_grouping, "G-1.Credit_Limit"),
    "phones not cleaned": (_phones_not_cleaned, "G-1.Phone"),
    "texts cut inside a word": (_cut_inside_words, "G-2.Account_Name"),
    "Industry cut at 255": (_industry_at_255, "Account G-2"),  # Zoho holds 120
    "last name from the e-mail first": (_name_from_email_first, "K-1.Last_Name"),
    "lines in reverse order": (_lines_reversed, "Quotes:O-GOLD.Quoted_Items[1]"),
    "one tax name for every rate": (_one_tax_for_all, "Line_Tax="),
    "discount dropped": (_discount_dropped, "Discount="),
}


@pytest.mark.parametrize("name", list(REGRESSIONS))
def test_a_mapping_regression_fails_the_check(
    env: Env, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    break_it, symptom = REGRESSIONS[name]
    _golden_world(env)
    break_it(monkeypatch)
    sync(env)
    in_quotes = symptom.startswith(("Quotes", "Line_Tax", "Discount"))
    result = quotes_parity(env) if in_quotes else parity(env)
    assert not result.ok
    # a value Zoho refuses shows as a record missing, else as a value that differs
    assert any(symptom in m for m in result.mismatched + result.missing), result.summary()
