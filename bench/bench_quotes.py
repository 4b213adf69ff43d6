"""Phase 2: a full sync of sales offers into Zoho Quotes (issue 14), measured from outside.

    .venv/bin/python bench/bench_quotes.py [--offers 20000] [--lines 5] [--customers 20000]
        [--latency-ms 400,2] [--latency-scale 1] [--concurrency 10] [--seed 1]
        [--galaxy-concurrency 4] [--bump N] [--lost-state]

The sandbox (its own process) generates `--customers` customers and `--offers` offers; the
offers' lines are then rewritten to exactly `--lines` each (drawn from the generated
catalogue). A first `gzsync run --entities accounts` puts the Accounts in Zoho (not
measured); the measured run is `gzsync run --entities quotes` from an empty Quotes module:
lines read offer by offer (GALAXY_CONCURRENCY), Products upserted once each, Quotes
upserted 100 per call with their rows. Printed: wall time against Zoho's limit for the
upserts it made (Σ call latency / 10 in flight), Galaxy calls, Zoho calls and credits, peak
RSS. Not a test: it prints, never fails.

Peak RSS: `gzsync_peak_rss_mb` is the gzsync process's own high-water mark (`VmHWM`, sampled
every 0.5 s). `max_rss_mb` (the child's `ru_maxrss`) is printed too but is *not* gzsync's
memory: Linux carries into it the peak RSS of the process that forked it, and this bench
peaked while rewriting the sandbox's offer lines (`bench_peak_rss_mb`).

`--bump N` (issue 14's "an unchanged offer costs nothing"): after the full sync, N offers get
a new Galaxy revision and nothing else (rows read from the sandbox, posted back without
their revision; lines untouched), and `gzsync run --entities quotes` runs again: its Zoho
calls and credits (counted by the sandbox) must be 0. Then the same N offers are bumped
again and sent with `--force`, for comparison. So that the figures count the bumped offers
only, the offers of unknown customers (which wait in the ledger and are looked up every
run) are first removed from Galaxy and one run settles them (`not_in_galaxy`, no Zoho call).

`--lost-state` (issue 14's lost state file): at the end the state file is deleted and
`gzsync run --entities quotes` runs once more, nothing having changed in Galaxy: its Zoho
calls and credits are what re-syncing every offer idempotently costs (COQL existence, header
upserts, one GET per quote, products upserted again; no PUT when the rows are right).
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from typing import Any

import httpx
from common import (
    DEFAULT_LATENCY_MS,
    emit,
    machine_line,
    parse_latency,
    run_gzsync,
    sandbox,
    stats_delta,
    table,
    vm_hwm_mb,
    workspace,
)


def exact_lines(galaxy_url: str, per_offer: int) -> int:
    """Rewrite the sandbox's offer lines to `per_offer` lines each; returns the line count."""
    with httpx.Client(trust_env=False, timeout=600) as http:
        lines = http.get(f"{galaxy_url}/__sandbox/rows/offer_lines").json()
        offers = http.get(f"{galaxy_url}/__sandbox/rows/zh_offers").json()
        by_doc: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for line in lines:
            by_doc[str(line["DOC_ID"])].append(line)
        catalogue = lines[: max(1, min(len(lines), 500))]
        rows = []
        for n, offer in enumerate(offers):
            own = by_doc.get(str(offer["ID"])) or []
            for i in range(per_offer):
                base = dict(own[i] if i < len(own) else catalogue[(n * 7 + i) % len(catalogue)])
                base["DOC_ID"], base["LINENUM"] = offer["ID"], i + 1
                rows.append(base)
        http.put(f"{galaxy_url}/__sandbox/rows/offer_lines", json=rows).raise_for_status()
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offers", type=int, default=20_000)
    parser.add_argument("--lines", type=int, default=5)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--latency-ms", default=None)
    parser.add_argument("--latency-scale", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--galaxy-concurrency", type=int, default=4)
    parser.add_argument("--bump", type=int, default=0, help="then bump N offers' revisions")
    parser.add_argument("--lost-state", action="store_true", help="then lose the state file")
    args = parser.parse_args()
    latency = (
        parse_latency(args.latency_ms, args.latency_scale)
        if args.latency_ms
        else (
            DEFAULT_LATENCY_MS[0] * args.latency_scale,
            DEFAULT_LATENCY_MS[1] * args.latency_scale,
        )
    )
    with (
        sandbox(args.customers, seed=args.seed, offers=args.offers) as box,
        workspace("gzsync-bench-quotes-") as workdir,
    ):
        lines = exact_lines(box.info["galaxy_url"], args.lines)
        env = {
            **box.env(),
            "ZOHO_CONCURRENCY": str(args.concurrency),
            "GALAXY_CONCURRENCY": str(args.galaxy_concurrency),
        }
        accounts = run_gzsync(env, workdir=workdir, args=["--entities", "accounts"])
        box.set_latency(latency)
        zoho0 = box.zoho_stats()
        bench_rss = vm_hwm_mb(os.getpid())  # what ru_maxrss will carry over
        run = run_gzsync(
            env, workdir=workdir, args=["--entities", "quotes"], sample_rss_every_s=0.5
        )
        zoho = stats_delta(zoho0, box.zoho_stats())
        galaxy1 = box.galaxy_stats()
        bumps = bump_runs(box, env, workdir, args.bump) if args.bump else None
        lost = lost_state_run(box, env, workdir) if args.lost_state else None
    report = run.report
    calls = report.get("zoho_calls_by_endpoint", {})
    upserts = int(calls.get("upsert", 0))
    quotes, products = report.get("quotes", {}), report.get("products", {})
    records = int(quotes.get("inserted", 0)) + int(products.get("inserted", 0))
    # every upsert carries about records/upserts records; Zoho's limit: 10 in flight
    per_call = records / upserts if upserts else 0.0
    limit = upserts * (latency[0] + latency[1] * per_call) / 1000 / 10
    figures = {
        "offers": args.offers,
        "galaxy_concurrency": args.galaxy_concurrency,
        "lines": lines,
        "accounts_run_s": round(accounts.wall_s, 1),
        "wall_s": round(run.wall_s, 1),
        "zoho_limit_s": round(limit, 1),
        "ratio": round(run.wall_s / limit, 2) if limit else None,
        "quotes_inserted": quotes.get("inserted"),
        "quotes_held": quotes.get("failed", 0) + quotes.get("rejected", 0),
        "products_inserted": products.get("inserted"),
        "galaxy_calls": report.get("galaxy_calls"),
        "zoho_calls": calls,
        "zoho_credits": report.get("zoho_credits"),
        # ru_maxrss counts this bench process's RSS at fork (see RunResult): gzsync's own
        # peak is the VmHWM of its process
        "max_rss_mb": round(run.max_rss_mb, 1),
        "gzsync_peak_rss_mb": round(run.hwm_rss_mb, 1),
        "bench_peak_rss_mb": round(bench_rss, 1),
        "cpu_s": round(run.cpu_s, 1),
        "latency_ms": list(latency),
        "exit_code": run.exit_code,
        "sandbox_zoho": {k: zoho.get(k) for k in ("credits", "peak_concurrency") if k in zoho},
        "sandbox_galaxy": {k: v for k, v in galaxy1.items() if isinstance(v, int | float)},
    }
    table(
        f"quotes full sync: {args.offers} offers x {args.lines} lines ({machine_line()})",
        [(k, v) for k, v in figures.items() if not isinstance(v, dict)],
    )
    emit("quotes", figures)
    if bumps is not None:
        table(
            f"revision bump only: {args.bump} offers, then the same with --force",
            [(k, v) for k, v in bumps.items()],
        )
        emit("quotes_bump", bumps)
    if lost is not None:
        table("lost state file: every offer re-synced", [(k, v) for k, v in lost.items()])
        emit("quotes_lost_state", lost)


def lost_state_run(box: Any, env: dict[str, str], workdir: Any) -> dict[str, Any]:
    """A run after the state file is deleted, Galaxy unchanged."""
    (workdir / "state.db").unlink()
    zoho0 = box.zoho_stats()
    run = run_gzsync(env, workdir=workdir, args=["--entities", "quotes"])
    zoho = stats_delta(zoho0, box.zoho_stats())
    quotes, products = run.report.get("quotes", {}), run.report.get("products", {})
    api_calls = {k: v for k, v in zoho["calls"].items() if k != "token" and ":" not in k}
    return {
        "wall_s": round(run.wall_s, 1),
        "zoho_calls": sum(api_calls.values()),
        "zoho_calls_by_endpoint": api_calls,
        "credits": zoho["credits"],
        "quotes": {k: quotes.get(k, 0) for k in ("fetched", "unchanged", "updated", "inserted")},
        "products": {k: products.get(k, 0) for k in ("updated", "inserted")},
        "exit_code": run.exit_code,
    }


def bump_offers(galaxy_url: str, n: int) -> None:
    """A new revision, and nothing else, for the first `n` offers (their lines untouched)."""
    with httpx.Client(trust_env=False, timeout=600) as http:
        rows: list[dict[str, Any]] = http.get(f"{galaxy_url}/__sandbox/rows/zh_offers").json()
        chosen = rows[:n]
        for row in chosen:
            row.pop("CommercialEntry_GXREVNUM", None)
        http.post(f"{galaxy_url}/__sandbox/rows/zh_offers", json=chosen).raise_for_status()


def drop_waiting_offers(galaxy_url: str) -> int:
    """Remove the offers whose customer Galaxy does not have; returns how many."""
    with httpx.Client(trust_env=False, timeout=600) as http:
        customers = http.get(f"{galaxy_url}/__sandbox/rows/zh_Customers_fin").json()
        known = {str(c.get("TRDRID")) for c in customers}
        rows: list[dict[str, Any]] = http.get(f"{galaxy_url}/__sandbox/rows/zh_offers").json()
        kept = [r for r in rows if str(r.get("TRDRID")) in known]
        http.put(f"{galaxy_url}/__sandbox/rows/zh_offers", json=kept).raise_for_status()
    return len(rows) - len(kept)


def bump_runs(box: Any, env: dict[str, str], workdir: Any, n: int) -> dict[str, Any]:
    """An incremental run after a revision-only bump of `n` offers, then a forced one."""
    dropped = drop_waiting_offers(box.info["galaxy_url"])
    zoho0 = box.zoho_stats()
    settle = run_gzsync(env, workdir=workdir, args=["--entities", "quotes"])
    figures: dict[str, Any] = {
        "bumped_offers": n,
        "waiting_offers_removed": dropped,
        "settle_run_zoho_calls": stats_delta(zoho0, box.zoho_stats())["calls"],
        "settle_run_exit_code": settle.exit_code,
    }
    for label, extra in (("incremental", []), ("force", ["--force"])):
        bump_offers(box.info["galaxy_url"], n)
        zoho0, galaxy0 = box.zoho_stats(), box.galaxy_stats()
        run = run_gzsync(env, workdir=workdir, args=["--entities", "quotes", *extra])
        zoho = stats_delta(zoho0, box.zoho_stats())
        galaxy_calls = sum(box.galaxy_stats()["calls"].values()) - sum(galaxy0["calls"].values())
        quotes, products = run.report.get("quotes", {}), run.report.get("products", {})
        api_calls = {k: v for k, v in zoho["calls"].items() if k != "token" and ":" not in k}
        figures[label] = {
            "wall_s": round(run.wall_s, 1),
            "zoho_calls": sum(api_calls.values()),
            "zoho_calls_by_endpoint": api_calls,
            "credits": zoho["credits"],
            "quotes": {k: quotes.get(k, 0) for k in ("fetched", "unchanged", "updated")},
            "products": {k: products.get(k, 0) for k in ("unchanged", "updated", "inserted")},
            "galaxy_calls": galaxy_calls,
            "exit_code": run.exit_code,
        }
    return figures


if __name__ == "__main__":
    main()
