"""A CRM user tampering with the Zoho sandbox, through the API a person's edits go through.

:class:`CrmUser` inserts (``POST /crm/v8/{module}``), updates by id (``PUT
/crm/v8/{module}/{id}``), deletes (``DELETE /crm/v8/{module}?ids=``) and looks records up
with COQL — the real routes and shapes, never the sandbox's in-process state — so the
reconcile tests and ``gzsync demo --drift`` see Zoho exactly as they would after a person
worked in the CRM.

:func:`make_drift` produces every reconcile class once, on records chosen so that no change
spills into another class (plain customers: no affiliate, not an affiliate themselves, no
contacts), and returns the keys it expects each class to hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from gzsync.mapping.records import Mapped, map_affiliate, map_contact, map_customer
from gzsync.sandbox import credentials


class CrmUser:
    """One person's session at the Zoho sandbox's API."""

    def __init__(self, api_url: str, *, timeout_s: float = 10.0) -> None:
        self._http = httpx.Client(base_url=api_url, timeout=timeout_s)
        response = self._http.post(
            "/oauth/v2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": credentials.ZOHO_CLIENT_ID,
                "client_secret": credentials.ZOHO_CLIENT_SECRET,
                "refresh_token": credentials.ZOHO_REFRESH_TOKEN,
            },
        )
        response.raise_for_status()
        self._auth = {"Authorization": f"Zoho-oauthtoken {response.json()['access_token']}"}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CrmUser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def find(self, module: str, key_field: str, key: str) -> dict[str, Any]:
        """The one record whose `key_field` is `key` (COQL), with its id and key only."""
        query = f"select {key_field} from {module} where {key_field} = '{key}' limit 2"  # noqa: S608
        response = self._http.post("/crm/v8/coql", json={"select_query": query}, headers=self._auth)
        response.raise_for_status()
        rows = response.json()["data"] if response.status_code == 200 else []
        if len(rows) != 1:
            raise LookupError(f"{module} {key_field}={key}: {len(rows)} records")
        return dict(rows[0])

    def update(self, module: str, record_id: str, fields: Mapping[str, Any]) -> None:
        response = self._http.put(
            f"/crm/v8/{module}/{record_id}", json={"data": [dict(fields)]}, headers=self._auth
        )
        _check(response)

    def insert(self, module: str, record: Mapping[str, Any]) -> str:
        response = self._http.post(
            f"/crm/v8/{module}", json={"data": [dict(record)]}, headers=self._auth
        )
        _check(response)
        return str(response.json()["data"][0]["details"]["id"])

    def delete(self, module: str, ids: Iterable[str]) -> None:
        response = self._http.delete(
            f"/crm/v8/{module}", params={"ids": ",".join(ids)}, headers=self._auth
        )
        _check(response)


def _check(response: httpx.Response) -> None:
    body = response.json()
    results = body.get("data") if isinstance(body, dict) else None
    if not isinstance(results, list) or any(r.get("status") != "success" for r in results):
        raise RuntimeError(f"Zoho sandbox refused the change: HTTP {response.status_code} {body}")


@dataclass(slots=True)
class Drift:
    """The keys each class should hold after :func:`make_drift`, per stream."""

    accounts: dict[str, set[str]] = field(default_factory=dict)
    contacts: dict[str, set[str]] = field(default_factory=dict)

    def expect(self, stream: str, cls: str, key: str) -> None:
        getattr(self, stream).setdefault(cls, set()).add(key)


def plain_customers(
    customers: Iterable[Mapping[str, Any]],
    affiliates: Iterable[Mapping[str, Any]],
    contacts: Iterable[Mapping[str, Any]],
) -> list[str]:
    """Keys of valid customers no affiliate link or contact depends on, in key order."""
    busy: set[str] = set()
    for row in affiliates:
        item = map_affiliate(row)
        busy.add(item.key)
        if isinstance(item, Mapped) and item.parent_key:
            busy.add(item.parent_key)
    for row in contacts:
        item = map_contact(row)
        if isinstance(item, Mapped) and item.parent_key:
            busy.add(item.parent_key)
    keys = []
    for row in customers:
        item = map_customer(row)
        if isinstance(item, Mapped) and not item.card_holder and item.key not in busy:
            keys.append(item.key)
    return sorted(set(keys))


def valid_contacts(
    contacts: Iterable[Mapping[str, Any]], customers: Iterable[Mapping[str, Any]]
) -> list[str]:
    """Keys of contacts Zoho holds (valid, their customer valid), in key order."""
    valid = {m.key for m in map(map_customer, customers) if isinstance(m, Mapped)}
    keys = {
        m.key for m in map(map_contact, contacts) if isinstance(m, Mapped) and m.parent_key in valid
    }
    return sorted(keys)


def make_drift(
    user: CrmUser,
    *,
    customers: list[Mapping[str, Any]],
    affiliates: list[Mapping[str, Any]],
    contacts: list[Mapping[str, Any]],
) -> Drift:
    """Tamper with a Zoho that is in parity with these Galaxy rows: every class once in
    Accounts and in Contacts. Needs 5 plain customers and 5 contacts."""
    drift = Drift()
    plain = plain_customers(customers, affiliates, contacts)
    people = valid_contacts(contacts, customers)
    if len(plain) < 5 or len(people) < 5:
        raise ValueError("not enough plain customers or contacts to drift")
    gone, stale, drifted, linked, doubled = plain[:5]
    a = {k: user.find("Accounts", "Trader_ID", k)["id"] for k in (stale, drifted, linked, doubled)}
    user.delete("Accounts", [user.find("Accounts", "Trader_ID", gone)["id"]])
    drift.expect("accounts", "missing", gone)
    rev = _rev_of(customers, stale)
    user.update("Accounts", a[stale], {"SALESNAME": "Old value", "Rev_Number": rev - 1})
    drift.expect("accounts", "stale", stale)
    user.update("Accounts", a[drifted], {"SALESNAME": "Edited in the CRM"})
    drift.expect("accounts", "drifted", drifted)
    user.update("Accounts", a[linked], {"Affiliate_To": {"id": a[doubled]}})
    drift.expect("accounts", "link_wrong", linked)
    user.insert("Accounts", {"Account_Name": "Typed twice", "Trader_ID": doubled + " "})
    drift.expect("accounts", "duplicate", doubled)
    user.insert("Accounts", {"Account_Name": "Gone from Galaxy", "Trader_ID": "ZZ-ORPHAN-1"})
    drift.expect("accounts", "orphan", "ZZ-ORPHAN-1")
    user.insert("Accounts", {"Account_Name": "Made by hand"})
    drift.expect("accounts", "unkeyed", "")

    c_gone, c_stale, c_drifted, c_linked, c_doubled = people[:5]
    c = {k: user.find("Contacts", "Galaxy_Contact_ID", k)["id"] for k in people[1:4]}
    user.delete("Contacts", [user.find("Contacts", "Galaxy_Contact_ID", c_gone)["id"]])
    drift.expect("contacts", "missing", c_gone)
    c_rev = _rev_of(contacts, c_stale, key_column="CONTACTID", rev_column="CONTACTS_REVNUM")
    user.update("Contacts", c[c_stale], {"Title": "Old title", "Rev_Number": c_rev - 1})
    drift.expect("contacts", "stale", c_stale)
    user.update("Contacts", c[c_drifted], {"Title": "Edited in the CRM"})
    drift.expect("contacts", "drifted", c_drifted)
    user.update("Contacts", c[c_linked], {"Account_Name": {"id": a[doubled]}})
    drift.expect("contacts", "link_wrong", c_linked)
    user.insert("Contacts", {"Last_Name": "Typed twice", "Galaxy_Contact_ID": c_doubled + " "})
    drift.expect("contacts", "duplicate", c_doubled)
    user.insert("Contacts", {"Last_Name": "Gone", "Galaxy_Contact_ID": "ZZ-ORPHAN-2"})
    drift.expect("contacts", "orphan", "ZZ-ORPHAN-2")
    user.insert("Contacts", {"Last_Name": "Made by hand"})
    drift.expect("contacts", "unkeyed", "")
    return drift


def _rev_of(
    rows: Iterable[Mapping[str, Any]],
    key: str,
    *,
    key_column: str = "TRDRID",
    rev_column: str = "THIRDPARTYREVNUM",
) -> int:
    for row in rows:
        value = row.get(key_column)
        if isinstance(value, str) and value.strip().upper() == key:
            return int(row[rev_column])
    raise LookupError(key)
