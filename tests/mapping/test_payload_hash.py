"""payload_hash: order-independent, blind to Rev_Number, sensitive to every other field."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from gzsync.mapping.payload_hash import payload_hash

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.builds(lambda i: {"id": i}, st.text(min_size=1, max_size=19)),
)
names = st.text(min_size=1, max_size=20).filter(lambda n: n != "Rev_Number")
payloads = st.dictionaries(names, values, max_size=12)


@given(payloads, st.randoms(use_true_random=False))
def test_key_order_does_not_matter(payload: dict[str, Any], rnd: random.Random) -> None:
    items = list(payload.items())
    rnd.shuffle(items)
    assert payload_hash(dict(items)) == payload_hash(payload)


@given(payloads, st.integers(0, 10**9), st.integers(0, 10**9))
def test_rev_number_is_ignored(payload: dict[str, Any], rev1: int, rev2: int) -> None:
    assert payload_hash({**payload, "Rev_Number": rev1}) == payload_hash(
        {"Rev_Number": rev2, **payload}
    )
    assert payload_hash({**payload, "Rev_Number": rev1}) == payload_hash(payload)


def _same(a: Any, b: Any) -> bool:
    """Equal as Zoho would hold them (1 == 1.0, but True is not 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b) and (a is None) == (b is None)


@given(payloads, names, values, values)
def test_any_other_field_change_changes_it(
    payload: dict[str, Any], field: str, before: Any, after: Any
) -> None:
    assume(not _same(before, after))
    assert payload_hash({**payload, field: before}) != payload_hash({**payload, field: after})


@given(payloads, names, values)
def test_a_field_added_or_removed_changes_it(
    payload: dict[str, Any], field: str, value: Any
) -> None:
    assume(field not in payload)
    assert payload_hash({**payload, field: value}) != payload_hash(payload)


def test_examples() -> None:
    base = {"Trader_ID": "T1", "Account_Name": "Café", "Credit_Limit": 100.0, "Rev_Number": 7}
    assert payload_hash(base) == payload_hash({**base, "Credit_Limit": 100, "Rev_Number": 8})
    assert payload_hash(base) != payload_hash({**base, "Account_Name": "Cafe"})
    assert payload_hash({"Affiliate_To": {"id": "1"}}) != payload_hash({"Affiliate_To": None})
    assert payload_hash({"Phone": None}) != payload_hash({})
    assert len(payload_hash(base)) == 32
