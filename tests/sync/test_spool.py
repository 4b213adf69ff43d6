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
