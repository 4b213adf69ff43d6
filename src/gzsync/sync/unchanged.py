"""When a run may skip records Zoho already holds as they are (issue 15).

The writer keeps, per key, the hash of the payload Zoho last confirmed
(:mod:`gzsync.mapping.payload_hash`, `Rev_Number` aside) and, when this says so, does not
send a record whose payload hashes the same: it counts as confirmed (`unchanged` in the
report) and costs no credit. So a Galaxy revision bump that changes no synced field costs
nothing, and **Zoho's `Rev_Number` shows the last revision that changed a synced field**,
which may be lower than Galaxy's.

Decisions:

- Skipped on an **incremental read** only. Not with `--force` (send everything), not on a
  `--since-rev` backfill (asked to send those rows again: a Zoho restored from an old
  backup, say), and not on a **full read**: the fallback full read compares with Zoho
  itself (fields, `Rev_Number` aside for equal fields) and sends only what differs, so a
  record it selects must be sent even when our hash says Zoho had it.
- A record is skipped only while its Zoho id is in the id cache too (the commit needs it).
- `gzsync reconcile` compares fields, not revisions: a record whose fields are equal and
  whose Zoho `Rev_Number` is lower is in sync (see gzsync/reconcile).
"""

from __future__ import annotations

from gzsync.sync.context import RunContext
from gzsync.sync.fetch import Fetched


def skip_unchanged(ctx: RunContext, fetched: Fetched) -> bool:
    """True when this run's writer of `fetched` skips unchanged payloads."""
    return incremental_skip(ctx) and not fetched.full


def incremental_skip(ctx: RunContext) -> bool:
    """True unless `--force` or `--since-rev` asked to send again what was read (the
    quotes stream and its products, which have no full read, ask only this)."""
    return not (ctx.options.force or ctx.options.since_rev is not None)
