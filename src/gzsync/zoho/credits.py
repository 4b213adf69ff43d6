"""Zoho API credits: which 429 means "used up", how many are left, when to stop.

Facts (zoho-crm-api.md §3.1, §3.2, §3.4): credits are counted per org over a rolling
24 hours; `X-API-CREDITS-REMAINING` is sent once half of the day's credits are used (its
name is partly UNCONFIRMED); a 429 `TOO_MANY_REQUESTS` means either "credits used up" or
"concurrency exceeded", and "the status alone does not say which" — the exact body is
UNCONFIRMED.

Decisions:

- **Telling the two 429s apart** (:func:`credits_used_up`), right under every reading: a
  429 is "credits used up" when its `X-API-CREDITS-REMAINING` header says 0, when its
  code, message or details speak of credits (Zoho's wording is unconfirmed; any mention
  of "credit" counts), or when our own estimate of the credits left is 0 or less.
  Anything else is a concurrency 429 and is retried with backoff as before. A "used up"
  429 is not retried: it raises :class:`~gzsync.errors.ZohoCreditsExhausted` at once.
- **Credits left** (:func:`estimated_left`): the last header value minus what we spent
  since we read it (our own count, by Zoho's cost table); None before Zoho sends the
  header (it stays silent below 50 % use) unless the day's allowance is known
  (`ZOHO_DAILY_CREDITS`): then the allowance minus what this client spent.
- **The reserve** (`ZOHO_CREDIT_RESERVE`): `"10%"` (the default) of the day's allowance,
  or an absolute number such as `"5000"`. A percentage without `ZOHO_DAILY_CREDITS` is
  taken of 50,000, the base allowance of every paid edition in Zoho's current table
  (§3.2), so the reserve is never zero; set `ZOHO_DAILY_CREDITS` for your org's own figure.
- **Stop now** (:func:`reserve_stop`): when the credits left, less the next call's cost,
  would fall below the reserve. The stop reason says why and when the rolling window frees
  up: credits come back 24 hours after they were spent, so the first of ours returns 24 h
  after this run's first call (Zoho does not tell when other integrations spent theirs).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from gzsync.zoho.client import ZohoStats

#: Zoho's credit window.
WINDOW = dt.timedelta(hours=24)
#: The allowance a percentage reserve is taken of when the org's is not configured.
BASE_ALLOWANCE = 50_000
_RESERVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True, slots=True)
class CreditReserve:
    """`ZOHO_CREDIT_RESERVE`: a share of the day's allowance, or an absolute number."""

    amount: float
    percent: bool

    @classmethod
    def parse(cls, text: str) -> CreditReserve:
        """`"10%"` or `"5000"`; raises ValueError otherwise (or above 100 %)."""
        match = _RESERVE.match(text)
        if match is None:
            raise ValueError(f"not a credit reserve (like 10% or 5000): {text!r}")
        amount, percent = float(match.group(1)), bool(match.group(2))
        if percent and amount > 100:
            raise ValueError(f"a credit reserve above 100%: {text!r}")
        return cls(amount, percent)

    def credits(self, daily_allowance: int | None) -> int:
        """The reserve in credits."""
        if not self.percent:
            return int(self.amount)
        return int((daily_allowance or BASE_ALLOWANCE) * self.amount / 100)

    def describe(self, daily_allowance: int | None) -> str:
        if not self.percent:
            return f"{self.credits(daily_allowance):,}"
        of = f"{daily_allowance:,}" if daily_allowance else f"{BASE_ALLOWANCE:,} (assumed)"
        return f"{self.credits(daily_allowance):,} ({self.amount:g}% of {of})"


@dataclass(frozen=True, slots=True)
class CreditReserveReached:
    """Why a run stops before Zoho's credits fall below the reserve (status `partial`)."""

    left: int
    reserve: int
    reserve_text: str
    frees_from: dt.datetime

    @property
    def message(self) -> str:
        when = self.frees_from.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        return (
            f"stopped to keep Zoho's API credit reserve: about {self.left:,} credits left, "
            f"the reserve is {self.reserve_text} (ZOHO_CREDIT_RESERVE); Zoho's window is a "
            f"rolling 24 hours, so the credits this run spent come back from {when}; "
            "the next run carries on"
        )


def estimated_left(stats: ZohoStats, daily_allowance: int | None = None) -> int | None:
    """Credits left now, from Zoho's last header and our own count since; see the module."""
    if stats.credits_remaining is not None:
        return stats.credits_remaining - (stats.credits - stats.credits_at_header)
    if daily_allowance is not None:
        return daily_allowance - stats.credits
    return None


def reserve_stop(
    *,
    left: int | None,
    reserve: CreditReserve,
    daily_allowance: int | None,
    next_cost: int = 0,
    first_spent: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> CreditReserveReached | None:
    """A stop reason when spending `next_cost` more would leave fewer than the reserve.

    `left` None (nothing known yet) never stops. `first_spent` is this run's first call
    (the earliest of its credits to come back); without it, now.
    """
    if left is None:
        return None
    floor = reserve.credits(daily_allowance)
    if left - next_cost >= floor:
        return None
    start = first_spent or now or dt.datetime.now(dt.UTC)
    return CreditReserveReached(
        left=max(left, 0),
        reserve=floor,
        reserve_text=reserve.describe(daily_allowance),
        frees_from=start + WINDOW,
    )


def credits_used_up(response: httpx.Response, left: int | None) -> bool:
    """True when a 429 means the day's credits are used up, not a concurrency limit."""
    if response.status_code != 429:
        return False
    header = response.headers.get("X-API-CREDITS-REMAINING")
    if header is not None and header.strip().isdigit() and int(header) <= 0:
        return True
    if _mentions_credits(response):
        return True
    return left is not None and left <= 0


def _mentions_credits(response: httpx.Response) -> bool:
    try:
        body: Any = response.json()
    except (ValueError, UnicodeDecodeError):
        return "credit" in response.text.casefold()
    if not isinstance(body, dict):
        return False
    words = [body.get("code"), body.get("message"), body.get("details")]
    return "credit" in json.dumps(words, default=str).casefold()
