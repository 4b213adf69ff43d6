"""Reading sales offers and their lines from Galaxy (SPEC §7).

- Offers: `GET /api/glx/views/{GALAXY_OFFERS_ENTITY}/custom/{GALAXY_OFFERS_VIEW}` with
  `[{CommercialEntry_GXREVNUM:[R,Greater]}]`, streamed like the customer views.
- Lines: `GET /api/glx/advancedcustomviews/{GALAXY_OFFER_LINES_VIEW}` with
  `[{DOC_ID:["<offer ID>",Equal]}]`, **one call per offer**: only `Equal`, `Greater` and
  `GreaterOrEqual` are known to exist, so the lines of many offers cannot be asked for in
  one call. :func:`read_offer_lines` runs those calls with bounded concurrency
  (`GALAXY_CONCURRENCY`, default 4), reads each offer once (ids are deduplicated), and
  reports a failure **per offer** (:attr:`OfferLines.failures`) instead of raising: one
  offer whose lines cannot be read waits in the ledger, the others go on.

A read that Galaxy repeats mid-transfer starts again from the first row; the lines
collected for that offer are dropped at each new transfer, so no line is counted twice.
The lines are returned in the order Galaxy served them (the mapping orders them by
`LINENUM` when the view has it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gzsync.errors import GalaxyError
from gzsync.galaxy.client import GalaxyClient
from gzsync.galaxy.filters import Condition, Op

__all__ = ["OfferLines", "read_offer_lines", "read_offers"]

REVISION_COLUMN = "CommercialEntry_GXREVNUM"
DOC_ID_COLUMN = "DOC_ID"


@dataclass(slots=True)
class OfferLines:
    """The lines of each offer asked for, or the error that kept them from being read."""

    lines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failures: dict[str, GalaxyError] = field(default_factory=dict)
    calls: int = 0  # line-view reads made (one per offer)


async def read_offers(
    client: GalaxyClient,
    on_row: Callable[[dict[str, Any]], None],
    *,
    view: str = "zh_offers",
    entity: str = "salesentry",
    after: int | None = None,
    revision_column: str = REVISION_COLUMN,
) -> int:
    """Stream the offers whose revision is above `after` (all when None) into `on_row`.

    As with every view read, a repeated transfer may deliver a row twice: deduplicate by
    `ID`, keeping the highest revision. Raises GalaxyError like `GalaxyClient.read_view`.
    """
    conditions = [] if after is None else [Condition(revision_column, Op.Greater, after)]
    return await client.read_view(view, conditions, on_row, entity=entity)


async def read_offer_lines(
    client: GalaxyClient,
    offer_ids: Iterable[str],
    *,
    guid: str,
    concurrency: int = 4,
    doc_column: str = DOC_ID_COLUMN,
) -> OfferLines:
    """The lines of each offer in `offer_ids` (Galaxy's own `ID` spelling), read once each
    with at most `concurrency` reads in flight; failures are per offer."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    result = OfferLines()
    pending = list(dict.fromkeys(offer_ids))
    queue: asyncio.Queue[str] = asyncio.Queue()
    for offer_id in pending:
        queue.put_nowait(offer_id)

    async def read_one(offer_id: str) -> None:
        rows: list[dict[str, Any]] = []
        condition = Condition(doc_column, Op.Equal, offer_id)
        result.calls += 1
        try:
            await client.read_advanced_view(guid, [condition], rows.append, on_start=rows.clear)
        except GalaxyError as exc:
            result.failures[offer_id] = exc
            return
        result.lines[offer_id] = rows

    async def worker() -> None:
        while not queue.empty():
            await read_one(queue.get_nowait())

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(pending)))))
    return result
