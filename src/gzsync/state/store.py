"""The state store interface: what gzsync keeps between runs.

One store holds, per deployment:

- **watermarks** — per entity stream (`customers`, `contacts`), the highest Galaxy revision
  up to which every record is either confirmed by Zoho or held in the ledger;
- **the ledger** — every record that did not reach Zoho, with its reason and attempts;
- **the id cache** — `(module, key) -> Zoho record id`, fresh from every upsert;
- **key/value entries with expiry** — the Galaxy session, the Zoho access token;
- **the run lock** — one run at a time, expiring if its holder died;
- **run history** — one row per run with its JSON report;
- **data-quality warnings per run** — every value a run dropped or changed on its way to
  Zoho (:class:`WarningRecord`, `gzsync warnings`), kept for the last runs;
- **meta entries** — durable named values of the deployment (the mapping rules'
  fingerprint, :mod:`gzsync.sync.rules_upgrade`).

:meth:`StateStore.commit_batch` is the one write the pipeline makes per upsert batch; it is
atomic, so a crash never leaves a watermark ahead of the ledger or the id cache.

Implementations: :mod:`gzsync.state.sqlite` (default) and :mod:`gzsync.state.catalyst`. Both
pass the same test-suite (`tests/state/`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

#: Streams with a watermark and ledger entries. Affiliates are ledgered under `affiliates`
#: but have no watermark of their own (they ride on their card holder's revision).
StreamName = Literal["customers", "affiliates", "contacts", "quotes", "products"]

#: Why a record waits in the ledger, which also decides when it is retried:
#: - `rejected`: our validation refused the Galaxy row; retried when its revision changes.
#: - `refused`: Zoho refused the record (per-record error code); retried when its revision
#:   changes or on `gzsync ledger retry`.
#: - `failed`: the call failed after retries (network, 5xx, 429 storm); retried every run.
#: - `waiting_parent`: a contact whose Account (or a customer whose affiliate) is not in Zoho
#:   yet; retried every run.
LedgerKind = Literal["rejected", "refused", "failed", "waiting_parent"]

#: Kinds that every run retries on its own.
RETRIED_EVERY_RUN: frozenset[str] = frozenset({"failed", "waiting_parent"})


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One record that has not reached Zoho, and why."""

    stream: StreamName
    key: str
    rev: int
    kind: LedgerKind
    reason: str  # a short code: "missing_trader_id", "INVALID_DATA", "http_503", ...
    detail: str = ""  # operator-facing detail: field name, message (never a secret)
    attempts: int = 1
    first_seen: float = 0.0  # epoch seconds; set by the store on first insert
    last_seen: float = 0.0  # epoch seconds; set by the store on every put
    retry_requested: bool = False  # set by `gzsync ledger retry`


@dataclass(frozen=True, slots=True)
class Confirmed:
    """A record Zoho confirmed: it leaves the ledger if its revision is >= the entry's."""

    key: str
    rev: int
    zoho_id: str


@dataclass(frozen=True, slots=True)
class BatchCommit:
    """Everything one finished upsert batch changes, written atomically."""

    stream: StreamName
    module: str  # Zoho module of the id cache entries: "Accounts" | "Contacts"
    confirmed: Sequence[Confirmed] = ()
    ledger: Sequence[LedgerEntry] = ()
    watermark: int | None = None  # new watermark for `stream`, if it moves


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run in the history."""

    run_id: str
    started_at: float
    finished_at: float | None
    status: str  # "running" until finished, then the report's status
    report: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WarningRecord:
    """A value one run dropped from a record, or changed, on its way to Zoho."""

    stream: StreamName
    key: str
    rev: int
    field: str  # the Zoho field (or the Galaxy column of an ignored parent key)
    reason: str  # invalid_number, name_truncated, last_name_fallback ...
    value: str = ""  # the Galaxy value as text (cut to ~120 characters)
    detail: str = ""  # one sentence naming the Galaxy column


#: Runs whose warnings a store keeps (older ones are pruned as new ones are added).
WARNING_RUNS_KEPT = 50


class StateStore(Protocol):
    """What the pipeline, the CLI and the clients need from a state backend."""

    # -- key/value with expiry (Galaxy session, Zoho token) ---------------------------------
    def kv_get(self, key: str) -> str | None:
        """The value, or None when absent or expired."""

    def kv_put(self, key: str, value: str, ttl_s: float | None = None) -> None:
        """Store a value; `ttl_s` None means no expiry."""

    def kv_delete(self, key: str) -> None: ...

    # -- watermarks --------------------------------------------------------------------
    def get_watermark(self, stream: StreamName) -> int | None:
        """The confirmed watermark, or None when this store has never recorded one."""

    def set_watermark(self, stream: StreamName, rev: int) -> None:
        """Set the watermark (used by `--since-rev` backfills and tests)."""

    # -- the one atomic write per batch --------------------------------------------------
    def commit_batch(self, commit: BatchCommit) -> None:
        """Atomically: resolve ledger entries of confirmed records (entry.rev <= rev), put the
        id cache entries, upsert ledger entries (attempts + 1 when already present, keeping
        first_seen), and move the watermark when given (never backwards)."""

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

    def ledger_counts(self) -> dict[tuple[str, str, str], int]:
        """Number of entries by (stream, kind, reason)."""

    def ledger_request_retry(self, stream: StreamName | None, keys: Iterable[str] | None) -> int:
        """Mark entries for retry in the next run (all when keys is None); returns how many."""

    def ledger_drop(self, stream: StreamName, key: str) -> bool:
        """Give up on one entry; True when it existed."""

    # -- the id cache --------------------------------------------------------------------
    def ids_get(self, module: str, keys: Iterable[str]) -> dict[str, str]:
        """Known Zoho ids of these keys (absent keys are left out)."""

    def ids_put(self, module: str, ids: dict[str, str]) -> None: ...

    def ids_evict(self, module: str, keys: Iterable[str]) -> None: ...

    # -- the run lock --------------------------------------------------------------------
    def acquire_lock(self, owner: str, ttl_s: float) -> None:
        """Take the lock or raise LockHeldError naming the holder; an expired lock is taken."""

    def refresh_lock(self, owner: str, ttl_s: float) -> None:
        """Extend our lock; raise LockHeldError if another owner took it meanwhile."""

    def release_lock(self, owner: str) -> None:
        """Release the lock if we hold it."""

    # -- run history ---------------------------------------------------------------------
    def run_started(self, run_id: str, started_at: float) -> None: ...

    def run_finished(self, run_id: str, finished_at: float, report: dict[str, object]) -> None:
        """Record the run's report; `report["status"]` becomes the run's status."""

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The last runs, newest first."""

    def run(self, run_id: str) -> RunRecord | None: ...

    # -- data-quality warnings per run -----------------------------------------------------
    def warnings_add(self, run_id: str, warnings: Sequence[WarningRecord]) -> None:
        """Append warnings of a run (kept in the order added); prunes the warnings of runs
        older than the last WARNING_RUNS_KEPT."""

    def warnings_list(
        self,
        run_id: str,
        *,
        stream: StreamName | None = None,
        reason: str | None = None,
        limit: int | None = None,
    ) -> list[WarningRecord]:
        """A run's warnings in the order added, filtered as asked."""

    # -- meta entries ------------------------------------------------------------------------
    def meta_get(self, name: str) -> str | None:
        """A durable named value (no expiry), or None."""

    def meta_put(self, name: str, value: str) -> None: ...

    def close(self) -> None: ...
