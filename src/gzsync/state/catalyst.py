"""The state store on Zoho Catalyst: NoSQL for durable state, Cache for expiring entries.

A Catalyst function's disk does not survive the invocation, so a Job function keeps its state
in the project's Catalyst services, through zcatalyst-sdk 1.4.0:

- **One NoSQL table** (`CATALYST_NOSQL_TABLE`, default `gzsync_state`; partition key `pk`,
  sort key `sk`, both strings; create it in the console) holds every durable item kind:

  ==================  ===============  ============================================
  pk                  sk               attributes
  ==================  ===============  ============================================
  `lock`              `lock`           `owner` (S), `expires_at` (N, epoch seconds)
  `wm`                stream           `rev` (N)
  `ledger#<stream>`   record key       `data` (S, the entry as JSON)
  `ids#<module>`      record key       `zoho_id` (S)
  `runs`              `<ms>#<run_id>`  `data` (S, the run as JSON); newest = last sk
  `runid`             run id           `sk` (S): where the run's item lives
  ==================  ===============  ============================================

- **Catalyst Cache** (the default segment, or `CATALYST_CACHE_SEGMENT`) for the key/value
  entries (Galaxy session, Zoho token). Cache expiry is whole hours (1-48), so the exact
  expiry travels inside the value (`{"v": value, "exp": epoch}`) and is checked on read. An
  entry without a TTL gets the Cache maximum of 48 hours: both our entries are re-creatable.

**The lock** is one conditional NoSQL insert: Catalyst evaluates the condition against the
existing item and ignores it when there is none, so "insert if `expires_at` < now or
`owner` = me" takes a free, expired or already-held lock atomically and fails otherwise. The
store then reads the lock back and trusts only what it reads, so it does not depend on how
the service words a failed condition.

**commit_batch is not one transaction here** (NoSQL has none across items). The writes are
ordered so that a crash between any two leaves a state the next run handles correctly:
id cache first (a cache: extra entries are harmless), then resolved ledger entries deleted
and new ones written, and the watermark **last**. A crash before the watermark write leaves
the old watermark, so the next run re-reads those records from Galaxy and upserts them again
(Zoho upserts are idempotent: it costs credits, never correctness); a ledger entry written
twice only counts one extra attempt. The watermark never runs ahead of the ledger.

Outside Catalyst (tests, an operator's laptop) the SDK is initialised with
`initialize_app()` from the `CATALYST_AUTH` / `CATALYST_OPTIONS` environment variables; the
SDK sends every call to `X_ZOHO_CATALYST_CONSOLE_URL`, read when zcatalyst_sdk is imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, replace
from decimal import Decimal
from typing import Any, get_args

from gzsync.config import Settings
from gzsync.errors import ConfigError, LockHeldError, StateError
from gzsync.state.catalyst_quality import CatalystQuality
from gzsync.state.store import (
    BatchCommit,
    LedgerEntry,
    LedgerKind,
    RunRecord,
    StreamName,
)

DEFAULT_TABLE = "gzsync_state"
_STREAMS: tuple[StreamName, ...] = ("customers", "affiliates", "contacts")
#: Catalyst NoSQL takes at most 25 items per insert/update/delete/fetch call.
_CHUNK = 25
_QUERY_PAGE = 100
_CACHE_MAX_HOURS = 48
_LOCK = ("lock", "lock")
_KINDS: frozenset[str] = frozenset(get_args(LedgerKind))
#: HTTP statuses with which the service refuses a conditional write (not auth/not-found).
_CONDITION_STATUSES = frozenset({400, 409, 412})


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
    ) -> None:
        """`app` is an initialised `zcatalyst_sdk` CatalystApp."""
        self._table = app.nosql().get_table(table)
        cache = app.cache()
        self._segment = cache.segment(cache_segment) if cache_segment else cache.segment()
        self._clock = clock

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
        exp = box.get("exp")
        if exp is not None and float(exp) <= self._clock():
            return None
        value = box.get("v")
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
        except StateError:
            # POST may refuse a key that exists; PUT replaces it.
            self._call("cache update", self._segment.update, _cache_key(key), box, hours)

    def kv_delete(self, key: str) -> None:
        with contextlib.suppress(_NotFound):
            self._call("cache delete", self._segment.delete, _cache_key(key))

    # -- watermarks --------------------------------------------------------------------
    def get_watermark(self, stream: StreamName) -> int | None:
        item = self._get_one("wm", stream)
        return None if item is None else int(item["rev"])

    def set_watermark(self, stream: StreamName, rev: int) -> None:
        self._put_items([{"pk": "wm", "sk": stream, "rev": rev}])

    # -- the batch write (ordered, see the module docstring) -----------------------------
    def commit_batch(self, commit: BatchCommit) -> None:
        """Id cache, then ledger resolutions and entries, then the watermark (last).

        Everything is validated before the first write, so a malformed entry changes nothing.
        """
        for entry in commit.ledger:
            _check_entry(entry)
        if commit.confirmed:
            self.ids_put(commit.module, {c.key: c.zoho_id for c in commit.confirmed})
        # Ledger entries carry their own stream; confirmed records resolve in commit.stream.
        wanted: dict[StreamName, set[str]] = {commit.stream: {c.key for c in commit.confirmed}}
        for entry in commit.ledger:
            wanted.setdefault(entry.stream, set()).add(entry.key)
        existing = {
            (e.stream, e.key): e for s, keys in wanted.items() for e in self._ledger_fetch(s, keys)
        }
        resolved = list(
            dict.fromkeys(
                c.key
                for c in commit.confirmed
                if (old := existing.get((commit.stream, c.key))) is not None and old.rev <= c.rev
            )
        )
        self._delete_keys(_ledger_pk(commit.stream), resolved)
        for key in resolved:
            del existing[(commit.stream, key)]
        now = self._clock()
        merged: dict[tuple[str, str], LedgerEntry] = {}
        for entry in commit.ledger:
            slot = (entry.stream, entry.key)
            old = merged.get(slot) or existing.get(slot)
            seen = entry.last_seen or now
            if old is None:
                merged[slot] = replace(entry, first_seen=entry.first_seen or now, last_seen=seen)
            else:
                merged[slot] = replace(
                    entry,
                    attempts=old.attempts + 1,
                    first_seen=old.first_seen,
                    last_seen=seen,
                    retry_requested=False,
                )
        self._put_ledger(merged.values())
        if commit.watermark is not None:
            current = self.get_watermark(commit.stream)
            if current is None or commit.watermark > current:
                self.set_watermark(commit.stream, commit.watermark)

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
        streams = _STREAMS if stream is None else (stream,)
        entries = [
            e
            for s in streams
            for e in self._ledger_all(s)
            if (kind is None or e.kind == kind) and (reason is None or e.reason == reason)
        ]
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
        streams = _STREAMS if stream is None else (stream,)
        wanted = None if keys is None else set(keys)
        marked = 0
        for s in streams:
            entries = self._ledger_all(s) if wanted is None else self._ledger_fetch(s, wanted)
            updated = [replace(e, retry_requested=True) for e in entries]
            self._put_ledger(updated)
            marked += len(updated)
        return marked

    def ledger_drop(self, stream: StreamName, key: str) -> bool:
        if not self._ledger_fetch(stream, {key}):
            return False
        self._delete_keys(_ledger_pk(stream), [key])
        return True

    # -- the id cache --------------------------------------------------------------------
    def ids_get(self, module: str, keys: Iterable[str]) -> dict[str, str]:
        pk = _ids_pk(module)
        return {item["sk"]: str(item["zoho_id"]) for item in self._fetch(pk, set(keys))}

    def ids_put(self, module: str, ids: dict[str, str]) -> None:
        pk = _ids_pk(module)
        self._put_items([{"pk": pk, "sk": key, "zoho_id": zid} for key, zid in ids.items()])

    def ids_evict(self, module: str, keys: Iterable[str]) -> None:
        self._delete_keys(_ids_pk(module), list(dict.fromkeys(keys)))

    # -- the run lock (conditional writes) -----------------------------------------------
    def acquire_lock(self, owner: str, ttl_s: float) -> None:
        """Take the lock when free, expired or ours; else raise LockHeldError."""
        now = self._clock()
        condition = {
            "group_operator": "OR",
            "group": [_attr("expires_at", "less_than", _num(now)), _attr("owner", "equals", owner)],
        }
        self._lock_write(owner, now + ttl_s, condition)

    def refresh_lock(self, owner: str, ttl_s: float) -> None:
        """Extend our lock; raise LockHeldError if another owner holds it."""
        self._lock_write(owner, self._clock() + ttl_s, _attr("owner", "equals", owner))

    def release_lock(self, owner: str) -> None:
        item = self._get_one(*_LOCK)
        if item is None or item.get("owner") != owner:
            return
        request = {"keys": _keys(*_LOCK), "condition": _attr("owner", "equals", owner)}
        # A failed condition: someone took it after it expired, so it is not ours to release.
        with contextlib.suppress(_ConditionFailed):
            self._call("lock release", self._table.delete_items, request)

    def _lock_write(self, owner: str, expires_at: float, condition: dict[str, Any]) -> None:
        item = {"pk": "lock", "sk": "lock", "owner": owner, "expires_at": _num(expires_at)}
        request = {"item": _typed(item), "condition": condition, "return": "NEW"}
        # A failed condition is not an answer yet: the read below names the holder.
        with contextlib.suppress(_ConditionFailed):
            self._call("lock write", self._table.insert_items, request)
        held = self._get_one(*_LOCK)
        if held is None or held.get("owner") != owner:
            holder = "unknown" if held is None else str(held.get("owner"))
            until = 0.0 if held is None else float(held.get("expires_at", 0))
            raise LockHeldError(holder, until)

    # -- run history ---------------------------------------------------------------------
    def run_started(self, run_id: str, started_at: float) -> None:
        sk = f"{round(started_at * 1000):016d}#{run_id}"
        record = RunRecord(run_id, started_at, None, "running", {})
        self._put_items([{"pk": "runid", "sk": run_id, "run_sk": sk}])
        self._put_items([{"pk": "runs", "sk": sk, "data": json.dumps(asdict(record))}])

    def run_finished(self, run_id: str, finished_at: float, report: dict[str, object]) -> None:
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
        self._put_items([{"pk": "runs", "sk": pointer["run_sk"], "data": data}])

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The last runs, newest first."""
        if limit <= 0:
            return []
        items = self._query("runs", forward=False, limit=limit)
        return [_run_from_json(item["data"]) for item in items]

    def run(self, run_id: str) -> RunRecord | None:
        pointer = self._get_one("runid", run_id)
        if pointer is None:
            return None
        item = self._get_one("runs", str(pointer["run_sk"]))
        return None if item is None else _run_from_json(item["data"])

    def close(self) -> None:
        """Nothing to release: the SDK's HTTP sessions close with the process."""

    # -- NoSQL plumbing --------------------------------------------------------------------
    def _ledger_all(self, stream: StreamName) -> list[LedgerEntry]:
        return [_entry_from_json(item["data"]) for item in self._query(_ledger_pk(stream))]

    def _ledger_fetch(self, stream: StreamName, keys: set[str]) -> list[LedgerEntry]:
        return [_entry_from_json(item["data"]) for item in self._fetch(_ledger_pk(stream), keys)]

    def _put_ledger(self, entries: Iterable[LedgerEntry]) -> None:
        self._put_items(
            [
                {"pk": _ledger_pk(e.stream), "sk": e.key, "data": json.dumps(asdict(e))}
                for e in entries
            ]
        )

    def _get_one(self, pk: str, sk: str) -> dict[str, Any] | None:
        found = self._fetch(pk, {sk})
        return found[0] if found else None

    def _fetch(self, pk: str, sks: set[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for chunk in _chunks(sorted(sks)):
            request = {"keys": [_keys(pk, sk) for sk in chunk]}
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

    def _put_items(self, items: Sequence[dict[str, Any]]) -> None:
        for chunk in _chunks(items):
            requests = [{"item": _typed(item), "return": "NULL"} for item in chunk]
            self._call("insert", self._table.insert_items, *requests)

    def _delete_keys(self, pk: str, sks: Sequence[str]) -> None:
        for chunk in _chunks(sks):
            self._call(
                "delete", self._table.delete_items, *[{"keys": _keys(pk, sk)} for sk in chunk]
            )

    def _call(self, operation: str, method: Callable[..., Any], *args: Any) -> Any:
        """Call the SDK, turning its errors into StateError (no token ever in the text)."""
        from zcatalyst_sdk.exceptions import CatalystAPIError, CatalystError

        try:
            return method(*args)
        except CatalystAPIError as exc:
            status = exc.status_code
            if status == 404:
                raise _NotFound(operation) from None
            if status in _CONDITION_STATUSES and _has_condition(args):
                raise _ConditionFailed(operation) from None
            raise StateError(f"Catalyst {operation} failed: {exc.code} (HTTP {status})") from None
        except CatalystError as exc:
            raise StateError(f"Catalyst {operation} failed: {exc.code}") from None
        except OSError as exc:  # requests' ConnectionError and timeouts are OSErrors
            raise StateError(f"Catalyst {operation} failed: {type(exc).__name__}") from None


class _NotFound(StateError):
    """The service answered 404 (absent cache key)."""


class _ConditionFailed(StateError):
    """The service refused a conditional write."""


def open_catalyst_store(settings: Settings) -> CatalystStore:
    """Initialise zcatalyst-sdk (inside Catalyst, or from CATALYST_AUTH outside) and open."""
    return CatalystStore(
        catalyst_app(),
        table=settings.catalyst_nosql_table,
        cache_segment=settings.catalyst_cache_segment,
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


def _has_condition(args: tuple[Any, ...]) -> bool:
    return any(isinstance(a, dict) and "condition" in a for a in args)


def _chunks(seq: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), _CHUNK):
        yield seq[start : start + _CHUNK]


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
