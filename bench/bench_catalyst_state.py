"""Catalyst state economy: what keeping the state in Catalyst NoSQL adds to a first sync.

    .venv/bin/python bench/bench_catalyst_state.py [--customers 100000] [--nosql-latency-ms 50]

One sandbox process (`gzsync sandbox --catalyst`) serves Galaxy, Zoho (the usual model:
400 ms + 2 ms per record per upsert, 10 concurrent calls) and a Catalyst console whose every
call takes `--nosql-latency-ms`. The same first sync runs twice, Zoho emptied in between:

1. on the SQLite backend: the Zoho-bound time (state costs ~nothing);
2. on the Catalyst backend: NoSQL and Cache calls by operation (the console's
   `/__sandbox/stats`), request and response bytes, wall time.

Figures: NoSQL calls per Zoho upsert call (target <= 1), what the state adds to the
Zoho-bound wall time (target <= 10%), and how many 15-minute Catalyst Job runs the first
sync takes (ceil(wall / 900 s): every run resumes at the watermark the previous one left).

Not a test: it prints, never fails.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import httpx
from common import (
    DEFAULT_LATENCY_MS,
    emit,
    limit_s,
    machine_line,
    parse_latency,
    records_synced,
    run_gzsync,
    sandbox,
    stats_delta,
    table,
    workspace,
)

JOB_RUN_S = 900.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--nosql-latency-ms", type=float, default=50.0)
    parser.add_argument("--latency", default=",".join(f"{v:g}" for v in DEFAULT_LATENCY_MS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=10, help="ZOHO_CONCURRENCY of the runs")
    args = parser.parse_args(argv)
    latency = parse_latency(args.latency)
    print(machine_line())
    print(
        f"{args.customers} customers; Zoho {latency[0]:g} ms + {latency[1]:g} ms/record per "
        f"upsert; ZOHO_CONCURRENCY={args.concurrency}; "
        f"Catalyst {args.nosql_latency_ms:g} ms per call\n"
    )
    with (
        sandbox(
            args.customers,
            latency_ms=latency,
            seed=args.seed,
            catalyst_latency_ms=args.nosql_latency_ms,
        ) as box,
        workspace("gzsync-bench-catalyst-") as work,
        httpx.Client(trust_env=False, timeout=600) as http,
    ):
        console = box.info["catalyst"]["console_url"]  # type: ignore[index]
        catalyst_env: dict[str, str] = dict(box.info["catalyst"]["env"])  # type: ignore[index]
        figures: dict[str, Any] = {"customers": args.customers, "startup_s": box.startup_s}

        before = box.zoho_stats()
        zoho_env = {**box.env(), "ZOHO_CONCURRENCY": str(args.concurrency)}
        sqlite = run_gzsync(zoho_env, workdir=work / "sqlite")
        zoho_sqlite = stats_delta(before, box.zoho_stats())
        box.clear_zoho()

        before = box.zoho_stats()
        state_before = http.get(console + "/__sandbox/stats").json()
        env = {**zoho_env, **catalyst_env, "CATALYST_NOSQL_TABLE": "gzsync_bench"}
        catalyst = run_gzsync(env, workdir=work / "catalyst")
        zoho_catalyst = stats_delta(before, box.zoho_stats())
        state_after = http.get(console + "/__sandbox/stats").json()

    state = _delta(state_before, state_after)
    upserts = zoho_catalyst["calls"].get("upsert", 0)
    nosql = sum(n for op, n in state["calls"].items() if op.startswith("nosql:"))
    bound = limit_s(upserts, zoho_catalyst["records_upserted"], latency)
    added = catalyst.wall_s / sqlite.wall_s - 1 if sqlite.wall_s else math.nan
    rows: list[tuple[str, object]] = [
        (
            "records synced (SQLite; Catalyst)",
            f"{records_synced(sqlite.report)}; {records_synced(catalyst.report)}",
        ),
        (
            "status (SQLite; Catalyst)",
            f"{sqlite.report.get('status')}; {catalyst.report.get('status')}",
        ),
        (
            "Zoho upsert calls (SQLite; Catalyst)",
            f"{zoho_sqlite['calls'].get('upsert', 0)}; {upserts}",
        ),
        ("NoSQL calls", f"{nosql} ({_by_op(state['calls'], 'nosql:')})"),
        ("Cache calls", _by_op(state["calls"], "cache:")),
        ("NoSQL calls per Zoho upsert", f"{nosql / upserts:.3f}" if upserts else "-"),
        ("bytes to / from the console", f"{state['bytes_in']:,} / {state['bytes_out']:,}"),
        (
            "bytes by call (to / from)",
            ", ".join(f"{k} {v[0]:,}/{v[1]:,}" for k, v in sorted(state["bytes_by_call"].items())),
        ),
        ("429s from the console", state["throttled"]),
        ("wall time, SQLite (Zoho-bound)", f"{sqlite.wall_s:.1f} s"),
        ("wall time, Catalyst", f"{catalyst.wall_s:.1f} s"),
        ("state adds", f"{added * 100:+.1f}%"),
        ("Zoho's limit (Σ upsert latency / 10)", f"{bound:.1f} s"),
        ("15-minute runs for the first sync", math.ceil(catalyst.wall_s / JOB_RUN_S)),
        (
            "NoSQL time if serial",
            f"{nosql * args.nosql_latency_ms / 1000:.1f} s at {args.nosql_latency_ms:g} ms a call",
        ),
    ]
    table("Catalyst state, first sync", rows)
    figures.update(
        {
            "nosql_latency_ms": args.nosql_latency_ms,
            "zoho_latency_ms": list(latency),
            "zoho_concurrency": args.concurrency,
            "sqlite": {"wall_s": sqlite.wall_s, "report_status": sqlite.report.get("status")},
            "catalyst": {
                "wall_s": catalyst.wall_s,
                "report_status": catalyst.report.get("status"),
                "exit_code": catalyst.exit_code,
                "max_rss_mb": catalyst.max_rss_mb,
            },
            "zoho_upserts": upserts,
            "records": records_synced(catalyst.report),
            "state_calls": state["calls"],
            "nosql_calls": nosql,
            "nosql_per_upsert": nosql / upserts if upserts else None,
            "bytes_in": state["bytes_in"],
            "bytes_out": state["bytes_out"],
            "bytes_by_call": state["bytes_by_call"],
            "state_adds": added,
            "zoho_limit_s": bound,
            "job_runs": math.ceil(catalyst.wall_s / JOB_RUN_S),
        }
    )
    if catalyst.exit_code not in (0, 1):
        print("Catalyst run failed:", catalyst.stderr_tail)
    emit("catalyst_state", figures)


def _delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    calls = {k: v - before["calls"].get(k, 0) for k, v in after["calls"].items()}
    return {
        "calls": {k: v for k, v in calls.items() if v},
        "bytes_in": after["bytes_in"] - before["bytes_in"],
        "bytes_out": after["bytes_out"] - before["bytes_out"],
        "throttled": after["throttled"] - before["throttled"],
        "bytes_by_call": {
            k: [
                v[0] - before["bytes_by_call"].get(k, [0, 0])[0],
                v[1] - before["bytes_by_call"].get(k, [0, 0])[1],
            ]
            for k, v in after.get("bytes_by_call", {}).items()
        }
        if "bytes_by_call" in before
        else {},
    }


def _by_op(calls: dict[str, int], prefix: str) -> str:
    return ", ".join(
        f"{k.removeprefix(prefix)} {v}" for k, v in sorted(calls.items()) if k.startswith(prefix)
    )


if __name__ == "__main__":
    main()
