"""The offer spool keeps the rule of the in-memory dict it replaced: per key the highest
revision, on a tie the later row; blocks in (revision, key) order; a limit is a plain cut."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gzsync.mapping.quotes import MappedQuote
from gzsync.mapping.records import Rejected
from gzsync.mapping.warnings import FieldWarning
from gzsync.sync.offer_spool import OfferSpool

Offer = MappedQuote | Rejected

rows = st.lists(
    st.tuples(st.sampled_from([f"K{i}" for i in range(25)]), st.integers(0, 30), st.booleans()),
    max_size=150,
)


def _offer(key: str, rev: int, good: bool, n: int) -> Offer:
    if not good:
        return Rejected(key, rev, "invalid_revision", "Rev_Number", f"row {n}")
    return MappedQuote(
        key,
        key.lower(),
        rev,
        {"ERP_ID_Offer": key, "Rev_Number": rev, "Grand_Total": n + 0.5, "Valid_Till": None},
        f"T{n}" if n % 2 else None,
        None if n % 3 else "094000000",
        (FieldWarning("Subject", "subject_from_id", key, "no TRADENUM"),) if n % 4 else (),
    )


@settings(max_examples=40, deadline=None)
@given(rows=rows, size=st.integers(1, 7), limit=st.none() | st.integers(1, 40))
def test_blocks_hold_what_the_dict_held_in_revision_order(
    rows: list[tuple[str, int, bool]], size: int, limit: int | None
) -> None:
    offers = [_offer(key, rev, good, n) for n, (key, rev, good) in enumerate(rows)]
    expected: dict[str, Offer] = {}
    for item in offers:  # the rule read_quotes kept in memory before
        known = expected.get(item.key)
        if known is None or known.rev <= item.rev:
            expected[item.key] = item
    ordered = sorted(expected.values(), key=lambda o: (o.rev, o.key))
    with OfferSpool() as spool:
        for item in offers:
            spool.add(item)
        blocks = list(spool.blocks(size, limit))
        assert all(0 < len(b) <= size for b in blocks)
        assert [o for b in blocks for o in b] == ordered[:limit]
        assert spool.count() == len(ordered)
        wanted = {"K1", "K2", "NOPE"}
        assert spool.revisions(wanted) == {k: o.rev for k, o in expected.items() if k in wanted}


def test_the_file_is_gone_once_closed() -> None:
    spool = OfferSpool()
    spool.add(_offer("A", 1, True, 1))
    folder = spool._dir
    assert [o.key for b in spool.blocks(10) for o in b] == ["A"]
    spool.close()
    assert not folder.exists()
