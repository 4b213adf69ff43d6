"""What every phase of a run shares: settings, options, clients, store, budget, report."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from gzsync.config import Settings
from gzsync.errors import LockHeldError, StateError
from gzsync.galaxy.client import GalaxyClient
from gzsync.mapping.rules import MappingRules
from gzsync.state.store import StateStore
from gzsync.sync.budget import Budget
from gzsync.sync.credit_gate import CreditGate
from gzsync.sync.failures import FailureCounter
from gzsync.sync.options import RunOptions
from gzsync.sync.progress import NoProgress, ProgressSink
from gzsync.sync.quality import WarningLog
from gzsync.sync.report import EntityCounts, RunReport
from gzsync.zoho.client import ZohoClient

log = logging.getLogger("gzsync.sync")

#: Refresh the run lock at most this often while working.
_LOCK_REFRESH_S = 30.0


@dataclass(slots=True)
class RunContext:
    """The shared state of one run, handed to each phase."""

    settings: Settings
    options: RunOptions
    store: StateStore
    galaxy: GalaxyClient
    zoho: ZohoClient
    budget: Budget
    report: RunReport
    owner: str
    progress: ProgressSink = field(default_factory=NoProgress)
    failures: FailureCounter = field(default_factory=FailureCounter)
    lock_lost: LockHeldError | None = None
    #: the run's credit gate (ZOHO_CREDIT_RESERVE); None: no credit stop (tests)
    credits: CreditGate | None = None
    _lock_refreshed: float = field(default_factory=time.monotonic)
    # the mapping rules from settings, and the run's data-quality warnings (issue 11)
    rules: MappingRules = field(init=False)
    quality: WarningLog = field(init=False)

    def __post_init__(self) -> None:
        self.rules = MappingRules.from_text(
            self.settings.number_decimal, self.settings.contact_name_fallback
        )
        self.quality = WarningLog(self.store, self.report.run_id, self.report)

    @property
    def dry_run(self) -> bool:
        return self.options.dry_run

    @property
    def concurrency(self) -> int:
        """Upsert batches in flight per writer (ZOHO_CONCURRENCY)."""
        return self.settings.zoho_concurrency

    def counts(self, stream: str) -> EntityCounts:
        """The report's counts of one stream (what its writer adds to)."""
        return self.report.counts(stream)

    def advanced(self, stream: str, n: int) -> None:
        """`n` more records of `stream` were committed: progress, and keep the lock."""
        self.progress.advance(stream, n)
        self.heartbeat()

    @property
    def stopped(self) -> bool:
        """True once the run stopped early (budget spent); later phases do not start."""
        return self.report.status == "partial"

    def heartbeat(self, *, force: bool = False) -> None:
        """Keep the run lock alive during long work; raise LockHeldError once it is lost.

        Called between batches and by a background task (so long reads renew it too). A
        lost lock means another run may be writing: this one must stop. A refresh the store
        cannot make (StateError after its own retries: the store is unreachable for a while)
        is not a lost lock: it is tried again at the next heartbeat, and the lock counts as
        lost only once LOCK_TTL has passed since the last refresh that worked (another run
        may take it from then on).
        """
        if self.lock_lost is not None:
            raise self.lock_lost
        now = time.monotonic()
        if self.options.dry_run or (not force and now - self._lock_refreshed < _LOCK_REFRESH_S):
            return
        try:
            self.store.refresh_lock(self.owner, self.settings.lock_ttl_s)
        except LockHeldError as exc:
            self.lock_lost = exc
            if not force:
                raise
        except StateError as exc:
            if time.monotonic() - self._lock_refreshed < self.settings.lock_ttl_s:
                log.warning("could not refresh the run lock (%s); trying again", exc)
                return
            self.lock_lost = LockHeldError("unknown (the lock expired unrefreshed)", 0.0)
            if not force:
                raise self.lock_lost from None
            return
        self._lock_refreshed = now
