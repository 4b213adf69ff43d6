"""Reconcile: peak RSS, wall time, Zoho calls and credits, Galaxy calls of `gzsync reconcile`
over N customers (their affiliates too), before and after `--repair`.

    .venv/bin/python bench/bench_reconcile.py [--customers 200000] [--delete 1000] [--seed 1]

The sandboxes run in their own process (Zoho latency 0). A full sync of the accounts fills
Zoho; a CRM user then deletes `--delete` Accounts through Zoho's API; then three gzsync
processes run, each measured with `wait4` (peak RSS is the kernel's `ru_maxrss`):
`reconcile` (finds them missing), `reconcile --repair`, `reconcile` (finds 0).
Target (issue 16): under 200 MB at 1,000,000 accounts. Not a test: it prints, never fails.

Quotes (`--offers N`, issue 14's reconcile):

    .venv/bin/python bench/bench_reconcile.py --offers 20000 --customers 2000 [--lines 0]
        [--delete-quotes 100] [--change-lines 100]

The sandbox generates N offers (1-6 lines each, `TotalValue` their gross total; `--lines K`
rewrites them to exactly K lines each, which leaves `TotalValue` stale: then every quote
looks changed to `auto`, as in an installation whose `TotalValue` is not the gross); Accounts and
Quotes are synced; a CRM user deletes `--delete-quotes` Quotes and changes one row's
quantity in `--change-lines` others through Zoho's API; then `reconcile --entities quotes`
runs four times: the default check (`--quote-lines auto`), the full line compare
(`--quote-lines all`: one Galaxy call and one GET per quote), `--repair`, and a check again.
Printed per step: classes, line reads and GETs, Zoho calls and credits, Galaxy calls, wall,
peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import _base_env, emit, machine_line, run_gzsync, sandbox, stats_delta, table, workspace

from gzsync.sandbox.drift import CrmUser

TARGET_MB = 200.0


def measure(env: dict[str, str], workdir: Path, *args: str) -> dict[str, Any]:
    """`python -m gzsync reconcile --json --quiet ARGS`: its report, exit code, wall, peak RSS."""
    full_env = {**_base_env(), "STATE_DB": str(workdir / "state.db"), **env}
    command = [sys.executable, "-m", "gzsync", "reconcile", "--json", "--quiet", *args]
    out_path = workdir / "reconcile.json"
    with out_path.open("wb") as out:
        t0 = time.monotonic()
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.DEVNULL, env=full_env, cwd=workdir
        )
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - t0
    text = out_path.read_text().strip()
    return {
        "report": json.loads(text.splitlines()[-1]) if text else {},
        "exit_code": os.waitstatus_to_exitcode(status),
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def delete_accounts(api_url: str, count: int) -> int:
    """A CRM user deletes the first `count` Accounts (by id) through the API."""
    if count <= 0:
        return 0
    with CrmUser(api_url) as user:
        import httpx

        token = user._auth
        response = httpx.post(
            f"{api_url}/crm/v8/coql",
            json={
                "select_query": "select Trader_ID from Accounts where id is not null "  # noqa: S608
                f"order by id asc limit {min(count, 2000)}"
            },
            headers=token,
            timeout=600,
        )
        ids = [row["id"] for row in response.json()["data"]]
        for start in range(0, len(ids), 100):
            user.delete("Accounts", ids[start : start + 100])
    return len(ids)


def tamper_quotes(api_url: str, delete: int, change: int) -> dict[str, int]:
    """A CRM user deletes `delete` Quotes and adds 1 to the first row's quantity of
    `change` others (row ids from the sandbox's control route; writes through the API)."""
    import httpx

    with httpx.Client(trust_env=False, timeout=600) as http:
        quotes = http.get(f"{api_url}/__sandbox/records/Quotes").json()
    quotes = sorted((q for q in quotes if q.get("ERP_ID_Offer")), key=lambda q: str(q["id"]))
    gone, changed = quotes[:delete], quotes[delete : delete + change]
    with CrmUser(api_url) as user:
        for start in range(0, len(gone), 100):
            user.delete("Quotes", [str(q["id"]) for q in gone[start : start + 100]])
        for quote in changed:
            row = quote["Quoted_Items"][0]
            rows = [{"id": row["id"], "Quantity": float(row["Quantity"]) + 1}]
            user.update("Quotes", str(quote["id"]), {"Quoted_Items": rows})
    return {"deleted": len(gone), "changed": len(changed)}


def tamper_in_a_child(api_url: str, delete: int, change: int) -> dict[str, int]:
    """`tamper_quotes` in a child process: its JSON of every quote must not inflate this
    process, whose forked children would inherit the peak (`ru_maxrss` survives exec)."""
    command = [sys.executable, __file__, "--tamper", api_url]
    command += ["--delete-quotes", str(delete), "--change-lines", str(change)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=_base_env())
    made: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return made


def quotes_bench(args: argparse.Namespace) -> None:
    from bench_quotes import exact_lines

    print(machine_line())
    with (
        workspace("gzsync-bench-reconcile-quotes-") as ws,
        sandbox(args.customers, seed=args.seed, offers=args.offers) as box,
    ):
        lines = exact_lines(box.info["galaxy_url"], args.lines) if args.lines else 0
        print(f"sandbox up: {args.offers:,} offers ({lines:,} lines rewritten)", flush=True)
        env = {**box.env(), "ZOHO_CONCURRENCY": "10"}
        synced = run_gzsync(env, workdir=ws, args=["--entities", "accounts,quotes"])
        print(f"full sync: {synced.report.get('status')} in {synced.wall_s:.1f} s", flush=True)
        made = tamper_in_a_child(box.info["zoho_api_url"], args.delete_quotes, args.change_lines)
        steps: dict[str, dict[str, Any]] = {}
        plan = [
            ("check (auto)", ()),
            ("check (--quote-lines all)", ("--quote-lines", "all")),
            ("--repair", ("--repair",)),
            ("check again", ()),
        ]
        for name, extra in plan:
            before = box.zoho_stats()
            steps[name] = measure(env, ws, "--entities", "quotes", *extra)
            steps[name]["zoho"] = stats_delta(before, box.zoho_stats())
            print(f"{name}: {steps[name]['wall_s']} s", flush=True)
    rows: list[tuple[str, object]] = [("CRM user: quotes deleted / rows changed", made)]
    for name, step in steps.items():
        report = step["report"]
        classes = report.get("streams", {}).get("quotes", {})
        rows += [
            (f"{name}: exit, status", f"{step['exit_code']}, {report.get('status')}"),
            (f"{name}: quotes compared", report.get("checked", {}).get("quotes")),
            (f"{name}: classes", {c: n for c, n in classes.items() if n}),
            (f"{name}: line items", report.get("quote_lines")),
            (f"{name}: repaired", report.get("repaired", {}).get("quotes")),
            (f"{name}: wall / CPU", f"{step['wall_s']} s / {step['cpu_s']} s"),
            (f"{name}: peak RSS", f"{step['max_rss_mb']} MB"),
            (f"{name}: Zoho calls", report.get("zoho_calls_by_endpoint")),
            (f"{name}: Zoho credits", step["zoho"]["credits"]),
            (f"{name}: Galaxy calls", report.get("galaxy_calls")),
        ]
    shape = f"{args.lines} lines each" if args.lines else "generated lines"
    table(f"reconcile quotes: {args.offers:,} offers, {shape}", rows)
    emit(
        "reconcile_quotes",
        {
            "offers": args.offers,
            "lines": lines,
            "made": made,
            **{
                name: {k: v for k, v in step.items() if k != "report"}
                | {
                    "classes": step["report"].get("streams", {}).get("quotes"),
                    "quote_lines": step["report"].get("quote_lines"),
                    "repaired": step["report"].get("repaired", {}).get("quotes"),
                    "galaxy_calls": step["report"].get("galaxy_calls"),
                }
                for name, step in steps.items()
            },
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--delete", type=int, default=1000, help="Accounts a user deletes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--check-only", action="store_true", help="only the first reconcile (big sizes)"
    )
    parser.add_argument("--offers", type=int, default=0, help="measure quotes instead")
    parser.add_argument("--lines", type=int, default=0, help="rewrite to K lines per offer")
    parser.add_argument("--delete-quotes", type=int, default=100)
    parser.add_argument("--change-lines", type=int, default=100)
    parser.add_argument("--tamper", metavar="ZOHO_API_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tamper:
        print(json.dumps(tamper_quotes(args.tamper, args.delete_quotes, args.change_lines)))
        return
    if args.offers:
        quotes_bench(args)
        return
    print(machine_line())
    with workspace("gzsync-bench-reconcile-") as ws, sandbox(args.customers, seed=args.seed) as box:
        print(f"sandbox up in {box.startup_s:.1f} s ({args.customers:,} customers)", flush=True)
        env = {**box.env(), "ZOHO_CONCURRENCY": "10"}
        synced = run_gzsync(env, workdir=ws, args=["--entities", "accounts"])
        print(f"full sync: {synced.report.get('status')} in {synced.wall_s:.1f} s", flush=True)
        deleted = delete_accounts(box.info["zoho_api_url"], args.delete)
        steps: dict[str, dict[str, Any]] = {}
        plan: list[tuple[str, tuple[str, ...]]] = [("check", ())]
        if not args.check_only:
            plan += [("repair", ("--repair",)), ("after", ())]
        for name, extra in plan:
            before = box.zoho_stats()
            steps[name] = measure(env, ws, "--entities", "accounts", *extra)
            steps[name]["zoho"] = stats_delta(before, box.zoho_stats())
            print(f"{name}: {steps[name]['wall_s']} s, {steps[name]['max_rss_mb']} MB", flush=True)
    rows: list[tuple[str, object]] = [("Accounts a user deleted", deleted)]
    for name, step in steps.items():
        report = step["report"]
        rows += [
            (f"{name}: exit, status", f"{step['exit_code']}, {report.get('status')}"),
            (f"{name}: keys compared", report.get("checked")),
            (f"{name}: classes", report.get("streams", {}).get("accounts")),
            (f"{name}: repaired", report.get("repaired", {}).get("accounts")),
            (f"{name}: wall / CPU", f"{step['wall_s']} s / {step['cpu_s']} s"),
            (f"{name}: peak RSS", f"{step['max_rss_mb']} MB (target < {TARGET_MB:g} MB)"),
            (f"{name}: Zoho calls, credits", f"{step['zoho']['calls']}, {step['zoho']['credits']}"),
            (f"{name}: Galaxy calls", report.get("galaxy_calls")),
        ]
    table(f"reconcile: {args.customers:,} customers", rows)
    emit(
        "reconcile",
        {
            "customers": args.customers,
            "deleted": deleted,
            **{
                name: {k: v for k, v in step.items() if k != "report"}
                | {
                    "checked": step["report"].get("checked"),
                    "classes": step["report"].get("streams"),
                    "repaired": step["report"].get("repaired"),
                }
                for name, step in steps.items()
            },
        },
    )


if __name__ == "__main__":
    main()
