"""The Galaxy view filter grammar, as the sandbox parses and evaluates it (server side).

    filters    := "[" [ object ("," object)* ] "]"
    object     := "{" [ condition ("," condition)* ] "}"
    condition  := name ":" "[" value "," name "]"
    name       := bare | quoted                  field names and operators
    value      := number | quoted | bare | null

Decisions where Galaxy is undocumented (`galaxy-api.md` §3.1, §5, §12):

- Both spellings are accepted, as ServiceStack's JSV binding would: `[{F:[1,Greater]}]`
  and `[{"F":[1,"Greater"]}]`; the URL may carry it raw or percent-encoded (Starlette
  decodes the query string before we see it).
- A quoted string escapes an inner quote as `\\"` (JSON) or `""` (JSV/CSV); a bare token
  that is not a number is taken as a string (JSV allows unquoted strings); bare `null`
  is a null value.
- Operators: Equal, NotEqual, Greater, GreaterOrEqual, Less, LessOrEqual, matched
  case-insensitively (enum binding in .NET ignores case). Field names are matched to the
  view's columns case-insensitively (SQL Server identifiers are).
- Several fields in one object are combined with AND, and so are several objects in the
  list (every public example has one condition; AND is the reading that never returns
  more than any single condition asked for). An empty list or object matches every row.
- Comparison is numeric when either side is a number and both sides read as numbers
  (SQL Server converts a string to the number it is compared with); if one side is a
  number and the other does not read as one, the row does not match. Otherwise both are
  compared as strings, exactly (case-sensitive). A null column value never matches,
  except `Equal` with a null filter value (SQL's NULL never compares equal).

Errors: a malformed string raises `FilterSyntaxError` (the sandbox answers 400
`SerializationException`); an unknown column raises `UnknownColumnError` (400
`ArgumentException`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

Value = int | float | str | None
Row = Mapping[str, Any]

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "Equal": operator.eq,
    "NotEqual": operator.ne,
    "Greater": operator.gt,
    "GreaterOrEqual": operator.ge,
    "Less": operator.lt,
    "LessOrEqual": operator.le,
}
_OPERATORS_BY_LOWER = {name.lower(): name for name in OPERATORS}
_PUNCTUATION = frozenset("[]{}:,")


class FilterSyntaxError(ValueError):
    """The filter string does not follow the grammar."""


class UnknownColumnError(ValueError):
    """A condition names a column the view does not have."""

    def __init__(self, column: str) -> None:
        self.column = column
        super().__init__(f"Unknown column '{column}'")


@dataclass(frozen=True, slots=True)
class Condition:
    """One `FIELD: [value, Op]` condition."""

    field: str
    value: Value
    op: str

    def matches(self, row: Row) -> bool:
        """Whether `row` satisfies this condition (see the module docstring for types)."""
        return _compare(row.get(self.field), self.value, self.op)


def parse_filters(text: str) -> list[Condition]:
    """Parse a `filters` query value into its conditions (all ANDed)."""
    parser = _Parser(text)
    conditions = parser.filters()
    parser.skip_space()
    if parser.pos != len(text):
        raise parser.error("unexpected text after the closing ']'")
    return conditions


def resolve_columns(conditions: list[Condition], columns: Collection[str]) -> list[Condition]:
    """The conditions with field names spelled as the view's columns, or UnknownColumnError."""
    by_lower = {column.lower(): column for column in columns}
    resolved = []
    for condition in conditions:
        column = by_lower.get(condition.field.lower())
        if column is None:
            raise UnknownColumnError(condition.field)
        resolved.append(Condition(column, condition.value, condition.op))
    return resolved


def compile_predicate(conditions: list[Condition]) -> Callable[[Row], bool] | None:
    """One function testing all conditions, or None when there are none (every row)."""
    if not conditions:
        return None
    if len(conditions) == 1:
        return conditions[0].matches
    return lambda row: all(condition.matches(row) for condition in conditions)


def _as_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _compare(left: Any, right: Value, op: str) -> bool:
    if left is None or right is None:
        return op == "Equal" and left is None and right is None
    compare = OPERATORS[op]
    if isinstance(left, int | float) or isinstance(right, int | float):
        left_number, right_number = _as_number(left), _as_number(right)
        if left_number is None or right_number is None:
            return False
        return bool(compare(left_number, right_number))
    return bool(compare(str(left), str(right)))


class _Parser:
    """A recursive-descent parser over the filter string."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, problem: str) -> FilterSyntaxError:
        return FilterSyntaxError(f"Invalid filters at position {self.pos}: {problem}")

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            found = self.peek() or "end of text"
            raise self.error(f"expected '{char}', found '{found}'")
        self.pos += 1

    def filters(self) -> list[Condition]:
        self.expect("[")
        conditions: list[Condition] = []
        if self.peek() == "]":
            self.pos += 1
            return conditions
        while True:
            conditions.extend(self.object())
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("]")
            return conditions

    def object(self) -> list[Condition]:
        self.expect("{")
        conditions: list[Condition] = []
        if self.peek() == "}":
            self.pos += 1
            return conditions
        while True:
            conditions.append(self.condition())
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("}")
            return conditions

    def condition(self) -> Condition:
        field, _ = self.token()
        if not field:
            raise self.error("empty field name")
        self.expect(":")
        self.expect("[")
        value = self.value()
        self.expect(",")
        op_text, _ = self.token()
        op = _OPERATORS_BY_LOWER.get(op_text.lower())
        if op is None:
            raise self.error(f"unknown operator '{op_text}'")
        self.expect("]")
        return Condition(field, value, op)

    def value(self) -> Value:
        text, quoted = self.token()
        if quoted:
            return text
        if text == "null":
            return None
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return text
        return number if math.isfinite(number) else text

    def token(self) -> tuple[str, bool]:
        """A quoted or bare token: (text, was it quoted)."""
        if self.peek() == '"':
            return self.quoted(), True
        start = self.pos
        text = self.text
        while (
            self.pos < len(text)
            and text[self.pos] not in _PUNCTUATION
            and text[self.pos] != '"'
            and not text[self.pos].isspace()
        ):
            self.pos += 1
        if self.pos == start:
            raise self.error("expected a name or a value")
        return text[start : self.pos], False

    def quoted(self) -> str:
        text = self.text
        self.pos += 1  # the opening quote
        out: list[str] = []
        while self.pos < len(text):
            char = text[self.pos]
            if char == "\\" and self.pos + 1 < len(text):
                out.append(text[self.pos + 1])
                self.pos += 2
            elif char == '"':
                if text[self.pos + 1 : self.pos + 2] == '"':
                    out.append('"')  # JSV/CSV doubling
                    self.pos += 2
                else:
                    self.pos += 1
                    return "".join(out)
            else:
                out.append(char)
                self.pos += 1
        raise self.error("unterminated string")
