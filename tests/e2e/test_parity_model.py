"""The end-state check models linking on its own: a sync whose linking is broken on purpose
fails it, and its model agrees with the sync's rule wherever the rule is right."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.e2e.helpers import Env, assert_parity, parity, sync

from gzsync.mapping import records, tables
from gzsync.mapping.records import Mapped
from gzsync.mapping.rules import DEFAULT_RULES
from gzsync.mapping.tables import FieldRule
from gzsync.sandbox.parity import _expected_links
from gzsync.sync import linking
from gzsync.sync.linking import link_affiliates


def test_a_linking_regression_fails_the_check(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # A regression inside the sync's linking module (every caller of link_affiliates gets
    # it): no affiliate row finds its card holder. A check that linked through the same
    # module would expect no links either, and pass.
    monkeypatch.setattr(linking, "owner_of", lambda affiliate, holders: None)
    sync(env)
    result = parity(env)
    assert not result.ok
    assert len(result.wrong_links) > 10
    assert all(".Affiliate_To: zoho=None" in w for w in result.wrong_links)
    monkeypatch.undo()
    sync(env, since_rev=0)  # the sync's own rule repairs it, and the check agrees
    assert_parity(env)


affiliate_rows = st.lists(
    st.tuples(
        st.sampled_from(["A1", "A2", "A3", "A4"]),
        st.integers(1, 4),
        st.sampled_from([None, "C1", "C2", "C3"]),
    ),
    max_size=12,
)
holders = st.dictionaries(
    st.integers(1, 4),
    st.lists(st.sampled_from(["C1", "C2", "C3"]), min_size=1, max_size=3, unique=True),
)


@given(holders=holders, rows=affiliate_rows)
def test_the_model_agrees_with_the_sync_s_rule(
    holders: dict[int, list[str]], rows: list[tuple[str, int, str | None]]
) -> None:
    mapped = [Mapped(key, rev, {"Trader_ID": key}, parent_key=p) for key, rev, p in rows]
    plan = link_affiliates(holders, mapped)
    expected, links = _expected_links(holders, mapped)
    assert links == plan.links
    assert {k: (a.rev, a.parent_key) for k, a in expected.items()} == {
        a.key: (a.rev, a.parent_key) for a in plan.affiliates
    }


def test_a_mapping_regression_fails_the_check(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # The mapping reads BALANCE and MAXBALANCE the wrong way round and loses SALESNAME: the
    # expected payloads come from that same mapping, so only the check's own table sees it.
    def broken(rule: FieldRule) -> FieldRule:
        swap = {"BALANCE": "MAXBALANCE", "MAXBALANCE": "BALANCE"}
        return replace(rule, sources=tuple(swap.get(c, c) for c in rule.sources))

    fields = tuple(broken(f) for f in tables.CUSTOMER.fields if f.zoho_field != "SALESNAME")
    table = replace(tables.CUSTOMER, fields=fields)
    monkeypatch.setattr(records, "_CUSTOMER_PLAN", records._plan(table, DEFAULT_RULES))
    sync(env, entities=("accounts",))
    result = parity(env, contacts=False)
    assert not result.ok
    wrong = {m.split(":")[0].split(".")[1] for m in result.mismatched}
    assert {"Credit_Limit", "Open_Balance", "SALESNAME"} <= wrong
    assert result.plain_checked > 0
