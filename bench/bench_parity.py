"""The end-state check's own cost: `check_parity` over N customers (their affiliates and
contacts), Zoho holding exactly what Galaxy implies.

    .venv/bin/python bench/bench_parity.py [--customers 200000] [--seed 1] [--repeat 3]

No sandbox and no sync: the Galaxy rows come from the sandbox's generator, the Zoho records
from the sync's mapping (as a full sync would write them, ids and links included), so the
figure is the check alone. Prints the best of `--repeat` runs. Not a test: it never fails.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from gzsync.mapping.records import Mapped, map_affiliate, map_contact, map_customer
from gzsync.sandbox.data import generate
from gzsync.sandbox.galaxy import GalaxyState
from gzsync.sandbox.parity import check_parity
from gzsync.sync.linking import link_affiliates


def zoho_state(data: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Accounts and Contacts as a full sync leaves them (the sync's own mapping and linking)."""
    customers: dict[str, Mapped] = {}
    for row in data.customers:
        item = map_customer(row)
        if isinstance(item, Mapped) and (
            item.key not in customers or customers[item.key].rev < item.rev
        ):
            customers[item.key] = item
    holders: dict[int, list[str]] = {}
    for item in customers.values():
        if item.card_holder:
            holders.setdefault(item.rev, []).append(item.key)
    mapped = [a for a in map(map_affiliate, data.affiliate_links) if isinstance(a, Mapped)]
    plan = link_affiliates(holders, mapped)
    accounts: dict[str, dict[str, Any]] = {}
    for item in plan.affiliates:
        accounts[item.key] = {"id": str(len(accounts) + 1), **item.payload}
    for key, item in customers.items():
        old = accounts.get(key, {})
        accounts[key] = {**old, "id": old.get("id", str(len(accounts) + 1)), **item.payload}
    for key, affiliate in plan.links.items():
        accounts[key]["Affiliate_To"] = {"id": accounts[affiliate]["id"]}
    contacts = []
    for row in data.contacts:
        item = map_contact(row)
        if isinstance(item, Mapped) and item.parent_key in customers:
            parent = {"id": accounts[item.parent_key]["id"]}
            contacts.append({"id": f"c{len(contacts)}", **item.payload, "Account_Name": parent})
    return list(accounts.values()), contacts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    galaxy = GalaxyState(generate(args.customers, args.seed))
    data = argparse.Namespace(
        customers=galaxy.rows("zh_Customers_fin"),
        affiliate_links=galaxy.rows("ZH_AFFILIATE"),
        contacts=galaxy.rows("ZH_CONTACTS"),
    )
    accounts, contacts = zoho_state(data)
    best = float("inf")
    report = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        report = check_parity(
            galaxy_customers=data.customers,
            galaxy_affiliates=data.affiliate_links,
            galaxy_contacts=data.contacts,
            zoho_accounts=accounts,
            zoho_contacts=contacts,
        )
        best = min(best, time.perf_counter() - t0)
    assert report is not None
    rows = len(data.customers) + len(data.affiliate_links) + len(data.contacts)
    print(
        f"check_parity: {args.customers} customers, {rows} Galaxy rows: {best:.2f} s "
        f"(best of {args.repeat}); {report.summary(sample=2)[:200]}"
    )
    print(
        json.dumps(
            {
                "customers": args.customers,
                "rows": rows,
                "seconds": round(best, 3),
                "ok": report.ok,
                "checked": report.checked,
            }
        )
    )


if __name__ == "__main__":
    main()
