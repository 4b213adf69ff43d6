"""The state-store contract: what every :class:`~gzsync.state.store.StateStore` must do.

Reuse it by subclassing :class:`StoreContract` in a `test_*.py` module and providing one
fixture, `open_store`: a callable that opens a store on the *same* backing storage each time
it is called (two calls = two stores sharing state, like two processes on one file), using
the `clock` fixture as the store's clock, and closing what it opened at teardown::

    class TestSqliteStore(StoreContract):
        @pytest.fixture
        def open_store(self, tmp_path, clock):
            ...

The base class has no `Test` prefix, so pytest collects only the subclasses. Time is a
:class:`FakeClock`: expiries are tested by moving it, never by sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gzsync.errors import LockHeldError, StateError
from gzsync.state.readonly import ReadOnlyStore
from gzsync.state.store import (
    WARNING_RUNS_KEPT,
    BatchCommit,
    CheckpointStore,
    Confirmed,
    KeyValueStore,
    LedgerEntry,
    LedgerKind,
    RunHistory,
    RunLock,
    StateStore,
    StreamName,
    WarningRecord,
)
from gzsync.streams import STREAM_NAMES

T0 = 1_750_000_000.0

OpenStore = Callable[[], StateStore]


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def entry(
    key: str,
    rev: int,
    *,
    stream: StreamName = "customers",
    kind: LedgerKind = "refused",
    reason: str = "INVALID_DATA",
    detail: str = "",
) -> LedgerEntry:
    """A ledger entry as the pipeline would hand it over (times left to the store)."""
    return LedgerEntry(stream=stream, key=key, rev=rev, kind=kind, reason=reason, detail=detail)


def commit(
    *,
    stream: StreamName = "customers",
    module: str = "Accounts",
    confirmed: tuple[Confirmed, ...] = (),
    ledger: tuple[LedgerEntry, ...] = (),
    watermark: int | None = None,
) -> BatchCommit:
    return BatchCommit(
        stream=stream, module=module, confirmed=confirmed, ledger=ledger, watermark=watermark
    )


def keys_of(entries: list[LedgerEntry]) -> list[str]:
    return [e.key for e in entries]


class _Unstorable:
    """A value no backend can store: fails when the store tries to write it."""

    def __str__(self) -> str:
        raise RuntimeError("not storable")


# One batch of the model test: (confirmed (key, rev)), (ledgered (key, rev)), watermark.
_Batch = tuple[list[tuple[str, int]], list[tuple[str, int]], int | None]

_KEY_REVS = st.lists(st.tuples(st.sampled_from("abcd"), st.integers(1, 20)), max_size=4)
_BATCHES = st.lists(st.tuples(_KEY_REVS, _KEY_REVS, st.none() | st.integers(0, 30)), max_size=8)


class StoreContract:
    """The test-suite every state backend passes. Subclasses provide `open_store`.

    `model_examples` is how many random batch sequences the model test replays; a backend
    whose calls are slow may lower it.
    """

    model_examples: ClassVar[int] = 40

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def store(self, open_store: OpenStore) -> StateStore:
        return open_store()

    # -- key/value with expiry ------------------------------------------------------------

    @pytest.mark.parametrize("role", [KeyValueStore, CheckpointStore, RunLock, RunHistory])
    def test_the_store_and_its_read_only_view_play_every_role(
        self, store: StateStore, role: type
    ) -> None:
        assert isinstance(store, role)
        assert isinstance(ReadOnlyStore(store), role)

    def test_kv_absent_key_is_none(self, store: StateStore) -> None:
        assert store.kv_get("galaxy.session") is None

    def test_kv_put_then_get_and_replace(self, store: StateStore) -> None:
        store.kv_put("galaxy.session", "sid-1")
        store.kv_put("zoho.token", "tok-ä€-1")
        assert store.kv_get("galaxy.session") == "sid-1"
        assert store.kv_get("zoho.token") == "tok-ä€-1"
        store.kv_put("galaxy.session", "sid-2")
        assert store.kv_get("galaxy.session") == "sid-2"

    def test_kv_expires_after_ttl(self, store: StateStore, clock: FakeClock) -> None:
        store.kv_put("zoho.token", "tok", ttl_s=3600)
        clock.advance(3599)
        assert store.kv_get("zoho.token") == "tok"
        clock.advance(2)
        assert store.kv_get("zoho.token") is None

    def test_kv_negative_ttl_is_already_expired(self, store: StateStore) -> None:
        store.kv_put("zoho.token", "tok", ttl_s=-1)
        assert store.kv_get("zoho.token") is None

    def test_kv_without_ttl_never_expires(self, store: StateStore, clock: FakeClock) -> None:
        store.kv_put("galaxy.ss_pid", "pid")
        clock.advance(10 * 365 * 86400)
        assert store.kv_get("galaxy.ss_pid") == "pid"

    def test_kv_put_replaces_the_expiry(self, store: StateStore, clock: FakeClock) -> None:
        store.kv_put("k", "short", ttl_s=10)
        store.kv_put("k", "forever")
        clock.advance(100)
        assert store.kv_get("k") == "forever"
        store.kv_put("k", "short again", ttl_s=10)
        clock.advance(11)
        assert store.kv_get("k") is None

    def test_kv_expired_key_can_be_put_again(self, store: StateStore, clock: FakeClock) -> None:
        store.kv_put("k", "old", ttl_s=1)
        clock.advance(5)
        store.kv_put("k", "new", ttl_s=60)
        assert store.kv_get("k") == "new"

    def test_kv_delete(self, store: StateStore) -> None:
        store.kv_put("a", "1")
        store.kv_put("b", "2")
        store.kv_delete("a")
        store.kv_delete("never-there")  # no error
        assert store.kv_get("a") is None
        assert store.kv_get("b") == "2"

    # -- watermarks -----------------------------------------------------------------------

    def test_watermark_unknown_is_none(self, store: StateStore) -> None:
        assert store.get_watermark("customers") is None
        assert store.get_watermark("contacts") is None

    def test_set_watermark_moves_both_ways_per_stream(self, store: StateStore) -> None:
        store.set_watermark("customers", 500)
        store.set_watermark("contacts", 7)
        assert store.get_watermark("customers") == 500
        store.set_watermark("customers", 120)  # a backfill moves it back
        assert store.get_watermark("customers") == 120
        assert store.get_watermark("contacts") == 7

    def test_commit_batch_sets_a_first_watermark(self, store: StateStore) -> None:
        store.commit_batch(commit(watermark=42))
        assert store.get_watermark("customers") == 42
        assert store.get_watermark("contacts") is None

    def test_commit_batch_never_moves_the_watermark_back(self, store: StateStore) -> None:
        store.commit_batch(commit(watermark=100))
        store.commit_batch(commit(watermark=90))
        assert store.get_watermark("customers") == 100
        store.commit_batch(commit(watermark=None))
        assert store.get_watermark("customers") == 100
        store.commit_batch(commit(watermark=150))
        assert store.get_watermark("customers") == 150

    def test_commit_batch_moves_only_its_own_stream(self, store: StateStore) -> None:
        store.set_watermark("customers", 10)
        store.commit_batch(commit(stream="contacts", module="Contacts", watermark=99))
        assert store.get_watermark("customers") == 10
        assert store.get_watermark("contacts") == 99

    def test_set_watermark_then_commit_moves_forward_from_backfill(self, store: StateStore) -> None:
        store.commit_batch(commit(watermark=1000))
        store.set_watermark("customers", 10)
        store.commit_batch(commit(watermark=20))
        assert store.get_watermark("customers") == 20

    # -- commit_batch: the id cache and the ledger ------------------------------------------

    def test_commit_batch_puts_ids_of_confirmed_records(self, store: StateStore) -> None:
        store.commit_batch(
            commit(confirmed=(Confirmed("C1", 5, "zid-1"), Confirmed("C2", 6, "zid-2")))
        )
        assert store.ids_get("Accounts", ["C1", "C2", "C3"]) == {"C1": "zid-1", "C2": "zid-2"}
        assert store.ids_get("Contacts", ["C1"]) == {}

    def test_new_ledger_entry_is_stamped_by_the_store(
        self, store: StateStore, clock: FakeClock
    ) -> None:
        store.commit_batch(commit(ledger=(entry("C1", 5, detail="Account_Name"),)))
        [stored] = store.ledger_list()
        assert stored == LedgerEntry(
            stream="customers",
            key="C1",
            rev=5,
            kind="refused",
            reason="INVALID_DATA",
            detail="Account_Name",
            attempts=1,
            first_seen=clock.now,
            last_seen=clock.now,
            retry_requested=False,
        )

    def test_given_times_are_kept_on_insert(self, store: StateStore) -> None:
        given_entry = replace(entry("C1", 5), first_seen=T0 - 100, last_seen=T0 - 50)
        store.commit_batch(commit(ledger=(given_entry,)))
        [stored] = store.ledger_list()
        assert (stored.first_seen, stored.last_seen) == (T0 - 100, T0 - 50)

    def test_ledger_put_again_counts_attempts_and_keeps_first_seen(
        self, store: StateStore, clock: FakeClock
    ) -> None:
        store.commit_batch(commit(ledger=(entry("C1", 5, kind="failed", reason="http_503"),)))
        store.ledger_request_retry("customers", ["C1"])
        clock.advance(7200)
        store.commit_batch(commit(ledger=(entry("C1", 8, reason="INVALID_DATA", detail="x"),)))
        clock.advance(7200)
        store.commit_batch(commit(ledger=(entry("C1", 8, reason="INVALID_DATA", detail="y"),)))
        [stored] = store.ledger_list()
        assert stored.attempts == 3
        assert stored.first_seen == T0
        assert stored.last_seen == T0 + 14400
        assert (stored.rev, stored.kind, stored.reason, stored.detail) == (
            8,
            "refused",
            "INVALID_DATA",
            "y",
        )
        assert stored.retry_requested is False  # the retry happened

    def test_confirmed_resolves_entries_of_same_or_older_revision(self, store: StateStore) -> None:
        store.commit_batch(commit(ledger=(entry("SAME", 5), entry("OLDER", 5))))
        store.commit_batch(
            commit(confirmed=(Confirmed("SAME", 5, "z1"), Confirmed("OLDER", 9, "z2")))
        )
        assert store.ledger_list() == []

    def test_confirmed_older_revision_does_not_resolve_a_newer_failure(
        self, store: StateStore
    ) -> None:
        # The ledger holds revision 9, which failed; confirming revision 7 (e.g. a batch sent
        # earlier that finished later) must not hide revision 9.
        store.commit_batch(commit(ledger=(entry("C1", 9, kind="failed", reason="http_503"),)))
        store.commit_batch(commit(confirmed=(Confirmed("C1", 7, "zid-1"),)))
        assert keys_of(store.ledger_list()) == ["C1"]
        assert store.ledger_list()[0].rev == 9
        assert store.ids_get("Accounts", ["C1"]) == {"C1": "zid-1"}  # the id is still true

    def test_confirmed_resolves_only_in_its_own_stream(self, store: StateStore) -> None:
        store.commit_batch(
            commit(ledger=(entry("K", 3, stream="contacts"), entry("K", 3, stream="affiliates")))
        )
        store.commit_batch(commit(stream="affiliates", confirmed=(Confirmed("K", 3, "z"),)))
        [left] = store.ledger_list()
        assert (left.stream, left.key) == ("contacts", "K")

    def test_ledger_entries_are_applied_after_confirmed_records(self, store: StateStore) -> None:
        # A key both confirmed and ledgered in one batch stays in the ledger.
        store.commit_batch(commit(confirmed=(Confirmed("C1", 5, "z1"),), ledger=(entry("C1", 5),)))
        assert keys_of(store.ledger_list()) == ["C1"]

    def test_empty_batch_changes_nothing(self, store: StateStore) -> None:
        store.commit_batch(commit(ledger=(entry("C1", 1),), watermark=3))
        store.commit_batch(commit())
        assert keys_of(store.ledger_list()) == ["C1"]
        assert store.get_watermark("customers") == 3

    def test_commit_batch_of_many_records(self, store: StateStore) -> None:
        confirmed = tuple(Confirmed(f"C{i:04}", i, f"z{i}") for i in range(250))
        failed = tuple(entry(f"F{i:04}", i, kind="failed", reason="http_503") for i in range(120))
        store.commit_batch(commit(confirmed=confirmed, ledger=failed, watermark=250))
        assert len(store.ids_get("Accounts", [c.key for c in confirmed])) == 250
        assert len(store.ledger_list()) == 120
        assert store.get_watermark("customers") == 250

    # -- atomicity ------------------------------------------------------------------------

    def _state(self, store: StateStore) -> tuple[object, ...]:
        return (
            store.get_watermark("customers"),
            store.ledger_list(),
            store.ids_get("Accounts", ["C1", "C2", "C3", "N1"]),
        )

    def test_failing_batch_writes_nothing(self, store: StateStore) -> None:
        store.commit_batch(
            commit(
                confirmed=(Confirmed("C1", 1, "z1"),),
                ledger=(entry("C2", 4), entry("C3", 4)),
                watermark=10,
            )
        )
        before = self._state(store)
        bad = replace(entry("N2", 12), kind=_Unstorable())  # type: ignore[arg-type]
        with pytest.raises(StateError):
            store.commit_batch(
                commit(
                    confirmed=(Confirmed("C2", 5, "z2"), Confirmed("C1", 1, "z1-new")),
                    ledger=(entry("C3", 11), entry("N1", 11), bad),
                    watermark=12,
                )
            )
        assert self._state(store) == before  # C3 not counted again, C2 not resolved, ...

    def test_unknown_ledger_kind_is_refused_atomically(self, store: StateStore) -> None:
        store.commit_batch(commit(watermark=10))
        bogus = replace(entry("N1", 12), kind="lost")  # type: ignore[arg-type]
        with pytest.raises(StateError):
            store.commit_batch(
                commit(confirmed=(Confirmed("C1", 12, "z"),), ledger=(bogus,), watermark=12)
            )
        assert store.get_watermark("customers") == 10
        assert store.ledger_list() == []
        assert store.ids_get("Accounts", ["C1"]) == {}

    # -- the ledger -----------------------------------------------------------------------

    @pytest.fixture
    def filled(self, store: StateStore) -> StateStore:
        store.commit_batch(
            commit(
                ledger=(
                    entry("B", 30, kind="rejected", reason="missing_trader_id"),
                    entry("A", 30, kind="failed", reason="http_503"),
                    entry("C", 10, kind="refused", reason="INVALID_DATA"),
                    entry("D", 20, kind="waiting_parent", reason="affiliate_missing"),
                )
            )
        )
        store.commit_batch(
            commit(
                stream="contacts",
                module="Contacts",
                ledger=(
                    entry("A", 15, stream="contacts", kind="waiting_parent", reason="no_account"),
                    entry("E", 40, stream="contacts", kind="failed", reason="http_503"),
                ),
            )
        )
        return store

    def test_ledger_list_oldest_revision_first_then_key(self, filled: StateStore) -> None:
        assert [(e.stream, e.key) for e in filled.ledger_list()] == [
            ("customers", "C"),
            ("contacts", "A"),
            ("customers", "D"),
            ("customers", "A"),
            ("customers", "B"),
            ("contacts", "E"),
        ]
        assert keys_of(filled.ledger_list("customers")) == ["C", "D", "A", "B"]

    @pytest.mark.parametrize(
        ("stream", "kind", "reason", "limit", "expected"),
        [
            ("contacts", None, None, None, ["A", "E"]),
            (None, "failed", None, None, ["A", "E"]),
            ("customers", "failed", None, None, ["A"]),
            (None, None, "http_503", None, ["A", "E"]),
            (None, "waiting_parent", "affiliate_missing", None, ["D"]),
            (None, None, None, 3, ["C", "A", "D"]),
            ("customers", None, None, 2, ["C", "D"]),
            (None, "failed", None, 1, ["A"]),
            (None, None, None, 0, []),
            ("affiliates", None, None, None, []),
            (None, None, "no_such_reason", None, []),
        ],
    )
    def test_ledger_list_filters(
        self,
        filled: StateStore,
        stream: StreamName | None,
        kind: LedgerKind | None,
        reason: str | None,
        limit: int | None,
        expected: list[str],
    ) -> None:
        found = filled.ledger_list(stream, kind=kind, reason=reason, limit=limit)
        assert keys_of(found) == expected

    def test_ledger_counts(self, filled: StateStore) -> None:
        filled.commit_batch(commit(ledger=(entry("F", 50, kind="failed", reason="http_503"),)))
        assert filled.ledger_counts() == {
            ("customers", "rejected", "missing_trader_id"): 1,
            ("customers", "failed", "http_503"): 2,
            ("customers", "refused", "INVALID_DATA"): 1,
            ("customers", "waiting_parent", "affiliate_missing"): 1,
            ("contacts", "waiting_parent", "no_account"): 1,
            ("contacts", "failed", "http_503"): 1,
        }

    def test_ledger_counts_empty(self, store: StateStore) -> None:
        assert store.ledger_counts() == {}

    def test_every_declared_stream_is_listed_and_keeps_its_watermark(
        self, open_store: OpenStore
    ) -> None:
        """Quotes and products too: a store must not know streams by a list of its own."""
        store = open_store()
        for n, name in enumerate(STREAM_NAMES):
            store.commit_batch(
                commit(stream=name, module="", ledger=(entry(f"K{n}", n, stream=name),))
            )
        store.commit_batch(commit(stream="quotes", module="Quotes", watermark=42))
        assert {e.stream for e in store.ledger_list()} == set(STREAM_NAMES)
        assert {g[0] for g in store.ledger_counts()} == set(STREAM_NAMES)
        assert store.get_watermark("quotes") == 42
        store.close()
        again = open_store()  # a fresh store reads what the first one wrote
        assert {e.stream for e in again.ledger_list()} == set(STREAM_NAMES)
        assert again.get_watermark("quotes") == 42

    def _requested(self, store: StateStore) -> set[tuple[str, str]]:
        return {(e.stream, e.key) for e in store.ledger_list() if e.retry_requested}

    def test_request_retry_of_one_stream(self, filled: StateStore) -> None:
        assert filled.ledger_request_retry("contacts", None) == 2
        assert self._requested(filled) == {("contacts", "A"), ("contacts", "E")}

    def test_request_retry_of_everything(self, filled: StateStore) -> None:
        assert filled.ledger_request_retry(None, None) == 6
        assert len(self._requested(filled)) == 6

    def test_request_retry_of_some_keys(self, filled: StateStore) -> None:
        assert filled.ledger_request_retry("customers", ["A", "C", "A", "nope"]) == 2
        assert self._requested(filled) == {("customers", "A"), ("customers", "C")}

    def test_request_retry_of_keys_in_every_stream(self, filled: StateStore) -> None:
        assert filled.ledger_request_retry(None, iter(["A"])) == 2
        assert self._requested(filled) == {("customers", "A"), ("contacts", "A")}

    def test_request_retry_of_nothing(self, filled: StateStore) -> None:
        assert filled.ledger_request_retry("customers", []) == 0
        assert filled.ledger_request_retry("affiliates", None) == 0
        assert self._requested(filled) == set()

    def test_ledger_drop(self, filled: StateStore) -> None:
        assert filled.ledger_drop("customers", "A") is True
        assert filled.ledger_drop("customers", "A") is False
        assert filled.ledger_drop("affiliates", "E") is False
        assert ("contacts", "A") in {(e.stream, e.key) for e in filled.ledger_list()}
        assert "A" not in keys_of(filled.ledger_list("customers"))

    # -- the id cache ---------------------------------------------------------------------

    def test_ids_put_get_evict(self, store: StateStore) -> None:
        store.ids_put("Accounts", {"T1": "z1", "T2": "z2", "T3": "z3"})
        store.ids_put("Contacts", {"T1": "c1"})
        store.ids_put("Accounts", {"T2": "z2-new"})
        assert store.ids_get("Accounts", ["T1", "T2", "T9"]) == {"T1": "z1", "T2": "z2-new"}
        store.ids_evict("Accounts", ["T1", "T9"])
        assert store.ids_get("Accounts", iter(["T1", "T2", "T3"])) == {
            "T2": "z2-new",
            "T3": "z3",
        }
        assert store.ids_get("Contacts", ["T1"]) == {"T1": "c1"}

    def test_ids_with_no_keys(self, store: StateStore) -> None:
        store.ids_put("Accounts", {})
        store.ids_evict("Accounts", [])
        assert store.ids_get("Accounts", []) == {}

    def test_ids_many_keys_in_one_call(self, store: StateStore) -> None:
        # More than 1,000 keys: backends with a limit per query must split the list.
        ids = {f"T{i:05}": f"z{i}" for i in range(1100)}
        store.ids_put("Accounts", ids)
        assert store.ids_get("Accounts", [*ids, "missing"]) == ids
        store.ids_evict("Accounts", list(ids)[:1050])
        assert store.ids_get("Accounts", ids) == dict(list(ids.items())[1050:])

    # -- the run lock ---------------------------------------------------------------------

    def test_lock_is_exclusive(self, store: StateStore, clock: FakeClock) -> None:
        store.acquire_lock("run-a", ttl_s=900)
        with pytest.raises(LockHeldError) as raised:
            store.acquire_lock("run-b", ttl_s=900)
        assert raised.value.holder == "run-a"
        assert raised.value.expires_at == clock.now + 900
        assert raised.value.exit_code == 75

    def test_lock_is_shared_by_stores_on_the_same_storage(
        self, open_store: OpenStore, clock: FakeClock
    ) -> None:
        first, second = open_store(), open_store()
        first.acquire_lock("run-a", ttl_s=900)
        with pytest.raises(LockHeldError):
            second.acquire_lock("run-b", ttl_s=900)
        first.release_lock("run-a")
        second.acquire_lock("run-b", ttl_s=900)
        with pytest.raises(LockHeldError) as raised:
            first.acquire_lock("run-a", ttl_s=900)
        assert raised.value.holder == "run-b"

    def test_acquiring_again_refreshes_own_lock(self, store: StateStore, clock: FakeClock) -> None:
        store.acquire_lock("run-a", ttl_s=100)
        clock.advance(80)
        store.acquire_lock("run-a", ttl_s=100)
        clock.advance(80)  # past the first expiry, within the second
        with pytest.raises(LockHeldError) as raised:
            store.acquire_lock("run-b", ttl_s=100)
        assert raised.value.expires_at == T0 + 180

    def test_expired_lock_is_taken_over(self, store: StateStore, clock: FakeClock) -> None:
        store.acquire_lock("killed-run", ttl_s=900)
        clock.advance(901)
        store.acquire_lock("run-b", ttl_s=900)
        with pytest.raises(LockHeldError) as raised:
            store.acquire_lock("killed-run", ttl_s=900)
        assert raised.value.holder == "run-b"

    def test_lock_with_ttl_in_the_past_is_free(self, store: StateStore) -> None:
        store.acquire_lock("run-a", ttl_s=-1)
        store.acquire_lock("run-b", ttl_s=60)

    def test_refresh_extends_the_lock(self, store: StateStore, clock: FakeClock) -> None:
        store.acquire_lock("run-a", ttl_s=100)
        clock.advance(90)
        store.refresh_lock("run-a", ttl_s=100)
        clock.advance(90)
        with pytest.raises(LockHeldError) as raised:
            store.acquire_lock("run-b", ttl_s=100)
        assert raised.value.expires_at == T0 + 190

    def test_refresh_by_a_non_holder_raises(self, store: StateStore) -> None:
        store.acquire_lock("run-a", ttl_s=100)
        with pytest.raises(LockHeldError) as raised:
            store.refresh_lock("run-b", ttl_s=100)
        assert raised.value.holder == "run-a"

    def test_refresh_after_takeover_raises(self, store: StateStore, clock: FakeClock) -> None:
        store.acquire_lock("slow-run", ttl_s=100)
        clock.advance(101)
        store.acquire_lock("run-b", ttl_s=100)
        with pytest.raises(LockHeldError) as raised:
            store.refresh_lock("slow-run", ttl_s=100)
        assert raised.value.holder == "run-b"

    def test_refresh_of_own_expired_lock_nobody_took(
        self, store: StateStore, clock: FakeClock
    ) -> None:
        store.acquire_lock("slow-run", ttl_s=100)
        clock.advance(150)
        store.refresh_lock("slow-run", ttl_s=100)
        with pytest.raises(LockHeldError):
            store.acquire_lock("run-b", ttl_s=100)

    def test_refresh_of_a_free_lock_takes_it(self, store: StateStore) -> None:
        store.refresh_lock("run-a", ttl_s=100)
        with pytest.raises(LockHeldError) as raised:
            store.acquire_lock("run-b", ttl_s=100)
        assert raised.value.holder == "run-a"

    def test_release_by_a_non_holder_does_nothing(self, store: StateStore) -> None:
        store.acquire_lock("run-a", ttl_s=100)
        store.release_lock("run-b")
        with pytest.raises(LockHeldError):
            store.acquire_lock("run-b", ttl_s=100)
        store.release_lock("run-a")
        store.release_lock("run-a")  # twice is fine
        store.acquire_lock("run-b", ttl_s=100)

    # -- run history ----------------------------------------------------------------------

    def test_run_started_then_finished(self, store: StateStore) -> None:
        store.run_started("r1", T0)
        started = store.run("r1")
        assert started is not None
        assert (started.status, started.started_at, started.finished_at) == ("running", T0, None)
        assert started.report == {}
        report: dict[str, object] = {
            "status": "partial",
            "watermark_after": 120,
            "customers": {"fetched": 10, "failed": 1},
            "ratio": 0.5,
            "names": ["Ωμέγα", None, True],
        }
        store.run_finished("r1", T0 + 12.5, report)
        finished = store.run("r1")
        assert finished is not None
        assert (finished.run_id, finished.status) == ("r1", "partial")
        assert (finished.started_at, finished.finished_at) == (T0, T0 + 12.5)
        assert finished.report == report

    def test_unknown_run_is_none(self, store: StateStore) -> None:
        assert store.run("nope") is None
        assert store.runs() == []

    def test_runs_newest_first_with_limit(self, store: StateStore) -> None:
        for i in range(5):
            store.run_started(f"r{i}", T0 + i * 7200)
        store.run_finished("r1", T0 + 7300, {"status": "ok"})
        assert [r.run_id for r in store.runs()] == ["r4", "r3", "r2", "r1", "r0"]
        assert [r.run_id for r in store.runs(limit=2)] == ["r4", "r3"]
        assert store.runs()[3].status == "ok"
        assert {r.status for i, r in enumerate(store.runs()) if i != 3} == {"running"}

    # -- data-quality warnings per run ----------------------------------------------------

    def test_warnings_are_kept_per_run_in_order_and_filtered(self, store: StateStore) -> None:
        store.run_started("r1", T0)
        store.run_started("r2", T0 + 10)
        first = [
            WarningRecord("customers", "C1", 5, "Credit_Limit", "invalid_number", "n/a", "BALANCE"),
            WarningRecord("contacts", "K1", 6, "Last_Name", "last_name_fallback", "Μαρία", "d"),
        ]
        many = [
            WarningRecord("customers", f"C{i:03d}", i, "Account_Name", "name_truncated", "Ω" * 120)
            for i in range(250)
        ]
        store.warnings_add("r1", first)
        store.warnings_add("r1", many)
        store.warnings_add("r1", [])
        store.warnings_add(
            "r2", [WarningRecord("affiliates", "A1", 1, "Account_AFM", "invalid_tin")]
        )
        assert store.warnings_list("r1") == [*first, *many]
        assert store.warnings_list("r1", stream="contacts") == first[1:]
        assert store.warnings_list("r1", reason="name_truncated", limit=3) == many[:3]
        assert store.warnings_list("r1", stream="contacts", reason="name_truncated") == []
        assert [w.key for w in store.warnings_list("r2")] == ["A1"]
        assert store.warnings_list("unknown") == []

    def test_warnings_of_old_runs_are_pruned(self, store: StateStore) -> None:
        total = WARNING_RUNS_KEPT + 2
        for i in range(total):
            store.run_started(f"r{i:03d}", T0 + i)
            warning = WarningRecord("customers", f"C{i}", i, "Watt", "invalid_number", "-")
            store.warnings_add(f"r{i:03d}", [warning])
        kept = [i for i in range(total) if store.warnings_list(f"r{i:03d}")]
        assert kept == list(range(2, total))

    def test_meta_entries(self, open_store: OpenStore) -> None:
        first = open_store()
        assert first.meta_get("rules") is None
        first.meta_put("rules", "v1")
        first.meta_put("rules", "v2;decimal=comma")
        first.meta_put("other", "x")
        first.close()
        second = open_store()
        assert second.meta_get("rules") == "v2;decimal=comma"
        assert second.meta_get("other") == "x"

    # -- persistence ----------------------------------------------------------------------

    def test_everything_survives_reopening(self, open_store: OpenStore) -> None:
        first = open_store()
        first.kv_put("galaxy.session", "sid")
        first.commit_batch(
            commit(confirmed=(Confirmed("C1", 3, "z1"),), ledger=(entry("C2", 4),), watermark=4)
        )
        first.acquire_lock("run-a", ttl_s=900)
        first.run_started("r1", T0)
        first.run_finished("r1", T0 + 1, {"status": "ok"})
        first.close()
        first.close()  # closing twice is harmless

        second = open_store()
        assert second.kv_get("galaxy.session") == "sid"
        assert second.get_watermark("customers") == 4
        assert keys_of(second.ledger_list()) == ["C2"]
        assert second.ids_get("Accounts", ["C1"]) == {"C1": "z1"}
        with pytest.raises(LockHeldError):
            second.acquire_lock("run-b", ttl_s=900)
        run = second.run("r1")
        assert run is not None
        assert run.status == "ok"

    # -- a model of commit_batch ------------------------------------------------------------

    def test_commit_batch_matches_a_model(self, store: StateStore) -> None:
        # Defined per call so a subclass's `model_examples` applies; the examples share the
        # store and each starts by clearing what the previous one left.
        @settings(max_examples=self.model_examples, deadline=None, derandomize=True)
        @given(batches=_BATCHES)
        def check(batches: list[_Batch]) -> None:
            for key in "abcd":
                store.ledger_drop("customers", key)
            store.ids_evict("Accounts", "abcd")
            store.set_watermark("customers", 0)
            ledger: dict[str, tuple[int, int]] = {}  # key -> (rev, attempts)
            ids: dict[str, str] = {}
            watermark = 0
            for n, (confirmed, failed, mark) in enumerate(batches):
                store.commit_batch(
                    commit(
                        confirmed=tuple(Confirmed(k, r, f"z{n}") for k, r in confirmed),
                        ledger=tuple(entry(k, r) for k, r in failed),
                        watermark=mark,
                    )
                )
                for k, r in confirmed:
                    ids[k] = f"z{n}"
                    if k in ledger and ledger[k][0] <= r:
                        del ledger[k]
                for k, r in failed:
                    ledger[k] = (r, ledger[k][1] + 1 if k in ledger else 1)
                watermark = max(watermark, mark or 0)
            expected = sorted((rev, k, attempts) for k, (rev, attempts) in ledger.items())
            assert [(e.rev, e.key, e.attempts) for e in store.ledger_list()] == expected
            assert store.ids_get("Accounts", "abcd") == ids
            assert store.get_watermark("customers") == watermark

        check()
