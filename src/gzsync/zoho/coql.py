"""Safe COQL text: quoted values, checked names, and the few queries the client sends.

Values are always single-quoted strings (inner `'` doubled, as Kaizen #171 documents) or bare
finite numbers; module and field names must be plain API names. Whether COQL treats a
backslash as an escape is undocumented, and under one reading a trailing backslash would swallow the
closing quote, so strings with a backslash (or a NUL) are refused rather than guessed at.
So no value can change the query it is placed in (zoho-crm-api.md §4.2; `in (...)` takes at
most 100 values in v7/v8).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

#: The most values COQL accepts in one `in (...)` list (v7/v8).
MAX_IN_VALUES = 100

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# `limit N`, `limit OFFSET, N`, optionally followed by `offset M`, at the end of a query.
_LIMIT_RE = re.compile(r"(?i)\blimit\s+(\d+)(?:\s*,\s*(\d+))?\s*(?:offset\s+\d+\s*)?$")


def name(value: str) -> str:
    """A module or field API name, checked; raises ValueError for anything else."""
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ValueError(f"invalid COQL name: {value!r}")
    return value


def quote(value: str | int | float) -> str:
    """A COQL literal: numbers bare, strings in single quotes with `'` doubled."""
    if isinstance(value, bool):
        raise ValueError("boolean COQL values are not supported")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"COQL value must be a finite number, got {value!r}")
        return repr(value)
    if isinstance(value, str):
        if "\\" in value or "\x00" in value:
            raise ValueError("COQL string values may not contain a backslash or NUL")
        return "'" + value.replace("'", "''") + "'"
    raise ValueError(f"unsupported COQL value type: {type(value).__name__}")


def in_list(values: Sequence[str | int | float]) -> str:
    """`(v1, v2, ...)` for an `in` criterion; 1 to 100 values, else ValueError."""
    if not values:
        raise ValueError("an in (...) list needs at least one value")
    if len(values) > MAX_IN_VALUES:
        raise ValueError(
            f"an in (...) list takes at most {MAX_IN_VALUES} values, got {len(values)}"
        )
    return "(" + ", ".join(quote(v) for v in values) + ")"


def max_value_query(module: str, field: str) -> str:
    """The highest non-null `field` of `module`: order by it, descending, limit 1."""
    f = name(field)
    # Names are checked identifiers, so building the text is safe (S608 is about SQL values).
    return f"select {f} from {name(module)} where {f} is not null order by {f} desc limit 1"  # noqa: S608


def ids_by_key_query(module: str, key_field: str, keys: Sequence[str]) -> str:
    """`id` and `key_field` of the records whose key is one of `keys` (at most 100)."""
    k = name(key_field)
    return (
        f"select id, {k} from {name(module)} where {k} in {in_list(keys)} "  # noqa: S608
        f"limit {min(len(keys), 2000)}"
    )


def limit_of(query: str) -> int:
    """The row limit of a query as Zoho bills it: its LIMIT (count part), default 200."""
    match = re.search(
        r"(?i)\blimit\s+(\d+)(?:\s*,\s*(\d+))?\s*(?:offset\s+\d+\s*)?$", query.strip()
    )
    if match is None:
        return 200
    return int(match.group(2) or match.group(1))


def credits_for(query: str) -> int:
    """API credits of one COQL call: 1 up to LIMIT 200, 2 up to 1000, 3 beyond."""
    limit = limit_of(query)
    if limit <= 200:
        return 1
    if limit <= 1000:
        return 2
    return 3
