"""The line-item diff: which `Quoted_Items` rows to send so that a Zoho quote ends up
holding exactly the offer's Galaxy lines, whatever Zoho's subform semantics really are.

Zoho documents *append* for a subform row sent without its `id` and removal only for a
row sent as `{"id": ..., "_delete": null}`; third parties describe *replace* (rows not
listed are deleted). `reference/zoho-quotes.md` §2 marks the truth UNCONFIRMED, so
:func:`diff_line_items` produces an array that gives the same result under both readings:

- every existing row that stays is listed **with its id** (unchanged ones as a bare
  `{"id": ...}`, which changes nothing under append and keeps the row under replace);
- every existing row that goes is listed as `{"id": ..., "_delete": None}`;
- every new row is listed **without** an id (added under both readings);
- rows are listed kept-first in Galaxy order, then new rows, then deletions.

Order. Under append, kept rows keep their place and new rows go to the end; under replace
the rows end up in the order sent. Both give Galaxy's order only when the kept rows form a
*prefix* of the Galaxy lines and sit in Zoho in the same relative order. So the diff keeps
the longest such prefix and sends every later line as a new row (deleting its old match):
a line moved or inserted in the middle costs some deletions and additions, never a wrong
order.

Matching. A desired line and an existing row match by a stable key: the product's Zoho id
plus the occurrence of that product among the quote's lines (the 2nd line of product P
matches the 2nd row of P). Zoho returns both with every row (`Product_Name.id`), so no
custom line field is needed in the org. A match with different values is an update; the
key only decides which row id is reused, the values sent always come from Galaxy.

Nothing to do. When the existing rows already equal the desired lines (same count, order
and values), the diff is empty and the caller sends nothing: re-syncing an unchanged offer
costs no Zoho call for its lines.

Equality of values compares what the sync sends: `Quantity`, `List_Price`, `Discount`
(numbers, to 2 decimals), `Description` (text, None = ""), the product id and the
`Line_Tax` list as (name, percentage) pairs. Fields Zoho computes (`Total`, `Net_Total`,
`Tax` ...) are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LineDiff", "diff_line_items", "line_key", "same_line"]

#: The row fields the sync writes and compares (besides `Product_Name` and `Line_Tax`).
NUMBER_FIELDS = ("Quantity", "List_Price", "Discount")
TEXT_FIELDS = ("Description",)


@dataclass(frozen=True, slots=True)
class LineDiff:
    """What to send for one quote's `Quoted_Items`; empty `items` means send nothing."""

    items: list[dict[str, Any]] = field(default_factory=list)
    kept: int = 0  # existing rows left as they are (listed as a bare id)
    updated: int = 0  # existing rows sent with their id and new values
    added: int = 0  # rows sent without id
    deleted: int = 0  # rows sent with `_delete`
    expected_rows: int = 0  # how many rows the quote holds afterwards (check it)

    @property
    def empty(self) -> bool:
        return not self.items


def _product_id(row: Mapping[str, Any]) -> str | None:
    product = row.get("Product_Name")
    if isinstance(product, Mapping):
        pid = product.get("id")
        return None if pid is None else str(pid)
    return None


def line_key(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str | None, int]]:
    """The stable key of each row: (product id, occurrence of that product so far)."""
    seen: dict[str | None, int] = {}
    keys = []
    for row in rows:
        pid = _product_id(row)
        seen[pid] = seen.get(pid, 0) + 1
        keys.append((pid, seen[pid]))
    return keys


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return round(float(value), 2)
    try:
        return round(float(str(value).strip().rstrip("%")), 2)
    except ValueError:
        return None


def _taxes(value: Any) -> list[tuple[str, float | None]]:
    if not isinstance(value, list):
        return []
    out = []
    for tax in value:
        if isinstance(tax, Mapping):
            out.append((str(tax.get("name") or ""), _num(tax.get("percentage"))))
    return sorted(out)


def same_line(desired: Mapping[str, Any], existing: Mapping[str, Any]) -> bool:
    """Whether an existing Zoho row already holds what `desired` would write."""
    if _product_id(desired) != _product_id(existing):
        return False
    for name in NUMBER_FIELDS:
        if name in desired and _num(desired.get(name)) != _num(existing.get(name)):
            return False
    for name in TEXT_FIELDS:
        if name in desired and (desired.get(name) or "") != (existing.get(name) or ""):
            return False
    return "Line_Tax" not in desired or _taxes(desired.get("Line_Tax")) == _taxes(
        existing.get("Line_Tax")
    )


def diff_line_items(
    desired: Sequence[Mapping[str, Any]], existing: Sequence[Mapping[str, Any]]
) -> LineDiff:
    """The `Quoted_Items` array turning `existing` (rows with `id`, from a single-record GET,
    in Zoho's order) into `desired` (rows without `id`, in Galaxy order) under both the
    append and the replace reading. See the module docstring."""
    existing_ids = [str(row["id"]) for row in existing]
    position = {key: i for i, key in enumerate(line_key(existing))}
    matches: list[int | None] = [position.get(key) for key in line_key(desired)]

    # The longest prefix of desired lines matched to existing rows in increasing order.
    prefix, last = 0, -1
    for match in matches:
        if match is None or match <= last:
            break
        prefix, last = prefix + 1, match

    kept_rows: list[dict[str, Any]] = []
    kept = updated = 0
    used: set[int] = set()
    for i in range(prefix):
        match = matches[i]
        assert match is not None
        used.add(match)
        if same_line(desired[i], existing[match]):
            kept_rows.append({"id": existing_ids[match]})
            kept += 1
        else:
            kept_rows.append({**desired[i], "id": existing_ids[match]})
            updated += 1
    new_rows = [{k: v for k, v in row.items() if k != "id"} for row in desired[prefix:]]
    deletions = [
        {"id": existing_ids[j], "_delete": None} for j in range(len(existing)) if j not in used
    ]
    if not updated and not new_rows and not deletions:
        return LineDiff(kept=kept, expected_rows=len(desired))
    return LineDiff(
        items=kept_rows + new_rows + deletions,
        kept=kept,
        updated=updated,
        added=len(new_rows),
        deleted=len(deletions),
        expected_rows=len(desired),
    )
