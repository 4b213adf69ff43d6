"""Full reads: Galaxy from the start, compared with what Zoho holds, sending only differences.

Two things an incremental read cannot see:

- **A lost state store.** With no watermark and a Zoho that already holds records, gzsync
  cannot know which records are missing (the old ledger is gone with the store). So it
  reads Galaxy from the start (reads are cheap) and one COQL pass over Zoho's keys and
  revisions (pages of 2,000, keyset-paged by id so the 100,000-row OFFSET reach does not
  matter), and sends only what Zoho lacks or holds at a lower revision. `WATERMARK_REREAD`
  set to a number caps that read at Zoho's max `Rev_Number` minus it.
- **Affiliate changes that keep their card holder's revision.** Affiliate rows carry their
  card holder's revision, so an affiliate added or renamed at the revision of a card
  holder synced earlier never shows up above the watermark. Every
  `AFFILIATE_FULL_READ_EVERY` runs (and on a run with an empty state store) the accounts
  phase reads every customer and the whole affiliate view, links them, and sends the
  affiliates whose name, TIN or revision differ from Zoho's and the customers whose revision or
  `Affiliate_To` differ (a card holder of a changed affiliate is sent again too, which is
  what writes the affiliate). `--since-rev 0` reads everything anyway; it counts as one.

The run counter lives in the state store (`kv`), so a lost store makes the next run a full
one; a full read that stops at the time budget is done again by the next run. Its reads
(Galaxy's views, the COQL pages) are inside the budget too: one the budget cuts short is
abandoned and the run ends `partial` (:mod:`gzsync.sync.read_budget`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from gzsync.mapping.records import Mapped
from gzsync.state.store import StateStore
from gzsync.streams import CUSTOMERS
from gzsync.sync.context import RunContext
from gzsync.sync.linking import card_holders_of, link_affiliates
from gzsync.sync.lookahead import chunked
from gzsync.sync.read_budget import within_budget
from gzsync.sync.spool import Spool, ZohoRecord
from gzsync.zoho import coql

log = logging.getLogger("gzsync.sync")

#: kv key: accounts runs since the last full affiliate read.
RUNS_KEY = "gzsync:affiliates:runs_since_full_read"
#: COQL page size of the pass over Zoho's records (the most one call returns).
PAGE = 2000
#: Affiliate fields compared with Zoho, besides Rev_Number (its card holder's revision).
AFFILIATE_FIELDS = ("Account_Name", "Account_AFM")


def full_read_due(store: StateStore, every: int) -> bool:
    """Whether this accounts run reads the whole affiliate view (see the module docstring)."""
    value = store.kv_get(RUNS_KEY)
    if value is None or not value.isdigit():
        return True
    return int(value) + 1 >= every


def record_accounts_run(store: StateStore, *, full: bool) -> None:
    """Count a finished accounts run; a full one starts the count again."""
    value = store.kv_get(RUNS_KEY)
    runs = int(value) if value is not None and value.isdigit() else 0
    store.kv_put(RUNS_KEY, "0" if full else str(runs + 1))


def page_query(module: str, key_field: str, fields: Iterable[str], after_id: int) -> str:
    """One page of the pass over `module`: records with a key, ids above `after_id`."""
    names = ", ".join(coql.name(f) for f in (key_field, *fields))
    k = coql.name(key_field)
    return (
        f"select {names} from {coql.name(module)} "  # noqa: S608 - checked names, int id
        f"where ({k} is not null and id > {int(after_id)}) order by id asc limit {PAGE}"
    )


async def read_zoho(
    ctx: RunContext,
    spool: Spool,
    *,
    module: str,
    key_field: str,
    fields: tuple[str, ...] = (),
    link_field: str | None = None,
    stream: str = CUSTOMERS.name,
) -> int:
    """One COQL pass over `module` into the spool: key, id, Rev_Number and `fields`.

    Page by page inside the time budget: a pass the budget cuts short is abandoned
    (ReadOutOfBudget for `stream`, :mod:`gzsync.sync.read_budget`)."""
    what = f"Zoho's {module} for a full read"
    selected = ("Rev_Number", *fields, *((link_field,) if link_field else ()))
    after, total = 0, 0
    while True:
        query = page_query(module, key_field, selected, after)
        rows = await within_budget(ctx.budget, stream, what, partial(ctx.zoho.coql, query))
        records = [_record(row, key_field, fields, link_field) for row in rows]
        spool.add_zoho(module, [r for r in records if r is not None])
        total += len(rows)
        ids = [int(str(row["id"])) for row in rows if str(row.get("id", "")).isdigit()]
        if len(rows) < PAGE or not ids:
            break
        after = max(ids)
        ctx.heartbeat()
    log.info("%s: %d records read from Zoho for a full read", module, total)
    return total


def _record(
    row: Mapping[str, Any], key_field: str, fields: tuple[str, ...], link_field: str | None
) -> ZohoRecord | None:
    key, zoho_id = row.get(key_field), row.get("id")
    if key is None or zoho_id is None:
        return None
    rev = row.get("Rev_Number")
    try:
        rev = None if rev is None else int(float(rev))
    except (TypeError, ValueError):
        rev = None
    link = row.get(link_field) if link_field else None
    if isinstance(link, Mapping):
        link = link.get("id")
    return ZohoRecord(
        str(key),
        str(zoho_id),
        rev,
        {f: row.get(f) for f in fields},
        None if link is None else str(link),
    )


def same_value(zoho: Any, galaxy: Any) -> bool:
    """Zoho's value equals what we would send (an empty text is null)."""
    if galaxy is None or galaxy == "":
        return zoho is None or zoho == ""
    if isinstance(galaxy, int | float) and isinstance(zoho, int | float | str):
        try:
            return abs(float(zoho) - float(galaxy)) < 1e-6
        except ValueError:
            return False
    return bool(zoho == galaxy)


def affiliate_differs(affiliate: Mapped, held: ZohoRecord | None) -> bool:
    """An affiliate is sent when Zoho lacks it, holds another name or TIN, or holds it at a
    lower revision than its card holder's (its `Rev_Number`, as an incremental run writes)."""
    if held is None or held.rev is None or held.rev < affiliate.rev:
        return True
    return not all(
        same_value(held.fields.get(f), affiliate.payload.get(f)) for f in AFFILIATE_FIELDS
    )


def customer_differs(
    customer: Mapped, held: ZohoRecord | None, link_id: str | None, *, link_known: bool
) -> bool:
    """A customer is sent when Zoho lacks it, holds a lower revision, or another link.

    `link_id` is the Zoho id `Affiliate_To` should hold (None: no link); `link_known` is
    False when the linked affiliate has no Zoho id yet (it is about to be written).
    """
    if held is None or held.rev is None or held.rev < customer.rev:
        return True
    return not link_known or held.link != link_id


def skip_unchanged_accounts(
    spool: Spool, window_size: int, register: Callable[[dict[str, str]], None] | None = None
) -> int:
    """Mark the customers Zoho already holds as they should be; returns how many.

    Window by window (memory stays flat): link the card holders to their affiliate rows as
    the write would, then compare each customer (revision and `Affiliate_To`) and each of
    its affiliates (name, TIN) with what Zoho holds. A card holder with a changed affiliate
    is kept, so that its window writes the affiliate. `register` receives the Zoho ids of
    the customers Zoho holds (to rebuild the registry of customer Accounts after a lost
    state store or an upgrade).
    """
    skipped = 0
    for window in chunked(spool.iter_all(CUSTOMERS.name), window_size):
        mapped = [m for m in window if isinstance(m, Mapped)]
        card_holders = card_holders_of(mapped)
        plan = None
        if card_holders:
            rows = spool.affiliates_between(min(card_holders), max(card_holders))
            plan = link_affiliates(card_holders, [r for r in rows if isinstance(r, Mapped)])
        links = plan.links if plan else {}
        members = plan.members if plan else {}
        affiliates = {a.key: a for a in plan.affiliates} if plan else {}
        keys = {m.key for m in mapped} | affiliates.keys()
        held = spool.zoho_of("Accounts", keys)
        # an affiliate that is also a customer is written from its own row, not compared
        customers = {m.key for m in mapped} | spool.rows_of(CUSTOMERS.name, affiliates).keys()
        changed = {
            key
            for key, affiliate in affiliates.items()
            if key not in customers and affiliate_differs(affiliate, held.get(key))
        }
        if register is not None:
            register({m.key: held[m.key].zoho_id for m in mapped if m.key in held})
        unchanged: list[str] = []
        for customer in mapped:
            want = links.get(customer.key)
            link_id = None if want is None else getattr(held.get(want), "zoho_id", None)
            known = want is None or link_id is not None
            if customer_differs(customer, held.get(customer.key), link_id, link_known=known):
                continue
            if any(a in changed for a in members.get(customer.key, ())):
                continue
            unchanged.append(customer.key)
        spool.skip(CUSTOMERS.name, unchanged)
        skipped += len(unchanged)
    return skipped
