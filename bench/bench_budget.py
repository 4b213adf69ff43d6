"""A budget that holds (issue 15): how far past `--max-duration` a run goes.

    .venv/bin/python bench/bench_budget.py [--customers 3000] [--budget 5]
        [--latency-ms 300,2] [--galaxy-stall-ms 0]

A first sync far longer than the budget, with `--max-duration BUDGET`, at
ZOHO_CONCURRENCY 1 and 10 (each against fresh sandboxes, in their own process). The
overshoot is the run's `duration_s` (its report: lock to the end) minus the budget; one
batch round-trip is the sandbox's latency for 100 records. Target: overshoot ≤ 2 × one
batch round-trip. Not a test: it prints, never fails.

`--galaxy-stall-ms N` makes every Galaxy view read wait N ms before its first row (the
sandbox's `stall` fault on `view`), so the reads are a large part of the budget (issue 15:
Galaxy reads are inside the budget too).
"""

from __future__ import annotations

import argparse

import httpx
from common import emit, machine_line, parse_latency, run_gzsync, sandbox, table, workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--budget", type=float, default=5.0)
    parser.add_argument("--latency-ms", default="300,2")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--galaxy-stall-ms", type=int, default=0)
    args = parser.parse_args()
    latency = parse_latency(args.latency_ms)
    round_trip = (latency[0] + 100 * latency[1]) / 1000.0
    print(machine_line())
    print(f"Zoho latency {latency[0]:g} + {latency[1]:g} ms/record: {round_trip:.2f} s a batch")
    print(f"Galaxy: every view read stalls {args.galaxy_stall_ms} ms before its first row\n")
    figures: dict[str, object] = {}
    rows: list[tuple[str, object]] = []
    for concurrency in (1, 10):
        with (
            workspace(f"gzsync-bench-budget-{concurrency}-") as ws,
            sandbox(args.customers, seed=args.seed, latency_ms=latency) as box,
        ):
            env = {**box.env(), "ZOHO_CONCURRENCY": str(concurrency)}
            if args.galaxy_stall_ms:
                _stall_views(box.info["galaxy_url"], args.galaxy_stall_ms)
            run = run_gzsync(env, workdir=ws, args=("--max-duration", f"{args.budget:g}"))
        report = run.report
        duration = float(report.get("duration_s") or 0.0)
        overshoot = duration - args.budget
        met = overshoot <= 2 * round_trip
        written = sum(
            int(report[e]["inserted"]) + int(report[e]["updated"])
            for e in ("customers", "affiliates", "contacts")
        )
        rows.append(
            (
                f"concurrency {concurrency}",
                f"{report.get('status')} (exit {run.exit_code}), run {duration:.2f} s, "
                f"overshoot {overshoot:+.2f} s (target ≤ {2 * round_trip:.2f} s: "
                f"{'met' if met else 'NOT met'}), {written:,} records written, "
                f"phases {report.get('phases')}",
            )
        )
        figures[f"concurrency_{concurrency}"] = {
            "status": report.get("status"),
            "duration_s": duration,
            "overshoot_s": round(overshoot, 3),
            "records_written": written,
            "met": met,
        }
    table(f"budget {args.budget:g} s, {args.customers:,} customers, first sync", rows)
    emit(
        "budget",
        {
            "customers": args.customers,
            "budget_s": args.budget,
            "round_trip_s": round_trip,
            "galaxy_stall_ms": args.galaxy_stall_ms,
        }
        | figures,
    )


def _stall_views(galaxy_url: str, stall_ms: int) -> None:
    """Every Galaxy view call waits `stall_ms` before answering (no count: all of them)."""
    rule = {"endpoint": "view", "action": "stall", "stall_ms": stall_ms}
    with httpx.Client(trust_env=False, timeout=30) as http:
        http.post(f"{galaxy_url}/__sandbox/faults", json={"rules": [rule]}).raise_for_status()


if __name__ == "__main__":
    main()
