"""Full reads: what a compared read costs when nothing changed (issue 9).

    .venv/bin/python bench/bench_full_read.py [--customers 20000] [--seed 1]

A full sync, then two runs with nothing changed in Galaxy: the periodic full affiliate read
(`AFFILIATE_FULL_READ_EVERY=1`) and a run with a lost state file (the compared bootstrap).
Both read Galaxy from the start and make one COQL pass over Zoho's Accounts (and, for the
bootstrap, Contacts) in pages of 2,000; they should send nothing. Each run is a
`python -m gzsync run --json` subprocess against the sandboxes in their own process
(latency 0). Not a test: it prints, never fails.
"""

from __future__ import annotations

import argparse

from common import RunResult, emit, machine_line, run_gzsync, sandbox, stats_delta, table, workspace


def _summary(run: RunResult, delta: dict[str, object]) -> dict[str, object]:
    report = run.report
    return {
        "status": report.get("status"),
        "wall_s": round(run.wall_s, 2),
        "cpu_s": round(run.cpu_s, 2),
        "peak_rss_mb": round(run.max_rss_mb, 1),
        "zoho_calls": delta["calls"],
        "credits": delta["credits"],
        "sent": {
            e: report[e]["inserted"] + report[e]["updated"]
            for e in ("customers", "affiliates", "contacts")
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(machine_line())
    print("Zoho latency 0\n")
    with (
        workspace("gzsync-bench-full-read-") as ws,
        sandbox(args.customers, seed=args.seed) as box,
    ):
        env = {**box.env(), "ZOHO_CONCURRENCY": "10"}
        full_sync = run_gzsync(env, workdir=ws)
        before = box.zoho_stats()
        periodic = run_gzsync({**env, "AFFILIATE_FULL_READ_EVERY": "1"}, workdir=ws)
        middle = box.zoho_stats()
        (ws / "state.db").unlink()
        bootstrap = run_gzsync(env, workdir=ws)
        after = box.zoho_stats()
    figures = {
        "full_sync_s": round(full_sync.wall_s, 2),
        "periodic_full_read": _summary(periodic, stats_delta(before, middle)),
        "lost_state_bootstrap": _summary(bootstrap, stats_delta(middle, after)),
    }
    table(
        f"full reads: {args.customers:,} customers, nothing changed since a full sync "
        f"({figures['full_sync_s']} s)",
        [
            ("periodic full affiliate read", figures["periodic_full_read"]),
            ("lost state file (bootstrap)", figures["lost_state_bootstrap"]),
        ],
    )
    emit("full_read", {"customers": args.customers, "seed": args.seed, **figures})


if __name__ == "__main__":
    main()
