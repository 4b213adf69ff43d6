"""Messy ERP data still reaches the CRM (issue 11): a bad optional value never keeps a
record out, and whatever was dropped or changed is counted exactly and kept per run."""

from __future__ import annotations

from typing import Any

from tests.e2e.helpers import Env, assert_parity, ledger, sync

from gzsync.state.sqlite import open_sqlite_store
from gzsync.state.store import BatchCommit, LedgerEntry
from gzsync.sync.rules_upgrade import META_KEY

CUSTOMERS = 200


def _customer(i: int, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "TRDRID": f"C{i:03d}",
        "TRDRNAME": f"Εταιρεία {i} Α.Ε.",
        "COMPTITLE": "",
        "CUSTCODE": f"30-{i:06d}",
        "TRDRCODE": f"{i:06d}",
        "TIN": "094259216",
        "TRDSPHONE1": "2101234567",
        "TRDSSTREET": "Ερμού 1",
        "PREFDESCR": "ΑΤΤΙΚΗΣ",
        "CNTRCODE": "GR",
        "CAT_EPAGG": "Retail",
        "CATEGDISCOUNT": "A",
        "BALANCE": 100.5 + i,
        "MAXBALANCE": "1.234,56",  # a Greek decimal comma: parses, no warning
        "WATT_CY": 3,
        "TURNOVER_YTD": "12 500,00 €",
        "TURNOVER_LTD": 1000,
        "TURVOVER_LY": "2,500.75",
        "THIRDPARTYREVNUM": 3_000_000 + 10 * i,
        "SALESNAME": "Nikos",
        "ZH_CUSTOMERS_MEMBER_CARDNO": "",
    }
    row.update(values)
    return row


def _contact(i: int, n: int, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "CONTACTID": f"K{i:03d}-{n}",
        "TRDRID": f"C{i:03d}",
        "FIRSTNAME": f"Μαρία {i}-{n}",
        "LASTNAME": f"Παπαδοπούλου {i}-{n}",
        "EMAIL": f"k{i}.{n}@example.gr",
        "PHONE": None,
        "MOBILE": None,
        "JOBTITLE": "Buyer",
        "CONTACTS_REVNUM": 3_000_000 + 10 * i + n,
    }
    row.update(values)
    return row


def _messy_world(env: Env) -> tuple[set[str], set[str]]:
    """200 customers, a quarter with BALANCE `n/a`; 400 contacts, 15% with a first name
    only. Returns (customers with n/a, contacts with a first name only)."""
    na = {f"C{i:03d}" for i in range(CUSTOMERS) if i % 4 == 1}
    first_only = {f"K{i:03d}-{n}" for i in range(CUSTOMERS) for n in (1, 2) if (2 * i + n) % 20 < 3}
    env.galaxy.put_rows(
        "zh_Customers_fin",
        [
            _customer(i, **({"BALANCE": "n/a"} if f"C{i:03d}" in na else {}))
            for i in range(CUSTOMERS)
        ],
    )
    env.galaxy.put_rows("ZH_AFFILIATE", [])
    env.galaxy.put_rows(
        "ZH_CONTACTS",
        [
            _contact(i, n, **({"LASTNAME": None} if f"K{i:03d}-{n}" in first_only else {}))
            for i in range(CUSTOMERS)
            for n in (1, 2)
        ],
    )
    return na, first_only


def test_a_quarter_of_balances_na_and_first_name_only_contacts_all_reach_zoho(env: Env) -> None:
    na, first_only = _messy_world(env)
    assert len(na) == CUSTOMERS // 4
    assert len(first_only) == 60  # 15% of 400

    report = sync(env)

    assert report.status == "success", report.message
    assert ledger(env) == []
    accounts = {r["Trader_ID"]: r for r in env.zoho.records("Accounts")}
    contacts = {r["Galaxy_Contact_ID"]: r for r in env.zoho.records("Contacts")}
    assert len(accounts) == CUSTOMERS
    assert len(contacts) == 2 * CUSTOMERS
    for key in na:
        assert accounts[key].get("Credit_Limit") is None  # left out; Zoho had nothing
    assert accounts["C000"]["Credit_Limit"] == 100.5
    assert accounts["C000"]["Open_Balance"] == 1234.56
    assert accounts["C000"]["Turnover_YTD"] == 12500
    assert accounts["C000"]["Turnover_LY"] == 2500.75
    for key in first_only:
        i, n = key[1:].split("-")
        assert contacts[key]["Last_Name"] == f"Μαρία {int(i)}-{n}"
        assert contacts[key].get("First_Name") is None
    # counted exactly, per entity and reason
    assert report.customers.warnings_by_reason == {"invalid_number": len(na)}
    assert report.customers.warnings == len(na)
    assert report.contacts.warnings_by_reason == {"last_name_fallback": len(first_only)}
    assert report.affiliates.warnings_by_reason == {}
    body = report.to_json()
    assert body["customers"]["warnings_by_reason"] == {"invalid_number": 50}
    sample = body["customers"]["warning_samples"][0]
    assert sample["key"] in na
    assert (sample["field"], sample["value"], sample["reason"]) == (
        "Credit_Limit",
        "n/a",
        "invalid_number",
    )
    # persisted per run, every one of them
    store = open_sqlite_store(env.state_db)
    try:
        stored = store.warnings_list(report.run_id)
        last = store.runs(1)[0].report
    finally:
        store.close()
    assert {w.key for w in stored if w.reason == "invalid_number"} == na
    assert {w.key for w in stored if w.reason == "last_name_fallback"} == first_only
    assert len(stored) == len(na) + len(first_only)
    assert last["customers"]["warnings_by_reason"] == {"invalid_number": 50}  # type: ignore[index]
    assert_parity(env)


def test_a_value_that_turns_into_na_leaves_zohos_value_alone(env: Env) -> None:
    _messy_world(env)
    sync(env)
    row = _customer(0, BALANCE="n/a")
    del row["THIRDPARTYREVNUM"]  # a new revision
    env.galaxy.add_rows("zh_Customers_fin", [row])

    report = sync(env)

    assert (report.customers.fetched, report.customers.updated) == (1, 1)
    assert report.customers.warnings_by_reason == {"invalid_number": 1}
    account = next(r for r in env.zoho.records("Accounts") if r["Trader_ID"] == "C000")
    assert account["Credit_Limit"] == 100.5  # Zoho keeps what it had
    assert account["Rev_Number"] > 3_000_000
    assert_parity(env)


def test_records_an_older_version_rejected_sync_after_the_upgrade(env: Env) -> None:
    """The state an earlier gzsync left (n/a customers rejected, their contacts waiting,
    first-name-only contacts rejected, no rules fingerprint) heals in one run with no
    change in Galaxy."""
    na, first_only = _messy_world(env)
    sync(env)
    # Rewind Zoho and the state store to what version 1 of the rules would have left.
    store = open_sqlite_store(env.state_db)
    try:
        held = [k for k in sorted(na)[:10]]
        accounts = {r["Trader_ID"]: r for r in env.zoho.records("Accounts")}
        contacts = {r["Galaxy_Contact_ID"]: r for r in env.zoho.records("Contacts")}
        entries = []
        for key in held:
            i = int(key[1:])
            env.zoho.delete_record("Accounts", accounts[key]["id"])
            entries.append(
                LedgerEntry("customers", key, 3_000_000 + 10 * i, "rejected", "invalid_number")
            )
            for n in (1, 2):
                contact = f"K{i:03d}-{n}"
                env.zoho.delete_record("Contacts", contacts[contact]["id"])
                entries.append(
                    LedgerEntry(
                        "contacts",
                        contact,
                        3_000_000 + 10 * i + n,
                        "waiting_parent",
                        "parent_not_in_zoho",
                    )
                )
        for contact in sorted(first_only - {e.key for e in entries})[:10]:
            i, n = (int(p) for p in contact[1:].split("-"))
            env.zoho.delete_record("Contacts", contacts[contact]["id"])
            entries.append(
                LedgerEntry(
                    "contacts", contact, 3_000_000 + 10 * i + n, "rejected", "missing_last_name"
                )
            )
        store.commit_batch(
            BatchCommit("customers", "", ledger=[e for e in entries if e.stream == "customers"])
        )
        store.commit_batch(
            BatchCommit("contacts", "", ledger=[e for e in entries if e.stream == "contacts"])
        )
        store.meta_put(META_KEY, "v1")
    finally:
        store.close()
    assert len(env.zoho.records("Accounts")) == CUSTOMERS - 10

    report = sync(env)  # Galaxy did not change

    assert report.status == "success", report.message
    assert ledger(env) == []
    assert report.customers.fetched == 10
    assert len(env.zoho.records("Accounts")) == CUSTOMERS
    assert len(env.zoho.records("Contacts")) == 2 * CUSTOMERS
    assert_parity(env)
    again = sync(env)  # the new rules are remembered: nothing is re-read
    assert (again.customers.fetched, again.contacts.fetched) == (0, 0)


def test_changing_contact_name_fallback_re_evaluates_rejections(env: Env) -> None:
    _, first_only = _messy_world(env)
    strict = sync(env, env.with_settings(CONTACT_NAME_FALLBACK="none"))
    assert strict.contacts.rejected == len(first_only)
    assert {e.reason for e in ledger(env)} == {"missing_last_name"}

    relaxed = sync(env)  # the default again; Galaxy did not change

    assert relaxed.contacts.fetched == len(first_only)
    assert relaxed.contacts.warnings_by_reason == {"last_name_fallback": len(first_only)}
    assert ledger(env) == []
    assert len(env.zoho.records("Contacts")) == 2 * CUSTOMERS
