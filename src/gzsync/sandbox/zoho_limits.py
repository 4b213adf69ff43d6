"""The limits the Zoho sandbox enforces: concurrent calls, the daily credit budget, the
latency model, and the OAuth token rules (lifetime, active tokens, creation throttle).

Decisions where the reference is silent or UNCONFIRMED:

- **Concurrency**: one counter of in-flight API calls (the token endpoint is not an API
  call). A call above the limit is refused at once with 429; it does not queue.
- **Credits**: a budget for the sandbox's lifetime (a "day"); `set_limits(daily_credits=)`
  starts a new day (usage back to 0). A refused call (429 of either kind) costs nothing.
  `X-API-CREDITS-REMAINING` is sent once half of the budget is used.
- **Latency**: `base_ms + per_record_ms × records`, slept while holding the concurrency
  slot, so concurrency is observable from outside.
- **Tokens**: at most 15 active access tokens per refresh token (the 16th invalidates the
  oldest); more than 10 tokens per refresh token in a rolling 10 minutes are refused
  (successful issues count; refused attempts do not).
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]

TOKEN_THROTTLE_COUNT = 10
TOKEN_THROTTLE_WINDOW_S = 600.0
MAX_ACTIVE_TOKENS = 15


class ConcurrencyGate:
    """Counts in-flight calls; refuses a call above the limit instead of queueing it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self.peak = 0

    def try_acquire(self) -> bool:
        if self.in_flight >= self.limit:
            return False
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        return True

    def release(self) -> None:
        self.in_flight -= 1


class CreditBudget:
    """The daily API credit budget."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0

    def reset(self, total: int) -> None:
        self.total = total
        self.used = 0

    def try_spend(self, credits: int) -> bool:
        if self.used + credits > self.total:
            return False
        self.used += credits
        return True

    @property
    def remaining(self) -> int:
        return max(self.total - self.used, 0)

    def header(self) -> str | None:
        """`X-API-CREDITS-REMAINING`, once half of the budget is used."""
        return str(self.remaining) if self.used * 2 >= self.total else None


@dataclass(slots=True)
class LatencyModel:
    """How long the sandbox takes to answer a call."""

    base_ms: float = 0.0
    per_record_ms: float = 0.0

    def delay_s(self, records: int) -> float:
        return (self.base_ms + self.per_record_ms * records) / 1000.0


@dataclass(slots=True)
class _IssuedToken:
    token: str
    refresh_token: str
    expires_at: float


class TokenThrottled(Exception):
    """Too many access tokens were created for one refresh token in the window."""


@dataclass(slots=True)
class TokenIssuer:
    """Issues access tokens for refresh tokens and tells whether a token is still valid."""

    ttl_s: float = 3600.0
    seed: int = 0
    clock: Clock = time.monotonic
    tokens_issued: int = 0
    _active: dict[str, _IssuedToken] = field(default_factory=dict)
    _per_refresh: dict[str, deque[str]] = field(default_factory=dict)
    _issue_times: dict[str, deque[float]] = field(default_factory=dict)
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def issue(self, refresh_token: str) -> str:
        """A new access token; raises TokenThrottled when the creation throttle is hit."""
        now = self.clock()
        times = self._issue_times.setdefault(refresh_token, deque())
        while times and now - times[0] >= TOKEN_THROTTLE_WINDOW_S:
            times.popleft()
        if len(times) >= TOKEN_THROTTLE_COUNT:
            raise TokenThrottled
        times.append(now)
        token = f"1000.{self._random.getrandbits(128):032x}.{self._random.getrandbits(128):032x}"
        self._active[token] = _IssuedToken(token, refresh_token, now + self.ttl_s)
        issued = self._per_refresh.setdefault(refresh_token, deque())
        issued.append(token)
        while len(issued) > MAX_ACTIVE_TOKENS:
            self._active.pop(issued.popleft(), None)
        self.tokens_issued += 1
        return token

    def is_valid(self, token: str) -> bool:
        issued = self._active.get(token)
        return issued is not None and self.clock() < issued.expires_at

    def expire_all(self) -> None:
        """Every issued access token becomes invalid."""
        self._active.clear()
        for issued in self._per_refresh.values():
            issued.clear()
