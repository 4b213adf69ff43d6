"""The offers one quotes run works on, on disk: a temporary SQLite file, as the phase-1
spool (:mod:`gzsync.sync.spool`) keeps customers and contacts.

The offers view is read into it as it streams; per key the highest revision wins, and on a
tie the row read last (exactly the in-memory rule it replaces). The run then reads it back
in revision order (then key) one block at a time, so memory holds a block of offers, not
every changed offer: a first load of hundreds of thousands of offers costs disk, not RAM.

Offers are stored as the mapping made them (:class:`~gzsync.mapping.quotes.MappedQuote`
or :class:`~gzsync.mapping.records.Rejected`): the payload and warnings as JSON, which
gives back the same values (strings, numbers, None). The file lives for one run and is
deleted when closed.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from gzsync.mapping.quotes import MappedQuote
from gzsync.mapping.records import Rejected
from gzsync.mapping.warnings import FieldWarning

_SCHEMA = """
CREATE TABLE offers (
    key TEXT PRIMARY KEY, rev INTEGER NOT NULL, ok INTEGER NOT NULL, galaxy_id TEXT,
    payload TEXT, warnings TEXT, trdrid TEXT, tin TEXT, reason TEXT, field TEXT, detail TEXT
);
CREATE INDEX offers_by_rev ON offers (rev, key);
"""

_UPSERT = """
INSERT INTO offers (key, rev, ok, galaxy_id, payload, warnings, trdrid, tin, reason, field, detail)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET
    rev = excluded.rev, ok = excluded.ok, galaxy_id = excluded.galaxy_id,
    payload = excluded.payload, warnings = excluded.warnings, trdrid = excluded.trdrid,
    tin = excluded.tin, reason = excluded.reason, field = excluded.field,
    detail = excluded.detail
WHERE excluded.rev >= offers.rev
"""

_COLUMNS = "key, rev, ok, galaxy_id, payload, warnings, trdrid, tin, reason, field, detail"
_FLUSH_EVERY = 2000

Offer = MappedQuote | Rejected


class OfferSpool:
    """Temporary, deduplicated, revision-ordered storage of one quotes run's offers."""

    def __init__(self, directory: Path | None = None) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="gzsync-offers-", dir=directory))
        self._db = sqlite3.connect(self._dir / "offers.db", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA temp_store=FILE")
        self._db.execute("PRAGMA cache_size=-8000")  # 8 MB page cache: memory stays flat
        self._db.executescript(_SCHEMA)
        self._pending: list[tuple[Any, ...]] = []

    def add(self, item: Offer) -> None:
        """Keep `item`; per key the highest revision wins (on a tie, the later row)."""
        if isinstance(item, MappedQuote):
            row: tuple[Any, ...] = (
                item.key,
                item.rev,
                1,
                item.galaxy_id,
                _dump(item.payload),
                _dump([w.to_list() for w in item.warnings]),
                item.account_trdrid,
                item.account_tin,
                None,
                None,
                None,
            )
        else:
            row = (item.key, item.rev, 0, *([None] * 5), item.reason, item.field, item.detail)
        self._pending.append(row)
        if len(self._pending) >= _FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._db.execute("BEGIN")
            self._db.executemany(_UPSERT, self._pending)
            self._db.execute("COMMIT")
            self._pending.clear()

    def revisions(self, keys: Iterable[str]) -> dict[str, int]:
        """Key -> revision held, for those of `keys` the spool holds."""
        self.flush()
        wanted = sorted(set(keys))
        found: dict[str, int] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            # only our fixed SQL text and `?` placeholders are joined here
            cur = self._db.execute(
                f"SELECT key, rev FROM offers WHERE key IN ({marks})",  # noqa: S608
                chunk,
            )
            found.update((str(k), int(r)) for k, r in cur)
        return found

    def count(self) -> int:
        self.flush()
        (n,) = self._db.execute("SELECT count(*) FROM offers").fetchone()
        return int(n)

    def blocks(self, size: int, limit: int | None = None) -> Iterator[list[Offer]]:
        """The offers by ascending (revision, key), `size` at a time, the first `limit` only
        when given. Keyset pages: no cursor stays open while the caller works."""
        self.flush()
        after: tuple[int, str] = (-(2**62), "")
        left = limit
        while left is None or left > 0:
            page = size if left is None else min(size, left)
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM offers WHERE (rev, key) > (?, ?) "  # noqa: S608
                "ORDER BY rev, key LIMIT ?",
                (after[0], after[1], page),
            ).fetchall()
            if not rows:
                return
            after = (int(rows[-1][1]), str(rows[-1][0]))
            if left is not None:
                left -= len(rows)
            yield [_load(r) for r in rows]

    def close(self) -> None:
        self._db.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> OfferSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _load(row: tuple[Any, ...]) -> Offer:
    key, rev, ok, galaxy_id, payload, warnings, trdrid, tin, reason, field, detail = row
    if ok:
        return MappedQuote(
            key=key,
            galaxy_id=galaxy_id,
            rev=int(rev),
            payload=json.loads(payload),
            account_trdrid=trdrid,
            account_tin=tin,
            warnings=tuple(FieldWarning.from_list(w) for w in json.loads(warnings or "[]")),
        )
    return Rejected(key=key, rev=int(rev), reason=reason, field=field, detail=detail or "")
