"""The reconcile index: both sides' keys, revisions and synced fields, on disk.

A reconcile compares every key of a stream, which at a million accounts does not fit in a
flat memory budget as Python objects. Like the run's spool (:mod:`gzsync.sync.spool`), the
index is a SQLite file with a small page cache: the Galaxy rows (mapped) and the Zoho
records (as COQL returned them) stream into it, and classification walks both sides in key
order with two cursors — a merge join, never a dict of every key.

Unlike the spool it outlives the process that wrote it: a reconcile stopped by
``--max-duration`` keeps what it read (with a checkpoint per phase and the last Zoho id read
per module) and the next reconcile carries on from there (see :mod:`gzsync.reconcile.engine`
for when a checkpoint is still trusted).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from gzsync.mapping.records import Mapped, Rejected
from gzsync.reconcile.classify import Expected, ZohoRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS expected (
    module TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, rev INTEGER NOT NULL,
    payload TEXT NOT NULL, link TEXT, card INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (module, key)
);
CREATE INDEX IF NOT EXISTS expected_by_rev ON expected (module, kind, rev, key);
CREATE TABLE IF NOT EXISTS known (
    module TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (module, key)
);
CREATE TABLE IF NOT EXISTS affiliate_rows (
    key TEXT NOT NULL, rev INTEGER NOT NULL, payload TEXT NOT NULL, parent TEXT,
    PRIMARY KEY (rev, key)
);
CREATE TABLE IF NOT EXISTS zoho (
    module TEXT NOT NULL, id TEXT NOT NULL, key TEXT, rev INTEGER, fields TEXT NOT NULL,
    link TEXT, status TEXT,
    PRIMARY KEY (module, id)
);
CREATE INDEX IF NOT EXISTS zoho_by_key ON zoho (module, key, id);
CREATE TABLE IF NOT EXISTS verdicts (
    module TEXT NOT NULL, key TEXT NOT NULL, cls TEXT NOT NULL, kind TEXT,
    PRIMARY KEY (module, key)
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS account_tins (
    tin TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (tin, id)
);
CREATE TABLE IF NOT EXISTS offers (key TEXT PRIMARY KEY, galaxy_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS quote_lines (key TEXT PRIMARY KEY, lines TEXT NOT NULL);
"""

#: The Accounts field a quote without TRDRID is linked by (its customer's TIN).
TIN_FIELD = "Account_AFM"
#: How a quote's link names an Account by TIN rather than by Trader_ID.
TIN_LINK = "tin:"

_PUT_EXPECTED = """
INSERT INTO expected (module, key, kind, rev, payload, link, card) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (module, key) DO UPDATE SET
    rev = excluded.rev, payload = excluded.payload, link = excluded.link, card = excluded.card
WHERE excluded.rev >= expected.rev
"""

# An affiliate never replaces a customer of the same key (the customer's record wins, as
# in the sync, whose customers are written after their window's affiliates).
_PUT_AFFILIATE = """
INSERT INTO expected (module, key, kind, rev, payload) VALUES ('Accounts', ?, 'affiliate', ?, ?)
ON CONFLICT (module, key) DO UPDATE SET rev = excluded.rev, payload = excluded.payload
WHERE expected.kind = 'affiliate' AND excluded.rev >= expected.rev
"""

_FLUSH_EVERY = 2000


class ReconcileIndex:
    """Both sides of a reconcile on disk; see the module docstring."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA temp_store=FILE")
        self._db.execute("PRAGMA cache_size=-8000")  # 8 MB page cache: memory stays flat
        self._db.executescript(_SCHEMA)
        # Verdicts are written while classification still reads both sides through open
        # cursors: a second connection (WAL lets it write beside the readers).
        self._verdicts = sqlite3.connect(path, isolation_level=None)
        self._verdicts.execute("PRAGMA cache_size=-2000")
        self._expected: list[tuple[Any, ...]] = []
        self._known: list[tuple[str, str]] = []
        self._affiliates: list[tuple[Any, ...]] = []

    # -- checkpoints -----------------------------------------------------------------------
    def get(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, name: str, value: str) -> None:
        self.flush()
        self._db.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    # -- the Galaxy side -------------------------------------------------------------------
    def add_galaxy(self, module: str, kind: str, item: Mapped | Rejected) -> None:
        """Keep one mapped row: Zoho should hold a Mapped one; a Rejected key is only known."""
        if not item.key.startswith("?"):
            self._known.append((module, item.key))
        if isinstance(item, Mapped):
            link = item.parent_key if kind == "contact" else None
            self._expected.append(
                (module, item.key, kind, item.rev, _dump(item.payload), link, int(item.card_holder))
            )
        if len(self._expected) + len(self._known) >= _FLUSH_EVERY:
            self.flush()

    def add_expected(
        self, module: str, key: str, kind: str, rev: int, payload: Any, link: str | None
    ) -> None:
        """One record Zoho should hold (quotes, products: not a mapping `Table`'s)."""
        self._known.append((module, key))
        self._expected.append((module, key, kind, rev, _dump(payload), link, 0))
        if len(self._expected) + len(self._known) >= _FLUSH_EVERY:
            self.flush()

    def add_known(self, module: str, key: str) -> None:
        """A key Galaxy has that Zoho is not to hold (rejected): never an orphan."""
        self._known.append((module, key))

    def put_offers(self, rows: list[tuple[str, str]]) -> None:
        """(offer key, the offer ID as Galaxy spells it: the lines view's filter)."""
        self._db.execute("BEGIN")
        self._db.executemany("INSERT OR REPLACE INTO offers VALUES (?, ?)", rows)
        self._db.execute("COMMIT")

    def galaxy_ids(self, keys: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for key in keys:
            row = self._db.execute("SELECT galaxy_id FROM offers WHERE key = ?", (key,)).fetchone()
            if row is not None:
                found[key] = str(row[0])
        return found

    def put_quote_lines(self, rows: list[tuple[str, Any]]) -> None:
        """An offer's mapped lines, kept for --repair (its quote is to be re-sent)."""
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT OR REPLACE INTO quote_lines VALUES (?, ?)", [(k, _dump(v)) for k, v in rows]
        )
        self._db.execute("COMMIT")

    def quote_lines(self, key: str) -> Any:
        row = self._db.execute("SELECT lines FROM quote_lines WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def clear_lines(self) -> None:
        """Forget what a classification learnt from offer lines (it is done again whole)."""
        self.flush()
        self._db.executescript(
            "DELETE FROM quote_lines; DELETE FROM expected WHERE module = 'Products';"
        )

    def add_affiliate_row(self, item: Mapped | Rejected) -> None:
        """An affiliate row: its key is known; a mapped one may be linked later."""
        if not item.key.startswith("?"):
            self._known.append(("Accounts", item.key))
        if isinstance(item, Mapped):
            self._affiliates.append((item.key, item.rev, _dump(item.payload), item.parent_key))
        if len(self._affiliates) + len(self._known) >= _FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if not (self._expected or self._known or self._affiliates):
            return
        self._db.execute("BEGIN")
        self._db.executemany(_PUT_EXPECTED, self._expected)
        self._db.executemany("INSERT OR IGNORE INTO known VALUES (?, ?)", self._known)
        self._db.executemany(
            "INSERT OR REPLACE INTO affiliate_rows VALUES (?, ?, ?, ?)", self._affiliates
        )
        self._db.execute("COMMIT")
        self._expected.clear()
        self._known.clear()
        self._affiliates.clear()

    def clear_galaxy(self) -> None:
        """Forget a Galaxy read that did not finish (it is read whole again)."""
        self.flush()
        self._db.executescript(
            "DELETE FROM expected; DELETE FROM known; DELETE FROM affiliate_rows; "
            "DELETE FROM offers;"
        )

    def customers_by_rev(self, page: int = 1000) -> Iterator[Mapped]:
        """The expected customers by ascending revision (keyset pages, no open cursor)."""
        self.flush()
        after: tuple[int, str] = (-(2**62), "")
        while True:
            rows = self._db.execute(
                "SELECT key, rev, payload, card FROM expected WHERE module = 'Accounts' "
                "AND kind = 'customer' AND (rev, key) > (?, ?) ORDER BY rev, key LIMIT ?",
                (after[0], after[1], page),
            ).fetchall()
            if not rows:
                return
            for key, rev, payload, card in rows:
                yield Mapped(key, int(rev), json.loads(payload), card_holder=bool(card))
            after = (rows[-1][1], rows[-1][0])

    def affiliate_rows_between(self, low: int, high: int) -> list[Mapped]:
        rows = self._db.execute(
            "SELECT key, rev, payload, parent FROM affiliate_rows WHERE rev BETWEEN ? AND ? "
            "ORDER BY rev, key",
            (low, high),
        ).fetchall()
        return [Mapped(k, int(r), json.loads(p), parent_key=parent) for k, r, p, parent in rows]

    def put_links(self, affiliates: Iterable[Mapped], links: dict[str, str]) -> None:
        """A window's linking: its affiliates become expected, its card holders linked."""
        self.flush()
        self._db.execute("BEGIN")
        self._db.executemany(_PUT_AFFILIATE, [(a.key, a.rev, _dump(a.payload)) for a in affiliates])
        self._db.executemany(
            "UPDATE expected SET link = ? WHERE module = 'Accounts' AND key = ?",
            [(affiliate, customer) for customer, affiliate in links.items()],
        )
        self._db.execute("COMMIT")

    def drop_orphan_contacts(self) -> int:
        """Contacts whose customer Zoho is not to hold wait in the ledger: not expected."""
        self.flush()
        cur = self._db.execute(
            "DELETE FROM expected WHERE module = 'Contacts' AND (link IS NULL OR link NOT IN "
            "(SELECT key FROM expected WHERE module = 'Accounts' AND kind = 'customer'))"
        )
        return cur.rowcount

    # -- the Zoho side ---------------------------------------------------------------------
    def add_zoho(self, module: str, rows: Iterable[tuple[Any, ...]]) -> None:
        """(id, key, rev, fields, link, status) of one COQL page."""
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT OR REPLACE INTO zoho (module, id, key, rev, fields, link, status) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(module, i, k, r, _dump(f), link, s) for i, k, r, f, link, s in rows],
        )
        if module == "Accounts":  # quotes without TRDRID find their Account by TIN
            self._db.executemany(
                "INSERT OR IGNORE INTO account_tins VALUES (?, ?)",
                [(str(f[TIN_FIELD]), i) for i, _k, _r, f, _l, _s in rows if f.get(TIN_FIELD)],
            )
        self._db.execute("COMMIT")

    def clear_zoho(self, module: str) -> None:
        self._db.execute("DELETE FROM zoho WHERE module = ?", (module,))
        if module == "Accounts":
            self._db.execute("DELETE FROM account_tins")

    def unkeyed(self, module: str) -> Iterator[str]:
        cur = self._db.execute(
            "SELECT id FROM zoho WHERE module = ? AND key IS NULL ORDER BY id", (module,)
        )
        return (str(i) for (i,) in cur)

    def zoho_ids(self, module: str, key: str) -> list[str]:
        rows = self._db.execute(
            "SELECT id FROM zoho WHERE module = ? AND key = ? ORDER BY length(id), id",
            (module, key),
        ).fetchall()
        return [str(i) for (i,) in rows]

    # -- the two sides side by side --------------------------------------------------------
    def expected_side(self, module: str) -> Iterator[tuple[Any, ...]]:
        """(key, kind, rev, payload, link_key, link_ids) by key; link ids from Accounts
        (by `Trader_ID`, or by TIN for a link spelled ``tin:<digits>``)."""
        self.flush()
        return self._db.execute(
            "SELECT e.key, e.kind, e.rev, e.payload, e.link, CASE WHEN e.link LIKE 'tin:%' "
            "THEN (SELECT group_concat(t.id) FROM account_tins t WHERE t.tin = substr(e.link, 5)) "
            "ELSE (SELECT group_concat(z.id) FROM zoho z WHERE z.module = 'Accounts' "
            "AND z.key = e.link) END FROM expected e WHERE e.module = ? ORDER BY e.key",
            (module,),
        )

    def link_ids(self, link: str) -> list[str]:
        """The Zoho Account ids a link key names (a `Trader_ID`, or ``tin:<digits>``)."""
        if link.startswith(TIN_LINK):
            rows = self._db.execute(
                "SELECT id FROM account_tins WHERE tin = ? ORDER BY length(id), id",
                (link[len(TIN_LINK) :],),
            ).fetchall()
            return [str(i) for (i,) in rows]
        return self.zoho_ids("Accounts", link)

    def zoho_side(self, module: str) -> Iterator[tuple[Any, ...]]:
        """(key, id, rev, fields, link, status, known) of keyed records, by key then id."""
        return self._db.execute(
            "SELECT z.key, z.id, z.rev, z.fields, z.link, z.status, "
            "EXISTS (SELECT 1 FROM known k WHERE k.module = z.module AND k.key = z.key) "
            "FROM zoho z WHERE z.module = ? AND z.key IS NOT NULL ORDER BY z.key, z.id",
            (module,),
        )

    # -- verdicts (what --repair acts on) --------------------------------------------------
    def clear_verdicts(self) -> None:
        self._verdicts.execute("DELETE FROM verdicts")

    def add_verdicts(self, rows: list[tuple[str, str, str, str | None]]) -> None:
        if not rows:
            return
        self._verdicts.execute("BEGIN")
        self._verdicts.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?)", rows)
        self._verdicts.execute("COMMIT")

    def to_resend(self, module: str, kind: str, classes: Iterable[str]) -> Iterator[Mapped]:
        """Expected records of `kind` whose verdict is one of `classes`, by revision."""
        wanted = sorted(classes)
        marks = ",".join("?" * len(wanted))
        after: tuple[int, str] = (-(2**62), "")
        while True:
            rows = self._db.execute(
                "SELECT e.key, e.rev, e.payload, e.link FROM expected e JOIN verdicts v "  # noqa: S608
                "ON v.module = e.module AND v.key = e.key "
                f"WHERE e.module = ? AND e.kind = ? AND v.cls IN ({marks}) "
                "AND (e.rev, e.key) > (?, ?) ORDER BY e.rev, e.key LIMIT 1000",
                (module, kind, *wanted, after[0], after[1]),
            ).fetchall()
            if not rows:
                return
            for key, rev, payload, link in rows:
                yield Mapped(key, int(rev), json.loads(payload), parent_key=link)
            after = (rows[-1][1], rows[-1][0])

    def orphans(self, module: str) -> list[tuple[str, str, str | None]]:
        """(key, id, status) of the orphan records of `module`."""
        rows = self._db.execute(
            "SELECT v.key, z.id, z.status FROM verdicts v JOIN zoho z "
            "ON z.module = v.module AND z.key = v.key "
            "WHERE v.module = ? AND v.cls = 'orphan' ORDER BY v.key",
            (module,),
        ).fetchall()
        return [(str(k), str(i), s) for k, i, s in rows]

    def close(self) -> None:
        self.flush()
        self._verdicts.close()
        self._db.close()


def pairs(
    index: ReconcileIndex, module: str
) -> Iterator[tuple[str, str | None, Expected | None, list[ZohoRecord], bool]]:
    """(key, kind, expected, Zoho records, known to Galaxy) for every key of either side,
    in key order: a merge join of two sorted cursors."""
    expected_rows = iter(index.expected_side(module))
    zoho_rows = iter(index.zoho_side(module))
    e = next(expected_rows, None)
    z = next(zoho_rows, None)
    while e is not None or z is not None:
        key = min(r[0] for r in (e, z) if r is not None)
        expected: Expected | None = None
        kind: str | None = None
        if e is not None and e[0] == key:
            _key, kind, rev, payload, link, link_ids = e
            expected = Expected(
                key,
                int(rev),
                json.loads(payload),
                link,
                frozenset(link_ids.split(",")) if link_ids else frozenset(),
            )
            e = next(expected_rows, None)
        records: list[ZohoRecord] = []
        known = False
        while z is not None and z[0] == key:
            _key, rid, rev, fields, link, _status, in_known = z
            records.append(
                ZohoRecord(str(rid), None if rev is None else int(rev), json.loads(fields), link)
            )
            known = bool(in_known)
            z = next(zoho_rows, None)
        yield key, kind, expected, records, known


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
