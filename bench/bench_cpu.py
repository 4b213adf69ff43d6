"""CPU figure: mapping + validation + affiliate linking, in rows per second on one core.

    .venv/bin/python bench/bench_cpu.py [--rows 200000] [--seed 1] [--repeat 3]

Generates the rows with the sandbox generator (untimed), then times, best of `--repeat`:

- customers: ``map_customer`` on every customer row (normalisation and Zoho's field rules);
- affiliates + linking: ``card_holders_of``, ``map_affiliate`` on every affiliate row,
  ``link_affiliates``;
- all: both, as a run does them, over customer + affiliate rows.

It also prints a reference rate (a bare loop that copies every column of every row), so
figures from different machines can be compared: the ratio is what the code costs.
Target (issue 6): 100,000 rows/s on one core. Not a test: it prints, it never fails.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

from gzsync.mapping.records import Mapped, map_affiliate, map_customer
from gzsync.sandbox.data import generate
from gzsync.sync.linking import card_holders_of, link_affiliates


def _affiliate_rows(customers: list[dict[str, Any]], links: list[dict[str, Any]]) -> list[Any]:
    """Affiliate view rows: each link carries its customer's revision (SPEC §1 step 4)."""
    rev_of = {c["TRDRID"]: c["THIRDPARTYREVNUM"] for c in customers if c["TRDRID"]}
    return [{**link, "AFFILIATES_REVNUM": rev_of[link["AFFILIATES_CUST_TRDRID"]]} for link in links]


def _best(repeat: int, *works: Callable[[], object]) -> list[float]:
    """Best time of each work over `repeat` rounds, interleaved so that load on a shared
    machine hits them alike."""
    best = [float("inf")] * len(works)
    for _ in range(repeat):
        for i, work in enumerate(works):
            start = time.perf_counter()
            work()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def _pin(core: int | None) -> str:
    """Python runs this on one core anyway; pinning only removes migrations."""
    if core is None:
        return "one thread, not pinned"
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity here)"
    os.sched_setaffinity(0, {core})
    return f"pinned to core {core}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="customers to generate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the best counts")
    parser.add_argument("--pin", type=int, default=None, metavar="CORE", help="pin to a core")
    args = parser.parse_args()

    pinning = _pin(args.pin)
    dataset = generate(args.rows, args.seed)
    customers = dataset.customers
    affiliates = _affiliate_rows(customers, dataset.affiliate_links)

    def reference() -> None:
        for row in customers:
            {column: value for column, value in row.items()}

    def map_customers() -> list[Any]:
        return [map_customer(row) for row in customers]

    mapped_customers = [m for m in map_customers() if isinstance(m, Mapped)]

    def map_and_link_affiliates() -> object:
        card_holders = card_holders_of(mapped_customers)
        mapped = [m for m in map(map_affiliate, affiliates) if isinstance(m, Mapped)]
        return link_affiliates(card_holders, mapped)

    def whole() -> object:
        results = map_customers()
        card_holders = card_holders_of(m for m in results if isinstance(m, Mapped))
        mapped = [m for m in map(map_affiliate, affiliates) if isinstance(m, Mapped)]
        return link_affiliates(card_holders, mapped)

    t_ref, t_cust, t_aff, t_all = _best(
        args.repeat, reference, map_customers, map_and_link_affiliates, whole
    )
    plan = map_and_link_affiliates()
    assert hasattr(plan, "links")

    n_cust, n_aff = len(customers), len(affiliates)
    print(f"bench_cpu: {n_cust:,} customers, {n_aff:,} affiliate rows, seed {args.seed}, {pinning}")
    print(f"  customers (map + validate)      {n_cust / t_cust:>12,.0f} rows/s  {t_cust:6.2f} s")
    print(f"  affiliates (map + link)         {n_aff / t_aff:>12,.0f} rows/s  {t_aff:6.2f} s")
    total = n_cust + n_aff
    print(f"  all (map + validate + link)     {total / t_all:>12,.0f} rows/s  {t_all:6.2f} s")
    print(f"  reference (copy every column)   {n_cust / t_ref:>12,.0f} rows/s  {t_ref:6.2f} s")
    print(f"  cost vs reference               {t_cust / t_ref:>12.1f} x")
    print("  target: 100,000 rows/s on one core")


if __name__ == "__main__":
    main()
