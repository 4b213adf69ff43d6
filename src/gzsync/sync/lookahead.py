"""Working one chunk ahead: cutting rows into chunks, and cancelling the work started early.

The accounts phase writes the next window's affiliates, and the contacts phase resolves the
next block's parents, while the current chunk's records are being upserted. Both cut the
spool's rows into chunks and, when the stream stops early, cancel what they started ahead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most `size` items (itertools.batched arrives in 3.12)."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def cancel_pending(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel the tasks that have not finished and wait for them to end."""
    for task in tasks:
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
