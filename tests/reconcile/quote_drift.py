"""A CRM user tampering with synced Quotes and Products through Zoho's API (the sandbox's
real routes), one change per reconcile class, on distinct offers so nothing spills over.

Records are read (with their line-item ids) from the sandbox's `/__sandbox/records/Quotes`;
every change goes through `PUT /crm/v8/{module}/{id}`, `POST /crm/v8/Quotes` and
`DELETE /crm/v8/Quotes?ids=` like a person's edits. Galaxy loses one offer (the orphan).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.e2e.helpers import Env
from tests.e2e.quotes_helpers import galaxy_get, galaxy_put, zoho_records

from gzsync.sandbox.drift import CrmUser


@dataclass(slots=True)
class QuoteDrift:
    """The keys each class should hold afterwards, per section (quotes, products)."""

    quotes: dict[str, set[str]] = field(default_factory=dict)
    products: dict[str, set[str]] = field(default_factory=dict)
    unkeyed_id: str = ""
    orphan_id: str = ""
    #: the offer key whose row a user changed, and the row's Description it had
    row_changed: str = ""

    def expect(self, section: str, cls: str, key: str) -> None:
        getattr(self, section).setdefault(cls, set()).add(key)

    def counts(self, section: str, classes: tuple[str, ...]) -> dict[str, int]:
        held = getattr(self, section)
        return {c: len(held.get(c, ())) + (c == "unkeyed" and section == "quotes") for c in classes}


def make_quote_drift(env: Env) -> QuoteDrift:
    """missing, link_wrong, drifted (a line, a header field), orphan, unkeyed; a product
    renamed (it is named by the quote whose line changed, so its lines are read)."""
    quotes = sorted(
        (q for q in zoho_records(env, "Quotes") if q.get("ERP_ID_Offer")),
        key=lambda q: str(q["ERP_ID_Offer"]),
    )
    assert len(quotes) >= 6, "the test needs six synced quotes"
    gone, moved, line_changed, stage, orphan = quotes[:5]
    drift = QuoteDrift()
    accounts = [str(a["id"]) for a in env.zoho.records("Accounts")]
    with CrmUser(env.urls.zoho_api_url) as user:
        user.delete("Quotes", [str(gone["id"])])
        drift.expect("quotes", "missing", gone["ERP_ID_Offer"])

        right = str(moved["Account_Name"]["id"])
        wrong = next(a for a in accounts if a != right)
        user.update("Quotes", str(moved["id"]), {"Account_Name": {"id": wrong}})
        drift.expect("quotes", "link_wrong", moved["ERP_ID_Offer"])

        row = line_changed["Quoted_Items"][0]
        user.update(
            "Quotes",
            str(line_changed["id"]),
            {"Quoted_Items": [{"id": row["id"], "Quantity": float(row["Quantity"]) + 1}]},
        )
        drift.expect("quotes", "drifted", line_changed["ERP_ID_Offer"])
        drift.row_changed = line_changed["ERP_ID_Offer"]
        product = row["Product_Name"]
        user.update("Products", str(product["id"]), {"Product_Name": "Renamed in the CRM"})
        drift.expect("products", "drifted", str(product["Product_Code"]))

        user.update("Quotes", str(stage["id"]), {"Quote_Stage": "Changed by hand"})
        drift.expect("quotes", "drifted", stage["ERP_ID_Offer"])

        offers = galaxy_get(env, "zh_offers")
        kept = [o for o in offers if str(o["ID"]).upper() != orphan["ERP_ID_Offer"]]
        assert len(kept) == len(offers) - 1
        galaxy_put(env, "zh_offers", kept)
        drift.expect("quotes", "orphan", orphan["ERP_ID_Offer"])
        drift.orphan_id = str(orphan["id"])

        drift.unkeyed_id = user.insert(
            "Quotes",
            {
                "Subject": "Made by hand",
                "Quoted_Items": [{"Product_Name": {"id": str(product["id"])}, "Quantity": 1}],
            },
        )
    return drift


def remove_by_hand(env: Env, ids: list[str]) -> None:
    """What a person does with orphans and hand-made quotes after reading the report."""
    with CrmUser(env.urls.zoho_api_url) as user:
        user.delete("Quotes", ids)


def quote_of(env: Env, key: str) -> dict[str, Any]:
    return next(q for q in zoho_records(env, "Quotes") if q.get("ERP_ID_Offer") == key)
