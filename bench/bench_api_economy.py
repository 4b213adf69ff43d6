"""API economy: what a clean run and a second run cost in Zoho calls and credits.

    .venv/bin/python bench/bench_api_economy.py [--customers 10000] [--seed 1]

The sandboxes run in their own process (latency 0); gzsync runs in this process so that
its calls can be attributed to entities: `BatchWriter._upsert` and the Zoho client's
`max_value` / `ids_by_key` are wrapped with counters (nothing else changes). Checks
(issue 6):

- upsert calls = ceil(records / 100) per entity (affiliates are upserted window by window,
  customers too, so each may exceed it by at most one call per window: reported);
- at most one token request per run, none while the cached token is valid (second run);
- one watermark query per entity in a clean run (none once the state file has one);
- credits for 100,000 Accounts at most 10,100 (extrapolated per Account from this run).

Not a test: it prints, never fails.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from common import Sandbox, ceil_batches, emit, machine_line, sandbox, stats_delta, table, workspace

from gzsync.config import Settings
from gzsync.sync import writer as writer_module
from gzsync.sync.options import RunOptions
from gzsync.sync.pipeline import run_sync
from gzsync.zoho import client as client_module

CREDITS_TARGET = 10_100
ACCOUNTS_TARGET = 100_000
WINDOW = 5000  # gzsync.sync.accounts.WINDOW: customers per window


class Counters:
    """Calls attributed to entities while a run is in progress."""

    def __init__(self) -> None:
        self.upsert_calls: Counter[str] = Counter()
        self.upsert_records: Counter[str] = Counter()
        self.upsert_credits: Counter[str] = Counter()
        self.sizes: dict[str, list[int]] = defaultdict(list)
        self.watermark_queries: Counter[str] = Counter()
        self.parent_lookups = 0


@contextmanager
def instrumented() -> Iterator[Counters]:
    """Wrap the three methods with counters for the duration of the block."""
    counters = Counters()
    original_upsert = writer_module.BatchWriter._upsert
    original_max = client_module.ZohoClient.max_value
    original_ids = client_module.ZohoClient.ids_by_key

    async def upsert(self: Any, records: Sequence[Any]) -> Any:
        stream = self._stream
        counters.upsert_calls[stream] += 1
        counters.upsert_records[stream] += len(records)
        counters.upsert_credits[stream] += max(1, math.ceil(len(records) / 10))
        counters.sizes[stream].append(len(records))
        return await original_upsert(self, records)

    async def max_value(self: Any, module: str, field: str, **kw: Any) -> Any:
        counters.watermark_queries[module] += 1
        return await original_max(self, module, field, **kw)

    async def ids_by_key(self: Any, module: str, key_field: str, keys: Sequence[str]) -> Any:
        counters.parent_lookups += 1
        return await original_ids(self, module, key_field, keys)

    writer_module.BatchWriter._upsert = upsert  # type: ignore[method-assign]
    client_module.ZohoClient.max_value = max_value  # type: ignore[method-assign]
    client_module.ZohoClient.ids_by_key = ids_by_key  # type: ignore[method-assign]
    try:
        yield counters
    finally:
        writer_module.BatchWriter._upsert = original_upsert  # type: ignore[method-assign]
        client_module.ZohoClient.max_value = original_max  # type: ignore[method-assign]
        client_module.ZohoClient.ids_by_key = original_ids  # type: ignore[method-assign]


def one_run(box: Sandbox, state_db: Path) -> dict[str, Any]:
    settings = Settings.from_values(**box.env(), STATE_DB=state_db, ZOHO_CONCURRENCY=10)
    before = box.zoho_stats()
    with instrumented() as c:
        report = run_sync(settings, RunOptions()).to_json()
    zoho = stats_delta(before, box.zoho_stats())
    return {
        "status": report["status"],
        "zoho_calls": zoho["calls"],
        "credits": zoho["credits"],
        "token_requests": zoho["calls"].get("token", 0),
        "watermark_queries": dict(c.watermark_queries),
        "parent_lookup_calls": c.parent_lookups,
        "upsert_calls": dict(c.upsert_calls),
        "upsert_records": dict(c.upsert_records),
        "upsert_credits": dict(c.upsert_credits),
        "partial_batches": {s: sum(1 for n in v if n < 100) for s, v in c.sizes.items()},
        "report": {e: report[e] for e in ("customers", "affiliates", "contacts")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(machine_line())
    print("Zoho latency 0 (only calls and credits are measured)\n")

    with workspace("gzsync-bench-economy-") as ws, sandbox(args.customers, seed=args.seed) as box:
        print(f"sandbox up in {box.startup_s:.1f} s ({args.customers:,} customers)\n")
        clean = one_run(box, ws / "state.db")
        second = one_run(box, ws / "state.db")

    windows = math.ceil(args.customers / WINDOW)
    rows: list[tuple[str, object]] = []
    entity_checks: dict[str, Any] = {}
    for stream in ("affiliates", "customers", "contacts"):
        calls = clean["upsert_calls"].get(stream, 0)
        records = clean["upsert_records"].get(stream, 0)
        ideal = ceil_batches(records)
        extra = calls - ideal
        allowed = windows if stream in ("affiliates", "customers") else 0
        entity_checks[stream] = {
            "upsert_calls": calls,
            "records_sent": records,
            "ceil_records_100": ideal,
            "extra_calls": extra,
            "partial_batches": clean["partial_batches"].get(stream, 0),
            "met": extra == 0,
        }
        note = (
            "= ceil: met"
            if extra == 0
            else f"+{extra} over ceil ({clean['partial_batches'].get(stream, 0)} partial "
            f"batches; written in {windows} windows of {WINDOW} customers"
            + (", allowed per window)" if extra <= allowed else ") NOT met")
        )
        rows.append(
            (f"{stream}: upsert calls", f"{calls} for {records:,} records, ceil {ideal} {note}")
        )

    accounts_records = clean["upsert_records"].get("customers", 0) + clean["upsert_records"].get(
        "affiliates", 0
    )
    accounts_credits = clean["upsert_credits"].get("customers", 0) + clean["upsert_credits"].get(
        "affiliates", 0
    )
    wm_accounts = clean["watermark_queries"].get("Accounts", 0)
    per_account = accounts_credits / accounts_records if accounts_records else 0.0
    credits_100k = per_account * ACCOUNTS_TARGET + wm_accounts
    rows += [
        ("token requests, clean run", f"{clean['token_requests']} (target ≤ 1)"),
        ("token requests, second run", f"{second['token_requests']} (target 0, token cached)"),
        ("watermark queries, clean run", f"{clean['watermark_queries']} (target 1 per entity)"),
        (
            "watermark queries, second run",
            f"{second['watermark_queries'] or 0} (state file has them)",
        ),
        ("parent look-ups (COQL), clean run", clean["parent_lookup_calls"]),
        ("Zoho calls, clean run", clean["zoho_calls"]),
        ("Zoho calls, second run", second["zoho_calls"]),
        ("credits, clean run", f"{clean['credits']:,} in all"),
        (
            "credits per Account record",
            f"{per_account:.4f} ({accounts_credits:,} for "
            f"{accounts_records:,} customers + affiliates)",
        ),
        (
            "credits for 100,000 Accounts",
            f"{credits_100k:,.0f} extrapolated (target ≤ {CREDITS_TARGET:,}): "
            f"{'met' if credits_100k <= CREDITS_TARGET else 'NOT met'}",
        ),
    ]
    table(f"API economy: {args.customers:,} customers, clean run then a second run", rows)
    emit(
        "api_economy",
        {
            "customers": args.customers,
            "seed": args.seed,
            "upserts": entity_checks,
            "token_requests": {
                "clean": clean["token_requests"],
                "second": second["token_requests"],
            },
            "watermark_queries": {
                "clean": clean["watermark_queries"],
                "second": second["watermark_queries"],
            },
            "parent_lookup_calls": {
                "clean": clean["parent_lookup_calls"],
                "second": second["parent_lookup_calls"],
            },
            "zoho_calls": {"clean": clean["zoho_calls"], "second": second["zoho_calls"]},
            "credits": {"clean": clean["credits"], "second": second["credits"]},
            "credits_per_account": round(per_account, 5),
            "credits_for_100k_accounts": round(credits_100k),
            "credits_met": credits_100k <= CREDITS_TARGET,
        },
    )


if __name__ == "__main__":
    main()
