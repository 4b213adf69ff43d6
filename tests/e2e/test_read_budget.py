"""Galaxy reads inside the time budget (issue 15: a budget that holds).

A slow read (the sandbox's `stall` fault: the view answers only after a wait far longer
than the run's budget) is abandoned when the budget runs out: the run ends `partial`
(exit 0), nothing of the abandoned stream is written, nothing is lost or duplicated, and
the next run reaches parity. The stall is a minimum wait several times the whole budget,
so the outcome does not depend on the machine's speed; nothing here measures durations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.helpers import Env, assert_parity, ledger, make_env, sync
from tests.e2e.quotes_helpers import assert_quotes_parity, zoho_records

from gzsync.sandbox.faults import FaultRule
from gzsync.state.sqlite import open_sqlite_store

#: A budget far below the stall: the read is cut at 90 % of it.
BUDGET_S = 0.5
#: How long a stalled call waits before answering (the sandbox then serves it normally).
STALL_MS = 3000


def _stall(faults: Any, endpoint: str) -> None:
    faults.add(
        [
            FaultRule.from_json(
                {"endpoint": endpoint, "action": "stall", "stall_ms": STALL_MS, "count": 1}
            )
        ]
    )


def _watermarks(env: Env) -> dict[str, int | None]:
    store = open_sqlite_store(env.state_db)
    try:
        return {s: store.get_watermark(s) for s in ("customers", "contacts", "quotes")}
    finally:
        store.close()


def _keys(records: list[dict[str, Any]], field: str) -> list[str]:
    return sorted(str(r[field]) for r in records)


def test_a_slow_customers_view_is_abandoned_and_the_next_run_reaches_parity(env: Env) -> None:
    _stall(env.galaxy.faults, "view:zh_customers_fin")
    stopped = sync(env, max_duration_s=BUDGET_S)
    assert stopped.status == "partial"
    assert stopped.exit_code == 0  # like every budget stop: the next run carries on
    assert stopped.message.startswith("stopped at the time budget")
    assert "zh_Customers_fin" in stopped.message
    # nothing of the abandoned read was written, kept or counted
    assert env.zoho.records("Accounts") == []
    assert env.zoho.records("Contacts") == []
    assert ledger(env) == []
    assert _watermarks(env) == {"customers": None, "contacts": None, "quotes": None}
    assert stopped.customers.fetched == 0
    again = sync(env)
    assert again.status in ("success", "incomplete"), again.message
    assert_parity(env)


def test_a_slow_contacts_view_read_beside_the_accounts_writes_is_abandoned(env: Env) -> None:
    _stall(env.galaxy.faults, "view:zh_contacts")
    stopped = sync(env, max_duration_s=4 * BUDGET_S)
    assert stopped.status == "partial"
    assert stopped.exit_code == 0
    # the accounts written (all, or up to the budget) are committed; no contact was
    assert env.zoho.records("Contacts") == []
    assert stopped.contacts.fetched == 0
    assert _watermarks(env)["contacts"] is None
    accounts = _keys(env.zoho.records("Accounts"), "Trader_ID")
    assert len(accounts) == len(set(accounts))  # nothing duplicated
    again = sync(env)
    assert again.status in ("success", "incomplete"), again.message
    assert_parity(env)


def test_a_lost_state_compared_read_cut_at_zohos_pages_is_abandoned(env: Env) -> None:
    settings = env.with_settings(ZOHO_WATERMARK_READ="v2")  # COQL: only the compared pass
    accounts = ("accounts", "contacts")
    sync(env, settings, entities=accounts)
    before = _keys(env.zoho.records("Accounts"), "Trader_ID")
    env.state_db.unlink()  # a new machine: the state store is gone
    _stall(env.zoho.faults, "coql")
    stopped = sync(env, settings, max_duration_s=BUDGET_S, entities=accounts)
    assert stopped.status == "partial"
    assert "Zoho's Accounts" in stopped.message
    assert _keys(env.zoho.records("Accounts"), "Trader_ID") == before  # nothing sent twice
    assert _watermarks(env)["customers"] is None
    again = sync(env, settings, entities=accounts)
    assert again.status in ("success", "incomplete"), again.message
    assert _keys(env.zoho.records("Accounts"), "Trader_ID") == before
    assert_parity(env)


def test_slow_offer_lines_stop_the_quotes_and_the_next_run_writes_each_once(
    tmp_path: Path,
) -> None:
    for env in make_env(tmp_path, customers=60, offers=80):
        sync(env, entities=("accounts", "contacts"))
        _stall(env.galaxy.faults, "lines")
        stopped = sync(env, entities=("quotes",), max_duration_s=BUDGET_S)
        assert stopped.status == "partial"
        assert stopped.exit_code == 0
        assert "offer lines" in stopped.message
        assert zoho_records(env, "Quotes") == []  # the block whose lines were cut waits
        assert not _watermarks(env)["quotes"]  # at most the pinned start (0): no offer
        again = sync(env, entities=("quotes",))
        assert again.status in ("success", "incomplete"), again.message
        quotes = zoho_records(env, "Quotes")
        assert again.quotes.inserted == len(quotes) > 0  # every quote written once
        assert again.quotes.updated == 0
        assert_quotes_parity(env)
