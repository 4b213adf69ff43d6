"""What is *new* in the ledger after a run: the part of the exit code that cron mails about.

Pure. After a run, the ledger's entries split into:

- **new rejections**: `rejected` / `refused` entries this run wrote (the record is new, or
  changed in Galaxy and is still refused, or was retried on request and refused again);
- **transient**: `failed` entries and `waiting_parent` entries (retried by every run),
  except a record that has waited since an earlier run for an Account that is itself
  rejected (a contact, a quote: any stream declared with a `lookup`): it waits for the
  same Galaxy fix as its parent, so it is old news too;
- everything else is **old**: rejected by an earlier run, waiting for a fix in Galaxy.

Exit 1 means "new rejections or transient entries" (see :mod:`gzsync.sync.report`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from gzsync.state.store import LedgerEntry
from gzsync.streams import STREAMS

_REJECTIONS = frozenset({"rejected", "refused"})
#: Streams whose records hang on another stream's record (contacts, quotes on Accounts).
_CHILDREN = frozenset(s.name for s in STREAMS if s.lookup is not None)
#: The detail the contacts and quotes phases write for a record whose Account is not in Zoho.
_WAITING_FOR_ACCOUNT = re.compile(r"^Account (?P<key>.+) is not in Zoho yet$")


@dataclass(frozen=True, slots=True)
class LedgerNews:
    """Counts of the ledger after a run, by what they mean for the exit code."""

    new_rejections: int = 0
    transient: int = 0
    old: int = 0


def ledger_news(entries: Iterable[LedgerEntry], started_at: float) -> LedgerNews:
    """Split the ledger after a run that started at `started_at` (epoch seconds)."""
    entries = list(entries)
    rejected = {e.key for e in entries if e.kind in _REJECTIONS and e.stream not in _CHILDREN}
    new = transient = old = 0
    for entry in entries:
        if entry.kind in _REJECTIONS:
            if entry.last_seen >= started_at:
                new += 1
            else:
                old += 1
        elif entry.kind == "waiting_parent" and _blocked_by_old_rejection(
            entry, rejected, started_at
        ):
            old += 1
        else:
            transient += 1
    return LedgerNews(new_rejections=new, transient=transient, old=old)


def _blocked_by_old_rejection(entry: LedgerEntry, rejected: set[str], started_at: float) -> bool:
    if entry.stream not in _CHILDREN or entry.first_seen >= started_at:
        return False
    match = _WAITING_FOR_ACCOUNT.match(entry.detail)
    return match is not None and match.group("key") in rejected
