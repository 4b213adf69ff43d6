"""The run's time budget: when to stop starting new batches.

A run with a budget (`--max-duration`, or Catalyst's remaining execution time) stops
*starting* batches once the budget is nearly spent and lets the in-flight ones finish, so it
ends cleanly with everything it began committed; the next run carries on from there.

:meth:`Budget.seconds` is the run's budget as the report records it (`budget_s`): the
seconds the run may take, the lesser of `--max-duration` / `MAX_DURATION` and Catalyst's
remaining execution time (seen at the first check, plus the time spent before it); None
without either. Catalyst's stop margin is not taken off: it is the platform's limit.

:meth:`Budget.read_seconds_left` is how long a read may still take: the time until
:meth:`Budget.exhausted` turns True (issue 15: Galaxy reads are inside the budget too, see
:mod:`gzsync.sync.read_budget`). For Catalyst it uses the platform's limit as first seen
(the remaining time only shrinks with the clock), so a read asks the runtime at most once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: Room kept for in-flight batches to finish and commit: a share of the budget, capped.
_MARGIN_SHARE = 0.1
_MARGIN_CAP_S = 30.0
#: Catalyst: stop this long before the platform kills the function.
CATALYST_MARGIN_S = 60.0


class Budget:
    """Answers "may I start another batch?" for one run."""

    def __init__(
        self,
        *,
        max_duration_s: float | None = None,
        remaining_ms: Callable[[], float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._start = clock()
        self._max = max_duration_s
        self._remaining_ms = remaining_ms
        self._margin = min(_MARGIN_CAP_S, max_duration_s * _MARGIN_SHARE) if max_duration_s else 0.0
        self.exhausted_at: float | None = None
        self._platform_s: float | None = None  # Catalyst: seconds from the start to its limit

    @property
    def limited(self) -> bool:
        return self._max is not None or self._remaining_ms is not None

    def elapsed(self) -> float:
        return self._clock() - self._start

    def _left_s(self) -> float:
        assert self._remaining_ms is not None
        left = self._remaining_ms() / 1000.0
        if self._platform_s is None:
            self._platform_s = self.elapsed() + left
        return left

    def seconds(self) -> float | None:
        """The run's budget in seconds (see the module docstring); None when unlimited."""
        limits = [self._max] if self._max else []
        if self._remaining_ms is not None:
            if self._platform_s is None:  # never checked (nothing to write): ask now
                self._left_s()
            assert self._platform_s is not None
            limits.append(self._platform_s)
        return min(limits) if limits else None

    def exhausted(self) -> bool:
        """True once no new batch should start; stays True."""
        if self.exhausted_at is not None:
            return True
        spent = False
        if self._max is not None and self.elapsed() >= self._max - self._margin:
            spent = True
        if self._remaining_ms is not None and self._left_s() < CATALYST_MARGIN_S:
            spent = True
        if spent:
            self.exhausted_at = self.elapsed()
        return spent

    def spend(self) -> None:
        """Mark the budget spent now (a read reached its deadline): no new batch starts."""
        if self.exhausted_at is None:
            self.exhausted_at = self.elapsed()

    def read_seconds_left(self) -> float | None:
        """Seconds a read may still take before no new work should start; None: no budget.

        0 once the budget is exhausted. Asks Catalyst's remaining time only when no check
        has yet (the platform's limit is then known from the start of the run)."""
        if self.exhausted_at is not None:
            return 0.0
        left: list[float] = []
        if self._max is not None:
            left.append(self._max - self._margin - self.elapsed())
        if self._remaining_ms is not None:
            if self._platform_s is None:
                self._left_s()
            assert self._platform_s is not None
            left.append(self._platform_s - CATALYST_MARGIN_S - self.elapsed())
        return max(0.0, min(left)) if left else None
