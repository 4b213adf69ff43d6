"""Bulk Write vs upserts at the client level: N Accounts written to the Zoho sandbox.

    .venv/bin/python bench/bench_bulk.py [--accounts 200000] [--in-flight 4]

The Zoho sandbox runs in its own process (`gzsync sandbox`, latency 0). Each way of writing
runs in a child process of this script (`--child bulk|upsert`), so its wall time and peak
RSS (`os.wait4`, the kernel's accounting) are its own: `ZohoClient.upsert` in batches of
100 with `--in-flight` calls at once, or `BulkWriter` (files of 25,000 rows, one job each,
polled until done). Between the two the sandbox's CRM is emptied; the end state of both
(every field of every Account but ids and times) is compared.

Issue 15's targets: Bulk Write credits ≤ 1/5 of the upsert path's; RSS < 200 MB. A full
file costs 500 credits for the job against 2,500 in upserts, exactly 1/5, before the
upload, status and download calls (1 credit each, UNCONFIRMED), which this counts.
Not a test: it prints, never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from common import emit, machine_line, sandbox

RSS_TARGET_MB = 200
SKIP = {"id", "Created_Time", "Modified_Time", "Created_By", "Modified_By"}


def accounts(n: int) -> Iterator[dict[str, Any]]:
    """Mapped Account payloads, made on the fly (the writer must not need them all)."""
    for i in range(n):
        yield {
            "Trader_ID": f"TR{i:07d}",
            "Account_Name": f"Customer {i} Α.Ε.",
            "Rev_Number": 1_000_000 + i,
            "Account_AFM": f"{100000000 + i}",
            "Phone": f"+30 210 {i % 10_000_000:07d}",
            "Billing_Street": f"Odos {i % 997} {i % 113}",
            "Billing_State": "Attiki",
            "Billing_Country": "Greece",
            "Industry": "Retail",
            "Credit_Limit": round(1000 + i * 0.25, 2),
            "SALESNAME": None,
            "Affiliate_To": None,
        }


async def _child(mode: str, info: dict[str, str], n: int, in_flight: int) -> dict[str, Any]:
    from tests.kvstore import MemoryStore

    from gzsync.http import RetryPolicy
    from gzsync.state.sqlite import SqliteStore  # noqa: F401 - the run's own imports, for RSS
    from gzsync.zoho.auth import TokenProvider
    from gzsync.zoho.bulk import BulkWriter, PollPolicy
    from gzsync.zoho.client import ZohoClient

    tokens = TokenProvider(
        accounts_base=info["zoho_accounts_url"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        refresh_token=info["refresh_token"],
        store=MemoryStore(),
        retry=RetryPolicy(),
    )
    client = ZohoClient(
        api_base=info["zoho_api_url"], tokens=tokens, timeout_s=600, max_in_flight=in_flight
    )
    ok = failed = 0
    t0 = time.perf_counter()
    if mode == "bulk":
        writer = BulkWriter(
            client, api_base=info["zoho_api_url"], poll=PollPolicy(0.2, 2.0, 0.0, 600.0)
        )
        async for file in writer.write(
            "Accounts", accounts(n), find_by="Trader_ID", lookups=["Affiliate_To"]
        ):
            ok += sum(r.ok for r in file.results)
            failed += sum(not r.ok for r in file.results)
    else:
        batches = iter(accounts(n))
        lock = asyncio.Lock()

        async def worker() -> tuple[int, int]:
            good = bad = 0
            while True:
                async with lock:
                    batch = [r for _, r in zip(range(100), batches, strict=False)]
                if not batch:
                    return good, bad
                results = await client.upsert(
                    "Accounts", batch, duplicate_check_fields=["Trader_ID"]
                )
                good += sum(r.ok for r in results)
                bad += sum(not r.ok for r in results)

        for good, bad in await asyncio.gather(*(worker() for _ in range(in_flight))):
            ok, failed = ok + good, failed + bad
    wall = time.perf_counter() - t0
    stats = client.stats
    await client.aclose()
    await tokens.aclose()
    calls = {k: v for k, v in stats.calls.items() if v}
    return {
        "mode": mode,
        "ok": ok,
        "failed": failed,
        "wall_s": round(wall, 2),
        "credits": stats.credits,
        "calls": calls,
        "zoho_calls": sum(calls.values()),
    }


def end_state(url: str) -> tuple[int, str]:
    """How many Accounts Zoho holds and a digest of all their synced fields.

    Computed in a child process (`--digest`): this process forks the measured children, and
    a forked child's peak RSS starts at its parent's size, so this one must stay small.
    """
    out = subprocess.run(
        [sys.executable, __file__, "--digest", url], capture_output=True, check=True, text=True
    ).stdout
    count, digest = json.loads(out)
    return int(count), str(digest)


def _digest(url: str) -> tuple[int, str]:
    records = httpx.get(f"{url}/__sandbox/records/Accounts", timeout=600).json()
    lines = sorted(
        json.dumps({k: v for k, v in r.items() if k not in SKIP}, sort_keys=True) for r in records
    )
    return len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def measure(mode: str, info: dict[str, str], n: int, in_flight: int) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--accounts",
        str(n),
        "--in-flight",
        str(in_flight),
        "--info",
        json.dumps(info),
    ]
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(f"{mode} child failed ({status})")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--in-flight", type=int, default=4)
    parser.add_argument("--child", choices=["bulk", "upsert"])
    parser.add_argument("--info")
    parser.add_argument("--digest", metavar="ZOHO_URL")
    args = parser.parse_args()
    if args.digest:
        print(json.dumps(_digest(args.digest)))
        return
    if args.child:
        info = json.loads(args.info)
        print(json.dumps(asyncio.run(_child(args.child, info, args.accounts, args.in_flight))))
        return
    print(machine_line())
    rows = []
    with sandbox(1) as box:
        url = box.info["zoho_api_url"]
        for mode in ("bulk", "upsert"):
            box.clear_zoho()
            result = measure(mode, box.info, args.accounts, args.in_flight)
            result["end_state"] = end_state(url)
            rows.append(result)
    bulk, upsert = rows
    print(
        f"{'path':<8}{'ok':>9}{'failed':>8}{'credits':>9}{'calls':>7}{'wall s':>9}"
        f"{'CPU s':>8}{'RSS MB':>8}"
    )
    for r in rows:
        print(
            f"{r['mode']:<8}{r['ok']:>9}{r['failed']:>8}{r['credits']:>9}{r['zoho_calls']:>7}"
            f"{r['wall_s']:>9}{r['cpu_s']:>8}{r['peak_rss_mb']:>8}"
        )
        print(f"         calls: {r['calls']}")
    ratio = bulk["credits"] / max(upsert["credits"], 1)
    same = bulk["end_state"] == upsert["end_state"]
    print(f"bulk credits / upsert credits = {ratio:.3f} (target <= 0.2)")
    print(f"end state identical: {same} ({bulk['end_state'][0]} Accounts)")
    print(
        f"peak RSS under {RSS_TARGET_MB} MB: {max(r['peak_rss_mb'] for r in rows) < RSS_TARGET_MB}"
    )
    emit(
        "bulk",
        {
            "accounts": args.accounts,
            "in_flight": args.in_flight,
            "runs": rows,
            "credit_ratio": round(ratio, 4),
            "end_state_identical": same,
        },
    )


if __name__ == "__main__":
    main()
