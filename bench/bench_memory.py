"""Memory: peak RSS of the gzsync process while it syncs 1,000,000 customers served in one
Galaxy response.

    .venv/bin/python bench/bench_memory.py [--customers 1000000] [--entities accounts,contacts]
        [--sample-every 0.2] [--seed 1]

The sandboxes run in their own process (1M customers take about a minute and ~3 GB to
generate; Zoho latency 0). gzsync runs as `python -m gzsync run --json` in a subprocess;
its peak RSS is the kernel's (`wait4` → `ru_maxrss`), and a psutil poller samples RSS over
time to tell when the peak is reached (phase boundaries are taken from the run's report, so
the phase named is approximate to a sample). Target (issue 6): under 200 MB.
Not a test: it prints, never fails.
"""

from __future__ import annotations

import argparse

from common import emit, machine_line, run_gzsync, sandbox, table, workspace

TARGET_MB = 200.0


def phase_at(t: float, startup_s: float, phases: dict[str, float]) -> str:
    """Which phase of the run a moment (seconds since the process started) falls in."""
    if t < startup_s:
        return "start-up (imports, settings, lock, token)"
    elapsed = startup_s
    for name, seconds in phases.items():
        elapsed += seconds
        if t <= elapsed:
            return name
    return "after the phases (report, close)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--entities", default="accounts,contacts", help="what gzsync syncs")
    parser.add_argument("--sample-every", type=float, default=0.2, help="RSS poll interval (s)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(machine_line())
    print(f"Zoho latency 0; gzsync run --entities {args.entities}\n")

    with workspace("gzsync-bench-memory-") as ws, sandbox(args.customers, seed=args.seed) as box:
        print(f"sandbox up in {box.startup_s:.1f} s ({args.customers:,} customers)\n", flush=True)
        galaxy_before = box.galaxy_stats()
        run = run_gzsync(
            {**box.env(), "ZOHO_CONCURRENCY": "10"},
            workdir=ws,
            args=["--entities", args.entities],
            sample_rss_every_s=args.sample_every,
        )
        galaxy_after = box.galaxy_stats()
    report = run.report
    if not report:
        raise SystemExit(f"gzsync run failed (exit {run.exit_code}): {run.stderr_tail}")
    phases = report.get("phases", {})
    # time before the run's own clock started: interpreter start and imports
    startup = max(0.0, run.wall_s - float(report.get("duration_s", 0.0)))
    peak_t, peak_sampled = run.peak_sample()
    where = phase_at(peak_t, startup, phases)
    by_phase: dict[str, float] = {}
    for t, mb in run.rss_samples:
        name = phase_at(t, startup, phases)
        by_phase[name] = max(by_phase.get(name, 0.0), mb)
    galaxy_calls = {
        k: v - galaxy_before["calls"].get(k, 0)
        for k, v in galaxy_after["calls"].items()
        if v - galaxy_before["calls"].get(k, 0)
    }
    met = run.max_rss_mb < TARGET_MB
    table(
        f"memory: {args.customers:,} customers from one Galaxy response",
        [
            ("status (exit)", f"{report['status']} ({run.exit_code})"),
            ("entities", args.entities),
            ("fetched", {e: report[e]["fetched"] for e in ("customers", "affiliates", "contacts")}),
            ("Galaxy calls", galaxy_calls),
            ("wall time", f"{run.wall_s:.1f} s (phases {phases})"),
            ("gzsync CPU", f"{run.cpu_s:.1f} s"),
            ("peak RSS (kernel, ru_maxrss)", f"{run.max_rss_mb:.1f} MB"),
            ("peak RSS sampled", f"{peak_sampled:.1f} MB at {peak_t:.1f} s, during {where}"),
            ("sampled peak by phase", {k: round(v, 1) for k, v in by_phase.items()}),
            (
                "verdict",
                f"{run.max_rss_mb:.1f} MB (target < {TARGET_MB:g} MB): "
                f"{'met' if met else 'NOT met'}",
            ),
        ],
    )
    emit(
        "memory",
        {
            "customers": args.customers,
            "entities": args.entities,
            "seed": args.seed,
            "sandbox_startup_s": round(box.startup_s, 1),
            "status": report["status"],
            "fetched": {e: report[e]["fetched"] for e in ("customers", "affiliates", "contacts")},
            "galaxy_calls": galaxy_calls,
            "wall_s": round(run.wall_s, 1),
            "phases_s": phases,
            "gzsync_cpu_s": round(run.cpu_s, 1),
            "peak_rss_mb": round(run.max_rss_mb, 1),
            "peak_sampled_mb": round(peak_sampled, 1),
            "peak_at_s": round(peak_t, 1),
            "peak_phase": where,
            "peak_by_phase_mb": {k: round(v, 1) for k, v in by_phase.items()},
            "met": met,
        },
    )


if __name__ == "__main__":
    main()
