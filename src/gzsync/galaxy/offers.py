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

- Offers by key: :func:`read_offers_by_id` reads one offer per call with
  `[{ID:["<offer ID>",Equal]}]`, for the retried offers a ranged read did not return (Galaxy
  restored them below their ledger revision). String comparison in Galaxy's filters may be
  case-sensitive and our keys are upper-cased: an ID not found as the key is asked for
  again in lower case (Galaxy's GUIDs come in either case).

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

__all__ = ["OfferLines", "read_offer_lines", "read_offers", "read_offers_by_id"]

REVISION_COLUMN = "CommercialEntry_GXREVNUM"
DOC_ID_COLUMN = "DOC_ID"
ID_COLUMN = "ID"


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


async def read_offers_by_id(
    client: GalaxyClient,
    keys: Iterable[str],
    on_row: Callable[[dict[str, Any]], None],
    *,
    view: str = "zh_offers",
    entity: str = "salesentry",
    id_column: str = ID_COLUMN,
    concurrency: int = 4,
) -> set[str]:
    """Read the offers whose `ID` is one of `keys` (upper-cased offer keys) into `on_row`,
    one `Equal` read per key (then per lower-cased key for those not found), at most
    `concurrency` in flight. Returns the keys found. Raises GalaxyError like `read_view`."""
    found: set[str] = set()
    slots = asyncio.Semaphore(max(1, concurrency))

    def seen(row: dict[str, Any]) -> None:
        found.add(str(row.get(id_column) or "").strip().upper())
        on_row(row)

    async def one(spelling: str) -> None:
        async with slots:
            condition = Condition(id_column, Op.Equal, spelling)
            await client.read_view(view, [condition], seen, entity=entity)

    wanted = list(dict.fromkeys(keys))
    await asyncio.gather(*(one(k) for k in wanted))
    again = [k.lower() for k in wanted if k not in found and k.lower() != k]
    await asyncio.gather(*(one(k) for k in again))
    return found & set(wanted)


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
