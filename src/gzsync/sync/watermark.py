"""Where a stream starts reading: the confirmed watermark, or Zoho's as a fallback.

The state store knows what was confirmed, so its watermark wins. When it has none (a fresh
machine, a lost state file) and Zoho already holds records, the old ledger is lost too, so
Galaxy is read from the start (`Start(None, "zoho")`) and compared with Zoho: only what Zoho
lacks or holds at a lower revision is sent (:mod:`gzsync.sync.fullread`). `WATERMARK_REREAD`,
when set, caps that read at Zoho's highest `Rev_Number` minus it (Zoho's maximum can run
ahead of what was really written: affiliates carry their card holder's revision).

When Zoho is empty, or the start has a revision (`WATERMARK_REREAD` set), it is **pinned**
in the store as the stream's watermark before the stream's first upsert (:func:`pin_start`,
once the reads succeeded): if the run stops before its first commit moves it (a state store
that fails, a crash), the next run starts from the same place. Otherwise it would ask Zoho
again, whose maximum has moved with this run's upserts, and skip the records this run
rejected or failed (they are in neither Zoho nor the ledger yet). A compared read from the
start needs no pin: the next run with an empty store does the same compared read. A dry run
does not pin.
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
    reread: int | None,
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
    return Start(None if reread is None else max(0, highest - reread), "zoho")


def pin_start(store: StateStore, stream: StreamName, start: Start) -> None:
    """Before a stream's first write: make a fallback start the stored watermark (an empty
    Zoho's start, or a start capped by `WATERMARK_REREAD`)."""
    if start.source == "empty" or (start.source == "zoho" and start.rev is not None):
        # Revisions are positive: a watermark of 0 reads everything, as None does.
        store.set_watermark(stream, start.rev or 0)
