"""CatalystStore against a Catalyst sandbox that fails the way Catalyst documents it can:
the store contract with faults on, few calls per batch, and a watermark never ahead of the
ledger whatever fails."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fake_console import ConsoleState
from store_contract import FakeClock, OpenStore, StoreContract, commit, entry

from gzsync.errors import LockHeldError, StateError
from gzsync.http import RetryPolicy
from gzsync.sandbox.faults import FaultRule
from gzsync.state.catalyst import CatalystStore, catalyst_app
from gzsync.state.store import Confirmed, hash_module

#: Every NoSQL and Cache endpoint fails now and then: 429s, 5xx, dropped connections and
#: items of a batch call failing on their own. Seeded: every run sees the same faults.
FAULTS = [
    {"endpoint": "nosql:insert", "status": 429, "probability": 0.15},
    {"endpoint": "nosql:insert", "action": "partial", "probability": 0.15},
    {"endpoint": "nosql:fetch", "status": 503, "probability": 0.15},
    {"endpoint": "nosql:query", "status": 500, "probability": 0.15},
    {"endpoint": "nosql:query", "action": "drop", "probability": 0.05},
    {"endpoint": "nosql:delete", "status": 429, "probability": 0.15},
    {"endpoint": "nosql:delete", "action": "partial", "probability": 0.15},
    {"endpoint": "cache:get", "status": 429, "probability": 0.15},
    {"endpoint": "cache:put", "status": 502, "probability": 0.15},
]


def _faults(console: ConsoleState, rules: list[dict[str, Any]], seed: int = 11) -> None:
    console.faults.add([FaultRule.from_json(r) for r in rules], seed)


@pytest.fixture
def store_on(table_name: str) -> Callable[..., CatalystStore]:
    def make(clock: Callable[[], float] | None = None, attempts: int = 6) -> CatalystStore:
        extra: dict[str, Any] = {} if clock is None else {"clock": clock}
        retry = RetryPolicy(attempts=attempts, wait_initial=0, wait_max=0, wait_jitter=0)
        return CatalystStore(catalyst_app(), table=table_name, retry=retry, **extra)

    return make


class TestCatalystStoreUnderFaults(StoreContract):
    """The whole store contract, with every endpoint failing ~15% of its calls."""

    model_examples = 15  # each example is dozens of calls, each failing now and then

    @pytest.fixture
    def open_store(
        self, store_on: Callable[..., CatalystStore], clock: FakeClock, console: ConsoleState
    ) -> Iterator[OpenStore]:
        _faults(console, FAULTS)
        opened: list[CatalystStore] = []

        def open_one() -> CatalystStore:
            store = store_on(clock, attempts=12)
            opened.append(store)
            return store

        yield open_one
        console.faults.clear()
        for store in opened:
            store.close()


def test_faults_really_fired_in_the_contract_run(
    store_on: Callable[..., CatalystStore], console: ConsoleState
) -> None:
    """The fault rules above do fire on the store's calls (and are survived)."""
    _faults(console, FAULTS)
    store = store_on(attempts=12)
    store.acquire_lock("run-a", 60)
    for n in range(1, 41):
        store.commit_batch(
            commit(
                confirmed=(Confirmed(f"C{n}", n, f"z{n}"),),
                ledger=(entry(f"R{n}", n),),
                watermark=n,
            )
        )
    assert store.get_watermark("customers") == 40
    assert len(store.ledger_list("customers")) == 40
    fired = console.faults.fired
    assert fired.get("status:429", 0) > 0
    assert fired.get("partial:nosql:insert", 0) > 0


def test_a_first_sync_commits_a_batch_in_well_under_one_call(
    store_on: Callable[..., CatalystStore], console: ConsoleState
) -> None:
    """300 batches of 100 confirmed records: packed ids, group commits, no reads per commit."""
    store = store_on()
    store.acquire_lock("run-a", 900)
    console.reset_calls()
    for batch in range(300):
        confirmed = tuple(
            Confirmed(f"C{batch:03d}{n:02d}", batch + 1, f"z{batch}-{n}") for n in range(100)
        )
        rejected = (entry(f"R{batch}", batch + 1),) if batch % 10 == 0 else ()
        store.commit_batch(commit(confirmed=confirmed, ledger=rejected, watermark=batch + 1))
    store.release_lock("run-a")
    calls = console.stats_json()
    # 300 id packs + 30 ledger entries + watermarks, 25 items a call; one ledger query and
    # one watermark fetch for the whole run; the lock's own calls.
    assert calls["calls"]["nosql:insert"] <= math.ceil(330 / 22) + 2
    assert calls["calls"].get("nosql:query", 0) <= 1
    assert calls["calls"]["nosql:fetch"] <= 3
    assert calls["nosql_calls"] < 300 / 10
    fresh = store_on()
    assert fresh.get_watermark("customers") == 300
    console.reset_calls()
    assert fresh.ids_get("Accounts", ["C00000", "C29999", "nope"]) == {
        "C00000": "z0-0",
        "C29999": "z299-99",
    }
    assert console.stats_json()["calls"]["nosql:query"] == 3  # 300 packs, 100 a page
    assert fresh.ids_get("Accounts", ["C15050"]) == {"C15050": "z150-50"}
    assert console.stats_json()["calls"]["nosql:query"] == 3  # served from memory


def test_ids_evicted_and_replaced_survive_a_reopen(
    store_on: Callable[..., CatalystStore],
) -> None:
    store = store_on()
    store.ids_put("Accounts", {"A": "1", "B": "2"})
    store.ids_evict("Accounts", ["A"])
    store.ids_put("Accounts", {"B": "3"})
    store.close()
    assert store_on().ids_get("Accounts", ["A", "B"]) == {"B": "3"}


def _durable(console: ConsoleState, table: str) -> tuple[int | None, set[str]]:
    with console.lock:
        items = dict(console.tables.get(table, {}))
    wm = items.get(("wm", "customers"))
    keys = {sk for (pk, sk) in items if pk == "ledger#customers"}
    return (None if wm is None else int(wm["rev"]["N"])), keys


def test_the_durable_watermark_is_never_ahead_of_the_durable_ledger(
    store_on: Callable[..., CatalystStore], console: ConsoleState, table_name: str
) -> None:
    """Items failing on their own, 429s and 5xx: after every commit (a crash could happen
    there), every record below the durable watermark is in the durable ledger."""
    _faults(
        console,
        [
            {"endpoint": "nosql:insert", "action": "partial", "probability": 0.4},
            {"endpoint": "nosql:insert", "status": 503, "probability": 0.2},
        ],
        seed=3,
    )
    store = store_on(attempts=20)
    store.acquire_lock("run-a", 900)
    seen_wm: list[int] = []
    for n in range(1, 121):
        # every batch rejects one record; a few ids so that calls fill up
        ids = tuple(Confirmed(f"C{n}-{i}", n * 10, f"z{n}{i}") for i in range(3))
        store.commit_batch(
            commit(confirmed=ids, ledger=(entry(f"K{n}", n * 10),), watermark=n * 10)
        )
        wm, keys = _durable(console, table_name)
        if wm is not None:
            seen_wm.append(wm)
            assert {f"K{i}" for i in range(1, wm // 10 + 1)} <= keys
    assert seen_wm  # it moved, group by group
    assert seen_wm[-1] < 1200
    store.release_lock("run-a")
    assert _durable(console, table_name) == (1200, {f"K{i}" for i in range(1, 121)})
    assert console.faults.fired.get("partial:nosql:insert", 0) > 0


def test_a_commit_that_fails_for_good_raises_and_keeps_the_watermark_behind(
    store_on: Callable[..., CatalystStore], console: ConsoleState, table_name: str
) -> None:
    store = store_on(attempts=3)
    store.acquire_lock("run-a", 900)
    store.commit_batch(commit(ledger=(entry("K0", 5),), watermark=5))
    assert store.get_watermark("customers") == 5
    _faults(console, [{"endpoint": "nosql:insert", "status": 503}])
    tried: list[int] = []

    def commit_until_it_fails() -> None:
        for n in range(1, 40):  # the buffer fills up and is sent: it fails
            tried.append(n)
            store.commit_batch(commit(ledger=(entry(f"K{n}", 5 + n),), watermark=5 + n))

    with pytest.raises(StateError, match="HTTP 503"):
        commit_until_it_fails()
    assert tried[-1] < 39
    calls = console.stats_json()["calls"]["nosql:insert"]
    with pytest.raises(StateError, match="HTTP 503"):  # later commits fail at once
        store.commit_batch(commit(ledger=(entry("K99", 99),), watermark=99))
    assert console.stats_json()["calls"]["nosql:insert"] == calls
    assert _durable(console, table_name)[0] == 5
    # The service is back: what was buffered goes out, ledger first, watermark last.
    console.faults.clear()
    store.release_lock("run-a")
    wm, keys = _durable(console, table_name)
    assert wm == 99
    assert keys == {"K0", "K99", *(f"K{n}" for n in tried)}


def test_lock_refresh_retries_transient_errors(
    store_on: Callable[..., CatalystStore], console: ConsoleState
) -> None:
    clock = FakeClock()
    store = store_on(clock)
    store.acquire_lock("run-a", 60)
    _faults(
        console,
        [
            {"endpoint": "nosql:insert", "status": 429, "count": 2},
            {"endpoint": "nosql:insert", "action": "partial", "count": 1},
            {"endpoint": "nosql:fetch", "status": 503, "count": 2},
        ],
    )
    clock.advance(30)
    store.refresh_lock("run-a", 60)
    assert console.faults.active == 0  # every rule fired
    with console.lock:
        lock = console.tables[store_table(store)][("lock", "lock")]
    assert float(lock["expires_at"]["N"]) == clock.now + 60
    other = store_on(clock)
    with pytest.raises(LockHeldError):
        other.acquire_lock("run-b", 60)


def test_lock_refresh_that_keeps_failing_is_a_state_error_not_a_lost_lock(
    store_on: Callable[..., CatalystStore], console: ConsoleState
) -> None:
    store = store_on(attempts=2)
    store.acquire_lock("run-a", 60)
    _faults(console, [{"endpoint": "nosql:insert", "status": 500, "count": 2}])
    with pytest.raises(StateError) as raised:
        store.refresh_lock("run-a", 60)
    assert not isinstance(raised.value, LockHeldError)
    store.refresh_lock("run-a", 60)  # the service is back


def test_reads_that_decide_are_consistent(
    store_on: Callable[..., CatalystStore], console: ConsoleState
) -> None:
    """The sandbox's replica is an hour late: a store that read it would see nothing."""
    first = store_on()
    first.acquire_lock("run-a", 60)
    first.commit_batch(commit(ledger=(entry("K1", 3),), watermark=3))
    first.release_lock("run-a")
    second = store_on()
    assert second.get_watermark("customers") == 3
    assert [e.key for e in second.ledger_list("customers")] == ["K1"]
    second.acquire_lock("run-b", 60)
    second.commit_batch(commit(confirmed=(Confirmed("K1", 3, "z"),), watermark=4))
    second.flush()
    assert second.ledger_list() == []


def store_table(store: CatalystStore) -> str:
    return str(store._table.base_path.rsplit("/", 1)[-1])


def test_ledger_items_hold_the_entry_as_json(
    store_on: Callable[..., CatalystStore], console: ConsoleState, table_name: str
) -> None:
    store = store_on()
    store.commit_batch(commit(ledger=(entry("K1", 3, detail="Phone: too long"),)))
    store.flush()
    with console.lock:
        item = console.tables[table_name][("ledger#customers", "K1")]
    assert json.loads(item["data"]["S"])["detail"] == "Phone: too long"


def test_payload_hashes_ride_with_the_commits_not_a_call_per_record(
    store_on: Callable[..., CatalystStore], console: ConsoleState
) -> None:
    """Issue 15: the writer's hash per confirmed key (after each commit, as `ids_put` of
    `hash:<stream>`) is packed and buffered like the ids: no NoSQL call per record."""
    store = store_on()
    store.acquire_lock("run-a", 900)
    console.reset_calls()
    for batch in range(100):
        keys = [f"C{batch:03d}{n:02d}" for n in range(100)]
        store.commit_batch(
            commit(
                confirmed=tuple(Confirmed(k, batch + 1, f"z{k}") for k in keys),
                watermark=batch + 1,
            )
        )
        store.ids_put(hash_module("customers"), {k: f"h{k}" for k in keys})
    store.release_lock("run-a")
    calls = console.stats_json()
    # 100 id packs + 100 hash packs + watermarks, 25 items a call
    assert calls["nosql_calls"] < 10_000 / 100
    assert calls["calls"]["nosql:insert"] <= math.ceil(200 / 22) + 2
    fresh = store_on()
    assert fresh.ids_get(hash_module("customers"), ["C00000", "C09999", "nope"]) == {
        "C00000": "hC00000",
        "C09999": "hC09999",
    }
