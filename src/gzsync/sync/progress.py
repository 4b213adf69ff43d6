"""Progress of long work: rich bars on a terminal, periodic log lines elsewhere, or nothing."""

from __future__ import annotations

import logging
import time
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

log = logging.getLogger("gzsync.progress")


class ProgressSink(Protocol):
    """What the pipeline reports while it works."""

    def start(self, stream: str, total: int) -> None: ...

    def advance(self, stream: str, n: int) -> None: ...

    def close(self) -> None: ...


class NoProgress:
    """Reports nothing (`--quiet`, library use)."""

    def start(self, stream: str, total: int) -> None:
        return None

    def advance(self, stream: str, n: int) -> None:
        return None

    def close(self) -> None:
        return None


class LogProgress:
    """One log line per stream every `every_s` seconds: for logs that are not a terminal."""

    def __init__(self, every_s: float = 15.0) -> None:
        self._every = every_s
        self._state: dict[str, list[float]] = {}  # stream -> [done, total, last_logged]

    def start(self, stream: str, total: int) -> None:
        self._state[stream] = [0, total, time.monotonic()]
        log.info("%s: %d records to sync", stream, total, extra={"stream": stream, "total": total})

    def advance(self, stream: str, n: int) -> None:
        state = self._state.setdefault(stream, [0, 0, time.monotonic()])
        state[0] += n
        now = time.monotonic()
        if now - state[2] >= self._every or state[0] >= state[1] > 0:
            state[2] = now
            done, total = int(state[0]), int(state[1])
            log.info(
                "%s: %d/%d records",
                stream,
                done,
                total,
                extra={"stream": stream, "done": done, "total": total},
            )

    def close(self) -> None:
        return None


class RichProgress:
    """A progress bar per stream on stderr."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<11}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._progress.start()

    def start(self, stream: str, total: int) -> None:
        if stream in self._tasks:
            self._progress.update(self._tasks[stream], total=total, completed=0)
        else:
            self._tasks[stream] = self._progress.add_task(stream, total=total)

    def advance(self, stream: str, n: int) -> None:
        if stream in self._tasks:
            self._progress.advance(self._tasks[stream], n)

    def close(self) -> None:
        self._progress.stop()
