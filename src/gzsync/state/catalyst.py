"""The state store on Zoho Catalyst: NoSQL for durable state, Cache for expiring entries.

A Catalyst function's disk does not survive the invocation, so a Job function keeps its state
in the project's Catalyst services, through zcatalyst-sdk 1.4.0:

- **One NoSQL table** (`CATALYST_NOSQL_TABLE`, default `gzsync_state`; partition key `pk`,
  sort key `sk`, both strings; create it in the console) holds every durable item kind:

  ==================  =================  ==================================================
  pk                  sk                 attributes
  ==================  =================  ==================================================
  `lock`              `lock`             `owner` (S), `expires_at` (N, epoch seconds)
  `wm`                stream             `rev` (N)
  `ledger#<stream>`   record key         `data` (S, the entry as JSON)
  `ids#<module>`      `<ms>#<n>#<tag>`   `ids` (S, JSON `{key: zoho id}`; "" = evicted)
  `runs`              `<ms>#<run_id>`    `data` (S, the run as JSON); newest = last sk
  `runid`             run id             `run_sk` (S): where the run's item lives
  ==================  =================  ==================================================

- **Catalyst Cache** (the default segment, or `CATALYST_CACHE_SEGMENT`) for the key/value
  entries (Galaxy session, Zoho token). Cache expiry is whole hours (1-48), so the exact
  expiry travels inside the value (`{"v": value, "exp": epoch}`) and is checked on read. An
  entry without a TTL gets the Cache maximum of 48 hours: both our entries are re-creatable.

**Few calls** (a NoSQL call costs 30-100 ms; a first sync of 100,000 customers commits
~2,900 batches). Writes are *group-committed*: :meth:`commit_batch` puts what a batch
changes (its ledger entries, resolutions, one packed item with its ids, the new watermark)
into an ordered write buffer and sends the buffer when it holds a full call (25 items, the
NoSQL maximum) or is 10 seconds old; everything else that reads or ends a run
(`get_watermark`, the ledger reads, `release_lock`, `run_finished`, `close`) sends it first.
The ids — a cache Zoho can rebuild — are packed, one item per batch, and read back all at
once (100 packs per query page) on the first `ids_get`, then served from memory. The ledger
of each stream is read once per run (one consistent query, after the lock is taken: only
the lock holder commits) and kept in memory, so a commit reads nothing.

**Never ahead of the ledger.** The buffer keeps one pending write per item, in the order
first asked, and a watermark is only sent once every write buffered before it has been
acknowledged item by item — in a later call than theirs, because items of one call may fail
on their own. So a crash, a kill, or a write that fails after its retries leaves the durable
watermark at a revision below which every record is in Zoho or in the durable ledger; what
was lost from the buffer is read again from Galaxy by the next run (upserts are
idempotent: it costs credits, never a record). A failed write raises :class:`StateError`
and the run stops (exit 3); later commits only buffer and raise it again.

**Retries and consistency.** Every call is retried on 429 ("Concurrency limit reached"), 5xx
and transport errors with exponential backoff (stamina, under the settings' retry policy);
items a batch call reports failed are sent again on their own. Every read that decides
something (the lock read-back, the watermark, the ledger, the ids) asks for
`consistent_read`: Catalyst serves other reads from a replica "with a minor delay".

**The lock** is one conditional NoSQL insert: Catalyst evaluates the condition against the
existing item and ignores it when there is none, so "insert if `expires_at` < now or
`owner` = me" takes a free, expired or already-held lock atomically and fails otherwise. The
store then reads the lock back (consistently) and trusts only what it reads, so it does not
depend on how the service words a failed condition.

The store is safe to call from several threads (the pipeline commits from a worker thread,
so NoSQL time overlaps the Zoho calls instead of stalling the event loop).

Outside Catalyst (tests, the demo, an operator's laptop) the SDK is initialised with
`initialize_app()` from the `CATALYST_AUTH` / `CATALYST_OPTIONS` environment variables; the
SDK sends every call to `X_ZOHO_CATALYST_CONSOLE_URL`, read when zcatalyst_sdk is imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any, get_args

import stamina

from gzsync.config import Settings
from gzsync.errors import ConfigError, LockHeldError, StateError
from gzsync.http import RetryPolicy
from gzsync.state.catalyst_quality import CatalystQuality
from gzsync.state.store import (
    BatchCommit,
    LedgerEntry,
    LedgerKind,
    RunRecord,
    StreamName,
)
from gzsync.streams import STREAM_NAMES

log = logging.getLogger("gzsync.state")

DEFAULT_TABLE = "gzsync_state"
#: every declared stream (the stream table): a new stream's ledger and watermark are read too
_STREAMS: tuple[StreamName, ...] = STREAM_NAMES
#: Catalyst NoSQL takes at most 25 items per insert or delete call, 100 keys per fetch and
#: returns at most 100 items per query page.
_WRITE_MAX = 25
_FETCH_MAX = 100
_QUERY_PAGE = 100
#: A packed ids item stays far below the 400 KB item limit.
_PACK_MAX_BYTES = 200_000
#: Send the write buffer once its oldest write is this old, even when it is not full.
FLUSH_AFTER_S = 10.0
_CACHE_MAX_HOURS = 48
_LOCK = ("lock", "lock")
_KINDS: frozenset[str] = frozenset(get_args(LedgerKind))
#: HTTP statuses with which the service refuses a conditional write (not auth/not-found).
_CONDITION_STATUSES = frozenset({400, 409, 412})

Key = tuple[str, str]


@dataclass(slots=True)
class _Write:
    """One pending write: the item to put, or None to delete; `seq` = when first asked."""

    seq: int
    item: dict[str, Any] | None


class CatalystStore(CatalystQuality):
    """A :class:`~gzsync.state.store.StateStore` on Catalyst NoSQL + Cache.

    Warnings per run and meta entries: :mod:`gzsync.state.catalyst_quality`.
    """

    def __init__(
        self,
        app: Any,
        *,
        table: str = DEFAULT_TABLE,
        cache_segment: str | None = None,
        clock: Callable[[], float] = time.time,
        retry: RetryPolicy | None = None,
        flush_after_s: float = FLUSH_AFTER_S,
    ) -> None:
        """`app` is an initialised `zcatalyst_sdk` CatalystApp."""
        self._table = app.nosql().get_table(table)
        cache = app.cache()
        self._segment = cache.segment(cache_segment) if cache_segment else cache.segment()
        self._clock = clock
        self._retry = retry or RetryPolicy()
        self._flush_after_s = flush_after_s
        self._mutex = threading.RLock()  # the buffer and the in-memory views
        self._flushing = threading.Lock()  # one flush at a time, in order
        self._loading = threading.Lock()  # one read of the id packs at a time
        self._seq = 0
        self._buffer: dict[Key, _Write] = {}
        self._oldest: float | None = None  # monotonic time of the oldest buffered write
        # stream -> the watermarks asked for, in order: (seq, revision)
        self._marks: dict[StreamName, list[tuple[int, int]]] = {}
        self._broken: StateError | None = None
        # what this store knows while it holds the run lock (only the holder commits)
        self._owner: str | None = None
        self._ledger: dict[StreamName, dict[str, LedgerEntry]] = {}
        self._wm: dict[StreamName, int | None] | None = None
        # the id cache: every pack read (lazily, per module) plus what this store wrote
        self._ids: dict[str, dict[str, str]] = {}
        self._ids_loaded: set[str] = set()

    # -- key/value with expiry (Catalyst Cache) -----------------------------------------
    def kv_get(self, key: str) -> str | None:
        """The value, or None when absent or expired."""
        try:
            data = self._call("cache get", self._segment.get, _cache_key(key))
        except _NotFound:
            return None
        raw = data.get("cache_value") if isinstance(data, dict) else None
        if not raw:
            return None
        try:
            box = json.loads(raw)
        except ValueError:
            return None
        exp = box.get("exp") if isinstance(box, dict) else None
        if exp is not None and float(exp) <= self._clock():
            return None
        value = box.get("v") if isinstance(box, dict) else None
        return value if isinstance(value, str) else None

    def kv_put(self, key: str, value: str, ttl_s: float | None = None) -> None:
        """Store a value; the exact expiry is kept in the value, the Cache's in hours."""
        exp = None if ttl_s is None else self._clock() + ttl_s
        hours = (
            _CACHE_MAX_HOURS
            if ttl_s is None
            else min(_CACHE_MAX_HOURS, max(1, math.ceil(ttl_s / 3600)))
        )
        box = json.dumps({"v": value, "exp": exp})
        try:
            self._call("cache put", self._segment.put, _cache_key(key), box, hours)
        except _Refused:
            # POST may refuse a key that exists; PUT replaces it.
            self._call("cache update", self._segment.update, _cache_key(key), box, hours)

    def kv_delete(self, key: str) -> None:
        with contextlib.suppress(_NotFound):
            self._call("cache delete", self._segment.delete, _cache_key(key))

    # -- watermarks --------------------------------------------------------------------
    def get_watermark(self, stream: StreamName) -> int | None:
        self.flush()
        item = self._get_one("wm", stream)
        rev = None if item is None else int(item["rev"])
        with self._mutex:
            if self._wm is not None:
                self._wm[stream] = rev
        return rev

    def set_watermark(self, stream: StreamName, rev: int) -> None:
        with self._mutex:
            self._marks.pop(stream, None)
            self._enqueue(("wm", stream), {"pk": "wm", "sk": stream, "rev": rev})
            if self._wm is not None:
                self._wm[stream] = rev
        self.flush()

    # -- the batch write (group-committed, see the module docstring) ----------------------
    def commit_batch(self, commit: BatchCommit) -> None:
        """Buffer what the batch changes, in order; send full calls. Validated first, so a
        malformed entry changes nothing. Raises StateError when a write fails for good."""
        for entry in commit.ledger:
            _check_entry(entry)
        streams = {commit.stream, *(e.stream for e in commit.ledger)}
        ledgers = self._ledger_view(streams, commit)
        with self._mutex:
            if self._owner is None:
                self._wm = None  # not the lock holder: another store may have moved it
            if commit.confirmed:
                self._put_ids(commit.module, {c.key: c.zoho_id for c in commit.confirmed})
            own = ledgers[commit.stream]
            for c in commit.confirmed:
                old = own.get(c.key)
                if old is not None and old.rev <= c.rev:
                    del own[c.key]
                    self._enqueue((_ledger_pk(commit.stream), c.key), None)
            now = self._clock()
            for entry in commit.ledger:
                current = ledgers[entry.stream]
                old = current.get(entry.key)
                seen = entry.last_seen or now
                if old is None:
                    new = replace(entry, first_seen=entry.first_seen or now, last_seen=seen)
                else:
                    new = replace(
                        entry,
                        attempts=old.attempts + 1,
                        first_seen=old.first_seen,
                        last_seen=seen,
                        retry_requested=False,
                    )
                current[entry.key] = new
                self._enqueue((_ledger_pk(entry.stream), entry.key), _ledger_item(new))
            if commit.watermark is not None:
                self._mark(commit.stream, commit.watermark)
            broken = self._broken
        if broken is not None:
            raise broken
        self._flush(full_only=True)

    def _ledger_view(
        self, streams: Iterable[StreamName], commit: BatchCommit
    ) -> dict[StreamName, dict[str, LedgerEntry]]:
        """The ledger entries a commit needs: the run's in-memory ledger while this store
        holds the lock, else a consistent read of the keys involved."""
        with self._mutex:
            holding = self._owner is not None
        views: dict[StreamName, dict[str, LedgerEntry]] = {}
        for stream in streams:
            if holding:
                views[stream] = self._held_ledger(stream)
                continue
            keys = {e.key for e in commit.ledger if e.stream == stream}
            if stream == commit.stream:
                keys |= {c.key for c in commit.confirmed}
            self.flush()
            views[stream] = {e.key: e for e in self._ledger_fetch(stream, keys)}
        return views

    def _held_ledger(self, stream: StreamName) -> dict[str, LedgerEntry]:
        with self._mutex:
            known = self._ledger.get(stream)
        if known is None:
            self.flush()
            loaded = {e.key: e for e in self._ledger_all(stream)}
            with self._mutex:
                known = self._ledger.setdefault(stream, loaded)
        return known

    def _mark(self, stream: StreamName, rev: int) -> None:
        """Ask for the watermark to move to `rev` (never backwards) after the writes
        buffered so far. Caller holds the mutex."""
        if self._wm is None:
            self._wm = self._read_watermarks()
        current = self._wm.get(stream)
        pending = self._marks.get(stream, [])
        floor = max(current if current is not None else -1, pending[-1][1] if pending else -1)
        if rev > floor:
            self._marks.setdefault(stream, []).append((self._next_seq(), rev))
            self._oldest = self._oldest or time.monotonic()

    def _read_watermarks(self) -> dict[StreamName, int | None]:
        found = {item["sk"]: int(item["rev"]) for item in self._fetch("wm", set(_STREAMS))}
        return {s: found.get(s) for s in _STREAMS}

    # -- the write buffer ---------------------------------------------------------------
    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _enqueue(self, key: Key, item: dict[str, Any] | None) -> None:
        """Buffer a put (item) or delete (None); a write already pending for the item keeps
        its place (so a watermark asked after it still waits for it). Caller holds the
        mutex."""
        pending = self._buffer.get(key)
        if pending is not None:
            pending.item = item
        else:
            self._buffer[key] = _Write(self._next_seq(), item)
        self._oldest = self._oldest or time.monotonic()

    def flush(self) -> None:
        """Send every buffered write and the watermarks they allow."""
        self._flush(full_only=False)

    def _flush(self, *, full_only: bool) -> None:
        with self._flushing:
            while True:
                with self._mutex:
                    due = self._due(full_only)
                    if not due:
                        return
                    puts, deletes, marks = self._next_call()
                try:
                    self._send(puts, deletes, marks)
                except StateError as exc:
                    with self._mutex:
                        self._broken = exc
                    raise

    def _due(self, full_only: bool) -> bool:
        ready_marks = self._ready_marks()
        if not self._buffer and not ready_marks:
            self._oldest = None
            return False
        if not full_only:
            return True
        if len(self._buffer) + len(ready_marks) >= _WRITE_MAX:
            return True
        return self._oldest is not None and time.monotonic() - self._oldest >= self._flush_after_s

    def _ready_marks(self) -> dict[StreamName, int]:
        """Per stream, the highest watermark whose earlier writes are all acknowledged."""
        first = min((w.seq for w in self._buffer.values()), default=None)
        ready: dict[StreamName, int] = {}
        for stream, marks in self._marks.items():
            revs = [rev for seq, rev in marks if first is None or seq < first]
            if revs:
                ready[stream] = max(revs)
        return ready

    def _next_call(
        self,
    ) -> tuple[list[tuple[Key, _Write]], list[tuple[Key, _Write]], dict[StreamName, int]]:
        """The next call's writes (in buffer order) and the watermarks that may ride on it."""
        marks = self._ready_marks()
        room = _WRITE_MAX - len(marks)
        chosen = list(self._buffer.items())[:room]
        puts = [(k, w) for k, w in chosen if w.item is not None]
        deletes = [(k, w) for k, w in chosen if w.item is None]
        return puts, deletes, marks

    def _send(
        self,
        puts: list[tuple[Key, _Write]],
        deletes: list[tuple[Key, _Write]],
        marks: dict[StreamName, int],
    ) -> None:
        """One insert call (puts + ready watermarks) and/or one delete call, each retried
        until every item is acknowledged; acknowledged writes leave the buffer unless a
        later commit replaced them meanwhile (that version is still to be sent)."""
        sent_puts = [(key, write, write.item) for key, write in puts]
        sent_deletes = [(key, write, write.item) for key, write in deletes]
        mark_items: list[tuple[Key, _Write, Any]] = []
        for stream, rev in marks.items():
            item: dict[str, Any] = {"pk": "wm", "sk": stream, "rev": rev}
            mark_items.append((("wm", stream), _Write(0, item), item))
        if sent_puts or mark_items:
            self._write_items("insert", [*sent_puts, *mark_items])
        if sent_deletes:
            self._write_items("delete", sent_deletes)
        with self._mutex:
            for key, write, version in [*sent_puts, *sent_deletes]:
                if self._buffer.get(key) is write and write.item is version:
                    del self._buffer[key]
            for stream, rev in marks.items():
                left = [m for m in self._marks.get(stream, []) if m[1] > rev]
                if left:
                    self._marks[stream] = left
                else:
                    self._marks.pop(stream, None)
                if self._wm is not None:
                    current = self._wm.get(stream)
                    self._wm[stream] = rev if current is None else max(rev, current)
            # what is left is younger than what was sent: its age counts from now
            self._oldest = None if not self._buffer and not self._marks else time.monotonic()

    def _write_items(self, kind: str, sent: list[tuple[Key, _Write, Any]]) -> None:
        """Insert or delete these items; the ones the service reports failed are sent again
        (under the call's retries) until all are acknowledged."""
        remaining = sent
        for attempt in self._attempts(f"Catalyst {kind}"):
            with attempt:
                if kind == "insert":
                    requests = [
                        {"item": _typed(item), "return": "NULL"} for _k, _w, item in remaining
                    ]
                    response = self._once("insert", self._table.insert_items, *requests)
                    answers = _answers(response, "create")
                else:
                    requests = [{"keys": _keys(*key)} for key, _w, _i in remaining]
                    response = self._once("delete", self._table.delete_items, *requests)
                    answers = _answers(response, "delete")
                remaining = _failed(remaining, answers)
                if remaining:
                    raise _Transient(f"Catalyst {kind}: {len(remaining)} items failed")

    # -- the ledger ----------------------------------------------------------------------
    def ledger_list(
        self,
        stream: StreamName | None = None,
        *,
        kind: LedgerKind | None = None,
        reason: str | None = None,
        limit: int | None = None,
    ) -> list[LedgerEntry]:
        """Entries, oldest revision first, filtered as asked."""
        self.flush()
        streams = _STREAMS if stream is None else (stream,)
        entries: list[LedgerEntry] = []
        for s in streams:
            found = self._ledger_all(s)
            with self._mutex:
                if self._owner is not None and s not in self._ledger:
                    self._ledger[s] = {e.key: e for e in found}
            entries.extend(
                e
                for e in found
                if (kind is None or e.kind == kind) and (reason is None or e.reason == reason)
            )
        entries.sort(key=lambda e: (e.rev, e.stream, e.key))
        return entries if limit is None else entries[: max(limit, 0)]

    def ledger_counts(self) -> dict[tuple[str, str, str], int]:
        counts: dict[tuple[str, str, str], int] = {}
        for entry in self.ledger_list():
            group = (entry.stream, entry.kind, entry.reason)
            counts[group] = counts.get(group, 0) + 1
        return counts

    def ledger_request_retry(self, stream: StreamName | None, keys: Iterable[str] | None) -> int:
        """Mark entries for retry in the next run (all when keys is None); returns how many."""
        self.flush()
        streams = _STREAMS if stream is None else (stream,)
        wanted = None if keys is None else set(keys)
        marked = 0
        with self._mutex:
            for s in streams:
                entries = self._ledger_all(s) if wanted is None else self._ledger_fetch(s, wanted)
                for e in entries:
                    updated = replace(e, retry_requested=True)
                    self._enqueue((_ledger_pk(s), e.key), _ledger_item(updated))
                    if s in self._ledger:
                        self._ledger[s][e.key] = updated
                marked += len(entries)
        self.flush()
        return marked

    def ledger_drop(self, stream: StreamName, key: str) -> bool:
        self.flush()
        if not self._ledger_fetch(stream, {key}):
            return False
        with self._mutex:
            self._enqueue((_ledger_pk(stream), key), None)
            self._ledger.get(stream, {}).pop(key, None)
        self.flush()
        return True

    # -- the id cache (packed) ------------------------------------------------------------
    def ids_get(self, module: str, keys: Iterable[str]) -> dict[str, str]:
        self._load_ids(module)
        with self._mutex:
            known = self._ids.get(module, {})
            return {k: known[k] for k in keys if known.get(k)}

    def ids_put(self, module: str, ids: dict[str, str]) -> None:
        with self._mutex:
            self._put_ids(module, ids)
            broken = self._broken
        if broken is not None:
            raise broken
        self._flush(full_only=True)

    def ids_evict(self, module: str, keys: Iterable[str]) -> None:
        with self._mutex:
            known = self._ids.get(module, {}) if module in self._ids_loaded else {}
            gone = {k: "" for k in dict.fromkeys(keys) if known.get(k) != ""}
            if gone:
                if module in self._ids_loaded:
                    known.update(gone)
                self._enqueue_packs(module, gone)
        self._flush(full_only=True)

    def _put_ids(self, module: str, ids: dict[str, str]) -> None:
        """Pack the ids this store does not know yet. Caller holds the mutex.

        Only a module whose ids were read in this holding (`ids_get`) is kept in memory: the
        others (Contacts ids are never looked up) are written and forgotten, so a long run
        does not hold every id it wrote.
        """
        if module not in self._ids_loaded:
            self._enqueue_packs(module, ids)
            return
        known = self._ids[module]
        new = {k: v for k, v in ids.items() if known.get(k) != v}
        if new:
            known.update(new)
            self._enqueue_packs(module, new)

    def _enqueue_packs(self, module: str, ids: dict[str, str]) -> None:
        pack: dict[str, str] = {}
        size = 0
        for key, zoho_id in ids.items():
            pack[key] = zoho_id
            size += len(key) + len(zoho_id) + 8
            if size >= _PACK_MAX_BYTES:
                self._enqueue_pack(module, pack)
                pack, size = {}, 0
        if pack:
            self._enqueue_pack(module, pack)

    def _enqueue_pack(self, module: str, pack: dict[str, str]) -> None:
        # time, then this store's order (packs of one millisecond), then a random tag
        sk = f"{round(self._clock() * 1000):016d}#{self._next_seq():010d}#{uuid.uuid4().hex[:8]}"
        self._enqueue(
            (_ids_pk(module), sk), {"pk": _ids_pk(module), "sk": sk, "ids": json.dumps(pack)}
        )

    def _load_ids(self, module: str) -> None:
        """Read every pack of `module` once (oldest first: later packs win); what this store
        wrote since stays on top."""
        with self._loading:  # one read per module, however many threads look up at once
            with self._mutex:
                if module in self._ids_loaded:
                    return
            self.flush()
            merged: dict[str, str] = {}
            for item in self._query(_ids_pk(module)):
                try:
                    merged.update(json.loads(item["ids"]))
                except (KeyError, TypeError, ValueError):
                    continue  # a damaged pack only costs look-ups
            self._loaded_ids(module, merged)

    def _loaded_ids(self, module: str, merged: dict[str, str]) -> None:
        with self._mutex:
            if module in self._ids_loaded:
                return
            # what this store buffered since the read began is newer than any pack read
            for write in self._buffer.values():
                if write.item is not None and write.item.get("pk") == _ids_pk(module):
                    merged.update(json.loads(write.item["ids"]))
            self._ids[module] = merged
            self._ids_loaded.add(module)

    # -- the run lock (conditional writes) -----------------------------------------------
    def acquire_lock(self, owner: str, ttl_s: float) -> None:
        """Take the lock when free, expired or ours; else raise LockHeldError."""
        now = self._clock()
        condition = {
            "group_operator": "OR",
            "group": [_attr("expires_at", "less_than", _num(now)), _attr("owner", "equals", owner)],
        }
        self._lock_write(owner, now + ttl_s, condition)
        with self._mutex:
            # A new holding: what another run wrote meanwhile is read afresh when needed.
            self._owner = owner
            self._ledger = {}
            self._wm = None
            self._ids = {}
            self._ids_loaded = set()

    def refresh_lock(self, owner: str, ttl_s: float) -> None:
        """Extend our lock; raise LockHeldError if another owner holds it. Transient service
        errors are retried; StateError means the service stayed unreachable."""
        self._lock_write(owner, self._clock() + ttl_s, _attr("owner", "equals", owner))

    def release_lock(self, owner: str) -> None:
        try:
            self.flush()
        finally:
            with self._mutex:
                if self._owner == owner:
                    self._owner = None
            item = self._get_one(*_LOCK)
            if item is not None and item.get("owner") == owner:
                request = {"keys": _keys(*_LOCK), "condition": _attr("owner", "equals", owner)}
                # A failed condition: someone took it after it expired; not ours to release.
                self._conditional("lock release", "delete", request)

    def _lock_write(self, owner: str, expires_at: float, condition: dict[str, Any]) -> None:
        item = {"pk": "lock", "sk": "lock", "owner": owner, "expires_at": _num(expires_at)}
        request = {"item": _typed(item), "condition": condition, "return": "NEW"}
        # A failed condition is not an answer yet: the read below names the holder.
        self._conditional("lock write", "insert", request)
        held = self._get_one(*_LOCK)
        if held is None or held.get("owner") != owner:
            holder = "unknown" if held is None else str(held.get("owner"))
            until = 0.0 if held is None else float(held.get("expires_at", 0))
            raise LockHeldError(holder, until)

    def _conditional(self, operation: str, kind: str, request: dict[str, Any]) -> bool:
        """One conditional insert or delete, retried (also when its item fails on its own);
        False when the service refused the condition."""
        method = self._table.insert_items if kind == "insert" else self._table.delete_items
        for attempt in self._attempts(f"Catalyst {operation}"):
            with attempt:
                try:
                    response = self._once(operation, method, request)
                except _ConditionFailed:
                    return False
                answers = _answers(response, "create" if kind == "insert" else "delete")
                if any(str(a.get("status", "success")) != "success" for a in answers):
                    raise _Transient(f"Catalyst {operation}: the item failed")
                return True
        raise AssertionError("unreachable: stamina ends with a result or an exception")

    # -- run history ---------------------------------------------------------------------
    def run_started(self, run_id: str, started_at: float) -> None:
        sk = f"{round(started_at * 1000):016d}#{run_id}"
        record = RunRecord(run_id, started_at, None, "running", {})
        with self._mutex:
            self._enqueue(("runid", run_id), {"pk": "runid", "sk": run_id, "run_sk": sk})
            self._enqueue(
                ("runs", sk), {"pk": "runs", "sk": sk, "data": json.dumps(asdict(record))}
            )
        self.flush()

    def run_finished(self, run_id: str, finished_at: float, report: dict[str, object]) -> None:
        self.flush()
        pointer = self._get_one("runid", run_id)
        if pointer is None:
            self.run_started(run_id, finished_at)
            pointer = self._get_one("runid", run_id)
            assert pointer is not None
        current = self.run(run_id)
        started_at = current.started_at if current is not None else finished_at
        status = str(report.get("status", "finished"))
        record = RunRecord(run_id, started_at, finished_at, status, dict(report))
        try:
            data = json.dumps(asdict(record), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise StateError(f"run {run_id}: the report is not JSON ({exc})") from None
        sk = str(pointer["run_sk"])
        with self._mutex:
            self._enqueue(("runs", sk), {"pk": "runs", "sk": sk, "data": data})
        self.flush()

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The last runs, newest first."""
        if limit <= 0:
            return []
        self.flush()
        items = self._query("runs", forward=False, limit=limit)
        return [_run_from_json(item["data"]) for item in items]

    def run(self, run_id: str) -> RunRecord | None:
        self.flush()
        pointer = self._get_one("runid", run_id)
        if pointer is None:
            return None
        item = self._get_one("runs", str(pointer["run_sk"]))
        return None if item is None else _run_from_json(item["data"])

    def close(self) -> None:
        """Send what is still buffered (the SDK's HTTP sessions close with the process)."""
        try:
            self.flush()
        except StateError as exc:
            log.warning("Catalyst state: unsent writes at close (%s)", exc)

    # -- writes for the data-quality mixin (gzsync.state.catalyst_quality) -------------------
    def _put_items(self, items: Sequence[dict[str, Any]]) -> None:
        """Put these items through the write buffer, sent before returning."""
        with self._mutex:
            for item in items:
                self._enqueue((str(item["pk"]), str(item["sk"])), item)
        self.flush()

    def _delete_keys(self, pk: str, sks: Sequence[str]) -> None:
        """Delete these items through the write buffer, sent before returning."""
        with self._mutex:
            for sk in sks:
                self._enqueue((pk, sk), None)
        self.flush()

    # -- NoSQL reads -----------------------------------------------------------------------
    def _ledger_all(self, stream: StreamName) -> list[LedgerEntry]:
        return [_entry_from_json(item["data"]) for item in self._query(_ledger_pk(stream))]

    def _ledger_fetch(self, stream: StreamName, keys: set[str]) -> list[LedgerEntry]:
        return [_entry_from_json(item["data"]) for item in self._fetch(_ledger_pk(stream), keys)]

    def _get_one(self, pk: str, sk: str) -> dict[str, Any] | None:
        found = self._fetch(pk, {sk})
        return found[0] if found else None

    def _fetch(self, pk: str, sks: set[str]) -> list[dict[str, Any]]:
        """Consistent reads, 100 keys a call."""
        found: list[dict[str, Any]] = []
        for chunk in _chunks(sorted(sks), _FETCH_MAX):
            request = {"keys": [_keys(pk, sk) for sk in chunk], "consistent_read": True}
            response = self._call("fetch", self._table.fetch_item, request)
            found.extend(_items(response.get))
        return found

    def _query(
        self, pk: str, *, forward: bool = True, limit: int | None = None
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        start_key: Any = None
        while True:
            page = _QUERY_PAGE if limit is None else min(_QUERY_PAGE, limit - len(found))
            request: dict[str, Any] = {
                "key_condition": _attr("pk", "equals", pk),
                "consistent_read": True,
                "forward_scan": forward,
                "limit": page,
            }
            if start_key:
                request["start_key"] = start_key
            response = self._call("query", self._table.query_table, request)
            found.extend(_items(response.get))
            start_key = response.start_key
            if not start_key or (limit is not None and len(found) >= limit):
                return found

    # -- calls, retried --------------------------------------------------------------------
    def _attempts(self, operation: str) -> Iterator[stamina.Attempt]:
        policy = self._retry

        def retry_on(exc: Exception) -> bool:
            if isinstance(exc, _Transient):
                log.info("%s: %s; retrying", operation, exc)
                return True
            return False

        return iter(
            stamina.retry_context(
                on=retry_on,
                attempts=policy.attempts,
                timeout=policy.timeout,
                wait_initial=policy.wait_initial,
                wait_max=policy.wait_max,
                wait_jitter=policy.wait_jitter,
            )
        )

    def _call(self, operation: str, method: Callable[..., Any], *args: Any) -> Any:
        """One SDK call, retried on 429, 5xx and transport errors."""
        for attempt in self._attempts(f"Catalyst {operation}"):
            with attempt:
                return self._once(operation, method, *args)
        raise AssertionError("unreachable: stamina ends with a result or an exception")

    def _once(self, operation: str, method: Callable[..., Any], *args: Any) -> Any:
        """Call the SDK once, turning its errors into StateError (no token in the text)."""
        from zcatalyst_sdk.exceptions import CatalystAPIError, CatalystError

        try:
            return method(*args)
        except CatalystAPIError as exc:
            status = exc.status_code
            if status == 404:
                raise _NotFound(operation) from None
            text = f"Catalyst {operation} failed: {exc.code} (HTTP {status})"
            if status == 429 or (status is not None and status >= 500):
                raise _Transient(text) from None
            if status in _CONDITION_STATUSES and _has_condition(args):
                raise _ConditionFailed(operation) from None
            if status is not None and 400 <= status < 500:
                raise _Refused(text) from None
            raise StateError(text) from None
        except CatalystError as exc:
            raise StateError(f"Catalyst {operation} failed: {exc.code}") from None
        except OSError as exc:  # requests' ConnectionError and timeouts are OSErrors
            raise _Transient(f"Catalyst {operation} failed: {type(exc).__name__}") from None


class _NotFound(StateError):
    """The service answered 404 (absent cache key)."""


class _ConditionFailed(StateError):
    """The service refused a conditional write."""


class _Refused(StateError):
    """The service refused the request (4xx): retrying the same request will not help."""


class _Transient(StateError):
    """429, 5xx, a transport error, or items of a batch call that failed: worth retrying."""


def open_catalyst_store(settings: Settings) -> CatalystStore:
    """Initialise zcatalyst-sdk (inside Catalyst, or from CATALYST_AUTH outside) and open."""
    return CatalystStore(
        catalyst_app(),
        table=settings.catalyst_nosql_table,
        cache_segment=settings.catalyst_cache_segment,
        retry=settings.retry_policy,
    )


def catalyst_app() -> Any:
    """The SDK app: admin scope from the runtime's headers inside a Catalyst function, else
    `initialize_app()` from the `CATALYST_AUTH` and `CATALYST_OPTIONS` environment."""
    import zcatalyst_sdk
    from zcatalyst_sdk.exceptions import CatalystError

    try:
        return zcatalyst_sdk.initialize(scope="admin")
    except CatalystError:
        pass  # no runtime headers on this thread: we are not inside a Catalyst function
    if not os.environ.get("CATALYST_AUTH") or not os.environ.get("CATALYST_OPTIONS"):
        raise ConfigError(
            "CATALYST_AUTH",
            "STATE_BACKEND=catalyst outside Catalyst needs CATALYST_AUTH and CATALYST_OPTIONS",
        )
    try:
        return zcatalyst_sdk.get_app("gzsync")
    except CatalystError:
        pass
    try:
        return zcatalyst_sdk.initialize_app(name="gzsync")
    except (CatalystError, ValueError) as exc:
        code = getattr(exc, "code", type(exc).__name__)
        raise ConfigError("CATALYST_AUTH", f"the Catalyst SDK refused it ({code})") from None


def _cache_key(key: str) -> str:
    # Cache keys are kept to [A-Za-z0-9_]; the digest keeps distinct keys distinct.
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"gzsync_{re.sub(r'[^A-Za-z0-9_]', '_', key)}_{digest}"


def _ledger_pk(stream: str) -> str:
    return f"ledger#{stream}"


def _ids_pk(module: str) -> str:
    return f"ids#{module}"


def _ledger_item(entry: LedgerEntry) -> dict[str, Any]:
    return {"pk": _ledger_pk(entry.stream), "sk": entry.key, "data": json.dumps(asdict(entry))}


def _num(value: float) -> Decimal:
    # The SDK refuses floats; milliseconds are precision enough for a lock.
    return Decimal(str(round(value, 3)))


def _typed(item: dict[str, Any]) -> dict[str, Any]:
    from zcatalyst_sdk.nosql.transfom import Item

    typed: dict[str, Any] = Item.to_nosql(item)
    return typed


def _keys(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _attr(name: str, operator: str, value: Any) -> dict[str, Any]:
    """An attribute condition, shaped as zcatalyst_sdk.nosql.conditions builds them.

    (We do not use its Group helper: it appends to a list shared by all instances.)
    """
    from zcatalyst_sdk.nosql.types import TypeSerializer

    return {"attribute": name, "operator": operator, "value": TypeSerializer().serialize(value)}


def _items(got: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [entry["item"] for entry in (got or []) if entry.get("item")]


def _answers(response: Any, operation: str) -> list[dict[str, Any]]:
    """The per-item answers of a batch call, raw (the SDK's own view drops `status`)."""
    raw = response.get_raw_response() if hasattr(response, "get_raw_response") else None
    answers = raw.get(operation) if isinstance(raw, dict) else None
    return [a for a in answers if isinstance(a, dict)] if isinstance(answers, list) else []


def _failed(
    sent: list[tuple[Key, _Write, Any]], answers: list[dict[str, Any]]
) -> list[tuple[Key, _Write, Any]]:
    """The items of a batch call that did not succeed. An item fails only when an answer
    says so; answers are matched by position when there is one per item, and when they are
    not (the shape is undocumented) any failure sends the whole call again (it is
    idempotent)."""
    failures = [i for i, a in enumerate(answers) if str(a.get("status", "success")) != "success"]
    if not failures:
        return []
    if len(answers) != len(sent):
        return sent
    return [sent[i] for i in failures]


def _has_condition(args: tuple[Any, ...]) -> bool:
    return any(isinstance(a, dict) and "condition" in a for a in args)


def _chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _check_entry(entry: LedgerEntry) -> None:
    if entry.kind not in _KINDS:
        raise StateError(f"ledger entry {entry.key}: unknown kind {entry.kind!r}")
    try:
        json.dumps(asdict(entry), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StateError(f"ledger entry {entry.key}: not storable ({exc})") from None


def _entry_from_json(text: str) -> LedgerEntry:
    return LedgerEntry(**json.loads(text))


def _run_from_json(text: str) -> RunRecord:
    return RunRecord(**json.loads(text))
