"""The Zoho sandbox's Quotes, Products and taxes over loopback HTTP (reference zoho-quotes.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gzsync.sandbox import credentials
from gzsync.sandbox.serve import ServedApp
from gzsync.sandbox.zoho import create_zoho_app
from gzsync.sandbox.zoho_quotes import ZohoInventory, inventory

REFRESH = {
    "grant_type": "refresh_token",
    "client_id": credentials.ZOHO_CLIENT_ID,
    "client_secret": credentials.ZOHO_CLIENT_SECRET,
    "refresh_token": credentials.ZOHO_REFRESH_TOKEN,
}


class Zoho:
    def __init__(self, served: ServedApp, app: Any) -> None:
        self.app = app
        self.http = httpx.Client(base_url=served.url, timeout=10.0)
        token = self.http.post("/oauth/v2/token", data=REFRESH).json()["access_token"]
        self.http.headers["Authorization"] = f"Zoho-oauthtoken {token}"

    @property
    def inventory(self) -> ZohoInventory:
        found: ZohoInventory = self.app.state.zoho_inventory
        return found

    def upsert(self, module: str, data: list[dict[str, Any]], key: str) -> httpx.Response:
        body = {"data": data, "duplicate_check_fields": [key]}
        return self.http.post(f"/crm/v8/{module}/upsert", json=body)

    def product(self, code: str, name: str = "Thing") -> str:
        response = self.upsert(
            "Products", [{"Product_Code": code, "Product_Name": name}], "Product_Code"
        )
        assert response.status_code == 200, response.text
        pid: str = response.json()["data"][0]["details"]["id"]
        return pid

    def quote_rows(self, quote_id: str) -> list[dict[str, Any]]:
        response = self.http.get(f"/crm/v8/Quotes/{quote_id}")
        assert response.status_code == 200
        rows: list[dict[str, Any]] = response.json()["data"][0]["Quoted_Items"]
        return rows


@pytest.fixture
def zoho() -> Iterator[Zoho]:
    app = create_zoho_app(seed=3)
    with ServedApp(app) as served:
        client = Zoho(served, app)
        client.http.get("/crm/v8/org/taxes")  # creates the inventory
        yield client
        client.http.close()


def test_quote_needs_subject_and_line_items(zoho: Zoho):
    pid = zoho.product("A")
    missing = zoho.upsert(
        "Quotes",
        [
            {"ERP_ID_Offer": "1"},
            {"ERP_ID_Offer": "2", "Subject": "S"},
            {"ERP_ID_Offer": "3", "Subject": "S", "Quoted_Items": [{"Product_Name": {"id": pid}}]},
        ],
        "ERP_ID_Offer",
    )
    assert missing.status_code == 207
    first, second, third = missing.json()["data"]
    assert (first["code"], first["details"]["api_name"]) == ("MANDATORY_NOT_FOUND", "Subject")
    assert (second["code"], second["details"]["api_name"]) == (
        "MANDATORY_NOT_FOUND",
        "Quoted_Items",
    )
    assert third["status"] == "success"
    assert "Quoted_Items" not in str(third["details"])  # no row ids in write results


def test_line_items_append_update_delete_and_only_in_single_get(zoho: Zoho):
    a, b = zoho.product("A"), zoho.product("B")
    tax = [{"name": "VAT 24%", "percentage": 24}]
    created = zoho.upsert(
        "Quotes",
        [
            {
                "ERP_ID_Offer": "Q1",
                "Subject": "Offer 1",
                "Quoted_Items": [
                    {"Product_Name": {"id": a}, "Quantity": 2, "List_Price": 10.0, "Line_Tax": tax}
                ],
            }
        ],
        "ERP_ID_Offer",
    )
    qid = created.json()["data"][0]["details"]["id"]
    rows = zoho.quote_rows(qid)
    assert len(rows) == 1
    assert rows[0]["Product_Name"] == {"name": "Thing", "id": a, "Product_Code": "A"}
    assert rows[0]["Net_Total"] == 24.8
    assert rows[0]["Line_Tax"][0]["name"] == "VAT 24%"

    # a blind re-sync without row ids appends (the documented reading)
    again = zoho.upsert(
        "Quotes",
        [
            {
                "ERP_ID_Offer": "Q1",
                "Subject": "Offer 1",
                "Quoted_Items": [{"Product_Name": {"id": a}, "Quantity": 2, "List_Price": 10.0}],
            }
        ],
        "ERP_ID_Offer",
    )
    assert again.json()["data"][0]["action"] == "update"
    rows = zoho.quote_rows(qid)
    assert len(rows) == 2

    update = zoho.http.put(
        f"/crm/v8/Quotes/{qid}",
        json={
            "data": [
                {
                    "Quoted_Items": [
                        {"id": rows[0]["id"], "Quantity": 5},
                        {"id": rows[1]["id"], "_delete": None},
                        {"Product_Name": {"id": b}, "Quantity": 1, "List_Price": 3.0},
                    ]
                }
            ]
        },
    )
    assert update.status_code == 200, update.text
    after = zoho.quote_rows(qid)
    assert [(r["Product_Name"]["id"], r["Quantity"]) for r in after] == [(a, 5), (b, 1)]
    assert after[0]["id"] == rows[0]["id"]

    listed = zoho.http.get("/crm/v8/Quotes", params={"fields": "Subject,Quoted_Items"}).json()
    assert "Quoted_Items" not in listed["data"][0]
    coql = zoho.http.post(
        "/crm/v8/coql",
        json={"select_query": "select Subject, ERP_ID_Offer from Quotes where ERP_ID_Offer = 'Q1'"},
    )
    assert coql.json()["data"] == [{"Subject": "Offer 1", "ERP_ID_Offer": "Q1", "id": qid}]
    control = zoho.http.get("/__sandbox/records/Quotes").json()
    assert [len(r["Quoted_Items"]) for r in control] == [2]

    unknown = zoho.http.put(
        f"/crm/v8/Quotes/{qid}", json={"data": [{"Quoted_Items": [{"id": "999"}]}]}
    )
    assert unknown.json()["data"][0]["code"] == "INVALID_DATA"
    emptied = zoho.http.put(
        f"/crm/v8/Quotes/{qid}",
        json={"data": [{"Quoted_Items": [{"id": r["id"], "_delete": None} for r in after]}]},
    )
    assert emptied.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"


def test_replace_reading_and_unknown_tax(zoho: Zoho):
    a = zoho.product("A")
    zoho.http.post("/__sandbox/inventory", json={"line_items": "replace"})
    body = [
        {"ERP_ID_Offer": "Q", "Subject": "S", "Quoted_Items": [{"Product_Name": {"id": a}}] * 2}
    ]
    qid = zoho.upsert("Quotes", body, "ERP_ID_Offer").json()["data"][0]["details"]["id"]
    rows = zoho.quote_rows(qid)
    zoho.http.put(
        "/crm/v8/Quotes", json={"data": [{"id": qid, "Quoted_Items": [{"id": rows[1]["id"]}]}]}
    )
    assert [r["id"] for r in zoho.quote_rows(qid)] == [rows[1]["id"]]
    bad = zoho.http.put(
        f"/crm/v8/Quotes/{qid}",
        json={
            "data": [
                {
                    "Quoted_Items": [
                        {
                            "Product_Name": {"id": a},
                            "Line_Tax": [{"name": "Sales Tax", "percentage": 10}],
                        }
                    ]
                }
            ]
        },
    )
    assert bad.json()["data"][0]["code"] == "INVALID_DATA"


def test_single_get_can_cut_the_rows_and_says_so_in_has_more(zoho: Zoho):
    a = zoho.product("A")
    rows = [{"Product_Name": {"id": a}, "Quantity": n} for n in (1, 2, 3)]
    created = zoho.upsert(
        "Quotes", [{"ERP_ID_Offer": "Q", "Subject": "S", "Quoted_Items": rows}], "ERP_ID_Offer"
    )
    qid = created.json()["data"][0]["details"]["id"]
    whole = zoho.http.get(f"/crm/v8/Quotes/{qid}").json()["data"][0]
    assert len(whole["Quoted_Items"]) == 3
    assert "$has_more" not in whole  # by default every row, as the tests have assumed
    cut = zoho.http.post("/__sandbox/inventory", json={"rows_per_get": 2})
    assert cut.json()["rows_per_get"] == 2
    record = zoho.http.get(f"/crm/v8/Quotes/{qid}").json()["data"][0]
    assert [r["Quantity"] for r in record["Quoted_Items"]] == [1, 2]
    assert record["$has_more"] == {"Quoted_Items": True}
    zoho.http.post("/__sandbox/inventory", json={"rows_per_get": 3})
    record = zoho.http.get(f"/crm/v8/Quotes/{qid}").json()["data"][0]
    assert len(record["Quoted_Items"]) == 3
    assert record["$has_more"] == {"Quoted_Items": False}
    control = zoho.http.get("/__sandbox/records/Quotes").json()
    assert len(control[0]["Quoted_Items"]) == 3  # the control route always shows all
    bad = zoho.http.post("/__sandbox/inventory", json={"rows_per_get": 0})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("mode", "unique", "external", "usable"),
    [
        ("unique", True, False, True),
        ("external", False, True, True),
        ("plain", False, False, False),
    ],
)
def test_product_code_as_upsert_key_depends_on_the_org(
    zoho: Zoho, mode: str, unique: bool, external: bool, usable: bool
):
    zoho.http.post("/__sandbox/inventory", json={"product_code": mode})
    fields = zoho.http.get("/crm/v8/settings/fields", params={"module": "Products"}).json()[
        "fields"
    ]
    code = next(f for f in fields if f["api_name"] == "Product_Code")
    assert bool(code["unique"]) is unique
    assert bool(code["external"]) is external
    name = next(f for f in fields if f["api_name"] == "Product_Name")
    assert name["system_mandatory"] is True
    response = zoho.upsert("Products", [{"Product_Code": "X", "Product_Name": "n"}], "Product_Code")
    assert (response.status_code == 200) is usable
    if usable:
        again = zoho.upsert(
            "Products", [{"Product_Code": "x", "Product_Name": "m"}], "Product_Code"
        )
        assert again.json()["data"][0]["action"] == "update"
    nameless = zoho.http.post("/crm/v8/Products", json={"data": [{"Product_Code": "Y"}]})
    assert nameless.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"


def test_org_taxes_and_line_item_fields(zoho: Zoho):
    taxes = zoho.http.get("/crm/v8/org/taxes").json()["taxes"]
    assert [(t["name"], t["value"]) for t in taxes] == [
        ("VAT 0%", 0.0),
        ("VAT 6%", 6.0),
        ("VAT 13%", 13.0),
        ("VAT 24%", 24.0),
    ]
    fields = zoho.http.get("/crm/v8/settings/fields", params={"module": "Quoted_Items"}).json()
    by_name = {f["api_name"]: f for f in fields["fields"]}
    assert by_name["Total"]["read_only"] is True
    assert by_name["Quantity"]["operation_type"]["api_update"] is True
    quotes = zoho.http.get("/crm/v8/settings/fields", params={"module": "Quotes"}).json()["fields"]
    assert {f["api_name"] for f in quotes if f["unique"]} == {"ERP_ID_Offer"}
    accounts = zoho.http.get("/crm/v8/settings/fields", params={"module": "Accounts"})
    assert accounts.status_code == 200  # the generic modules still answer
    assert zoho.app.state.zoho.stats()["calls"]["taxes"] == 2
    assert inventory  # the helper is importable for other sandboxes' tests
