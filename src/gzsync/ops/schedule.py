"""`gzsync schedule`: run the sync at a fixed rate in the foreground, one run at a time.

The loop is fixed-rate: the next run starts `every` seconds after the previous one
*started* (plus an optional random jitter). A run that overruns its slot is followed at
once by the next, never by two at a time: runs are sequential in this process, and the
state store's lock keeps other processes out (a tick that finds the lock held is logged
and skipped). A stop request (SIGTERM, SIGINT) is honoured between runs: the loop never
cuts a run short; a second signal does (KeyboardInterrupt).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import select
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from gzsync.errors import ConfigError, GzsyncError, LockHeldError
from gzsync.sync.report import RunReport

log = logging.getLogger("gzsync.schedule")

_EVERY = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_every(text: str) -> float:
    """`"90s"`, `"15m"`, `"2h"`, `"1h30m"` -> seconds; ValueError for anything else."""
    match = _EVERY.match(text.strip().lower())
    if not match or not any(match.groups()):
        raise ValueError(f"--every {text!r}: use a duration like 90s, 15m, 2h or 1h30m")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise ValueError(f"--every {text!r}: the interval must be longer than zero")
    return float(total)


class StopRequest:
    """A stop flag that a signal handler may set, and a wait that it ends at once.

    Not a `threading.Event`: its `set()` takes a lock, and a signal landing while the main
    thread holds that lock inside `wait()` would deadlock. Here `set()` takes no lock: it
    sets a flag and writes one byte to a pipe that `wait()` watches with `select`.
    """

    def __init__(self) -> None:
        self._set = False
        self._pipe: tuple[int, int] | None = None

    def set(self) -> None:
        self._set = True
        if self._pipe is not None:
            # OSError: the pipe is full, so a wake-up is already pending.
            with contextlib.suppress(OSError):
                os.write(self._pipe[1], b"x")

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds or until `set()`; True when a stop was requested."""
        if self._pipe is None:
            read_end, write_end = os.pipe()
            os.set_blocking(write_end, False)
            self._pipe = (read_end, write_end)
        if not self._set:
            select.select([self._pipe[0]], [], [], max(timeout, 0.0))
        return self._set

    def close(self) -> None:
        if self._pipe is not None:
            for fd in self._pipe:
                os.close(fd)
            self._pipe = None

    def __del__(self) -> None:
        self.close()


@dataclass(slots=True)
class Tick:
    """What one scheduled tick did."""

    started: float  # clock time
    report: RunReport | None = None  # None when the tick was skipped or failed
    skipped: str = ""  # why no report: "lock held", or the error


@dataclass(slots=True)
class Scheduler:
    """Call `run_once` every `every_s` seconds (fixed rate) until stopped or `max_runs` ticks.

    `clock` and `wait` are seams for tests: `wait(seconds)` waits at most that long and
    returns True when a stop was requested meanwhile (the default waits on `stop`).
    """

    run_once: Callable[[], RunReport]
    every_s: float
    max_runs: int | None = None
    jitter_s: float = 0.0
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    stop: StopRequest = field(default_factory=StopRequest)
    wait: Callable[[float], bool] | None = None
    ticks: list[Tick] = field(default_factory=list)

    def run(self) -> list[Tick]:
        """Tick until a stop request or `max_runs`; ConfigError is fatal, other errors are
        logged and the next tick comes as planned."""
        wait = self.wait or self.stop.wait
        next_start = self.clock()  # the first run starts at once
        while not self.stop.is_set():
            delay = next_start - self.clock()
            if delay > 0 and wait(delay):
                break
            started = self.clock()
            self.ticks.append(self._tick(started))
            if self.max_runs is not None and len(self.ticks) >= self.max_runs:
                break
            jitter = self.rng.uniform(0.0, self.jitter_s) if self.jitter_s > 0 else 0.0
            next_start = started + self.every_s + jitter
            late = self.clock() - next_start
            if late > 0:
                log.warning("the run took longer than --every; the next one starts now")
            else:
                log.info("next run in %.0f s", -late)
        return self.ticks

    def _tick(self, started: float) -> Tick:
        try:
            report = self.run_once()
        except LockHeldError as exc:
            log.warning("skipped: %s", exc)
            return Tick(started, skipped="lock held")
        except ConfigError:
            raise
        except GzsyncError as exc:
            log.error("run failed: %s", exc)
            return Tick(started, skipped=str(exc))
        except Exception as exc:  # a bug must not stop the service; the next tick may work
            log.exception("run crashed")
            return Tick(started, skipped=f"{type(exc).__name__}: {exc}")
        log.info(
            "run %s: %s in %.1f s, ledger pending %d",
            report.run_id,
            report.status,
            report.duration_s,
            report.ledger_pending,
            extra={"run_id": report.run_id, "status": report.status},
        )
        return Tick(started, report=report)


@contextmanager
def stop_on_signals(stop: StopRequest) -> Iterator[None]:
    """While inside: the first SIGTERM/SIGINT sets `stop`; a second one interrupts at once.

    Previous handlers are restored on exit. Must be entered in the main thread.
    """
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.getsignal(sig) for sig in signals}

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.warning(
            "%s received: stopping after the current run (again to interrupt it)",
            signal.Signals(signum).name,
        )
        stop.set()

    for sig in signals:
        signal.signal(sig, handle)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
