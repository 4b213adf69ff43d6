"""Reconcile: peak RSS, wall time, Zoho calls and credits, Galaxy calls of `gzsync reconcile`
over N customers (their affiliates too), before and after `--repair`.

    .venv/bin/python bench/bench_reconcile.py [--customers 200000] [--delete 1000] [--seed 1]

The sandboxes run in their own process (Zoho latency 0). A full sync of the accounts fills
Zoho; a CRM user then deletes `--delete` Accounts through Zoho's API; then three gzsync
processes run, each measured with `wait4` (peak RSS is the kernel's `ru_maxrss`):
`reconcile` (finds them missing), `reconcile --repair`, `reconcile` (finds 0).
Target (issue 16): under 200 MB at 1,000,000 accounts. Not a test: it prints, never fails.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--delete", type=int, default=1000, help="Accounts a user deletes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--check-only", action="store_true", help="only the first reconcile (big sizes)"
    )
    args = parser.parse_args()
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
