"""Helpers for the quotes end-to-end tests: offers and lines in the Galaxy sandbox, Quotes
and Products read back from the Zoho sandbox's control routes (rows included)."""

from __future__ import annotations

from typing import Any

import httpx
from tests.e2e.helpers import Env

from gzsync.sandbox.parity import ParityReport, check_quotes_parity


def galaxy_put(env: Env, name: str, rows: list[dict[str, Any]], *, method: str = "PUT") -> Any:
    response = httpx.request(method, f"{env.urls.galaxy_url}/__sandbox/rows/{name}", json=rows)
    response.raise_for_status()
    return response.json()


def galaxy_get(env: Env, name: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{env.urls.galaxy_url}/__sandbox/rows/{name}")
    response.raise_for_status()
    rows: list[dict[str, Any]] = response.json()
    return rows


def zoho_inventory(env: Env, **modes: str) -> None:
    httpx.post(f"{env.urls.zoho_api_url}/__sandbox/inventory", json=modes).raise_for_status()


def zoho_records(env: Env, module: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{env.urls.zoho_api_url}/__sandbox/records/{module}")
    response.raise_for_status()
    records: list[dict[str, Any]] = response.json()
    return records


def quotes_by_key(env: Env) -> dict[str, dict[str, Any]]:
    return {q["ERP_ID_Offer"]: q for q in zoho_records(env, "Quotes")}


def quotes_parity(env: Env) -> ParityReport:
    return check_quotes_parity(
        galaxy_offers=galaxy_get(env, "zh_offers"),
        galaxy_lines=galaxy_get(env, "offer_lines"),
        zoho_quotes=zoho_records(env, "Quotes"),
        zoho_accounts=env.zoho.records("Accounts"),
        tax_names=env.settings.zoho_tax_names,
        number_decimal=env.settings.number_decimal,
    )


def assert_quotes_parity(env: Env) -> ParityReport:
    result = quotes_parity(env)
    assert result.ok, result.summary()
    return result


def offer(oid: str, rev: int, *, trdrid: str | None, tin: str = "") -> dict[str, Any]:
    return {
        "ID": oid,
        "TRADENUM": f"N-{oid}",
        "CommercialEntry_GXREVNUM": rev,
        "CUST_TIN": tin,
        "TRDRID": trdrid,
        "CMPSDESCRIPTION": "Store",
        "OFFER_STATUS": "Draft",
        "CENLAQTY": 1,
        "TotalValue": 10.0,
        "ETA": "2026-01-01T00:00:00",
        "OFFERS_VALID": "YES",
        "OFFICIALDATE": "2025-12-01T00:00:00",
        "PayTerms": "Cash",
    }


def line(oid: str, n: int, code: str, qty: float, price: float, vat: int = 24) -> dict[str, Any]:
    net = round(qty * price, 2)
    return {
        "DOC_ID": oid,
        "LINENUM": n,
        "ITEMCODE": code,
        "ITEMDESCRIPTION": f"Product {code}",
        "LEAD_TIME": 0,
        "QTY": qty,
        "PRICE": price,
        "GROSSVALUE": net,
        "DISCVALUE": 0,
        "NETVALUE": net,
        "VATVALUE": round(net * vat / 100, 2),
    }
