"""Reading offers and their lines from the Galaxy sandbox over loopback HTTP (SPEC §7)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from tests.kvstore import MemoryStore

from gzsync.errors import GalaxyResponseError
from gzsync.galaxy.client import GalaxyClient
from gzsync.galaxy.filters import Condition
from gzsync.galaxy.offers import read_offer_lines, read_offers
from gzsync.http import RetryPolicy
from gzsync.sandbox import credentials
from gzsync.sandbox.faults import FaultRule
from gzsync.sandbox.galaxy import create_galaxy_app
from gzsync.sandbox.offers import LINES_VIEW_GUID
from gzsync.sandbox.serve import ServedApp


class CountingClient(GalaxyClient):
    """The real client, counting line reads in flight."""

    in_flight = 0
    peak = 0

    async def read_advanced_view(
        self,
        guid: str,
        conditions: Sequence[Condition],
        on_row: Callable[[dict[str, Any]], None],
        *,
        on_start: Callable[[], None] | None = None,
    ) -> int:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0)  # let the other workers start theirs
            return await super().read_advanced_view(guid, conditions, on_row, on_start=on_start)
        finally:
            self.in_flight -= 1


@pytest.fixture
def sandbox() -> Iterator[tuple[str, Any]]:
    app = create_galaxy_app(customers=120, seed=4)
    with ServedApp(app) as served:
        yield served.url, app


def _client(url: str) -> CountingClient:
    return CountingClient(
        base_url=url,
        username=credentials.GALAXY_USERNAME,
        password=credentials.GALAXY_PASSWORD,
        store=MemoryStore(),
        retry=RetryPolicy.for_tests(),
    )


def test_offers_after_a_revision_and_their_lines(sandbox: tuple[str, Any]) -> None:
    url, app = sandbox
    book = app.state.galaxy_offers
    expected = book.offer_rows()
    cut = expected[9]["CommercialEntry_GXREVNUM"]

    async def go() -> tuple[list[dict[str, Any]], Any, CountingClient]:
        client = _client(url)
        try:
            rows: list[dict[str, Any]] = []
            await read_offers(client, rows.append, after=cut)
            ids = [r["ID"] for r in rows]
            lines = await read_offer_lines(client, ids + ids[:3], guid=LINES_VIEW_GUID)
            return rows, lines, client
        finally:
            await client.aclose()

    rows, lines, client = asyncio.run(go())
    assert rows == expected[10:]
    assert lines.failures == {}
    assert lines.calls == len(rows)  # each offer once, although three were asked twice
    assert lines.lines == {r["ID"]: book.line_rows(r["ID"]) for r in rows}
    assert 1 < client.peak <= 4
    assert app.state.galaxy.stats()["calls"]["view:zh_offers"] == 1


def test_one_offers_failure_is_reported_for_that_offer_only(sandbox: tuple[str, Any]) -> None:
    url, app = sandbox
    offers = app.state.galaxy_offers.offer_rows()[:6]
    bad = offers[2]["ID"]
    app.state.galaxy.faults.add(
        [FaultRule.from_json({"endpoint": f"lines:{bad}", "status": 500})], seed=1
    )
    # a transfer cut mid-way is read again; its lines must not be counted twice
    app.state.galaxy.faults.add(
        [
            FaultRule.from_json(
                {"endpoint": f"lines:{offers[0]['ID']}", "action": "drop", "count": 1}
            )
        ],
        seed=1,
    )

    async def go() -> Any:
        client = _client(url)
        try:
            return await read_offer_lines(
                client, [o["ID"] for o in offers], guid=LINES_VIEW_GUID, concurrency=2
            )
        finally:
            await client.aclose()

    lines = asyncio.run(go())
    assert set(lines.failures) == {bad}
    assert isinstance(lines.failures[bad], GalaxyResponseError)
    assert set(lines.lines) == {o["ID"] for o in offers} - {bad}
    first = offers[0]["ID"]
    assert lines.lines[first] == app.state.galaxy_offers.line_rows(first)
