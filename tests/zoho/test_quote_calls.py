"""ZohoClient's phase-2 calls against the Zoho sandbox: products, quotes, line-item diffs
applied for real under both readings of Zoho's subform semantics, taxes, key metadata."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from tests.zoho.sandbox_client import sandbox_client

from gzsync.config import DEFAULT_TAX_NAMES
from gzsync.mapping.line_items import diff_line_items
from gzsync.mapping.quotes import MappedLine, TaxTable, line_item, map_line
from gzsync.sandbox.serve import ServedApp
from gzsync.sandbox.zoho import create_zoho_app
from gzsync.zoho.client import ZohoClient
from gzsync.zoho.inventory import tax_problems, upsert_key_kind


@pytest.fixture
def sandbox() -> Iterator[tuple[str, Any]]:
    app = create_zoho_app(seed=4)
    with ServedApp(app) as served:
        yield served.url, app


def _client(url: str) -> ZohoClient:
    return sandbox_client(url, max_in_flight=2)


def _galaxy_line(code: str, qty: int, price: float = 50.0, rate: int = 24) -> dict[str, Any]:
    net = qty * price
    return {
        "DOC_ID": "O1",
        "ITEMCODE": code,
        "ITEMDESCRIPTION": f"Item {code}",
        "QTY": qty,
        "PRICE": price,
        "DISCVALUE": 0,
        "NETVALUE": net,
        "VATVALUE": round(net * rate / 100, 2),
    }


def _view(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            r["Product_Name"]["id"],
            r["Quantity"],
            r["List_Price"],
            tuple(t["name"] for t in r["Line_Tax"]),
        )
        for r in rows
    ]


@pytest.mark.parametrize("reading", ["append", "replace"])
def test_line_items_follow_galaxy_through_changes(sandbox: tuple[str, Any], reading: str) -> None:
    url, app = sandbox
    client = _client(url)
    taxes = TaxTable()
    versions = [
        [_galaxy_line("A", 1), _galaxy_line("B", 2), _galaxy_line("C", 3)],
        [_galaxy_line("A", 1), _galaxy_line("B", 5), _galaxy_line("D", 1, rate=6)],  # change, swap
        [_galaxy_line("D", 1, rate=6), _galaxy_line("A", 1)],  # reorder, remove
        [_galaxy_line("D", 1, rate=6), _galaxy_line("A", 1)],  # unchanged
    ]

    async def go() -> list[tuple[int, int]]:
        costs = []
        try:
            await client.get_record("Quotes", "1")  # creates nothing; 204
            app.state.zoho_inventory.line_items = reading
            quote_id = None
            for galaxy in versions:
                lines = [map_line(row, taxes) for row in galaxy]
                assert all(isinstance(m, MappedLine) for m in lines)
                mapped = [m for m in lines if isinstance(m, MappedLine)]
                products = await client.upsert(
                    "Products", [m.product for m in mapped], duplicate_check_fields=["Product_Code"]
                )
                ids = [p.zoho_id for p in products]
                desired = [
                    line_item(m, pid) for m, pid in zip(mapped, ids, strict=True) if pid is not None
                ]
                before = client.stats.credits
                if quote_id is None:
                    [result] = await client.upsert(
                        "Quotes",
                        [{"ERP_ID_Offer": "O1", "Subject": "Offer 1", "Quoted_Items": desired}],
                        duplicate_check_fields=["ERP_ID_Offer"],
                    )
                    assert result.ok, result.message
                    quote_id = result.zoho_id
                    assert quote_id is not None
                else:
                    record = await client.get_record("Quotes", quote_id)
                    assert record is not None
                    diff = diff_line_items(desired, record["Quoted_Items"])
                    if not diff.empty:
                        [result] = await client.update(
                            "Quotes", [{"id": quote_id, "Quoted_Items": diff.items}]
                        )
                        assert result.ok, result.message
                after = await client.get_record("Quotes", quote_id)
                assert after is not None
                assert _view(after["Quoted_Items"]) == _view(desired)
                costs.append((len(desired), client.stats.credits - before))
            return costs
        finally:
            await client.aclose()

    costs = asyncio.run(go())
    assert costs[-1] == (2, 2)  # unchanged: the GET before and the GET after, no update


def test_taxes_and_key_metadata(sandbox: tuple[str, Any]) -> None:
    url, app = sandbox
    client = _client(url)

    async def go() -> tuple[Any, ...]:
        try:
            taxes = await client.org_taxes()
            products = await client.fields("Products")
            app.state.zoho_inventory.product_code = "external"
            external = await client.fields("Products")
            app.state.zoho_inventory.product_code = "plain"
            plain = await client.fields("Products")
            quotes = await client.fields("Quotes")
            return taxes, products, external, plain, quotes
        finally:
            await client.aclose()

    taxes, products, external, plain, quotes = asyncio.run(go())
    assert tax_problems(DEFAULT_TAX_NAMES, taxes) == []
    assert tax_problems({"24": "ΦΠΑ 24%", "13": "VAT 6%"}, taxes) == [
        "ZOHO_TAX_NAMES maps 24% to 'ΦΠΑ 24%', which is not an org tax",
        "ZOHO_TAX_NAMES maps 13% to 'VAT 6%', whose rate is 6.0%",
    ]
    assert upsert_key_kind(products, "Product_Code") == "unique"
    assert upsert_key_kind(external, "Product_Code") == "external"
    assert upsert_key_kind(plain, "Product_Code") == "not_unique"
    assert upsert_key_kind(quotes, "ERP_ID_Offer") == "unique"
    assert upsert_key_kind(quotes, "Nope") == "missing"
    assert client.stats.calls["taxes"] == 1
