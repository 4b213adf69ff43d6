"""Where a stream starts reading: the confirmed watermark, or Zoho's as a fallback.

The state store knows what was confirmed, so its watermark wins. Only when it has none (a
fresh machine, a lost state file) is Zoho's highest `Rev_Number` used — and then a window of
`WATERMARK_REREAD` revisions below it is read again, because Zoho's maximum can run ahead
of what was really written (affiliates carry their card holder's revision and are written
first). Re-reading costs credits, never correctness: upserts are idempotent.

That fallback start is then **pinned** in the store as the stream's watermark before the
stream's first upsert (:func:`pin_start`, once the reads succeeded): if the run stops before
its first commit moves it (a state store that fails, a crash), the next run starts from the
same place. Otherwise it would ask Zoho again, whose maximum has moved with this run's
upserts, and skip the records this run rejected or failed (they are in neither Zoho nor the
ledger yet). A dry run does not pin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gzsync.state.store import StateStore, StreamName
from gzsync.zoho.client import ZohoClient


@dataclass(frozen=True, slots=True)
class Start:
    """Where a stream starts: rows with a revision above `rev` (None: read everything)."""

    rev: int | None
    source: Literal["state", "zoho", "empty", "since_rev"]


async def starting_point(
    *,
    store: StateStore,
    zoho: ZohoClient,
    stream: StreamName,
    module: str,
    since_rev: int | None,
    reread: int,
    method: Literal["coql", "v2"],
) -> Start:
    """The revision after which `stream` is read in this run."""
    if since_rev is not None:
        return Start(since_rev, "since_rev")
    confirmed = store.get_watermark(stream)
    if confirmed is not None:
        return Start(confirmed, "state")
    highest = await zoho.max_value(module, "Rev_Number", method=method)
    if highest is None:
        return Start(None, "empty")
    return Start(max(0, highest - reread), "zoho")


def pin_start(store: StateStore, stream: StreamName, start: Start) -> None:
    """Before a stream's first write: make a fallback start the stored watermark."""
    if start.source in ("zoho", "empty"):
        # Revisions are positive: a watermark of 0 reads everything, as None does.
        store.set_watermark(stream, start.rev or 0)
