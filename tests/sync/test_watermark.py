"""Where a watermark may move: never onto a revision a row still to process shares."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gzsync.sync.writer import watermark_below


@given(max_rev=st.integers(1, 10_000), next_rev=st.none() | st.integers(1, 10_000))
def test_the_watermark_stays_below_the_next_unprocessed_revision(
    max_rev: int, next_rev: int | None
) -> None:
    mark = watermark_below(max_rev, next_rev)
    assert mark <= max_rev
    if next_rev is None or next_rev > max_rev:
        assert mark == max_rev  # nothing shares the batch's last revision
    else:
        assert mark < next_rev  # the next read (> mark) returns that revision again
