"""The run-wide failure rule: whole-batch failures in a row stop the run.

A Zoho that is down fails every batch after its retries. Rather than fail every batch of
every stream (and ledger the whole run), the run stops once `MAX_CONSECUTIVE_FAILURES`
batches in a row failed whole, across every writer of the run; any batch that goes through
resets the count. Writers only report each batch here and stop starting new ones once the
rule trips; the phase that sees a tripped writer aborts the run (`abort_if_tripped`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gzsync.errors import ServiceError

#: Whole-batch failures in a row after which the run stops.
MAX_CONSECUTIVE_FAILURES = 3


@dataclass(slots=True)
class FailureCounter:
    """Whole-batch failures in a row, shared by every writer of a run."""

    consecutive: int = 0
    last: ServiceError | None = None

    @property
    def tripped(self) -> bool:
        return self.consecutive >= MAX_CONSECUTIVE_FAILURES

    def failed(self, error: ServiceError) -> None:
        self.consecutive += 1
        self.last = error

    def succeeded(self) -> None:
        self.consecutive = 0


class _Stopped(Protocol):
    @property
    def stopped(self) -> str | None: ...

    @property
    def error(self) -> ServiceError | None: ...


def abort_if_tripped(outcome: _Stopped) -> None:
    """Raise the last whole-batch failure when a writer stopped for the rule."""
    if outcome.stopped == "failures":
        assert outcome.error is not None
        raise outcome.error
