"""The in-memory CRM behind the Zoho sandbox: Accounts and Contacts, their field metadata,
record validation and the upsert semantics of `POST /crm/v8/{module}/upsert`.

Decisions where the reference (`zoho-crm-api.md`) is silent or UNCONFIRMED:

- **Field lengths.** Text fields are 255 characters (the documented Single Line maximum),
  including `Account_Name`, whose real length is unconfirmed. Contacts use Zoho's standard
  lengths: `Last_Name` 80 (the length Zoho reports for Leads), `First_Name` 40, `Title` 100,
  `Email` 100. Phone fields are 30.
- **Types.** `Rev_Number` is an `integer` field (JSON number, at most 9 digits): revision
  numbers have 7 digits, and a number keeps `max(Rev_Number)` numeric. Number fields accept
  JSON numbers only (a string is `INVALID_DATA`), so a client that sends `"12.5"` is caught.
  `Industry` is a picklist that accepts new values, as Zoho's does.
- **Validation order.** Per record: value types and lengths (in the record's key order),
  then matching, then mandatory fields (on insert: missing, null or empty; on update: only
  when the payload sets them to null or empty). The first problem is the record's error.
- **Null** clears a field (it is stored as `None` and reads back as `null`).
- **Unknown field API names** are ignored, as Zoho does; with `strict_fields` they are
  `INVALID_DATA` with `details.api_name`. `id` and `$`-prefixed keys are never reported.
  Read-only fields (`Created_Time` ...) are ignored.
- **Matching** (reference §2.2): the fields listed in `duplicate_check_fields`, in order,
  then the remaining user-unique fields in their declared order. The system field
  (Accounts `Account_Name`, Contacts `Email`) is checked only when listed, or when the list
  is absent or empty (then it goes first). Text matches ignore case, as Zoho's unique check
  does by default. When the system field matches several records, the oldest one wins.
- **Same key twice in one batch**: records are processed in input order, so the second
  one updates the record the first inserted (`action: update`).
- **A CRM user's writes** (insert, update by id, delete): insert never matches an existing
  record (a user-unique value another record holds is `DUPLICATE_DATA`); update changes
  only the fields given; an unknown id is `INVALID_DATA` "the id given seems to be
  invalid" with `details.id`. Deleting an Account leaves its Contacts' lookups pointing at
  the gone id (what the sync's lookup repair is for).
- **Unique conflict**: a user-unique value held by a record other than the one being
  written is `DUPLICATE_DATA` with `details.api_name` and `details.duplicate_record`.
- **Ids** are 19-digit numeric strings, increasing, from a seeded counter shared by all
  modules, so ascending id order is creation order.
- **Times** are ISO 8601 in UTC (`+00:00`), without fractions.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MODULES = ("Accounts", "Contacts")

# The system-defined duplicate-check field per module (reference §2.2).
SYSTEM_DUPLICATE_FIELD = {"Accounts": "Account_Name", "Contacts": "Email"}

SANDBOX_USER = {"name": "Sandbox Admin", "id": "5725767000000225013"}

_JSON_TYPES = {
    "text": "string",
    "email": "string",
    "phone": "string",
    "picklist": "string",
    "datetime": "string",
    "integer": "integer",
    "currency": "double",
    "double": "double",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
}

_PHONE = re.compile(r"^\+?[0-9 .()\-]*[0-9][0-9 .()\-]*$")
# Unicode letters are allowed; the TLD has 2-22 letters (reference §7).
_EMAIL = re.compile(r"^[\w.!#$%&'*+/=?^`{|}~-]+@(?:[\w-]+\.)+[^\W\d_]{2,22}$")

_INTEGER_MAX = 999_999_999  # "up to 9 digits"
_DECIMAL_MAX = 10**16  # "up to 16 digits before the point"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a module, as the sandbox validates it and `settings/fields` shows it."""

    api_name: str
    data_type: str
    length: int = 255
    mandatory: bool = False
    unique: bool = False
    custom: bool = False
    lookup_module: str | None = None
    read_only: bool = False

    @property
    def json_type(self) -> str:
        return _JSON_TYPES[self.data_type]

    @property
    def is_number(self) -> bool:
        return self.data_type in ("integer", "currency", "double")


def _text(name: str, length: int = 255, **kw: Any) -> FieldSpec:
    return FieldSpec(name, "text", length, **kw)


def _system_fields() -> list[FieldSpec]:
    return [
        FieldSpec("Created_Time", "datetime", 0, read_only=True),
        FieldSpec("Modified_Time", "datetime", 0, read_only=True),
        FieldSpec("Created_By", "ownerlookup", 0, read_only=True),
        FieldSpec("Modified_By", "ownerlookup", 0, read_only=True),
    ]


FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "Accounts": (
        _text("Account_Name", mandatory=True),
        _text("Trader_ID", unique=True, custom=True),
        FieldSpec("Rev_Number", "integer", 9, custom=True),
        _text("Account_AFM", custom=True),
        FieldSpec("Phone", "phone", 30),
        _text("Billing_Street"),
        _text("Billing_State"),
        _text("Billing_Country"),
        _text("Shipping_Street"),
        _text("Shipping_State"),
        _text("Shipping_Country"),
        FieldSpec("Industry", "picklist", 120),
        _text("Account_Category", custom=True),
        FieldSpec("Credit_Limit", "currency", 16, custom=True),
        FieldSpec("Open_Balance", "currency", 16, custom=True),
        FieldSpec("Watt", "double", 16, custom=True),
        FieldSpec("Turnover_YTD", "currency", 16, custom=True),
        FieldSpec("Turnover_LTD", "currency", 16, custom=True),
        FieldSpec("Turnover_LY", "currency", 16, custom=True),
        _text("SALESNAME", custom=True),
        FieldSpec("Affiliate_To", "lookup", 0, custom=True, lookup_module="Accounts"),
        _text("Galaxy_Status", 40, custom=True),  # `gzsync reconcile` tags orphans here
        *_system_fields(),
    ),
    "Contacts": (
        _text("Last_Name", 80, mandatory=True),
        _text("First_Name", 40),
        FieldSpec("Email", "email", 100),
        FieldSpec("Phone", "phone", 30),
        FieldSpec("Mobile", "phone", 30),
        _text("Title", 100),
        FieldSpec("Account_Name", "lookup", 0, lookup_module="Accounts"),
        _text("Galaxy_Contact_ID", unique=True, custom=True),
        FieldSpec("Rev_Number", "integer", 9, custom=True),
        _text("Galaxy_Status", 40, custom=True),  # `gzsync reconcile` tags orphans here
        *_system_fields(),
    ),
}

_INDUSTRIES = ("-None-", "Retail", "Wholesale", "Manufacturing", "Services", "Energy")


def field_metadata(module: str) -> list[dict[str, Any]]:
    """The `fields` array of `GET /crm/v8/settings/fields?module=...` for a module."""
    base = 5725767000000400000 + (0 if module == "Accounts" else 10000)
    out = []
    for i, spec in enumerate(FIELDS[module]):
        label = spec.api_name.replace("_", " ")
        entry: dict[str, Any] = {
            "api_name": spec.api_name,
            "field_label": label,
            "display_label": label,
            "data_type": spec.data_type,
            "json_type": spec.json_type,
            "length": spec.length,
            "system_mandatory": spec.mandatory,
            "custom_field": spec.custom,
            "read_only": spec.read_only,
            "id": str(base + i * 3),
            "unique": {"casesensitive": "false"} if spec.unique else {},
            "lookup": {},
        }
        if spec.lookup_module is not None:
            entry["lookup"] = {
                "display_label": spec.lookup_module,
                "api_name": spec.lookup_module,
                "module": {"api_name": spec.lookup_module, "id": "5725767000000002179"},
            }
        if spec.data_type in ("currency", "double"):
            entry["decimal_place"] = 2 if spec.data_type == "currency" else 9
        if spec.data_type == "picklist":
            entry["pick_list_values"] = [
                {"display_value": v, "actual_value": v, "id": str(base + 900 + j)}
                for j, v in enumerate(_INDUSTRIES)
            ]
        out.append(entry)
    return out


def _error(code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"code": code, "details": details, "message": message, "status": "error"}


def _invalid(field: str, path: str, **extra: Any) -> dict[str, Any]:
    return _error("INVALID_DATA", "invalid data", {**extra, "api_name": field, "json_path": path})


def _now() -> str:
    return datetime.now(tz=UTC).replace(microsecond=0).isoformat()


def _key(value: Any) -> Any:
    """The index key of a matching value: text ignores case, as Zoho's unique check does."""
    return value.casefold() if isinstance(value, str) else value


def _present(value: Any) -> bool:
    return value is not None and value != ""


class ModuleTable:
    """The records of one module with an index per matching field (O(1) matching)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.specs: dict[str, FieldSpec] = {s.api_name: s for s in FIELDS[name]}
        self.system_field = SYSTEM_DUPLICATE_FIELD[name]
        self.unique_fields = [s.api_name for s in FIELDS[name] if s.unique]
        self.mandatory_fields = [s.api_name for s in FIELDS[name] if s.mandatory]
        self.records: dict[str, dict[str, Any]] = {}
        # The system field is not unique: several records may share it (oldest first).
        self.system_index: dict[Any, list[str]] = {}
        self.unique_index: dict[str, dict[Any, str]] = {f: {} for f in self.unique_fields}

    def find(self, field: str, value: Any) -> str | None:
        """The id of the record whose `field` matches `value`, if any."""
        if field == self.system_field:
            ids = self.system_index.get(_key(value))
            return ids[0] if ids else None
        return self.unique_index[field].get(_key(value))

    def _unindex(self, record: dict[str, Any]) -> None:
        rid = record["id"]
        value = record.get(self.system_field)
        if _present(value):
            ids = self.system_index.get(_key(value), [])
            if rid in ids:
                ids.remove(rid)
            if not ids:
                self.system_index.pop(_key(value), None)
        for field in self.unique_fields:
            value = record.get(field)
            if _present(value) and self.unique_index[field].get(_key(value)) == rid:
                del self.unique_index[field][_key(value)]

    def _index(self, record: dict[str, Any]) -> None:
        rid = record["id"]
        value = record.get(self.system_field)
        if _present(value):
            ids = self.system_index.setdefault(_key(value), [])
            ids.append(rid)
            if len(ids) > 1 and int(ids[-2]) > int(rid):
                ids.sort(key=int)  # oldest first, also after an update renames a record
        for field in self.unique_fields:
            value = record.get(field)
            if _present(value):
                self.unique_index[field][_key(value)] = rid

    def store(self, record: dict[str, Any], previous: dict[str, Any] | None) -> None:
        if previous is not None:
            self._unindex(previous)
        self.records[record["id"]] = record
        self._index(record)

    def delete(self, record_id: str) -> bool:
        """Remove one record (a CRM user deleting it); True when it existed."""
        record = self.records.pop(record_id, None)
        if record is None:
            return False
        self._unindex(record)
        return True

    def clear(self) -> None:
        self.records.clear()
        self.system_index.clear()
        for index in self.unique_index.values():
            index.clear()


@dataclass(slots=True)
class UpsertOutcome:
    """The per-record results of one upsert call, in input order."""

    results: list[dict[str, Any]]
    created: bool = False  # an insert: 201 when every record was added

    @property
    def succeeded(self) -> int:
        return sum(1 for r in self.results if r["status"] == "success")

    @property
    def http_status(self) -> int:
        """200 all succeeded (201 for an insert), 207 some failed, 400 all failed (the body
        keeps `data`)."""
        ok = self.succeeded
        if ok == len(self.results):
            return 201 if self.created else 200
        return 207 if ok else 400


class DuplicateCheckFieldError(ValueError):
    """`duplicate_check_fields` names a field that is neither the system nor a unique field."""

    def __init__(self, field: Any, index: int) -> None:
        super().__init__(f"not a duplicate-check field: {field!r}")
        self.body = _invalid(str(field), f"$.duplicate_check_fields[{index}]")


class CrmStore:
    """All modules of the sandbox CRM. Thread-safe: tests read it while the server writes."""

    def __init__(self, *, seed: int = 0, strict_fields: bool = False) -> None:
        self.strict_fields = strict_fields
        self.modules = {name: ModuleTable(name) for name in MODULES}
        self._random = random.Random(seed)
        self._next_id = 5725767000000376000 + self._random.randrange(1000)
        self._lock = threading.RLock()

    def table(self, module: str) -> ModuleTable:
        return self.modules[module]

    def _new_id(self) -> str:
        self._next_id += self._random.randint(1, 5)
        return str(self._next_id)

    def snapshot(self, module: str) -> list[dict[str, Any]]:
        """Copies of every record of a module, in id order."""
        with self._lock:
            return [_copy(r) for r in self.modules[module].records.values()]

    def iter_records(self, module: str) -> Iterator[dict[str, Any]]:
        """The stored records (not copies), in id order; callers must not mutate them."""
        with self._lock:
            rows = list(self.modules[module].records.values())
        return iter(rows)

    def get(self, module: str, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self.modules[module].records.get(record_id)

    def clear(self, module: str) -> int:
        with self._lock:
            table = self.modules[module]
            count = len(table.records)
            table.clear()
            return count

    def check_order(self, module: str, listed: Sequence[Any] | None) -> list[str]:
        """The fields checked for a match, in order (reference §2.2)."""
        table = self.modules[module]
        allowed = {table.system_field, *table.unique_fields}
        if not listed:
            return [table.system_field, *table.unique_fields]
        order: list[str] = []
        for i, field in enumerate(listed):
            if not isinstance(field, str) or field not in allowed:
                raise DuplicateCheckFieldError(field, i)
            if field not in order:
                order.append(field)
        order += [f for f in table.unique_fields if f not in order]
        return order

    def upsert(
        self, module: str, data: Sequence[Any], duplicate_check_fields: Sequence[Any] | None
    ) -> UpsertOutcome:
        """Insert or update each record in input order; one result object per record.

        Raises DuplicateCheckFieldError for a field that cannot be a duplicate-check field.
        """
        order = self.check_order(module, duplicate_check_fields)
        now = _now()  # one timestamp per call: one request is one transaction
        with self._lock:
            return UpsertOutcome(
                [self._upsert_one(module, i, r, order, now) for i, r in enumerate(data)]
            )

    def _upsert_one(
        self, module: str, i: int, raw: Any, order: Sequence[str], now: str
    ) -> dict[str, Any]:
        table = self.modules[module]
        if not isinstance(raw, dict):
            return _error("INVALID_DATA", "invalid data", {"json_path": f"$.data[{i}]"})
        values, error = self._validate(table, i, raw)
        if error is not None:
            return error
        match_field, target = None, None
        for field in order:
            if _present(values.get(field)):
                target = table.find(field, values[field])
                if target is not None:
                    match_field = field
                    break
        conflict = self._conflict(table, i, values, target, module)
        if conflict is not None:
            return conflict
        return self._write(table, values, target, match_field, now)

    # -- what a CRM user does through the API (insert, update by id, delete) ---------------

    def insert(self, module: str, data: Sequence[Any]) -> UpsertOutcome:
        """`POST /crm/v8/{module}`: each record is a new one (no matching); a user-unique
        value another record holds is `DUPLICATE_DATA`, as for upsert."""
        now = _now()
        with self._lock:
            return UpsertOutcome(
                [self._insert_one(module, i, r, now) for i, r in enumerate(data)], created=True
            )

    def _insert_one(self, module: str, i: int, raw: Any, now: str) -> dict[str, Any]:
        table = self.modules[module]
        if not isinstance(raw, dict):
            return _error("INVALID_DATA", "invalid data", {"json_path": f"$.data[{i}]"})
        values, error = self._validate(table, i, raw)
        if error is None:
            error = self._conflict(table, i, values, None, module)
        return error if error is not None else self._write(table, values, None, None, now)

    def update(self, module: str, record_id: str, raw: Any) -> UpsertOutcome:
        """`PUT /crm/v8/{module}/{id}`: change the fields given, keep the others."""
        now = _now()
        with self._lock:
            table = self.modules[module]
            if record_id not in table.records:
                result = _error(
                    "INVALID_DATA", "the id given seems to be invalid", {"id": record_id}
                )
            elif not isinstance(raw, dict):
                result = _error("INVALID_DATA", "invalid data", {"json_path": "$.data[0]"})
            else:
                values, error = self._validate(table, 0, raw)
                if error is None:
                    error = self._conflict(table, 0, values, record_id, module)
                result = error or self._write(table, values, record_id, None, now)
            return UpsertOutcome([result])

    def delete(self, module: str, ids: Sequence[str]) -> UpsertOutcome:
        """`DELETE /crm/v8/{module}?ids=`: one result per id, in order."""
        with self._lock:
            table = self.modules[module]
            results = []
            for rid in ids:
                if table.delete(rid):
                    results.append(
                        {
                            "code": "SUCCESS",
                            "details": {"id": rid},
                            "message": "record deleted",
                            "status": "success",
                        }
                    )
                else:
                    results.append(
                        _error("INVALID_DATA", "the id given seems to be invalid", {"id": rid})
                    )
            return UpsertOutcome(results)

    def _conflict(
        self,
        table: ModuleTable,
        i: int,
        values: Mapping[str, Any],
        target: str | None,
        module: str,
    ) -> dict[str, Any] | None:
        """Mandatory fields missing, or a user-unique value held by another record."""
        for name in table.mandatory_fields:
            missing = not _present(values.get(name))
            if (target is None and missing) or (name in values and missing):
                return _error(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    {"api_name": name, "json_path": f"$.data[{i}].{name}"},
                )
        for field in table.unique_fields:
            value = values.get(field)
            owner = table.find(field, value) if _present(value) else None
            if owner is not None and owner != target:
                return _error(
                    "DUPLICATE_DATA",
                    "duplicate data",
                    {
                        "api_name": field,
                        "json_path": f"$.data[{i}].{field}",
                        "duplicate_record": {"id": owner, "module": {"api_name": module}},
                        "more_records": False,
                    },
                )
        return None

    def _validate(
        self, table: ModuleTable, i: int, raw: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        values: dict[str, Any] = {}
        for name, value in raw.items():
            spec = table.specs.get(name)
            path = f"$.data[{i}].{name}"
            if spec is None:
                if self.strict_fields and name != "id" and not name.startswith("$"):
                    return values, _invalid(name, path)
                continue
            if spec.read_only:
                continue
            if value is None:
                values[name] = None
                continue
            problem = self._check_value(spec, value, path)
            if problem is not None:
                return values, problem
            values[name] = {"id": str(value["id"])} if spec.data_type == "lookup" else value
        return values, None

    def _check_value(self, spec: FieldSpec, value: Any, path: str) -> dict[str, Any] | None:
        name, kind = spec.api_name, spec.data_type
        if kind in ("text", "email", "phone", "picklist"):
            if not isinstance(value, str):
                return _invalid(name, path, expected_data_type=kind)
            if len(value) > spec.length:
                return _invalid(name, path, maximum_length=spec.length)
            if kind == "phone" and value and not _PHONE.match(value):
                return _invalid(name, path, expected_data_type="phone")
            if kind == "email" and value and not _EMAIL.match(value):
                return _invalid(name, path, expected_data_type="email")
            return None
        if spec.is_number:
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if kind == "integer":
                ok = isinstance(value, int) and not isinstance(value, bool)
                ok = ok and abs(value) <= _INTEGER_MAX
            else:
                ok = numeric and value == value and abs(value) < _DECIMAL_MAX  # NaN fails
            return None if ok else _invalid(name, path, expected_data_type=kind)
        if kind == "lookup":
            rid = value.get("id") if isinstance(value, dict) else None
            if not isinstance(rid, str | int) or isinstance(rid, bool):
                return _invalid(name, path, expected_data_type="jsonobject")
            assert spec.lookup_module is not None
            if str(rid) not in self.modules[spec.lookup_module].records:
                return _error(
                    "INVALID_DATA",
                    "the related id given seems to be invalid",
                    {"api_name": name, "json_path": path, "id": str(rid)},
                )
        return None

    def _write(
        self,
        table: ModuleTable,
        values: dict[str, Any],
        target: str | None,
        match_field: str | None,
        now: str,
    ) -> dict[str, Any]:
        previous = table.records.get(target) if target is not None else None
        record = stamped(previous, values, self._new_id, now)
        table.store(record, previous)
        return upsert_success(record, previous, match_field, now)


def stamped(
    previous: Mapping[str, Any] | None,
    values: Mapping[str, Any],
    new_id: Callable[[], str],
    now: str,
) -> dict[str, Any]:
    """The record a write leaves: a new one (fresh id, created now) or a copy of the
    previous, with these values over it and modified now."""
    if previous is None:
        record: dict[str, Any] = {
            "id": new_id(),
            "Created_Time": now,
            "Created_By": dict(SANDBOX_USER),
        }
    else:
        record = dict(previous)
    record.update(values)
    record["Modified_Time"] = now
    record["Modified_By"] = dict(SANDBOX_USER)
    return record


def upsert_success(
    record: Mapping[str, Any], previous: Mapping[str, Any] | None, matched: str | None, now: str
) -> dict[str, Any]:
    """Zoho's per-record SUCCESS result for an insert (no previous record) or an update."""
    return {
        "code": "SUCCESS",
        "duplicate_field": matched,
        "action": "insert" if previous is None else "update",
        "details": {
            "Modified_Time": now,
            "Modified_By": dict(SANDBOX_USER),
            "Created_Time": record["Created_Time"],
            "id": record["id"],
            "Created_By": dict(SANDBOX_USER),
        },
        "message": "record added" if previous is None else "record updated",
        "status": "success",
    }


def _copy(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: dict(v) if isinstance(v, dict) else v for k, v in record.items()}


def project(
    record: Mapping[str, Any], fields: Iterable[str] | None, names: Mapping[str, str]
) -> dict[str, Any]:
    """A record as the read APIs return it: `id` plus the requested fields (all if None).

    Lookups come back as `{"name": ..., "id": ...}` where `names` knows the target's name.
    """
    keys = list(record) if fields is None else ["id", *(f for f in fields if f != "id")]
    out: dict[str, Any] = {}
    for key in keys:
        value = record.get(key)
        if isinstance(value, dict) and "id" in value and "name" not in value:
            value = {"name": names.get(value["id"]), "id": value["id"]}
        elif isinstance(value, dict):
            value = dict(value)
        out[key] = value
    return out
