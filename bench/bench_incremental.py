"""Incremental: after a full sync, a run with nothing changed costs at most 2 Zoho calls per
entity.

    .venv/bin/python bench/bench_incremental.py [--customers 10000] [--seed 1]

Both runs are `python -m gzsync run --json` subprocesses sharing one state file, against
the sandboxes in their own process (latency 0). The calls are counted by the Zoho sandbox
(by endpoint, upserts also by module) and by gzsync's own report. COQL calls cannot be
told apart by entity from outside, so the check is on the total: at most 2 × 2 entities.
Then (issue 15) `--bumped` customers and as many contacts get a new Galaxy revision and
nothing else (rows read from the sandbox, posted back without their revision): a third run
must send nothing (0 credits), and a fourth with `--force` sends them.
Not a test: it prints, never fails.
"""

from __future__ import annotations

import argparse
from typing import Any

import httpx
from common import emit, machine_line, run_gzsync, sandbox, stats_delta, table, workspace

PER_ENTITY_TARGET = 2
ENTITIES = ("accounts", "contacts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bumped", type=int, default=1000)
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
        _bump(box.info["galaxy_url"], args.bumped)
        bumped = run_gzsync(env, workdir=ws)
        after_bump = box.zoho_stats()
        _bump(box.info["galaxy_url"], args.bumped)
        forced = run_gzsync(env, workdir=ws, args=("--force",))
        after_force = box.zoho_stats()
    bump = stats_delta(after, after_bump)
    force = stats_delta(after_bump, after_force)
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
    unchanged = {e: bumped.report[e].get("unchanged") for e in ("customers", "contacts")}
    table(
        f"revision bump only: {args.bumped:,} customers and {args.bumped:,} contacts",
        [
            ("run", f"{bumped.report.get('status')}, {bumped.report.get('duration_s')} s"),
            ("unchanged (not sent)", unchanged),
            ("Zoho calls (sandbox)", {k: v for k, v in bump["calls"].items() if v} or "none"),
            ("credits", bump["credits"]),
            ("with --force: Zoho calls", {k: v for k, v in force["calls"].items() if v}),
            ("with --force: credits", force["credits"]),
            ("with --force: run", forced.report.get("status")),
            ("verdict", f"0 credits: {'met' if bump['credits'] == 0 else 'NOT met'}"),
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
            "bumped": args.bumped,
            "bump_unchanged": unchanged,
            "bump_credits": bump["credits"],
            "bump_calls": bump["calls"],
            "force_credits": force["credits"],
        },
    )


def _bump(galaxy_url: str, n: int) -> None:
    """A new revision, and nothing else, for the first `n` customers and contacts."""
    with httpx.Client(trust_env=False, timeout=600) as http:
        for view in ("zh_Customers_fin", "ZH_CONTACTS"):
            rows: list[dict[str, Any]] = http.get(f"{galaxy_url}/__sandbox/rows/{view}").json()
            chosen = rows[:n]
            for row in chosen:
                for column in [c for c in row if "REVNUM" in c.upper()]:
                    row.pop(column)
            http.post(f"{galaxy_url}/__sandbox/rows/{view}", json=chosen).raise_for_status()


if __name__ == "__main__":
    main()
