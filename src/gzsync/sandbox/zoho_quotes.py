"""The Zoho sandbox's inventory modules: **Quotes** (with their `Quoted_Items` line items)
and **Products**, faithful to `reference/zoho-quotes.md`, plus the org's taxes.

Routes (registered before the generic ones of `gzsync.sandbox.zoho`, which they shadow for
these modules only; every API call goes through the same faults, auth, limits and
credits path, `zoho._serve_api`):

    POST   /crm/v8/{Quotes|Products}/upsert     at most 100; calls `upsert`, `upsert:<M>`
    POST   /crm/v8/{Quotes|Products}            insert; call `insert`
    PUT    /crm/v8/{Quotes|Products}            update by `id` in each record (≤ 100); `update`
    PUT    /crm/v8/{Quotes|Products}/{id}       update one; `update`
    GET    /crm/v8/{Quotes|Products}/{id}       one record, **with** `Quoted_Items`; `records`
    GET    /crm/v8/{Quotes|Products}?fields=    list, never with `Quoted_Items`; `records`
    DELETE /crm/v8/{Quotes|Products}?ids=       `delete`
    POST   /crm/v8/coql                         over these modules too (no line items)
    GET    /crm/v8/settings/fields?module=      also Quotes, Products, Quoted_Items
    GET    /crm/v8/org/taxes                    the org's taxes; call `taxes`
    GET|DELETE /__sandbox/records/{Quotes|Products}   every record, line items included
    POST   /__sandbox/inventory                 `{"product_code": "unique"|"external"|"plain",
                                                  "line_items": "append"|"replace",
                                                  "rows_per_get": N | null}`

Facts followed (reference sections):

- §1 `Subject` and `Quoted_Items` are mandatory on insert (missing → `MANDATORY_NOT_FOUND`
  with `api_name`); `Account_Name` is not. The system duplicate-check field of Quotes is
  `Subject`, of Products `Product_Name` (§2, §4): checked only when listed in
  `duplicate_check_fields` or when the list is absent, like the other modules.
- §4 `Product_Code` is a duplicate-check field only when it is marked unique or is an
  External ID field. `product_code` chooses the org: `unique` (default; field metadata
  `unique: {"casesensitive": "false"}`), `external` (metadata `external: {"show": true,
  "type": "org"}`; upsert treats it as unique) or `plain` (listing it in
  `duplicate_check_fields` is 400 `INVALID_DATA`, as for any non-unique field).
- §2 Line items on update (upsert that matched, `PUT`): with `line_items="append"` (the
  default, Zoho's documented behaviour) a row without `id` is **added**, a row with `id`
  updates that row, `{"id": ..., "_delete": null}` removes it and rows not sent stay. With
  `line_items="replace"` (the third parties' reading) the rows sent become the quote's
  rows: rows with `id` keep their id and take the values sent, rows without are new,
  rows not sent are gone. An unknown row id is `INVALID_DATA` (`json_path` of the row). A
  quote left without rows, or sent `Quoted_Items: []`, is `MANDATORY_NOT_FOUND` (the
  subform is mandatory; the reference leaves it UNCONFIRMED, refusing is the strict side).
- §5 Line items are returned **only** by the single-record GET, each with its `id`,
  `Product_Name {name, id, Product_Code}`, `Quantity`, `List_Price`, `Discount`,
  `Description`, `Line_Tax`, `Sequence_Number` and the computed `Total`,
  `Total_After_Discount`, `Tax`, `Net_Total`. Upsert and update results carry no row ids.
- §3 `Line_Tax` items are `{name, percentage}`; a name that is not one of the org's taxes is
  `INVALID_DATA` (whether Zoho requires this is UNCONFIRMED: refusing is the strict side).
  Returned items carry `id`, `value` and `display_name` too. The org's taxes (`GET
  /crm/v8/org/taxes`, SDK 8.0 `taxes_operations`): `{"taxes": [{"id", "name",
  "display_label", "value", "sequence_number"}]}`, by default VAT 0 %, 6 %, 13 %, 24 %
  (`ZohoInventory.taxes` can be changed by tests).
- Computed row values: `Total = Quantity × List_Price`, `Total_After_Discount = Total −
  Discount` (a `"5%"` string is a percentage of `Total`; UNCONFIRMED, §1),
  `Tax = Total_After_Discount × Σ percentages`, `Net_Total` their sum.
- Not modelled: price books, `$line_tax` at record level, layouts, a row limit per quote
  (none is documented for `Quoted_Items`), Products' `Tax` field (its v8 input form is
  UNCONFIRMED, §4: the sandbox ignores it, as an unknown field).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gzsync.sandbox.zoho_records import CrmStore, UpsertOutcome, stamped, upsert_success

if TYPE_CHECKING:
    from gzsync.sandbox.zoho import Prepared, ZohoState

INVENTORY_MODULES = ("Quotes", "Products")
LINE_ITEMS = "Quoted_Items"
MAX_RECORDS = 100
SYSTEM_DUPLICATE_FIELD = {"Quotes": "Subject", "Products": "Product_Name"}

ProductCodeMode = Literal["unique", "external", "plain"]
LineItemMode = Literal["append", "replace"]

Record = dict[str, Any]
Endpoint = Callable[[Request], Awaitable[Response]]
ModulePreparer = Callable[[Request, "ZohoState", str], Awaitable["Prepared | Response"]]


@dataclass(frozen=True, slots=True)
class Field:
    """A field of an inventory module (or of a `Quoted_Items` row)."""

    api_name: str
    data_type: str  # text textarea picklist date integer double currency boolean lookup
    length: int = 255  # subform (`Quoted_Items`) and computed / read-only fields
    mandatory: bool = False
    unique: bool = False
    custom: bool = False
    lookup_module: str | None = None
    read_only: bool = False


_JSON_TYPES = {
    "text": "string",
    "textarea": "string",
    "picklist": "string",
    "date": "string",
    "datetime": "string",
    "integer": "integer",
    "double": "double",
    "currency": "double",
    "boolean": "boolean",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
    "subform": "jsonarray",
    "jsonarray": "jsonarray",
}

_SYSTEM = (
    Field("Created_Time", "datetime", 0, read_only=True),
    Field("Modified_Time", "datetime", 0, read_only=True),
    Field("Created_By", "ownerlookup", 0, read_only=True),
    Field("Modified_By", "ownerlookup", 0, read_only=True),
)

FIELDS: dict[str, tuple[Field, ...]] = {
    "Products": (
        Field("Product_Name", "text", 255, mandatory=True),
        Field("Product_Code", "text", 255),  # unique / external per the org (see above)
        Field("Unit_Price", "currency", 16),
        Field("Taxable", "boolean", 0),
        Field("Product_Active", "boolean", 0),
        Field("Description", "textarea", 32000),
        Field("Qty_in_Stock", "double", 16),
        Field("Usage_Unit", "picklist", 120),
        *_SYSTEM,
    ),
    "Quotes": (
        Field("Subject", "text", 255, mandatory=True),
        Field(LINE_ITEMS, "subform", 0, mandatory=True),
        Field("Account_Name", "lookup", 0, lookup_module="Accounts"),
        Field("Quote_Stage", "picklist", 120),
        Field("Valid_Till", "date", 0),
        Field("ERP_ID_Offer", "text", 255, unique=True, custom=True),
        Field("ERP_Offer_Number", "text", 255, custom=True),
        Field("Rev_Number", "integer", 9, custom=True),
        Field("Service_Store", "text", 255, custom=True),
        Field("Products_Quantity", "double", 16, custom=True),
        Field("ERP_Total_Amount", "currency", 16, custom=True),
        Field("Offer_Valid", "text", 255, custom=True),
        Field("Quote_Date", "date", 0, custom=True),
        Field("Payment_Terms", "text", 255, custom=True),
        Field("Description", "textarea", 32000),
        Field("Sub_Total", "currency", 16, read_only=True),
        Field("Grand_Total", "currency", 16, read_only=True),
        Field("Quote_Number", "text", 255, read_only=True),
        *_SYSTEM,
    ),
    LINE_ITEMS: (
        Field("Product_Name", "lookup", 0, mandatory=True, lookup_module="Products"),
        Field("Quantity", "double", 16),
        Field("List_Price", "currency", 16),
        Field("Discount", "currency", 16),
        Field("Description", "textarea", 2000),
        Field("Line_Tax", "jsonarray", 0),
        Field("Sequence_Number", "integer", 9),
        Field("Total", "currency", 16, read_only=True),
        Field("Total_After_Discount", "currency", 16, read_only=True),
        Field("Tax", "currency", 16, read_only=True),
        Field("Net_Total", "currency", 16, read_only=True),
        Field("Parent_Id", "lookup", 0, read_only=True, lookup_module="Quotes"),
    ),
}

DEFAULT_TAXES = (("VAT 0%", 0.0), ("VAT 6%", 6.0), ("VAT 13%", 13.0), ("VAT 24%", 24.0))
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def _error(code: str, message: str, details: dict[str, Any]) -> Record:
    return {"code": code, "details": details, "message": message, "status": "error"}


def _invalid(name: str, path: str, **extra: Any) -> Record:
    return _error("INVALID_DATA", "invalid data", {**extra, "api_name": name, "json_path": path})


def _mandatory(name: str, path: str) -> Record:
    return _error(
        "MANDATORY_NOT_FOUND", "required field not found", {"api_name": name, "json_path": path}
    )


def _key(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != []


class _Refused(Exception):
    def __init__(self, body: Record) -> None:
        super().__init__(body.get("code"))
        self.body = body


class ZohoInventory:
    """Quotes, Products and taxes of the sandbox org, next to the `CrmStore` (whose lock,
    id counter and Accounts it shares)."""

    def __init__(self, crm: CrmStore) -> None:
        self.crm = crm
        self.product_code: ProductCodeMode = "unique"
        self.line_items: LineItemMode = "append"
        #: rows one single-record GET of a quote returns (None: all, without `$has_more`)
        self.rows_per_get: int | None = None
        self.records: dict[str, dict[str, Record]] = {m: {} for m in INVENTORY_MODULES}
        self._indexes: dict[tuple[str, str], dict[Any, set[str]]] = {}
        base = 5725767000000500000
        self.taxes: list[Record] = [
            {
                "id": str(base + 3 * i),
                "name": name,
                "display_label": name,
                "value": value,
                "sequence_number": i + 1,
            }
            for i, (name, value) in enumerate(DEFAULT_TAXES)
        ]

    # -- metadata ---------------------------------------------------------------------

    def unique_fields(self, module: str) -> list[str]:
        fields = [f.api_name for f in FIELDS[module] if f.unique]
        if module == "Products" and self.product_code != "plain":
            fields.append("Product_Code")
        return fields

    def field_metadata(self, module: str) -> list[Record]:
        base = 5725767000000600000 + 10000 * ("Products", "Quotes", LINE_ITEMS).index(module)
        out = []
        for i, spec in enumerate(FIELDS[module]):
            label = spec.api_name.replace("_", " ")
            unique = spec.unique or (
                module == "Products"
                and spec.api_name == "Product_Code"
                and self.product_code == "unique"
            )
            external = (
                module == "Products"
                and spec.api_name == "Product_Code"
                and self.product_code == "external"
            )
            entry: Record = {
                "api_name": spec.api_name,
                "field_label": label,
                "display_label": label,
                "data_type": spec.data_type,
                "json_type": _JSON_TYPES[spec.data_type],
                "length": spec.length,
                "system_mandatory": spec.mandatory,
                "custom_field": spec.custom,
                "read_only": spec.read_only,
                "field_read_only": spec.read_only,
                "operation_type": {
                    "api_create": not spec.read_only,
                    "api_update": not spec.read_only,
                },
                "id": str(base + i * 3),
                "unique": {"casesensitive": "false"} if unique else {},
                "external": {"show": True, "type": "org", "allow_multiple_config": False}
                if external
                else None,
                "lookup": {},
            }
            if spec.lookup_module is not None:
                entry["lookup"] = {
                    "api_name": spec.lookup_module,
                    "module": {"api_name": spec.lookup_module},
                }
            if spec.data_type == "subform":
                entry["subform"] = {"module": LINE_ITEMS}
            out.append(entry)
        return out

    def tax_names(self) -> dict[str, Record]:
        return {t["name"]: t for t in self.taxes}

    # -- reads ------------------------------------------------------------------------

    def get(self, module: str, record_id: str) -> Record | None:
        with self.crm._lock:
            return self.records[module].get(record_id)

    def iter_records(self, module: str) -> list[Record]:
        with self.crm._lock:
            return list(self.records[module].values())

    def full(self, module: str, record: Record) -> Record:
        """A record as the single-record GET shows it (line items with ids)."""
        out = {k: dict(v) if isinstance(v, dict) else v for k, v in record.items()}
        if isinstance(out.get("Account_Name"), dict):
            account = self.crm.get("Accounts", out["Account_Name"]["id"])
            out["Account_Name"]["name"] = None if account is None else account.get("Account_Name")
        if module == "Quotes":
            out[LINE_ITEMS] = [self._row_view(row) for row in record.get(LINE_ITEMS, [])]
        return out

    def fetched(self, module: str, record: Record) -> Record:
        """A record as `GET /crm/v8/{module}/{id}` answers it: :meth:`full`, with at most
        `rows_per_get` line items and then `$has_more` (reference §5)."""
        out = self.full(module, record)
        limit = self.rows_per_get
        if module == "Quotes" and limit is not None:
            rows = out[LINE_ITEMS]
            out[LINE_ITEMS] = rows[:limit]
            out["$has_more"] = {LINE_ITEMS: len(rows) > limit}
        return out

    def listed(self, record: Record, fields: Iterable[str] | None) -> Record:
        """A record as list reads and COQL show it: never its line items."""
        keys = [k for k in record if k != LINE_ITEMS] if fields is None else ["id", *fields]
        out: Record = {}
        for key in dict.fromkeys(keys):
            if key == LINE_ITEMS:
                continue
            value = record.get(key)
            out[key] = dict(value) if isinstance(value, dict) else value
        return out

    def _row_view(self, row: Record) -> Record:
        out = dict(row)
        product = self.records["Products"].get(row["Product_Name"]["id"], {})
        out["Product_Name"] = {
            "name": product.get("Product_Name"),
            "id": row["Product_Name"]["id"],
            "Product_Code": product.get("Product_Code"),
        }
        taxes = self.tax_names()
        after = out.get("Total_After_Discount") or 0
        out["Line_Tax"] = [
            {
                "percentage": t["percentage"],
                "name": t["name"],
                "id": taxes.get(t["name"], {}).get("id"),
                "value": round(after * t["percentage"] / 100, 2),
                "display_name": t["name"],
            }
            for t in row.get("Line_Tax", [])
        ]
        return out

    # -- writes -----------------------------------------------------------------------

    def check_order(self, module: str, listed: Sequence[Any] | None) -> list[str] | Record:
        """The fields matched on, in order, or the 400 body for a bad listed field."""
        system, uniques = SYSTEM_DUPLICATE_FIELD[module], self.unique_fields(module)
        if not listed:
            return [system, *uniques]
        order: list[str] = []
        for i, name in enumerate(listed):
            if not isinstance(name, str) or name not in (system, *uniques):
                return _invalid(str(name), f"$.duplicate_check_fields[{i}]")
            if name not in order:
                order.append(name)
        return order + [f for f in uniques if f not in order]

    def find(self, module: str, name: str, value: Any) -> str | None:
        """The oldest record whose `name` equals `value` (text ignoring case)."""
        ids = self._index(module, name).get(_key(value))
        return min(ids, key=int) if ids else None

    def _index(self, module: str, name: str) -> dict[Any, set[str]]:
        """Records by value of a matching field, built on first use, kept up to date."""
        index = self._indexes.get((module, name))
        if index is None:
            index = {}
            for rid, record in self.records[module].items():
                if _present(record.get(name)):
                    index.setdefault(_key(record[name]), set()).add(rid)
            self._indexes[(module, name)] = index
        return index

    def _reindex(self, module: str, old: Record | None, new: Record | None) -> None:
        for (indexed, name), index in self._indexes.items():
            if indexed != module:
                continue
            if old is not None and _present(old.get(name)):
                index.get(_key(old[name]), set()).discard(old["id"])
            if new is not None and _present(new.get(name)):
                index.setdefault(_key(new[name]), set()).add(new["id"])

    def upsert(self, module: str, data: Sequence[Any], order: Sequence[str]) -> UpsertOutcome:
        now = _now()
        with self.crm._lock:
            results = []
            for i, raw in enumerate(data):
                if not isinstance(raw, dict):
                    results.append(
                        _error("INVALID_DATA", "invalid data", {"json_path": f"$.data[{i}]"})
                    )
                    continue
                target, matched = None, None
                for name in order:
                    value = raw.get(name)
                    if _present(value) and (found := self.find(module, name, value)) is not None:
                        target, matched = found, name
                        break
                results.append(self._write(module, i, raw, target, matched, now))
            return UpsertOutcome(results)

    def insert(self, module: str, data: Sequence[Any]) -> UpsertOutcome:
        now = _now()
        with self.crm._lock:
            return UpsertOutcome(
                [self._write(module, i, raw, None, None, now) for i, raw in enumerate(data)],
                created=True,
            )

    def update(self, module: str, data: Sequence[Any], ids: Sequence[Any]) -> UpsertOutcome:
        """Update records by id (`ids[i]` for `data[i]`); an unknown id is INVALID_DATA."""
        now = _now()
        with self.crm._lock:
            results = []
            for i, (raw, rid) in enumerate(zip(data, ids, strict=True)):
                if not isinstance(rid, str) or rid not in self.records[module]:
                    results.append(
                        _error(
                            "INVALID_DATA",
                            "the id given seems to be invalid",
                            {"id": rid, "json_path": f"$.data[{i}].id"},
                        )
                    )
                elif not isinstance(raw, dict):
                    results.append(
                        _error("INVALID_DATA", "invalid data", {"json_path": f"$.data[{i}]"})
                    )
                else:
                    results.append(self._write(module, i, raw, rid, None, now))
            return UpsertOutcome(results)

    def delete(self, module: str, ids: Sequence[str]) -> UpsertOutcome:
        with self.crm._lock:
            results = []
            for rid in ids:
                gone = self.records[module].pop(rid, None)
                self._reindex(module, gone, None)
                if gone is None:
                    results.append(
                        _error("INVALID_DATA", "the id given seems to be invalid", {"id": rid})
                    )
                else:
                    results.append(
                        {
                            "code": "SUCCESS",
                            "details": {"id": rid},
                            "message": "record deleted",
                            "status": "success",
                        }
                    )
            return UpsertOutcome(results)

    def clear(self, module: str) -> int:
        with self.crm._lock:
            count = len(self.records[module])
            self.records[module] = {}
            self._indexes = {k: v for k, v in self._indexes.items() if k[0] != module}
            return count

    def _write(
        self, module: str, i: int, raw: Record, target: str | None, matched: str | None, now: str
    ) -> Record:
        previous = self.records[module].get(target) if target is not None else None
        try:
            values = self._values(module, i, raw)
            for spec in FIELDS[module]:
                name = spec.api_name
                if not spec.mandatory or name == LINE_ITEMS:
                    continue
                if (previous is None and not _present(values.get(name))) or (
                    name in values and not _present(values[name])
                ):
                    raise _Refused(_mandatory(name, f"$.data[{i}].{name}"))
            for name in self.unique_fields(module):
                value = values.get(name)
                owner = self.find(module, name, value) if _present(value) else None
                if owner is not None and owner != target:
                    raise _Refused(
                        _error(
                            "DUPLICATE_DATA",
                            "duplicate data",
                            {
                                "api_name": name,
                                "json_path": f"$.data[{i}].{name}",
                                "duplicate_record": {"id": owner, "module": {"api_name": module}},
                                "more_records": False,
                            },
                        )
                    )
            if module == "Quotes":
                rows = self._line_items(i, raw, previous)
                if rows is not None:
                    values[LINE_ITEMS] = rows
        except _Refused as refused:
            return refused.body
        record = stamped(previous, values, self.crm._new_id, now)
        if module == "Quotes":
            for row in record[LINE_ITEMS]:
                row["Parent_Id"] = {"id": record["id"]}
            total = round(sum(row["Net_Total"] for row in record[LINE_ITEMS]), 2)
            record["Sub_Total"] = record["Grand_Total"] = total
        self._reindex(module, previous, record)
        self.records[module][record["id"]] = record
        return upsert_success(record, previous, matched, now)

    def _values(self, module: str, i: int, raw: Mapping[str, Any]) -> Record:
        specs = {f.api_name: f for f in FIELDS[module]}
        values: Record = {}
        for name, value in raw.items():
            spec = specs.get(name)
            if spec is None or spec.read_only or name == LINE_ITEMS:
                continue  # unknown fields are ignored, as Zoho does
            values[name] = self._value(spec, value, f"$.data[{i}].{name}")
        return values

    def _value(self, spec: Field, value: Any, path: str) -> Any:
        name, kind = spec.api_name, spec.data_type
        if value is None:
            return None
        if kind in ("text", "textarea", "picklist"):
            if not isinstance(value, str):
                raise _Refused(_invalid(name, path, expected_data_type=kind))
            if len(value) > spec.length:
                raise _Refused(_invalid(name, path, maximum_length=spec.length))
            return value
        if kind == "date":
            try:
                ok = isinstance(value, str) and bool(_DATE.match(value))
                ok = ok and bool(date.fromisoformat(value))
            except ValueError:
                ok = False
            if not ok:
                raise _Refused(_invalid(name, path, expected_data_type="date"))
            return value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise _Refused(_invalid(name, path, expected_data_type="boolean"))
            return value
        if kind in ("integer", "double", "currency"):
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if kind == "integer":
                number = number and isinstance(value, int) and abs(value) <= 999_999_999
            if not number or value != value or abs(value) >= 10**16:
                raise _Refused(_invalid(name, path, expected_data_type=kind))
            return value
        if kind == "lookup":
            rid = value.get("id") if isinstance(value, dict) else None
            if not isinstance(rid, str | int) or isinstance(rid, bool):
                raise _Refused(_invalid(name, path, expected_data_type="jsonobject"))
            module = spec.lookup_module
            exists = (
                self.crm.get(module, str(rid)) is not None
                if module == "Accounts"
                else str(rid) in self.records.get(module or "", {})
            )
            if not exists:
                raise _Refused(
                    _error(
                        "INVALID_DATA",
                        "the related id given seems to be invalid",
                        {"api_name": name, "json_path": path, "id": str(rid)},
                    )
                )
            return {"id": str(rid)}
        return value

    # -- line items -------------------------------------------------------------------

    def _line_items(
        self, i: int, raw: Mapping[str, Any], previous: Record | None
    ) -> list[Record] | None:
        """The quote's rows after this write; None when `Quoted_Items` is not sent."""
        path = f"$.data[{i}].{LINE_ITEMS}"
        sent = raw.get(LINE_ITEMS)
        if LINE_ITEMS not in raw:
            if previous is None:
                raise _Refused(_mandatory(LINE_ITEMS, path))
            return None
        if not isinstance(sent, list):
            raise _Refused(_invalid(LINE_ITEMS, path, expected_data_type="jsonarray"))
        if not sent:
            raise _Refused(_mandatory(LINE_ITEMS, path))
        existing = {row["id"]: row for row in (previous or {}).get(LINE_ITEMS, [])}
        replace = self.line_items == "replace"
        rows: list[Record] = [] if replace else [dict(r) for r in existing.values()]
        for j, item in enumerate(sent):
            item_path = f"{path}[{j}]"
            if not isinstance(item, dict):
                raise _Refused(_invalid(LINE_ITEMS, item_path, expected_data_type="jsonobject"))
            rid = item.get("id")
            if rid is not None and str(rid) not in existing:
                raise _Refused(
                    _error(
                        "INVALID_DATA",
                        "the id given seems to be invalid",
                        {"api_name": "id", "json_path": f"{item_path}.id", "id": str(rid)},
                    )
                )
            if "_delete" in item:
                if rid is None:
                    raise _Refused(_mandatory("id", f"{item_path}.id"))
                rows = [r for r in rows if r["id"] != str(rid)]
                continue
            values = self._row_values(item, item_path)
            if rid is None:
                if "Product_Name" not in values:
                    raise _Refused(_mandatory("Product_Name", f"{item_path}.Product_Name"))
                row = {"id": self.crm._new_id(), **values}
                rows.append(_computed(row))
                continue
            base = next((r for r in rows if r["id"] == str(rid)), None)
            if base is None:  # replace: the row starts from what the quote held
                base = dict(existing[str(rid)])
                rows.append(base)
            base.update(values)
            _computed(base)
        if not rows:
            raise _Refused(_mandatory(LINE_ITEMS, path))
        for n, row in enumerate(rows, 1):
            row.setdefault("Sequence_Number", n)
        return rows

    def _row_values(self, item: Mapping[str, Any], path: str) -> Record:
        specs = {f.api_name: f for f in FIELDS[LINE_ITEMS]}
        values: Record = {}
        for name, value in item.items():
            spec = specs.get(name)
            if spec is None or spec.read_only:
                continue
            field_path = f"{path}.{name}"
            if name == "Discount" and isinstance(value, str) and _PERCENT.match(value):
                values[name] = value
            elif name == "Line_Tax":
                values[name] = self._line_tax(value, field_path)
            else:
                values[name] = self._value(spec, value, field_path)
        if "Product_Name" in values and values["Product_Name"] is None:
            raise _Refused(_mandatory("Product_Name", f"{path}.Product_Name"))
        return values

    def _line_tax(self, value: Any, path: str) -> list[Record]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise _Refused(_invalid("Line_Tax", path, expected_data_type="jsonarray"))
        names = self.tax_names()
        out = []
        for k, tax in enumerate(value):
            name = tax.get("name") if isinstance(tax, dict) else None
            pct = tax.get("percentage") if isinstance(tax, dict) else None
            if not isinstance(name, str) or name not in names:
                raise _Refused(_invalid("Line_Tax", f"{path}[{k}].name"))
            if not isinstance(pct, int | float) or isinstance(pct, bool) or not 0 <= pct <= 100:
                raise _Refused(_invalid("Line_Tax", f"{path}[{k}].percentage"))
            out.append({"name": name, "percentage": pct})
        return out


def _computed(row: Record) -> Record:
    quantity = row.get("Quantity")
    quantity = 1 if quantity is None else quantity
    total = round(quantity * (row.get("List_Price") or 0), 2)
    discount = row.get("Discount") or 0
    if isinstance(discount, str):
        m = _PERCENT.match(discount)
        discount = total * float(m[1]) / 100 if m else 0
    after = round(total - discount, 2)
    tax = round(after * sum(t["percentage"] for t in row.get("Line_Tax") or []) / 100, 2)
    row.update(Total=total, Total_After_Discount=after, Tax=tax, Net_Total=round(after + tax, 2))
    return row


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(tz=UTC).replace(microsecond=0).isoformat()


# -- HTTP ----------------------------------------------------------------------------------


def inventory(request: Request) -> ZohoInventory:
    """The app's inventory (`app.state.zoho_inventory`), created next to its `CrmStore` on
    first use and again when a test gives the app a new `ZohoState`."""
    app_state = request.app.state
    found: ZohoInventory | None = getattr(app_state, "zoho_inventory", None)
    if found is None or found.crm is not app_state.zoho.crm:  # a test swapped the state
        found = ZohoInventory(app_state.zoho.crm)
        app_state.zoho_inventory = found
    return found


def inventory_routes() -> list[Route]:
    """The routes above; `gzsync.sandbox.zoho` lists them before its own."""
    from gzsync.sandbox import zoho  # imported late: zoho imports this module

    def serve(module: str, names: list[str], prepare: ModulePreparer) -> Endpoint:
        async def with_module(request: Request, state: ZohoState) -> Prepared | Response:
            return await prepare(request, state, module)

        async def endpoint(request: Request) -> Response:
            return await zoho._serve_api(request, names, with_module)

        return endpoint

    async def body_data(request: Request, limit: int) -> list[Any] | Response:
        parsed = await zoho._records_body(request, limit)
        return parsed if isinstance(parsed, Response) else parsed[1]

    async def prepare_upsert(
        request: Request, state: ZohoState, module: str
    ) -> Prepared | Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return zoho._bad("INVALID_DATA", "body is not a valid JSON")
        data = await body_data(request, MAX_RECORDS)
        if isinstance(data, Response):
            return data
        listed = body.get("duplicate_check_fields") if isinstance(body, dict) else None
        if listed is not None and not isinstance(listed, list):
            return zoho._bad("INVALID_DATA", "invalid data", {"api_name": "duplicate_check_fields"})
        store = inventory(request)
        order = store.check_order(module, listed)
        if isinstance(order, dict):
            return zoho._json(order, 400)

        def respond() -> Response:
            outcome = store.upsert(module, data, order)
            state.records_upserted += outcome.succeeded
            return zoho._json({"data": outcome.results}, outcome.http_status)

        return zoho.Prepared(max(1, math.ceil(len(data) / 10)), len(data), respond)

    async def prepare_insert(
        request: Request, state: ZohoState, module: str
    ) -> Prepared | Response:
        data = await body_data(request, MAX_RECORDS)
        if isinstance(data, Response):
            return data
        store = inventory(request)

        def respond() -> Response:
            outcome = store.insert(module, data)
            return zoho._json({"data": outcome.results}, outcome.http_status)

        return zoho.Prepared(max(1, math.ceil(len(data) / 10)), len(data), respond)

    async def prepare_update(
        request: Request, state: ZohoState, module: str
    ) -> Prepared | Response:
        one = request.path_params.get("record_id")
        data = await body_data(request, 1 if one else MAX_RECORDS)
        if isinstance(data, Response):
            return data
        ids = [one] if one else [r.get("id") if isinstance(r, dict) else None for r in data]
        store = inventory(request)

        def respond() -> Response:
            outcome = store.update(module, data, ids)
            return zoho._json({"data": outcome.results}, outcome.http_status)

        return zoho.Prepared(max(1, math.ceil(len(data) / 10)), len(data), respond)

    async def prepare_get(request: Request, state: ZohoState, module: str) -> Prepared | Response:
        rid = request.path_params["record_id"]
        store = inventory(request)

        def respond() -> Response:
            record = store.get(module, rid)
            if record is None:
                return Response(status_code=204)
            return zoho._json({"data": [store.fetched(module, record)]})

        return zoho.Prepared(1, 0, respond)

    async def prepare_list(request: Request, state: ZohoState, module: str) -> Prepared | Response:
        wanted = [f.strip() for f in request.query_params.get("fields", "").split(",")]
        wanted = [f for f in wanted if f]
        if not wanted:
            return zoho._bad(
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param": "fields"},
            )
        ids = [i.strip() for i in request.query_params.get("ids", "").split(",") if i.strip()]
        paging = zoho._list_params(request)
        if isinstance(paging, Response):
            return paging
        page, per_page = paging
        store = inventory(request)

        def respond() -> Response:
            rows = store.iter_records(module)
            if ids:
                rows, more = [r for r in rows if r["id"] in ids], False
            else:
                rows, more = zoho._page(rows, page, per_page)
            if not rows:
                return Response(status_code=204)
            info = {"per_page": per_page, "count": len(rows), "page": page, "more_records": more}
            return zoho._json({"data": [store.listed(r, wanted) for r in rows], "info": info})

        return zoho.Prepared(1, 0, respond)

    async def prepare_delete(
        request: Request, state: ZohoState, module: str
    ) -> Prepared | Response:
        ids = [i.strip() for i in request.query_params.get("ids", "").split(",") if i.strip()]
        if not ids:
            return zoho._bad(
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param": "ids"},
            )
        if len(ids) > MAX_RECORDS:
            return zoho._bad("LIMIT_EXCEEDED", "limit exceeded", {"param": "ids", "limit": 100})
        store = inventory(request)

        def respond() -> Response:
            outcome = store.delete(module, ids)
            return zoho._json({"data": outcome.results}, outcome.http_status)

        return zoho.Prepared(1, len(ids), respond)

    async def prepare_taxes(request: Request, state: ZohoState, _: str) -> Prepared | Response:
        store = inventory(request)
        return zoho.Prepared(1, 0, lambda: zoho._json({"taxes": [dict(t) for t in store.taxes]}))

    async def fields(request: Request) -> Response:
        module = request.query_params.get("module")
        if module not in (*INVENTORY_MODULES, LINE_ITEMS):
            return await zoho.fields(request)

        async def prepare(request: Request, state: ZohoState) -> Prepared | Response:
            store = inventory(request)
            return zoho.Prepared(1, 0, lambda: zoho._json({"fields": store.field_metadata(module)}))

        return await zoho._serve_api(request, ["fields"], prepare)

    async def coql(request: Request) -> Response:
        from gzsync.sandbox.coql import CoqlError, Evaluator
        from gzsync.sandbox.coql import parse as parse_coql

        try:
            body = json.loads(await request.body())
            query = parse_coql(body["select_query"])
        except (ValueError, KeyError, TypeError, CoqlError):
            return await zoho.coql(request)  # its errors are the generic ones
        module = next((m for m in INVENTORY_MODULES if m.lower() == query.module.lower()), None)
        if module is None:
            return await zoho.coql(request)
        kinds = {f.api_name: f.data_type for f in FIELDS[module] if f.api_name != LINE_ITEMS}
        kinds = {k: "lookup" if v == "ownerlookup" else v for k, v in kinds.items()}

        async def prepare(request: Request, state: ZohoState) -> Prepared | Response:
            store = inventory(request)

            def respond() -> Response:
                records = [store.listed(r, None) for r in store.iter_records(module)]
                try:
                    result = Evaluator(kinds).run(query, records)
                except CoqlError as exc:
                    return zoho._json(exc.body(), 400)
                if not result.rows:
                    return Response(status_code=204)
                info = {"count": len(result.rows), "more_records": result.more_records}
                return zoho._json({"data": result.rows, "info": info})

            return zoho.Prepared(query.credits, 0, respond)

        return await zoho._serve_api(request, ["coql"], prepare)

    def control_records(module: str) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            return await records_of(request, module)

        return endpoint

    async def records_of(request: Request, module: str) -> Response:
        store = inventory(request)
        if request.method == "DELETE":
            return JSONResponse({"deleted": store.clear(module)})
        return JSONResponse([store.full(module, r) for r in store.iter_records(module)])

    async def control_inventory(request: Request) -> Response:
        store = inventory(request)
        try:
            body = await request.json()
            code = body.get("product_code", store.product_code)
            items = body.get("line_items", store.line_items)
            per_get = body.get("rows_per_get", store.rows_per_get)
        except (ValueError, AttributeError):
            return JSONResponse({"error": "expected a JSON object"}, status_code=400)
        if code not in ("unique", "external", "plain") or items not in ("append", "replace"):
            return JSONResponse({"error": "unknown mode"}, status_code=400)
        if per_get is not None and (type(per_get) is not int or per_get < 1):
            return JSONResponse({"error": "rows_per_get is a positive integer"}, status_code=400)
        store.product_code, store.line_items, store.rows_per_get = code, items, per_get
        return JSONResponse({"product_code": code, "line_items": items, "rows_per_get": per_get})

    routes = [
        Route("/crm/v8/coql", coql, methods=["POST"]),
        Route("/crm/v8/settings/fields", fields, methods=["GET"]),
        Route("/crm/v8/org/taxes", serve("", ["taxes"], prepare_taxes), methods=["GET"]),
        Route("/__sandbox/inventory", control_inventory, methods=["POST"]),
    ]
    for m in INVENTORY_MODULES:
        base = f"/crm/v8/{m}"
        routes += [
            Route(
                f"{base}/upsert",
                serve(m, ["upsert", f"upsert:{m}"], prepare_upsert),
                methods=["POST"],
            ),
            Route(f"{base}/{{record_id}}", serve(m, ["records"], prepare_get), methods=["GET"]),
            Route(f"{base}/{{record_id}}", serve(m, ["update"], prepare_update), methods=["PUT"]),
            Route(base, serve(m, ["records"], prepare_list), methods=["GET"]),
            Route(base, serve(m, ["insert"], prepare_insert), methods=["POST"]),
            Route(base, serve(m, ["update"], prepare_update), methods=["PUT"]),
            Route(base, serve(m, ["delete"], prepare_delete), methods=["DELETE"]),
            Route(f"/__sandbox/records/{m}", control_records(m), methods=["GET", "DELETE"]),
        ]
    return routes
