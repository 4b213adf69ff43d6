"""CatalystStore against the fake Catalyst console: the shared store contract, plus what is
particular to Catalyst (the requests it makes, the Cache's whole-hour expiry, errors)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zcatalyst_sdk
from fake_console import ConsoleState
from store_contract import FakeClock, OpenStore, StoreContract, commit, entry

from gzsync.config import Settings
from gzsync.errors import ConfigError, LockHeldError, StateError
from gzsync.http import RetryPolicy
from gzsync.state.catalyst import CatalystStore, catalyst_app, open_catalyst_store
from gzsync.state.store import Confirmed


@pytest.fixture
def make_store(table_name: str) -> Callable[..., CatalystStore]:
    def make(clock: Callable[[], float] | None = None, **kwargs: Any) -> CatalystStore:
        extra: dict[str, Any] = {} if clock is None else {"clock": clock}
        kwargs.setdefault("retry", RetryPolicy.for_tests())
        return CatalystStore(catalyst_app(), table=table_name, **extra, **kwargs)

    return make


class TestCatalystStore(StoreContract):
    @pytest.fixture
    def open_store(
        self, make_store: Callable[..., CatalystStore], clock: FakeClock
    ) -> Iterator[OpenStore]:
        opened: list[CatalystStore] = []

        def open_one() -> CatalystStore:
            store = make_store(clock)
            opened.append(store)
            return store

        yield open_one
        for store in opened:
            store.close()


def test_items_are_stored_in_one_table_with_pk_and_sk(
    make_store: Callable[..., CatalystStore], console: ConsoleState, table_name: str
) -> None:
    store = make_store()
    store.commit_batch(
        commit(confirmed=(Confirmed("C1", 3, "z1"),), ledger=(entry("C2", 4),), watermark=4)
    )
    store.acquire_lock("run-a", ttl_s=60)
    store.run_started("r1", 1000.0)
    store.flush()
    table = console.tables[table_name]
    keys = set(table)
    assert {("ledger#customers", "C2"), ("wm", "customers"), ("lock", "lock")} <= keys
    assert ("runid", "r1") in keys
    assert any(pk == "runs" and sk.endswith("#r1") for pk, sk in keys)
    packs = [item for (pk, _sk), item in table.items() if pk == "ids#Accounts"]
    assert [json.loads(p["ids"]["S"]) for p in packs] == [{"C1": "z1"}]
    ledger_item = table[("ledger#customers", "C2")]
    assert json.loads(ledger_item["data"]["S"])["reason"] == "INVALID_DATA"


def test_kv_uses_the_cache_with_whole_hour_expiry(
    make_store: Callable[..., CatalystStore], console: ConsoleState
) -> None:
    store = make_store()
    store.kv_put("zoho.token", "tok-1", ttl_s=3000)
    store.kv_put("galaxy.session", "sid-1")
    entries = console.cache["default"]
    hours = sorted(e["expiry_in_hours"] for e in entries.values())
    assert hours == [1, 48]
    token = next(e for e in entries.values() if json.loads(e["cache_value"])["v"] == "tok-1")
    assert token["cache_name"].startswith("gzsync_zoho_token_")


def test_kv_in_a_named_segment(
    make_store: Callable[..., CatalystStore], console: ConsoleState
) -> None:
    store = make_store(cache_segment="7000001")
    store.kv_put("galaxy.session", "sid")
    assert store.kv_get("galaxy.session") == "sid"
    assert list(console.cache) == ["7000001"]


def test_concurrent_lock_takers_get_one_winner(make_store: Callable[..., CatalystStore]) -> None:
    clock = FakeClock()
    first, second = make_store(clock), make_store(clock)
    first.acquire_lock("run-a", ttl_s=900)
    with pytest.raises(LockHeldError) as raised:
        second.acquire_lock("run-b", ttl_s=900)
    assert (raised.value.holder, raised.value.expires_at) == ("run-a", clock.now + 900)


def test_service_errors_become_state_errors_without_the_token(
    make_store: Callable[..., CatalystStore], console_server: tuple[str, ConsoleState]
) -> None:
    app = zcatalyst_sdk.initialize_app(
        zcatalyst_sdk.credentials.AccessTokenCredential({"access_token": "stolen-token-xyz"}),
        name="gzsync-wrong-token",
    )
    store = CatalystStore(app, table="any", retry=RetryPolicy.for_tests())
    with pytest.raises(StateError) as raised:
        store.get_watermark("customers")
    assert "INVALID_OAUTHTOKEN" in str(raised.value)
    assert "stolen-token-xyz" not in str(raised.value)


def test_unreachable_console_is_a_state_error(
    console_server: tuple[str, ConsoleState], monkeypatch: pytest.MonkeyPatch
) -> None:
    import zcatalyst_sdk._http_client as http_client

    app = zcatalyst_sdk.initialize_app(name="gzsync-unreachable")
    store = CatalystStore(app, table="any", retry=RetryPolicy(attempts=2, wait_initial=0))
    app.nosql()._requester._base_url = "http://127.0.0.1:9"  # discard port: refused
    monkeypatch.setattr(http_client, "DEFAULT_RETRY_CONFIG", None)
    with pytest.raises(StateError, match="ConnectionError"):
        store.get_watermark("customers")


def test_open_catalyst_store_reads_table_and_segment(
    console: ConsoleState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALYST_NOSQL_TABLE", "configured_table")
    monkeypatch.setenv("CATALYST_CACHE_SEGMENT", "7000002")
    store = open_catalyst_store(Settings())
    store.set_watermark("contacts", 7)
    store.kv_put("k", "v")
    assert console.tables["configured_table"][("wm", "contacts")]["rev"] == {"N": "7"}
    assert "7000002" in console.cache


def test_outside_catalyst_without_credentials_is_a_config_error(
    console: ConsoleState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CATALYST_AUTH")
    with pytest.raises(ConfigError, match="CATALYST_AUTH"):
        open_catalyst_store(Settings())
