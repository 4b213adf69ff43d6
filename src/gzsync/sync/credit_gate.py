"""The run's credit gate: stop issuing Zoho batches before the org's credits run low.

Asked by every writer before each new batch (:meth:`CreditGate.allows`): when the credits
left (Zoho's `X-API-CREDITS-REMAINING`, less what we spent since; or
`ZOHO_DAILY_CREDITS` less our own count) minus the batch's cost would fall below
`ZOHO_CREDIT_RESERVE`, the gate closes for the rest of the run
(:func:`gzsync.zoho.credits.reserve_stop`). A 429 meaning "credits used up"
(:class:`~gzsync.errors.ZohoCreditsExhausted`) closes it too (:meth:`CreditGate.used_up`).

Decisions:

- A closed gate stops *new* batches only: those in flight finish and commit; the run ends
  `partial` (exit 0) with the gate's message, and the next run carries on from the
  watermark. A batch that hit the "used up" 429 is neither confirmed nor ledgered (Zoho
  took nothing of it): no watermark moves past it in this run, so the next run sends it
  again. No retries are burned and the failure rule (three whole-batch failures) does
  not count it.
- "When the window frees up": credits come back 24 h after they were spent; the earliest
  this run can know of is its own start (Zoho does not say when other integrations spent
  theirs), so the message names the run's start + 24 h.
- A run knows nothing of the org's credits before Zoho answers one of its calls (our own
  count starts at 0 each run; Zoho's header comes with answers, once half the day's
  credits are used): until the first answer, one batch goes alone, so its answer's header
  decides the next. And after a run that stopped for credits (state store meta
  `zoho_credits_low`), the next run first asks Zoho one 1-credit COQL look-up
  (:func:`look_before_writing`), so that repeated runs do not eat into the reserve a batch
  at a time; the flag clears once a run ends without a credit stop.
- The gate is per run, shared by every writer (customers, affiliates, contacts): once one
  stream is stopped for credits, the next does not start.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from dataclasses import dataclass, field

from gzsync.errors import ZohoCreditsExhausted
from gzsync.state.store import StateStore
from gzsync.streams import CUSTOMERS
from gzsync.sync.report import RunReport
from gzsync.zoho.client import ZohoClient, ZohoStats
from gzsync.zoho.credits import WINDOW, CreditReserve, estimated_left, reserve_stop

#: state store meta: "1" when the last run stopped for credits (see the module)
LOW_FLAG = "zoho_credits_low"
#: records per credit of an upsert call (Zoho bills 1 credit per 10 records)
_RECORDS_PER_CREDIT = 10


@dataclass(slots=True)
class CreditGate:
    """Answers "may another Zoho batch start?" for one run, on credits."""

    stats: ZohoStats
    reserve: CreditReserve
    daily_allowance: int | None = None
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    #: why the gate closed (a line for the report); None while open
    reason: str | None = None
    #: credits of the batches let through and not yet answered (Zoho's header and our
    #: own count see a call's cost only once it is answered)
    _in_flight: int = 0
    #: set once a batch was answered: until then one batch goes alone (see the module)
    _first_answer: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def closed(self) -> bool:
        return self.reason is not None

    async def admit(self, records: int, *, cost: int | None = None) -> bool:
        """:meth:`allows`, once Zoho answered a call of this run or nothing is in flight.

        `cost`: the batch's credits when it is not an upsert's (a Bulk Write job)."""
        if not self._heard() and self._in_flight > 0:
            await self._first_answer.wait()
        return self.allows(records, cost=cost)

    def _heard(self) -> bool:
        return (
            self._first_answer.is_set()
            or self.stats.credits > 0
            or self.stats.credits_remaining is not None
        )

    def allows(self, records: int, *, cost: int | None = None) -> bool:
        """True when a batch of `records` upserts may start now; closes the gate otherwise.

        A batch let through counts as in flight until :meth:`answered`.
        """
        if self.reason is not None:
            return False
        cost = _cost(records) if cost is None else cost
        left = estimated_left(self.stats, self.daily_allowance)
        stop = reserve_stop(
            left=None if left is None else left - self._in_flight,
            reserve=self.reserve,
            daily_allowance=self.daily_allowance,
            next_cost=cost,
            first_spent=self.started,
        )
        if stop is None:
            self._in_flight += cost
            return True
        self.reason = stop.message
        return False

    def answered(self, records: int, *, cost: int | None = None) -> None:
        """A batch :meth:`allows` let through was answered (its cost is now counted)."""
        cost = _cost(records) if cost is None else cost
        self._in_flight = max(0, self._in_flight - cost)
        self._first_answer.set()

    def used_up(self, error: ZohoCreditsExhausted) -> None:
        """Zoho answered "credits used up": close the gate (the first reason stays)."""
        if self.reason is None:
            self.reason = used_up_message(self.started)


def _cost(records: int) -> int:
    return math.ceil(records / _RECORDS_PER_CREDIT)


def used_up_message(started: dt.datetime) -> str:
    """The report line of a run stopped by Zoho's "credits used up" 429."""
    when = (started + WINDOW).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "stopped: Zoho says the org's API credits are used up (429); Zoho's window is a "
        f"rolling 24 hours, so the credits this run spent come back from {when}; "
        "the next run carries on"
    )


def stopped_for_credits(gate: CreditGate | None, report: RunReport) -> bool:
    """Mark `report` partial with the gate's reason when the gate closed; True if so."""
    if gate is None or gate.reason is None:
        return False
    report.status = "partial"
    report.message = gate.reason
    return True


async def look_before_writing(store: StateStore, zoho: ZohoClient) -> None:
    """After a run stopped for credits: one 1-credit COQL look-up, so Zoho's header (or its
    absence: less than half the day's credits used) is known before the first batch."""
    if store.meta_get(LOW_FLAG) == "1":
        await zoho.ids_by_key(CUSTOMERS.module, CUSTOMERS.key_field, ["gzsync-credit-probe"])


def remember(gate: CreditGate, store: StateStore) -> None:
    """Record for the next run whether this one stopped for credits."""
    store.meta_put(LOW_FLAG, "1" if gate.closed else "0")
