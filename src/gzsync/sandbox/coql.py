"""COQL for the Zoho sandbox: a tokenizer, a recursive-descent parser and an evaluator over
in-memory records.

Supported (what a sync needs, reference §4.2):

    select F, G.id, max(F), min(F), count(*), sum(F), avg(F)   -- `id` is always returned
    from Module
    where <cond>          -- required; =, !=, <>, >, >=, <, <=, [not] in (...),
                          -- is [not] null, [not] like '%x%', and/or, parentheses
    order by F [asc|desc], ...
    limit n | limit offset, n      offset n

Decisions where the reference is silent:

- Keywords and aggregate names are case-insensitive; an aggregate's result key is the
  upper-case name, e.g. `max(Rev_Number)` → `{"MAX(Rev_Number)": 5339779}`.
- Text comparisons ignore case (as Zoho's criteria do); a null value satisfies no
  comparison (SQL semantics), only `is null`.
- Nulls sort as the smallest value: first ascending, last descending, so
  `order by Rev_Number desc limit 1` finds the highest revision. Ties keep id order.
- A query that matches no row answers 204, aggregates included.
- More than two conditions need not be parenthesised in pairs (Zoho requires it; the
  sandbox is more lenient, so this is not a way to test that rule).
- Joins through lookups (`Account_Name.Trader_ID`) are not supported; `F.id` is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_LIMIT = 2000
DEFAULT_LIMIT = 200
MAX_OFFSET_REACH = 100_000
MAX_IN_VALUES = 100
AGGREGATES = ("MAX", "MIN", "COUNT", "SUM", "AVG")
NUMBER_KINDS = ("integer", "currency", "double")

_KEYWORDS = {
    "select", "from", "where", "and", "or", "not", "in", "is", "null", "like",
    "order", "by", "asc", "desc", "limit", "offset", "true", "false",
}  # fmt: skip

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<ident>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<op>!=|<>|>=|<=|=|>|<)
  | (?P<punct>[(),.*])
    """,
    re.VERBOSE,
)


class CoqlError(Exception):
    """A query the sandbox refuses, with Zoho's `code` and `details`."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "details": self.details, "message": self.message,
                "status": "error"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # number, string, ident, op, punct, eof
    text: str
    line: int
    column: int

    def is_kw(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.lower() in words


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    sub: str | None = None  # `Account_Name.id`

    @property
    def label(self) -> str:
        return self.name if self.sub is None else f"{self.name}.{self.sub}"


@dataclass(frozen=True, slots=True)
class Aggregate:
    func: str
    column: Column | None  # None: `count(*)`

    @property
    def label(self) -> str:
        return f"{self.func}({'*' if self.column is None else self.column.label})"


@dataclass(frozen=True, slots=True)
class Compare:
    column: Column
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class InList:
    column: Column
    values: tuple[Any, ...]
    negate: bool


@dataclass(frozen=True, slots=True)
class IsNull:
    column: Column
    negate: bool


@dataclass(frozen=True, slots=True)
class Like:
    column: Column
    pattern: str
    negate: bool


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # and / or
    left: Condition
    right: Condition


Condition = Compare | InList | IsNull | Like | BoolOp
Predicate = Callable[[Mapping[str, Any]], bool]


@dataclass(slots=True)
class Query:
    select: list[Column | Aggregate]
    module: str
    where: Condition
    order_by: list[tuple[Column, bool]] = field(default_factory=list)  # (column, descending)
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    @property
    def credits(self) -> int:
        """API credits of the call by its LIMIT bracket (reference §3.2)."""
        return 1 if self.limit <= 200 else 2 if self.limit <= 1000 else 3


def tokenize(text: str) -> list[Token]:
    """Split a query into tokens with their line and column (1-based)."""
    tokens: list[Token] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise _syntax(line, pos - line_start + 1, text[pos : pos + 10])
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, m.group(), line, pos - line_start + 1))
        for offset, ch in enumerate(m.group()):
            if ch == "\n":
                line, line_start = line + 1, pos + offset + 1
        pos = m.end()
    tokens.append(Token("eof", "", line, pos - line_start + 1))
    return tokens


def _syntax(line: int, column: int, near: str) -> CoqlError:
    return CoqlError(
        "SYNTAX_ERROR",
        "error occurred while parsing the query",
        {"line": line, "column": column, "near": near},
    )


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def fail(self) -> CoqlError:
        tok = self.tok
        return _syntax(tok.line, tok.column, tok.text)

    def take(self) -> Token:
        tok = self.tok
        self.pos += 1
        return tok

    def expect_kw(self, word: str) -> None:
        if not self.tok.is_kw(word):
            raise self.fail()
        self.pos += 1

    def expect(self, text: str) -> None:
        if self.tok.text != text or self.tok.kind not in ("punct", "op"):
            raise self.fail()
        self.pos += 1

    def name(self) -> str:
        tok = self.tok
        if tok.kind != "ident" or tok.text.lower() in _KEYWORDS:
            raise self.fail()
        self.pos += 1
        return tok.text

    def column(self) -> Column:
        name = self.name()
        if self.tok.text == "." and self.tok.kind == "punct":
            self.pos += 1
            return Column(name, self.name())
        return Column(name)

    def integer(self) -> int:
        tok = self.tok
        if tok.kind != "number" or not tok.text.isdigit():
            raise self.fail()
        self.pos += 1
        return int(tok.text)

    def query(self) -> Query:
        self.expect_kw("select")
        select = [self.select_item()]
        while self.tok.text == ",":
            self.pos += 1
            select.append(self.select_item())
        self.expect_kw("from")
        module = self.name()
        self.expect_kw("where")  # a query without criteria is a SYNTAX_ERROR
        query = Query(select, module, self.condition())
        if self.tok.is_kw("order"):
            self.pos += 1
            self.expect_kw("by")
            query.order_by.append(self.order_item())
            while self.tok.text == ",":
                self.pos += 1
                query.order_by.append(self.order_item())
        if self.tok.is_kw("limit"):
            self.pos += 1
            first = self.integer()
            if self.tok.text == ",":
                self.pos += 1
                query.offset, query.limit = first, self.integer()
            else:
                query.limit = first
        if self.tok.is_kw("offset"):
            self.pos += 1
            query.offset = self.integer()
        if self.tok.kind != "eof":
            raise self.fail()
        return query

    def select_item(self) -> Column | Aggregate:
        tok = self.tok
        nxt = self.tokens[min(self.pos + 1, len(self.tokens) - 1)]
        if tok.kind == "ident" and tok.text.upper() in AGGREGATES and nxt.text == "(":
            self.pos += 2
            column: Column | None = None
            if self.tok.text == "*":
                self.pos += 1
                if tok.text.upper() != "COUNT":
                    raise self.fail()
            else:
                column = self.column()
            self.expect(")")
            return Aggregate(tok.text.upper(), column)
        return self.column()

    def order_item(self) -> tuple[Column, bool]:
        column = self.column()
        if self.tok.is_kw("asc", "desc"):
            return column, self.take().text.lower() == "desc"
        return column, False

    def condition(self) -> Condition:
        left = self.conjunction()
        while self.tok.is_kw("or"):
            self.pos += 1
            left = BoolOp("or", left, self.conjunction())
        return left

    def conjunction(self) -> Condition:
        left = self.atom()
        while self.tok.is_kw("and"):
            self.pos += 1
            left = BoolOp("and", left, self.atom())
        return left

    def atom(self) -> Condition:
        if self.tok.text == "(" and self.tok.kind == "punct":
            self.pos += 1
            inner = self.condition()
            self.expect(")")
            return inner
        column = self.column()
        tok = self.tok
        if tok.kind == "op":
            self.pos += 1
            return Compare(column, "!=" if tok.text == "<>" else tok.text, self.literal())
        if tok.is_kw("is"):
            self.pos += 1
            negate = self.tok.is_kw("not")
            if negate:
                self.pos += 1
            self.expect_kw("null")
            return IsNull(column, negate)
        negate = tok.is_kw("not")
        if negate:
            self.pos += 1
        if self.tok.is_kw("in"):
            self.pos += 1
            self.expect("(")
            values = [self.literal()]
            while self.tok.text == ",":
                self.pos += 1
                values.append(self.literal())
            self.expect(")")
            if len(values) > MAX_IN_VALUES:
                raise CoqlError(
                    "LIMIT_EXCEEDED",
                    "the number of values in the in clause exceeds the limit",
                    {"clause": "where", "column_name": column.label, "limit": MAX_IN_VALUES},
                )
            return InList(column, tuple(values), negate)
        if self.tok.is_kw("like"):
            self.pos += 1
            pattern = self.literal()
            if not isinstance(pattern, str):
                raise self.fail()
            return Like(column, pattern, negate)
        raise self.fail()

    def literal(self) -> Any:
        tok = self.take()
        if tok.kind == "string":
            return tok.text[1:-1].replace("''", "'")
        if tok.kind == "number":
            return float(tok.text) if "." in tok.text else int(tok.text)
        if tok.is_kw("null"):
            return None
        if tok.is_kw("true", "false"):
            return tok.text.lower() == "true"
        self.pos -= 1
        raise self.fail()


def parse(text: str) -> Query:
    """Parse a COQL statement; raises CoqlError (SYNTAX_ERROR, LIMIT_EXCEEDED)."""
    query = _Parser(text).query()
    if query.limit > MAX_LIMIT or query.limit < 1:
        raise CoqlError("LIMIT_EXCEEDED", "limit exceeded", {"clause": "limit", "limit": MAX_LIMIT})
    if query.offset + query.limit > MAX_OFFSET_REACH:
        raise CoqlError(
            "LIMIT_EXCEEDED", "offset exceeded", {"clause": "offset", "limit": MAX_OFFSET_REACH}
        )
    return query


@dataclass(slots=True)
class QueryResult:
    rows: list[dict[str, Any]]
    more_records: bool


class Evaluator:
    """Runs a parsed query over records, given each column's kind (`data_type`)."""

    def __init__(self, kinds: Mapping[str, str]) -> None:
        self.kinds = {"id": "id", **kinds}

    def kind(self, column: Column) -> str:
        kind = self.kinds.get(column.name)
        if kind is None or (column.sub is not None and (kind != "lookup" or column.sub != "id")):
            raise CoqlError(
                "INVALID_QUERY", "column given seems to be invalid", {"column_name": column.label}
            )
        return kind

    def run(self, query: Query, records: Iterable[Mapping[str, Any]]) -> QueryResult:
        """Filter, sort, page and project; aggregates collapse the rows into one."""
        for item in query.select:
            if isinstance(item, Aggregate):
                if item.column is not None:
                    self.kind(item.column)
            else:
                self.kind(item)
        for column, _ in query.order_by:
            self.kind(column)
        predicate = self._compile(query.where)
        matched = [r for r in records if predicate(r)]
        aggregates = [i for i in query.select if isinstance(i, Aggregate)]
        if aggregates:
            if len(aggregates) != len(query.select):
                raise CoqlError(
                    "INVALID_QUERY",
                    "aggregate and plain columns need a group by clause",
                    {"clause": "select"},
                )
            if not matched:
                return QueryResult([], False)
            return QueryResult([{a.label: self._aggregate(a, matched) for a in aggregates}], False)
        for column, descending in reversed(query.order_by):
            matched.sort(key=self._sort_key_of(column), reverse=descending)
        page = matched[query.offset : query.offset + query.limit]
        more = len(matched) > query.offset + query.limit
        return QueryResult([self._project(r, query.select) for r in page], more)

    def _value(self, record: Mapping[str, Any], column: Column) -> Any:
        value = record.get(column.name)
        if isinstance(value, dict):
            return value.get("id")
        return value

    def _sort_key_of(self, column: Column) -> Callable[[Mapping[str, Any]], tuple[int, Any]]:
        numeric_id = self.kinds[column.name] in ("id", "lookup")

        def key(record: Mapping[str, Any]) -> tuple[int, Any]:
            value = self._value(record, column)
            if value is None:
                return (0, 0)
            if numeric_id:
                return (1, int(value))
            return (1, value.casefold() if isinstance(value, str) else value)

        return key

    def _project(self, record: Mapping[str, Any], select: Sequence[Column | Aggregate]) -> Any:
        row: dict[str, Any] = {}
        for item in select:
            assert isinstance(item, Column)
            value = record.get(item.name)
            if item.sub is not None:
                value = value.get("id") if isinstance(value, dict) else None
            elif isinstance(value, dict):
                value = {"id": value.get("id")}
            row[item.label] = value
        row["id"] = record["id"]
        return row

    def _aggregate(self, agg: Aggregate, rows: Sequence[Mapping[str, Any]]) -> Any:
        if agg.column is None:
            return len(rows)
        values = [v for v in (self._value(r, agg.column) for r in rows) if v is not None]
        if agg.func == "COUNT":
            return len(values)
        if not values:
            return None
        if agg.func == "MAX":
            return max(values)
        if agg.func == "MIN":
            return min(values)
        if self.kinds[agg.column.name] not in NUMBER_KINDS:
            raise CoqlError(
                "INVALID_QUERY", "data type not supported", {"column_name": agg.column.label}
            )
        total = sum(values)
        return total if agg.func == "SUM" else total / len(values)

    def _literal(self, column: Column, kind: str, value: Any) -> Any:
        """The literal converted to the column's type, or INVALID_QUERY."""
        ok = True
        if value is None or isinstance(value, bool):
            ok = False
        elif kind in NUMBER_KINDS:
            if isinstance(value, str):
                try:
                    value = float(value) if "." in value else int(value)
                except ValueError:
                    ok = False
        elif kind in ("id", "lookup"):
            text = str(value)
            ok, value = text.isdigit(), int(text) if text.isdigit() else 0
        elif not isinstance(value, str):
            ok = False
        else:
            value = value.casefold()
        if not ok:
            raise CoqlError(
                "INVALID_QUERY",
                "value given seems to be invalid for the column",
                {"column_name": column.label},
            )
        return value

    def _record_value(self, record: Mapping[str, Any], column: Column, kind: str) -> Any:
        value = self._value(record, column)
        if value is None:
            return None
        if kind in ("id", "lookup"):
            return int(value)
        return value.casefold() if isinstance(value, str) else value

    def _compile(self, cond: Condition) -> Predicate:
        if isinstance(cond, BoolOp):
            left, right = self._compile(cond.left), self._compile(cond.right)
            if cond.op == "and":
                return lambda r: left(r) and right(r)
            return lambda r: left(r) or right(r)
        kind = self.kind(cond.column)
        column = cond.column
        if isinstance(cond, IsNull):
            negate = cond.negate
            return lambda r: (self._value(r, column) is None) != negate
        if isinstance(cond, InList):
            wanted = {self._literal(column, kind, v) for v in cond.values}
            negate = cond.negate

            def in_list(r: Mapping[str, Any]) -> bool:
                value = self._record_value(r, column, kind)
                return value is not None and (value in wanted) != negate

            return in_list
        if isinstance(cond, Like):
            regex = re.compile(
                "^" + ".*".join(re.escape(p) for p in cond.pattern.split("%")) + "$", re.I | re.S
            )
            negate = cond.negate

            def like(r: Mapping[str, Any]) -> bool:
                value = self._value(r, column)
                return value is not None and bool(regex.match(str(value))) != negate

            return like
        target = self._literal(column, kind, cond.value)
        compare = _OPERATORS[cond.op]

        def compare_one(r: Mapping[str, Any]) -> bool:
            value = self._record_value(r, column, kind)
            return value is not None and compare(value, target)

        return compare_one


_OPERATORS: dict[str, Any] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}
