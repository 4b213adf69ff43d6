"""Selecting ledger entries for people: filters, retry and drop, apart from printing.

`gzsync ledger`, `gzsync ledger retry` and `gzsync ledger drop` call these functions, and so
can any other front end (a web page, a metrics endpoint): they take a state store and a
:class:`LedgerFilter` and return plain data, or raise :class:`LedgerSelectionError` (the CLI
turns it into exit 2) for a key, a reason or a run the operator named and the store does not
have.

Filters:

- `stream`, `kind`: exact;
- `reason`: case-blind (`--reason invalid_data` finds Zoho's `INVALID_DATA`);
- `run_id`: the entries that run wrote or re-wrote, i.e. whose `last_seen` falls between
  the run's start and its end (the ledger keeps no run id; a later run that touches the
  entry again moves it to that run);
- `keys`: these record keys; every key must be in the ledger (within the other filters),
  else the whole request is refused, naming the unknown keys, before anything changes
  (`missing_ok=True` skips them instead: the console's buttons name keys a run may have
  synced since the page was shown).

The web console (`console/actions.py`, `console/views.py`) uses these same functions, so the
CLI and the console select, retry and drop alike.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from gzsync.ops import words
from gzsync.state.store import LedgerEntry, LedgerKind, StateStore, StreamName

#: Reason codes gzsync writes itself, for `--help` (Zoho's own `code`s come on top).
OWN_REASONS: tuple[str, ...] = (
    "missing_trader_id",
    "missing_name",
    "name_too_long",
    "invalid_number",
    "missing_last_name",
    "missing_parent_key",
    "invalid_parent_key",
    "parent_not_in_zoho",
    "affiliate_not_in_zoho",
    "not_in_galaxy",
    # quotes (phase 2; README "Quotes stream")
    "galaxy_lines_failed",
    "ambiguous_account",
    "product_refused",
    "missing_item_code",
    "ROW_COUNT_MISMATCH",
    "LINE_ITEMS_TRUNCATED",
    "transport_error",
    "http_<status>",
)
#: Zoho's per-record codes seen most, for `--help`.
ZOHO_REASONS: tuple[str, ...] = (
    "INVALID_DATA",
    "MANDATORY_NOT_FOUND",
    "DUPLICATE_DATA",
    "LIMIT_EXCEEDED",
)
REASONS_HELP = (
    "Only this reason code, case-blind: ours ("
    + ", ".join(OWN_REASONS)
    + ") or Zoho's ("
    + ", ".join(ZOHO_REASONS)
    + ", ...)."
)

#: Columns of the exported rows (tsv, csv), in order.
COLUMNS: tuple[str, ...] = (
    "stream",
    "key",
    "rev",
    "kind",
    "reason",
    "attempts",
    "retry_requested",
    "first_seen",
    "last_seen",
    "detail",
)


class LedgerSelectionError(Exception):
    """The operator named something the ledger or the run history does not have."""


@dataclass(frozen=True, slots=True)
class LedgerFilter:
    """Which ledger entries to take; every field None/empty means no restriction."""

    stream: StreamName | None = None
    kind: LedgerKind | None = None
    reason: str | None = None
    run_id: str | None = None
    keys: tuple[str, ...] = ()

    @property
    def narrowed(self) -> bool:
        """True when anything restricts the selection."""
        return any((self.stream, self.kind, self.reason, self.run_id, self.keys))


@dataclass(frozen=True, slots=True)
class Selection:
    """The matching entries (at most the limit asked) and how many match in all."""

    entries: list[LedgerEntry]
    total: int


def select(
    store: StateStore, flt: LedgerFilter, *, limit: int | None = None, missing_ok: bool = False
) -> Selection:
    """The entries matching `flt`, oldest revision first; see the module docstring."""
    matching = _matching(store, flt)
    if flt.keys and not missing_ok:
        found = {e.key for e in matching}
        unknown = [k for k in dict.fromkeys(flt.keys) if k not in found]
        if unknown:
            raise LedgerSelectionError(_unknown_keys_message(unknown, flt))
    shown = matching if limit is None else matching[:limit]
    return Selection(entries=shown, total=len(matching))


def request_retry(store: StateStore, flt: LedgerFilter, *, missing_ok: bool = False) -> int:
    """Mark the matching entries for retry by the next run; returns how many were marked.

    With no filter at all every entry is marked. Raises LedgerSelectionError, changing
    nothing, when a key is not in the ledger (unless `missing_ok`, which skips it).
    """
    if not flt.narrowed:
        return store.ledger_request_retry(None, None)
    by_stream: dict[StreamName, list[str]] = {}
    for entry in select(store, flt, missing_ok=missing_ok).entries:
        by_stream.setdefault(entry.stream, []).append(entry.key)
    return sum(store.ledger_request_retry(stream, keys) for stream, keys in by_stream.items())


def find_for_drop(store: StateStore, key: str, stream: StreamName | None) -> LedgerEntry:
    """The one entry `ledger drop KEY` would remove; LedgerSelectionError when there is none
    or when the key waits in several streams and none was chosen."""
    matches = [e for e in store.ledger_list(stream) if e.key == key]
    if not matches:
        where = f" in {stream}" if stream else ""
        raise LedgerSelectionError(f"no ledger entry {key}{where} (see `gzsync ledger`)")
    if len(matches) > 1:
        streams = ", ".join(e.stream for e in matches)
        raise LedgerSelectionError(
            f"{key} waits in several streams ({streams}): choose one with --entity"
        )
    return matches[0]


def drop(store: StateStore, key: str, stream: StreamName | None) -> LedgerEntry:
    """Give up on one entry (see :func:`find_for_drop`); returns the entry dropped.

    Raises LedgerSelectionError when there is no such entry (also when another process
    removed it between the look-up and the drop).
    """
    entry = find_for_drop(store, key, stream)
    if not store.ledger_drop(entry.stream, entry.key):
        raise LedgerSelectionError(f"no ledger entry {key} in {entry.stream}")
    return entry


def present_reasons(store: StateStore) -> list[str]:
    """The reason codes the ledger holds now, sorted."""
    return sorted({reason for (_s, _k, reason) in store.ledger_counts()})


def entry_row(entry: LedgerEntry) -> dict[str, str]:
    """One entry as words: yes/no, ISO times, detail on one line (for tsv and csv)."""
    return {
        "stream": entry.stream,
        "key": entry.key,
        "rev": str(entry.rev),
        "kind": entry.kind,
        "reason": entry.reason,
        "attempts": str(entry.attempts),
        "retry_requested": words.yes_no(entry.retry_requested),
        "first_seen": words.iso_time(entry.first_seen),
        "last_seen": words.iso_time(entry.last_seen),
        "detail": " ".join(entry.detail.split()),
    }


def entry_json(entry: LedgerEntry) -> dict[str, Any]:
    """One entry for `--format json`: the stored fields, plus ISO times."""
    data = asdict(entry)
    data["first_seen_at"] = words.iso_time(entry.first_seen)
    data["last_seen_at"] = words.iso_time(entry.last_seen)
    return data


# -- internals ------------------------------------------------------------------------------


def _matching(store: StateStore, flt: LedgerFilter) -> list[LedgerEntry]:
    reasons: Sequence[str | None] = [None]
    if flt.reason is not None:
        wanted = flt.reason.strip().lower()
        reasons = [r for r in present_reasons(store) if r.lower() == wanted]
        if not reasons:
            return []
    entries: list[LedgerEntry] = []
    for reason in reasons:
        entries += store.ledger_list(flt.stream, kind=flt.kind, reason=reason)
    if flt.run_id is not None:
        start, end = _run_window(store, flt.run_id)
        entries = [e for e in entries if start <= e.last_seen <= end]
    if flt.keys:
        keys = set(flt.keys)
        entries = [e for e in entries if e.key in keys]
    if len(reasons) > 1:
        entries.sort(key=lambda e: (e.rev, e.stream, e.key))
    return entries


def _run_window(store: StateStore, run_id: str) -> tuple[float, float]:
    record = store.run(run_id)
    if record is None:
        raise LedgerSelectionError(f"no run {run_id} (see `gzsync status` for run ids)")
    return record.started_at, record.finished_at or time.time()


def _unknown_keys_message(unknown: list[str], flt: LedgerFilter) -> str:
    narrowed = LedgerFilter(flt.stream, flt.kind, flt.reason, flt.run_id).narrowed
    where = " with these filters" if narrowed else ""
    noun = "key" if len(unknown) == 1 else "keys"
    return (
        f"not in the ledger{where}: {noun} {', '.join(unknown)} "
        "(see `gzsync ledger` for the keys that wait)"
    )
