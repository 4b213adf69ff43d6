"""A run's scratch space: the Galaxy rows selected for this run, on disk, deduplicated.

Galaxy answers a view with one (possibly huge) response. The run streams it through the
mapping into this spool — a temporary SQLite file — and then works from the spool in
revision order, window by window. Memory stays flat whatever the size of the response, the
Galaxy connection is released as soon as the rows are read, and a re-delivered row (a read
retried after a dropped connection) simply replaces itself: per key, the highest revision
wins.

The spool lives for one run only and is deleted when closed.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gzsync.mapping.records import Mapped, Rejected
from gzsync.mapping.warnings import FieldWarning


@dataclass(frozen=True, slots=True)
class ZohoRecord:
    """What Zoho holds for one key, as a full read saw it."""

    key: str
    zoho_id: str
    rev: int | None  # its Rev_Number
    fields: dict[str, Any]  # the compared fields
    link: str | None = None  # Affiliate_To's id


_SCHEMA = """
CREATE TABLE rows (
    stream TEXT NOT NULL, key TEXT NOT NULL, rev INTEGER NOT NULL, ok INTEGER NOT NULL,
    payload TEXT, warnings TEXT, parent TEXT, card INTEGER NOT NULL DEFAULT 0,
    reason TEXT, field TEXT, detail TEXT, skip INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (stream, key)
);
CREATE INDEX rows_by_rev ON rows (stream, rev, key);
CREATE TABLE zoho (
    module TEXT NOT NULL, key TEXT NOT NULL, id TEXT NOT NULL, rev INTEGER,
    fields TEXT NOT NULL, link TEXT,
    PRIMARY KEY (module, key)
);
CREATE TABLE affiliates (
    key TEXT NOT NULL, rev INTEGER NOT NULL, ok INTEGER NOT NULL,
    payload TEXT, warnings TEXT, parent TEXT NOT NULL, reason TEXT, field TEXT, detail TEXT,
    PRIMARY KEY (rev, key, parent)
);
CREATE TABLE notes (
    kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
"""

_UPSERT_ROW = """
INSERT INTO rows (stream, key, rev, ok, payload, warnings, parent, card, reason, field, detail)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (stream, key) DO UPDATE SET
    rev = excluded.rev, ok = excluded.ok, payload = excluded.payload,
    warnings = excluded.warnings, parent = excluded.parent, card = excluded.card,
    reason = excluded.reason, field = excluded.field, detail = excluded.detail
WHERE excluded.rev >= rows.rev
"""

_UPSERT_AFFILIATE = """
INSERT OR REPLACE INTO affiliates (key, rev, ok, payload, warnings, parent, reason, field, detail)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

_FLUSH_EVERY = 2000
_PAGE = 1000


class Spool:
    """Temporary, deduplicated, revision-ordered storage of one run's Galaxy rows."""

    def __init__(self, directory: Path | None = None) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="gzsync-spool-", dir=directory))
        self._db = sqlite3.connect(self._dir / "spool.db", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA temp_store=FILE")
        self._db.execute("PRAGMA cache_size=-8000")  # 8 MB page cache: memory stays flat
        self._db.executescript(_SCHEMA)
        self._rows: list[tuple[Any, ...]] = []
        self._affiliates: list[tuple[Any, ...]] = []

    # -- filling ---------------------------------------------------------------------------
    def add(self, stream: str, item: Mapped | Rejected) -> None:
        """Keep `item` for `stream`; per key the highest revision wins."""
        if isinstance(item, Mapped):
            self._rows.append(
                (
                    stream,
                    item.key,
                    item.rev,
                    1,
                    _dump(item.payload),
                    _dump([w.to_list() for w in item.warnings]),
                    item.parent_key,
                    int(item.card_holder),
                    None,
                    None,
                    None,
                )
            )
        else:
            self._rows.append(
                (
                    stream,
                    item.key,
                    item.rev,
                    0,
                    None,
                    None,
                    None,
                    0,
                    item.reason,
                    item.field,
                    item.detail,
                )
            )
        if len(self._rows) >= _FLUSH_EVERY:
            self.flush()

    def add_affiliate(self, item: Mapped | Rejected) -> None:
        """Keep one affiliate row; an affiliate shared by several customers has several.

        Rows are told apart by (revision, key, card holder named): card holders sharing a
        revision may share an affiliate too (an empty name is stored as '')."""
        row: tuple[Any, ...]
        if isinstance(item, Mapped):
            row = (
                item.key,
                item.rev,
                1,
                _dump(item.payload),
                _dump([w.to_list() for w in item.warnings]),
                item.parent_key or "",
                None,
                None,
                None,
            )
        else:
            row = (item.key, item.rev, 0, None, None, "", item.reason, item.field, item.detail)
        self._affiliates.append(row)
        if len(self._affiliates) >= _FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self._rows:
            self._db.execute("BEGIN")
            self._db.executemany(_UPSERT_ROW, self._rows)
            self._db.execute("COMMIT")
            self._rows.clear()
        if self._affiliates:
            self._db.execute("BEGIN")
            self._db.executemany(_UPSERT_AFFILIATE, self._affiliates)
            self._db.execute("COMMIT")
            self._affiliates.clear()

    # -- reading ---------------------------------------------------------------------------
    def count(self, stream: str) -> int:
        self.flush()
        (n,) = self._db.execute(
            "SELECT count(*) FROM rows WHERE stream = ? AND skip = 0", (stream,)
        ).fetchone()
        return int(n)

    def rejected_keys(self, stream: str) -> set[str]:
        """Keys of `stream` that the mapping rejected in this run (a small share)."""
        self.flush()
        cur = self._db.execute("SELECT key FROM rows WHERE stream = ? AND ok = 0", (stream,))
        return {k for (k,) in cur}

    def missing(self, stream: str, keys: Iterable[str]) -> set[str]:
        """Those of `keys` that the spool does not hold for `stream`."""
        self.flush()
        wanted = list(keys)
        found: set[str] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            cur = self._db.execute(
                f"SELECT key FROM rows WHERE stream = ? AND key IN ({marks})",  # noqa: S608
                (stream, *chunk),
            )
            found.update(k for (k,) in cur)
        return set(wanted) - found

    def iter_rows(self, stream: str, limit: int | None = None) -> Iterator[Mapped | Rejected]:
        """Rows of `stream` by ascending revision (then key), at most `limit` of them —
        plus the rest of the last revision's rows, so that a limit never splits rows that
        share a revision (the next run reads strictly above the watermark).

        Reads in pages (keyset pagination), so no cursor stays open while the caller works.
        """
        self.flush()
        after: tuple[int, str] = (-(2**62), "")
        left = limit
        while left is None or left > 0:
            page = _PAGE if left is None else min(_PAGE, left)
            rows = self._page(stream, after, page)
            if not rows:
                return
            for row in rows:
                yield _load(row)
            after = (rows[-1][1], rows[-1][0])
            if left is not None:
                left -= len(rows)
        while True:  # the limit was reached: finish the last revision
            rows = [r for r in self._page(stream, after, _PAGE) if r[1] == after[0]]
            if not rows:
                return
            for row in rows:
                yield _load(row)
            after = (rows[-1][1], rows[-1][0])

    def _page(self, stream: str, after: tuple[int, str], size: int) -> list[tuple[Any, ...]]:
        return self._db.execute(
            "SELECT key, rev, ok, payload, warnings, parent, card, reason, field, detail "
            "FROM rows WHERE stream = ? AND skip = 0 AND (rev, key) > (?, ?) "
            "ORDER BY rev, key LIMIT ?",
            (stream, after[0], after[1], size),
        ).fetchall()

    def rows_of(self, stream: str, keys: Iterable[str]) -> dict[str, Mapped | Rejected]:
        """The rows of `stream` with these keys, skipped ones included."""
        self.flush()
        select = (
            "SELECT key, rev, ok, payload, warnings, parent, card, reason, field, detail "
            "FROM rows WHERE stream = ?"
        )
        return {row[0]: _load(row) for row in self._select_in(select, stream, keys)}

    def _select_in(self, select: str, fixed: str, keys: Iterable[str]) -> Iterator[Any]:
        """Rows of `select` (one `?` for `fixed`) whose key is one of `keys`, in chunks."""
        wanted = sorted(set(keys))
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            # only our fixed SQL text and `?` placeholders are joined here
            yield from self._db.execute(f"{select} AND key IN ({marks})", (fixed, *chunk))

    def skip(self, stream: str, keys: Iterable[str]) -> None:
        """Leave these rows out of the run's writes (Zoho already holds them)."""
        self.flush()
        self._db.execute("BEGIN")
        self._db.executemany(
            "UPDATE rows SET skip = 1 WHERE stream = ? AND key = ?", ((stream, k) for k in keys)
        )
        self._db.execute("COMMIT")

    def iter_all(self, stream: str) -> Iterator[Mapped | Rejected]:
        """Every row of `stream` by revision, skipped ones included (paged like iter_rows)."""
        self.flush()
        after: tuple[int, str] = (-(2**62), "")
        while True:
            rows = self._db.execute(
                "SELECT key, rev, ok, payload, warnings, parent, card, reason, field, detail "
                "FROM rows WHERE stream = ? AND (rev, key) > (?, ?) ORDER BY rev, key LIMIT ?",
                (stream, after[0], after[1], _PAGE),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield _load(row)
            after = (rows[-1][1], rows[-1][0])

    # -- what Zoho holds (full reads) ------------------------------------------------------
    def add_zoho(self, module: str, records: Iterable[ZohoRecord]) -> None:
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT OR REPLACE INTO zoho (module, key, id, rev, fields, link) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((module, r.key, r.zoho_id, r.rev, _dump(r.fields), r.link) for r in records),
        )
        self._db.execute("COMMIT")

    def zoho_of(self, module: str, keys: Iterable[str]) -> dict[str, ZohoRecord]:
        """What Zoho holds for these keys (read by a full read), by key."""
        select = "SELECT key, id, rev, fields, link FROM zoho WHERE module = ?"
        return {
            key: ZohoRecord(key, zoho_id, rev, json.loads(fields), link)
            for key, zoho_id, rev, fields, link in self._select_in(select, module, keys)
        }

    # -- notes: per-key facts a run gathers about many keys, kept on disk ------------------
    def put_notes(self, kind: str, values: Mapping[str, str]) -> None:
        """Keep `values` (key -> text) under `kind`; a key noted again takes the new value.

        For what a run learns about every record of a large load (the Bulk Write path's
        affiliate ids and last windows): on disk, so memory does not grow with the load."""
        if not values:
            return
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT OR REPLACE INTO notes (kind, key, value) VALUES (?, ?, ?)",
            ((kind, key, value) for key, value in values.items()),
        )
        self._db.execute("COMMIT")

    def notes_of(self, kind: str, keys: Iterable[str]) -> dict[str, str]:
        """The notes of `kind` for these keys (keys without one are left out)."""
        select = "SELECT key, value FROM notes WHERE kind = ?"
        return dict(self._select_in(select, kind, keys))

    def skip_held_by_zoho(self, stream: str, module: str) -> int:
        """Skip the good rows of `stream` that Zoho holds at the same or a newer revision."""
        self.flush()
        self._db.execute("BEGIN")
        n = self._db.execute(
            "UPDATE rows SET skip = 1 WHERE stream = ? AND ok = 1 AND EXISTS (SELECT 1 FROM zoho "
            "WHERE zoho.module = ? AND zoho.key = rows.key AND zoho.rev >= rows.rev)",
            (stream, module),
        ).rowcount
        self._db.execute("COMMIT")
        return int(n)

    def affiliates_between(self, low: int, high: int) -> list[Mapped | Rejected]:
        """Affiliate rows whose revision lies in [low, high], by revision."""
        self.flush()
        rows = self._db.execute(
            "SELECT key, rev, ok, payload, warnings, nullif(parent, ''), 0, reason, field, "
            "detail FROM affiliates WHERE rev BETWEEN ? AND ? ORDER BY rev, key, parent",
            (low, high),
        ).fetchall()
        return [_load(r) for r in rows]

    def has_card_holder_rev(self, rev: int, stream: str = "customers") -> bool:
        """Whether a card holder of this revision is in the spool."""
        self.flush()
        row = self._db.execute(
            "SELECT 1 FROM rows WHERE stream = ? AND rev = ? AND card = 1 AND ok = 1 LIMIT 1",
            (stream, rev),
        ).fetchone()
        return row is not None

    def min_card_holder_rev(self, stream: str = "customers") -> int | None:
        self.flush()
        (rev,) = self._db.execute(
            "SELECT min(rev) FROM rows WHERE stream = ? AND card = 1 AND ok = 1", (stream,)
        ).fetchone()
        return None if rev is None else int(rev)

    def close(self) -> None:
        self._db.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _load(row: tuple[Any, ...]) -> Mapped | Rejected:
    key, rev, ok, payload, warnings, parent, card, reason, field, detail = row
    if ok:
        return Mapped(
            key=key,
            rev=int(rev),
            payload=json.loads(payload),
            warnings=tuple(FieldWarning.from_list(w) for w in json.loads(warnings or "[]")),
            parent_key=parent,
            card_holder=bool(card),
        )
    return Rejected(key=key, rev=int(rev), reason=reason, field=field, detail=detail or "")
