"""Zoho's API credits: the run stops before the reserve, and on "credits used up", cleanly.

Issue 15: status `partial`, exit 0, a line saying why and when the window frees up; what
was in flight is committed; nothing is lost and the next run carries on.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.e2e.helpers import assert_parity, ledger, make_env, sync

from gzsync.sandbox.faults import FaultRule
from gzsync.state.sqlite import open_sqlite_store

_USED_UP = {"code": "TOO_MANY_REQUESTS", "message": "the API credits for the day have been used up"}


def _watermarks(state_db: Path) -> dict[str, int | None]:
    store = open_sqlite_store(state_db)
    try:
        return {s: store.get_watermark(s) for s in ("customers", "contacts")}
    finally:
        store.close()


def test_the_run_stops_at_the_reserve_and_the_next_day_carries_on(tmp_path: Path) -> None:
    for env in make_env(tmp_path, customers=300):
        # a whole sync of this org costs about 90 credits; the day has 100, keep 40
        env.zoho.set_limits(daily_credits=100)
        settings = env.with_settings(ZOHO_DAILY_CREDITS=100, ZOHO_CREDIT_RESERVE="40")
        first = sync(env, settings)
        assert first.status == "partial", first.message
        assert first.exit_code == 0
        assert first.message is not None
        assert "ZOHO_CREDIT_RESERVE" in first.message
        assert "come back from" in first.message
        # the reserve held: Zoho still has at least 40 credits for other integrations
        assert env.zoho.stats()["credits_remaining"] >= 40
        assert not any(e.kind == "failed" for e in ledger(env))
        # the same day again, twice: one 1-credit look-up reads Zoho's header, which says
        # the reserve is reached; no batch is sent
        upserts = env.zoho.stats()["calls"]["upsert"]
        for _ in range(2):
            again = sync(env, settings)
            assert again.status == "partial"
            assert again.zoho_credits == 1
        assert env.zoho.stats()["calls"]["upsert"] == upserts
        assert env.zoho.stats()["credits_remaining"] >= 40 - 2
        # a new day: the next run carries on and the end state is whole
        env.zoho.set_limits(daily_credits=100)
        last = sync(env, settings)
        assert last.status in ("success", "incomplete"), last.message
        assert_parity(env)


@pytest.mark.parametrize("module", ["Accounts", "Contacts"])
def test_credits_used_up_ends_the_run_partial_and_loses_nothing(
    tmp_path: Path, module: str
) -> None:
    for env in make_env(tmp_path, customers=300):
        # the first upsert into `module` meets Zoho's "credits used up" 429
        env.zoho.faults.add(
            [FaultRule(endpoint=f"upsert:{module}", status=429, body=_USED_UP, count=1)]
        )
        first = sync(env)
        assert first.status == "partial", first.message
        assert first.exit_code == 0
        assert first.message is not None
        assert "used up" in first.message
        assert env.zoho.faults.fired == {"status:429": 1}  # not retried: no retries burned
        # the batch it hit is neither confirmed nor ledgered, and no watermark passed it
        assert not any(e.kind == "failed" for e in ledger(env))
        marks = _watermarks(env.state_db)
        if module == "Accounts":
            assert marks["customers"] in (None, 0)
        else:
            assert marks["contacts"] in (None, 0)
        last = sync(env)
        assert last.status in ("success", "incomplete"), last.message
        assert_parity(env)
