"""What `gzsync check` (and the quotes stream) need to know about an org's Quotes, Products
and taxes, from its field metadata and `GET /crm/v8/org/taxes`. Pure functions.

- :func:`upsert_key_kind`: whether a field can be an upsert key. Zoho accepts a field in
  `duplicate_check_fields` only when it is the module's system duplicate-check field, is
  marked unique ("Do not allow duplicate values": metadata `unique` non-empty) or is an
  External ID field (metadata `external` non-empty; upsert treats it as unique).
  `reference/zoho-quotes.md` §4: `Product_Code` is neither by default.
- :func:`tax_problems`: the names of `ZOHO_TAX_NAMES` the org does not have, and rates
  whose org tax has another percentage. Whether Zoho requires line taxes to be org taxes
  is UNCONFIRMED (§3); we require it, which is right under both readings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

__all__ = ["UpsertKeyKind", "tax_problems", "upsert_key_kind"]

UpsertKeyKind = Literal["unique", "external", "not_unique", "missing"]


def upsert_key_kind(fields: Iterable[Mapping[str, Any]], api_name: str) -> UpsertKeyKind:
    """How `api_name` can serve as an upsert key, by the module's field metadata."""
    for spec in fields:
        if spec.get("api_name") != api_name:
            continue
        if spec.get("unique"):
            return "unique"
        if spec.get("external"):
            return "external"
        return "not_unique"
    return "missing"


def tax_problems(table: Mapping[str, str], taxes: Iterable[Mapping[str, Any]]) -> list[str]:
    """One sentence per `ZOHO_TAX_NAMES` entry the org's taxes do not match."""
    by_name = {str(t.get("name")): t for t in taxes if t.get("name") is not None}
    problems = []
    for rate, name in table.items():
        tax = by_name.get(name)
        if tax is None:
            problems.append(f"ZOHO_TAX_NAMES maps {rate}% to {name!r}, which is not an org tax")
            continue
        value = tax.get("value")
        try:
            same = value is None or abs(float(value) - float(str(rate).rstrip("%"))) < 0.05
        except ValueError:
            same = False
        if not same:
            problems.append(f"ZOHO_TAX_NAMES maps {rate}% to {name!r}, whose rate is {value}%")
    return problems
