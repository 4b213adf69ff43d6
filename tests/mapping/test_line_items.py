"""The line-item diff is right under both readings of Zoho's subform semantics.

The two readings are modelled here (reference `zoho-quotes.md` §2): *append* (a row without
id is added, a row with id updates that row, `_delete` removes it, rows not listed stay)
and *replace* (the rows listed are the new content; rows not listed go).
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gzsync.mapping.line_items import diff_line_items, same_line

_ids = itertools.count(1000)

Row = dict[str, Any]


def apply_append(existing: list[Row], items: list[Row]) -> list[Row]:
    rows = [dict(r) for r in existing]
    for item in items:
        if "id" in item and "_delete" in item:
            rows = [r for r in rows if r["id"] != item["id"]]
        elif "id" in item:
            target = next(r for r in rows if r["id"] == item["id"])
            target.update(item)
        else:
            rows.append({**item, "id": str(next(_ids))})
    return rows


def apply_replace(existing: list[Row], items: list[Row]) -> list[Row]:
    by_id = {r["id"]: r for r in existing}
    rows = []
    for item in items:
        if "_delete" in item:
            continue
        if "id" in item:
            rows.append({**by_id[item["id"]], **item})
        else:
            rows.append({**item, "id": str(next(_ids))})
    return rows


def view(rows: list[Row]) -> list[tuple[Any, ...]]:
    return [
        (
            r["Product_Name"]["id"],
            r.get("Quantity"),
            r.get("List_Price"),
            r.get("Discount"),
            r.get("Description"),
            tuple(sorted((t["name"], t["percentage"]) for t in r.get("Line_Tax", []))),
        )
        for r in rows
    ]


line = st.fixed_dictionaries(
    {
        "Product_Name": st.sampled_from(["p1", "p2", "p3", "p4"]).map(lambda p: {"id": p}),
        "Quantity": st.integers(1, 3),
        "List_Price": st.sampled_from([1.5, 10.0, 99.99]),
        "Discount": st.sampled_from([0, 0.5]),
        "Description": st.sampled_from(["a", "b"]),
        "Line_Tax": st.sampled_from(
            [[], [{"name": "VAT 24", "percentage": 24}], [{"name": "VAT 6", "percentage": 6}]]
        ),
    }
)
lines = st.lists(line, max_size=7)


def as_existing(rows: list[Row]) -> list[Row]:
    return [{**r, "id": str(next(_ids)), "Total": 1} for r in rows]


@settings(max_examples=400, deadline=None)
@given(before=lines, after=lines)
def test_diff_gives_the_galaxy_lines_under_both_readings(before: list[Row], after: list[Row]):
    existing = as_existing(before)
    diff = diff_line_items(after, existing)
    for apply in (apply_append, apply_replace):
        # an empty diff is not sent at all: the quote keeps its rows
        result = existing if diff.empty else apply(existing, diff.items)
        assert view(result) == view(after), apply.__name__
        assert len(result) == diff.expected_rows
    if diff.empty:
        assert view(existing) == view(after)


@settings(max_examples=200, deadline=None)
@given(before=lines, after=lines)
def test_a_second_diff_after_applying_is_empty(before: list[Row], after: list[Row]):
    existing = as_existing(before)
    diff = diff_line_items(after, existing)
    for apply in (apply_append, apply_replace):
        result = existing if diff.empty else apply(existing, diff.items)
        assert diff_line_items(after, result).empty


def test_unchanged_lines_send_nothing():
    rows = [{"Product_Name": {"id": "p1"}, "Quantity": 2, "List_Price": 3.0}]
    existing = [{**rows[0], "id": "9", "Product_Name": {"id": "p1", "name": "X"}, "Total": 6}]
    diff = diff_line_items(rows, existing)
    assert diff.empty
    assert diff.kept == 1
    assert diff.expected_rows == 1


def test_duplicated_rows_from_blind_resyncs_are_deleted():
    want = {"Product_Name": {"id": "p1"}, "Quantity": 1}
    existing = [{**want, "id": str(i)} for i in range(5)]  # appended five times
    diff = diff_line_items([want], existing)
    assert diff.items == [{"id": "0"}] + [{"id": str(i), "_delete": None} for i in range(1, 5)]
    assert (diff.kept, diff.deleted, diff.added) == (1, 4, 0)


def test_changed_row_goes_with_its_id_and_a_new_one_without():
    existing = [{"Product_Name": {"id": "p1"}, "Quantity": 1, "id": "7"}]
    want = [{"Product_Name": {"id": "p1"}, "Quantity": 4}, {"Product_Name": {"id": "p2"}}]
    diff = diff_line_items(want, existing)
    assert diff.items == [{"Product_Name": {"id": "p1"}, "Quantity": 4, "id": "7"}, want[1]]
    assert (diff.updated, diff.added) == (1, 1)


def test_percent_strings_and_tax_extras_compare_equal():
    desired = {
        "Product_Name": {"id": "p"},
        "Discount": 5,
        "Line_Tax": [{"name": "V", "percentage": 24}],
    }
    existing = {
        "Product_Name": {"id": "p", "name": "n"},
        "Discount": "5",
        "Line_Tax": [{"name": "V", "percentage": 24.0, "id": "1", "value": 2.4}],
    }
    assert same_line(desired, existing)
    assert not same_line({**desired, "Discount": 6}, existing)
