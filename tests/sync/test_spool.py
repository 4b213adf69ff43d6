"""The spool's rules, without sandboxes: revision order, one row per key, whole revisions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gzsync.mapping.records import Mapped
from gzsync.sync.spool import Spool

rows = st.lists(
    st.tuples(st.sampled_from([f"K{i}" for i in range(30)]), st.integers(1, 40)), max_size=120
)


@settings(max_examples=40, deadline=None)
@given(rows=rows, limit=st.integers(1, 40))
def test_rows_come_in_revision_order_latest_per_key_and_a_limit_never_splits_a_revision(
    rows: list[tuple[str, int]], limit: int
) -> None:
    with Spool() as spool:
        for key, rev in rows:
            spool.add("customers", Mapped(key, rev, {"Trader_ID": key}))
        latest: dict[str, int] = {}
        for key, rev in rows:
            latest[key] = max(rev, latest.get(key, rev))
        out = [(r.key, r.rev) for r in spool.iter_rows("customers")]
        assert out == sorted(latest.items(), key=lambda kv: (kv[1], kv[0]))
        limited = [r.rev for r in spool.iter_rows("customers", limit)]
        assert limited == [rev for _, rev in out][: len(limited)]
        assert len(limited) >= min(limit, len(out))
        if len(limited) < len(out):  # what was left starts at a new revision
            assert out[len(limited)][1] > limited[-1]


def test_notes_keep_the_last_value_per_kind_and_key_and_answer_only_what_they_hold() -> None:
    with Spool() as spool:
        spool.put_notes("affiliate_id", {"A1": "z1", "A2": "z2"})
        spool.put_notes("affiliate_id", {"A2": "z2b"})  # noted again: the new value
        spool.put_notes("affiliate_last_window", {"A1": "3"})
        spool.put_notes("affiliate_id", {})
        keys = [f"K{i}" for i in range(1200)] + ["A1", "A2", "A3"]  # more than one IN chunk
        assert spool.notes_of("affiliate_id", keys) == {"A1": "z1", "A2": "z2b"}
        assert spool.notes_of("affiliate_last_window", ["A1", "A2"]) == {"A1": "3"}
        assert spool.notes_of("other", ["A1"]) == {}
