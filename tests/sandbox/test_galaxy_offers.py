"""The Galaxy sandbox's offers and lines views over real HTTP on loopback (SPEC §7)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gzsync.mapping.quotes import vat_rate
from gzsync.sandbox import credentials
from gzsync.sandbox.data import generate
from gzsync.sandbox.galaxy import create_galaxy_app
from gzsync.sandbox.offers import LINES_VIEW_GUID, OfferBook
from gzsync.sandbox.serve import ServedApp

OFFERS = "/api/glx/views/salesentry/custom/zh_offers"
LINES = f"/api/glx/advancedcustomviews/{LINES_VIEW_GUID}"
LOGIN = {"username": credentials.GALAXY_USERNAME, "password": credentials.GALAXY_PASSWORD}


class Sandbox:
    def __init__(self, served: ServedApp, book: OfferBook) -> None:
        self.book = book
        self.client = httpx.Client(base_url=served.url, timeout=10)
        session = self.client.get("/auth", params=LOGIN).json()["SessionId"]
        self.headers = {"X-ss-id": session}

    def items(self, path: str, filters: str | None = None) -> list[dict[str, Any]]:
        params = {} if filters is None else {"filters": filters}
        response = self.client.get(path, params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["Items"]
        return items


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    app = create_galaxy_app(customers=200, seed=3)
    with ServedApp(app) as served:
        box = Sandbox(served, app.state.galaxy_offers)
        yield box
        box.client.close()


def test_generated_offers_have_the_spec_shape():
    dataset = generate(400, 2)
    book = OfferBook.generated(dataset.customers, 2, 100)
    offers, lines = book.offer_rows(), book.line_rows()
    assert len(offers) == 100
    assert book.stats() == {"offers": 100, "offer_lines": len(lines)}
    revs = [o["CommercialEntry_GXREVNUM"] for o in offers]
    assert revs == sorted(revs)
    assert len(set(revs)) == 100
    tins = {c["TIN"] for c in dataset.customers}
    unknown = [o for o in offers if o["CUST_TIN"] not in tins]
    assert 0 < len(unknown) < 20
    per_offer = Counter(line["DOC_ID"] for line in lines)
    assert set(per_offer) == {o["ID"] for o in offers}
    assert max(per_offer.values()) > 1
    codes = Counter(line["ITEMCODE"] for line in lines)
    assert max(codes.values()) > 1  # products are shared between offers
    rates = {vat_rate(line["VATVALUE"], line["NETVALUE"]) for line in lines}
    assert rates == {0.0, 6.0, 13.0, 24.0}
    # the customers of a seed do not change because offers exist
    assert generate(400, 2).customers == dataset.customers


def test_offers_view_filters_by_revision(sandbox: Sandbox):
    offers = sandbox.items(OFFERS)
    assert len(offers) == 50
    middle = offers[24]["CommercialEntry_GXREVNUM"]
    newer = sandbox.items(OFFERS, f"[{{CommercialEntry_GXREVNUM:[{middle},Greater]}}]")
    assert newer == offers[25:]


def test_lines_view_serves_one_offers_lines_in_order(sandbox: Sandbox):
    offer = sandbox.items(OFFERS)[0]
    lines = sandbox.items(LINES, f'[{{DOC_ID:["{offer["ID"]}",Equal]}}]')
    assert lines
    assert {line["DOC_ID"] for line in lines} == {offer["ID"]}
    assert [line["LINENUM"] for line in lines] == list(range(1, len(lines) + 1))
    assert sum(line["QTY"] for line in lines) == offer["CENLAQTY"]


def test_unknown_lines_guid_is_404_and_session_is_required(sandbox: Sandbox):
    assert (
        sandbox.client.get("/api/glx/advancedcustomviews/nope", headers=sandbox.headers).status_code
        == 404
    )
    sandbox.client.cookies.clear()  # the login's ss-id cookie
    assert sandbox.client.get(LINES).status_code == 401
    assert sandbox.client.get(OFFERS).status_code == 401


def test_control_routes_and_lines_change_rerevisions_the_offer(sandbox: Sandbox):
    client = sandbox.client
    offer = client.get("/__sandbox/rows/zh_offers").json()[0]
    before = offer["CommercialEntry_GXREVNUM"]
    added = client.post(
        "/__sandbox/rows/offer_lines",
        json=[{"DOC_ID": offer["ID"], "ITEMCODE": "NEW", "QTY": 1, "PRICE": 50}],
    ).json()["rows"]
    assert added[0]["LINENUM"] > 1
    served = next(o for o in sandbox.items(OFFERS) if o["ID"] == offer["ID"])
    assert served["CommercialEntry_GXREVNUM"] > before
    lines = sandbox.items(LINES, f'[{{DOC_ID:["{offer["ID"]}",Equal]}}]')
    assert lines[-1]["ITEMCODE"] == "NEW"

    new = client.post("/__sandbox/rows/zh_offers", json=[{"ID": "X-1", "TRADENUM": "1"}]).json()[
        "rows"
    ]
    assert new[0]["CommercialEntry_GXREVNUM"] > served["CommercialEntry_GXREVNUM"]
    assert client.put("/__sandbox/rows/zh_offers", json=[{"ID": "only"}]).json() == {"rows": 1}
    assert [o["ID"] for o in sandbox.items(OFFERS)] == ["only"]
    assert client.put("/__sandbox/rows/offer_lines", json=[]).status_code == 200
    assert client.get("/__sandbox/rows/offer_lines").json() == []
    assert client.post("/__sandbox/rows/offer_lines", json={"x": 1}).status_code == 400
