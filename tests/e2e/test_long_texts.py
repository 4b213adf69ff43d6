"""A record stays out of Zoho only when Zoho cannot hold it: over-long optional texts (a
contact's Title over the 100 characters Zoho holds, a long Industry or street) are cut on a
word boundary and counted as `value_truncated`; the record reaches Zoho."""

from __future__ import annotations

from tests.e2e.helpers import Env, assert_parity, ledger, sync
from tests.e2e.test_messy_erp import _contact, _customer

from gzsync.mapping.rules import DEFAULT_RULES
from gzsync.state.sqlite import open_sqlite_store
from gzsync.state.store import BatchCommit, LedgerEntry
from gzsync.sync.rules_upgrade import META_KEY

TITLE = "Head of Procurement and Logistics for Northern Greece " * 3  # 162 characters
INDUSTRY = "Wholesale of pharmaceutical and medical goods " * 3  # 138 characters
STREET = "Leoforos Vasilissis Sofias " * 11  # 297 characters


def _world(env: Env) -> None:
    env.galaxy.put_rows(
        "zh_Customers_fin",
        [_customer(0, CAT_EPAGG=INDUSTRY, TRDSSTREET=STREET), _customer(1)],
    )
    env.galaxy.put_rows("ZH_AFFILIATE", [])
    env.galaxy.put_rows(
        "ZH_CONTACTS", [_contact(0, 1, JOBTITLE=TITLE), _contact(0, 2), _contact(1, 1)]
    )


def _assert_cut(value: object, source: str, limit: int) -> None:
    assert isinstance(value, str)
    assert 0 < len(value) <= limit
    assert source.startswith(value)
    assert source[len(value)] == " "  # on a word boundary


def test_a_contact_with_a_long_title_reaches_zoho_with_the_warning_counted(env: Env) -> None:
    _world(env)

    report = sync(env)

    assert report.status == "success", report.message
    assert ledger(env) == []
    contacts = {r["Galaxy_Contact_ID"]: r for r in env.zoho.records("Contacts")}
    assert set(contacts) == {"K000-1", "K000-2", "K001-1"}
    _assert_cut(contacts["K000-1"]["Title"], TITLE, 100)
    account = next(r for r in env.zoho.records("Accounts") if r["Trader_ID"] == "C000")
    _assert_cut(account["Industry"], INDUSTRY, 120)
    _assert_cut(account["Billing_Street"], STREET, 255)
    assert account["Shipping_Street"] == account["Billing_Street"]
    assert report.contacts.warnings_by_reason == {"value_truncated": 1}
    assert report.customers.warnings_by_reason == {"value_truncated": 3}
    sample = report.to_json()["contacts"]["warning_samples"][0]
    assert (sample["key"], sample["field"], sample["reason"]) == (
        "K000-1",
        "Title",
        "value_truncated",
    )
    store = open_sqlite_store(env.state_db)
    try:
        stored = store.warnings_list(report.run_id)
    finally:
        store.close()
    assert sorted((w.key, w.field) for w in stored) == [
        ("C000", "Billing_Street"),
        ("C000", "Industry"),
        ("C000", "Shipping_Street"),
        ("K000-1", "Title"),
    ]
    assert_parity(env)


def test_a_contact_zoho_refused_for_its_title_heals_after_the_upgrade(env: Env) -> None:
    """Rules v2 sent the 162-character Title and Zoho refused the contact: the upgrade
    retries that refusal once, with no change in Galaxy."""
    _world(env)
    sync(env)
    contact = next(r for r in env.zoho.records("Contacts") if r["Galaxy_Contact_ID"] == "K000-1")
    env.zoho.delete_record("Contacts", contact["id"])
    store = open_sqlite_store(env.state_db)
    try:
        store.commit_batch(
            BatchCommit(
                "contacts",
                "",
                ledger=[
                    LedgerEntry(
                        "contacts",
                        "K000-1",
                        _contact(0, 1)["CONTACTS_REVNUM"],
                        "refused",
                        "INVALID_DATA",
                        "Title: invalid data",
                    )
                ],
            )
        )
        store.meta_put(META_KEY, DEFAULT_RULES.fingerprint.replace("v3;", "v2;"))
    finally:
        store.close()

    report = sync(env)  # Galaxy did not change

    assert report.status == "success", report.message
    assert (report.contacts.fetched, report.contacts.inserted) == (1, 1)
    assert ledger(env) == []
    healed = next(r for r in env.zoho.records("Contacts") if r["Galaxy_Contact_ID"] == "K000-1")
    _assert_cut(healed["Title"], TITLE, 100)
    assert_parity(env)
