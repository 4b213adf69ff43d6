"""Incremental: after a full sync, a run with nothing changed costs at most 2 Zoho calls per
entity.

    .venv/bin/python bench/bench_incremental.py [--customers 10000] [--seed 1]

Both runs are `python -m gzsync run --json` subprocesses sharing one state file, against
the sandboxes in their own process (latency 0). The calls are counted by the Zoho sandbox
(by endpoint, upserts also by module) and by gzsync's own report. COQL calls cannot be
told apart by entity from outside, so the check is on the total: at most 2 × 2 entities.
Not a test: it prints, never fails.
"""

from __future__ import annotations

import argparse

from common import emit, machine_line, run_gzsync, sandbox, stats_delta, table, workspace

PER_ENTITY_TARGET = 2
ENTITIES = ("accounts", "contacts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(machine_line())
    print("Zoho latency 0\n")

    with (
        workspace("gzsync-bench-incremental-") as ws,
        sandbox(args.customers, seed=args.seed) as box,
    ):
        env = {**box.env(), "ZOHO_CONCURRENCY": "10"}
        before = box.zoho_stats()
        full = run_gzsync(env, workdir=ws)
        middle = box.zoho_stats()
        again = run_gzsync(env, workdir=ws)
        after = box.zoho_stats()
    full_calls = stats_delta(before, middle)
    zoho = stats_delta(middle, after)
    calls = zoho["calls"]
    # "upsert" is the sum of "upsert:<Module>"; count each call once
    total = sum(v for k, v in calls.items() if k != "upsert")
    by_entity = {
        "accounts": calls.get("upsert:Accounts", 0),
        "contacts": calls.get("upsert:Contacts", 0),
        "unattributed (coql, token, reads)": total
        - calls.get("upsert:Accounts", 0)
        - calls.get("upsert:Contacts", 0),
    }
    target = PER_ENTITY_TARGET * len(ENTITIES)
    met = total <= target
    report = again.report
    table(
        f"incremental: {args.customers:,} customers, a full sync then a run with nothing changed",
        [
            (
                "full sync",
                f"{full.report.get('status')}, {full.report.get('duration_s')} s, "
                f"Zoho calls {full_calls['calls']}",
            ),
            (
                "second run",
                f"{report.get('status')} (exit {again.exit_code}), {report.get('duration_s')} s",
            ),
            ("Zoho calls by endpoint (sandbox)", calls or "none"),
            (
                "Zoho calls by endpoint (gzsync report)",
                {k: v for k, v in report.get("zoho_calls_by_endpoint", {}).items() if v} or "none",
            ),
            ("by entity", by_entity),
            ("credits", zoho["credits"]),
            (
                "fetched from Galaxy",
                {e: report[e]["fetched"] for e in ("customers", "affiliates", "contacts")},
            ),
            ("ledger pending (retried every run)", report.get("ledger_pending")),
            (
                "verdict",
                f"{total} calls for {len(ENTITIES)} entities (target ≤ "
                f"{PER_ENTITY_TARGET} per entity = {target}): {'met' if met else 'NOT met'}",
            ),
        ],
    )
    emit(
        "incremental",
        {
            "customers": args.customers,
            "seed": args.seed,
            "full_sync_calls": full_calls["calls"],
            "second_run_calls": calls,
            "second_run_report_calls": report.get("zoho_calls_by_endpoint"),
            "second_run_total_calls": total,
            "by_entity": by_entity,
            "credits": zoho["credits"],
            "ledger_pending": report.get("ledger_pending"),
            "met": met,
        },
    )


if __name__ == "__main__":
    main()
