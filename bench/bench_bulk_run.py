"""Bulk Write vs upserts through the whole `gzsync run`: customers, affiliates, contacts.

    .venv/bin/python bench/bench_bulk_run.py [--customers 200000] [--threshold 20000]

One Zoho + Galaxy sandbox process (`gzsync sandbox`, latency 0) holds the customers with
their affiliates and contacts. gzsync runs as `python -m gzsync run --json` twice, each a
first sync with a fresh state file into an empty Zoho: once with `--no-bulk` (upserts of
100), once by the threshold (`BULK_THRESHOLD`, default 20,000: every stream above it goes
through Bulk Write; a file below `MIN_JOB_ROWS` goes as upserts). Wall time, CPU and
peak RSS are the kernel's (`wait4`) for the gzsync process alone; credits and calls are
the run report's (they match the sandbox's own count, printed too). After each run the
whole end state is checked against Galaxy (`sandbox/parity.py`, in a child process so
this one stays small) and digested; the two digests must be equal.

The sandbox completes a job on its second status call (`polls_to_complete` 2): the
measured wall time has no real Zoho processing time in it. `BULK_POLL` is 0.2 s here
(5 s in production). Issue 15's targets: Bulk Write credits <= 1/5 of the upsert path's;
peak RSS < 200 MB. Not a test: it prints, never fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from typing import Any

import httpx
from common import emit, machine_line, run_gzsync, sandbox, table, workspace

RSS_TARGET_MB = 200
SKIP = {"id", "Created_Time", "Modified_Time", "Created_By", "Modified_By"}


def _end_state(galaxy: str, zoho: str, user: str, password: str) -> dict[str, Any]:
    """Parity of the whole Zoho end state with Galaxy, and a digest of it (ids aside)."""
    from gzsync.sandbox.parity import check_parity

    http = httpx.Client(timeout=900, trust_env=False)

    def rows(view: str) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = http.get(f"{galaxy}/__sandbox/rows/{view}").json()
        return got

    accounts = http.get(f"{zoho}/__sandbox/records/Accounts").json()
    contacts = http.get(f"{zoho}/__sandbox/records/Contacts").json()
    result = check_parity(
        galaxy_customers=rows("zh_Customers_fin"),
        galaxy_affiliates=rows("ZH_AFFILIATE"),
        galaxy_contacts=rows("ZH_CONTACTS"),
        zoho_accounts=accounts,
        zoho_contacts=contacts,
    )
    by_id = {a["id"]: a.get("Trader_ID") for a in accounts}
    lines = []
    for module, records in (("Accounts", accounts), ("Contacts", contacts)):
        for r in records:
            flat = {k: v for k, v in r.items() if k not in SKIP}
            for field in ("Affiliate_To", "Account_Name"):  # lookups by key, not by id
                value = r.get(field)
                if isinstance(value, dict):
                    flat[field] = by_id.get(value.get("id"))
            flat = {k: v for k, v in flat.items() if v not in (None, "")}  # empty = absent
            lines.append(module + json.dumps(flat, sort_keys=True, default=str))
    lines.sort()
    return {
        "parity": "ok" if result.ok else result.summary(sample=3),
        "accounts": len(accounts),
        "contacts": len(contacts),
        "digest": hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16],
    }


def end_state(info: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--end-state", json.dumps(info)],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--threshold", type=int, default=20_000, help="BULK_THRESHOLD")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--end-state", metavar="INFO")
    args = parser.parse_args()
    if args.end_state:
        info = json.loads(args.end_state)
        print(json.dumps(_end_state(**info)))
        return
    print(machine_line())
    results: dict[str, dict[str, Any]] = {}
    with sandbox(args.customers, seed=args.seed, offers=0) as box:
        print(f"sandbox up in {box.startup_s:.1f} s ({args.customers:,} customers)\n", flush=True)
        where = {
            "galaxy": box.info["galaxy_url"],
            "zoho": box.info["zoho_api_url"],
            "user": box.info["username"],
            "password": box.info["password"],
        }
        for mode, flags in (("upserts", ["--no-bulk"]), ("bulk", [])):
            box.clear_zoho()
            before = box.zoho_stats()
            with workspace(f"gzsync-bench-bulk-run-{mode}-") as ws:
                run = run_gzsync(
                    {
                        **box.env(),
                        "ZOHO_CONCURRENCY": "10",
                        "BULK_THRESHOLD": str(args.threshold),
                        "BULK_POLL": "0.2",
                    },
                    workdir=ws,
                    args=["--entities", "accounts,contacts", *flags],
                )
            after = box.zoho_stats()
            report = run.report
            if not report:
                raise SystemExit(f"{mode}: gzsync run failed ({run.exit_code}): {run.stderr_tail}")
            calls = {
                k: v - before["calls"].get(k, 0)
                for k, v in after["calls"].items()
                if ":" not in k and v - before["calls"].get(k, 0)
            }
            results[mode] = {
                "status": report["status"],
                "records": {
                    s: report[s]["inserted"] + report[s]["updated"]
                    for s in ("customers", "affiliates", "contacts")
                },
                "credits": report["zoho_credits"],
                "sandbox_credits": after.get("credits_used", 0) - before.get("credits_used", 0),
                "zoho_calls": report["zoho_calls"],
                "calls": calls,
                "bulk": report.get("bulk", {}),
                "wall_s": round(run.wall_s, 1),
                "cpu_s": round(run.cpu_s, 1),
                "peak_rss_mb": round(run.max_rss_mb, 1),
                **end_state(where),
            }
            print(f"{mode}: {json.dumps(results[mode])}", flush=True)
    up, bulk = results["upserts"], results["bulk"]
    ratio = bulk["credits"] / up["credits"] if up["credits"] else float("nan")
    same = up["digest"] == bulk["digest"] and up["parity"] == bulk["parity"] == "ok"
    table(
        f"Bulk Write vs upserts, gzsync run, {args.customers:,} customers "
        f"(BULK_THRESHOLD {args.threshold:,})",
        [
            *(
                (f"{k} (upserts / bulk)", f"{up[k]} / {bulk[k]}")
                for k in (
                    "status",
                    "records",
                    "credits",
                    "zoho_calls",
                    "wall_s",
                    "cpu_s",
                    "peak_rss_mb",
                )
            ),
            ("calls, upserts", up["calls"]),
            ("calls, bulk", bulk["calls"]),
            ("bulk streams", bulk["bulk"]),
            (
                "credit ratio",
                f"{ratio:.3f} (target <= 0.2: {'met' if ratio <= 0.2 else 'NOT met'})",
            ),
            ("end state", "identical, parity ok" if same else f"{up} vs {bulk}"),
            (
                "peak RSS",
                f"max {max(up['peak_rss_mb'], bulk['peak_rss_mb'])} MB (target < {RSS_TARGET_MB})",
            ),
        ],
    )
    emit(
        "bulk_run",
        {
            "customers": args.customers,
            "threshold": args.threshold,
            "seed": args.seed,
            "upserts": up,
            "bulk": bulk,
            "credit_ratio": round(ratio, 4),
            "end_state_identical": same,
        },
    )


if __name__ == "__main__":
    main()
