"""Galaxy view filters: `[{FIELD:[value,Op],FIELD2:[value,Op]}]`, built safely.

The grammar is the one the seed integration used (galaxy-api.md §3.1): field names and
operators bare, numbers bare, strings in double quotes. We accept only operators from
:class:`Op` and field names that are plain identifiers, and quote every string value
(inner `"` doubled, backslashes escaped), so no value can change what the filter means.
Several conditions go into one object, which Galaxy (and our sandbox) reads as AND.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

_FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Op(StrEnum):
    """The comparison operators a filter may use."""

    Equal = "Equal"
    NotEqual = "NotEqual"
    Greater = "Greater"
    GreaterOrEqual = "GreaterOrEqual"
    Less = "Less"
    LessOrEqual = "LessOrEqual"


@dataclass(frozen=True)
class Condition:
    """`field op value`, e.g. `Condition("THIRDPARTYREVNUM", Op.Greater, 5339779)`."""

    field: str
    op: Op
    value: int | float | str


def quote_value(value: int | float | str) -> str:
    """A value as the filter grammar writes it: numbers bare, strings double-quoted."""
    if isinstance(value, bool):
        raise ValueError("boolean filter values are not supported")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"filter value must be a finite number, got {value!r}")
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '""') + '"'
    raise ValueError(f"unsupported filter value type: {type(value).__name__}")


def build_filter(conditions: Sequence[Condition]) -> str:
    """The `filters` string for `conditions`, AND-ed in one object.

    Raises ValueError for an empty list, a field name that is not an identifier, a repeated
    field, an operator outside :class:`Op`, or an unsupported value.
    """
    if not conditions:
        raise ValueError("a filter needs at least one condition")
    parts: list[str] = []
    seen: set[str] = set()
    for cond in conditions:
        if not isinstance(cond.field, str) or not _FIELD_RE.match(cond.field):
            raise ValueError(f"invalid filter field name: {cond.field!r}")
        if cond.field in seen:
            # One object cannot hold the same key twice (the server would keep one of them).
            raise ValueError(f"field {cond.field} appears twice in one filter")
        seen.add(cond.field)
        try:
            op = Op(cond.op)
        except ValueError:
            raise ValueError(f"unknown filter operator: {cond.op!r}") from None
        parts.append(f"{cond.field}:[{quote_value(cond.value)},{op.value}]")
    return "[{" + ",".join(parts) + "}]"
