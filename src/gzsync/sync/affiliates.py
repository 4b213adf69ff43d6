"""The affiliate rule: affiliates are read by their card holder's revision.

An affiliate row has no revision of its own: it carries its card holder's
(`AFFILIATES_REVNUM` = the customer's `THIRDPARTYREVNUM`; `streams.AFFILIATES.read_by`).
So an affiliate waiting in the ledger is retried through its card holder: the customers'
read must reach back to that customer revision, and re-read it, for the affiliate row to
come again. When no card holder has that revision any more (the customer changed, or lost
its card), the affiliate cannot be retried that way: its entry is settled as
`no_card_holder` (kept visible, no longer re-read).

The customers' read (:func:`gzsync.sync.fetch.spool_view`) is generic: it takes a
`Dependent` and knows nothing of affiliates; this module is the one that does.
"""

from __future__ import annotations

from gzsync.state.store import BatchCommit, LedgerEntry
from gzsync.streams import AFFILIATES
from gzsync.sync.context import RunContext
from gzsync.sync.fetch import retry_set
from gzsync.sync.spool import Spool


class AffiliateRetries:
    """The affiliates retried in this run, as a dependent of the customers' read."""

    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx
        self._retried = retry_set(ctx, AFFILIATES.name)  # key -> card holder revision

    def revisions(self) -> set[int]:
        """Card-holder revisions the customers' read must re-read for them."""
        return set(self._retried.values())

    def settle(self, spool: Spool) -> None:
        """Entries whose card holder is no longer a card holder at that revision cannot be
        retried through it: keep them visible, stop re-reading for them."""
        if not self._retried or self._ctx.options.dry_run:
            return
        orphans = [
            LedgerEntry(
                AFFILIATES.name,
                key,
                rev,
                "rejected",
                "no_card_holder",
                "no card holder of this revision any more",
            )
            for key, rev in self._retried.items()
            if not spool.has_card_holder_rev(rev)
        ]
        if orphans:
            self._ctx.store.commit_batch(
                BatchCommit(stream=AFFILIATES.name, module="", ledger=orphans)
            )
