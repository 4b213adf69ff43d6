"""End to end: Galaxy contacts into Zoho Contacts, linked to their Accounts."""

from __future__ import annotations

from typing import Any

from tests.e2e.helpers import Env, accounts_by_key, assert_parity, ledger, sync
from tests.e2e.test_accounts_sync import _customer


def _contact(cid: str, trdrid: str, rev: int, **extra: Any) -> dict[str, Any]:
    row = {
        "CONTACTID": cid,
        "TRDRID": trdrid,
        "FIRSTNAME": "Maria",
        "LASTNAME": f"Last {cid}",
        "EMAIL": f"{cid.lower()}@example.gr",
        "PHONE": "2101234567",
        "MOBILE": "6971234567",
        "JOBTITLE": "Buyer",
        "CONTACTS_REVNUM": rev,
    }
    row.update(extra)
    return row


def contacts_by_key(env: Env) -> dict[str, dict[str, Any]]:
    return {r["Galaxy_Contact_ID"]: r for r in env.zoho.records("Contacts")}


def _small_world(env: Env) -> None:
    env.galaxy.put_rows("zh_Customers_fin", [_customer("C1", 3000001), _customer("C2", 3000002)])
    env.galaxy.put_rows("ZH_AFFILIATE", [])
    env.galaxy.put_rows(
        "ZH_CONTACTS",
        [
            _contact("K1", "C1", 3000003),
            _contact("K2", "C1", 3000004),
            _contact("K3", "C2", 3000005),
        ],
    )


def test_full_sync_with_contacts_matches_galaxy(env: Env) -> None:
    report = sync(env)
    assert report.contacts.inserted > 0
    assert_parity(env)
    waiting = [e for e in ledger(env) if e.stream == "contacts" and e.kind == "waiting_parent"]
    assert len(waiting) == report.contacts.failed


def test_contacts_of_new_and_old_accounts(env: Env) -> None:
    _small_world(env)
    sync(env)
    accounts = accounts_by_key(env)
    contacts = contacts_by_key(env)
    assert set(contacts) == {"K1", "K2", "K3"}
    assert contacts["K1"]["Account_Name"]["id"] == accounts["C1"]["id"]
    assert contacts["K3"]["Account_Name"]["id"] == accounts["C2"]["id"]

    coql_before = env.zoho.stats()["calls"]["coql"]
    env.galaxy.add_rows("zh_Customers_fin", [_customer("C3", 3000010)])
    env.galaxy.add_rows(
        "ZH_CONTACTS",
        [
            _contact("K4", "C3", 3000011),  # a new account's contact
            _contact("K5", "C2", 3000012),  # a new contact of an old account
        ],
    )
    report = sync(env)
    assert report.contacts.inserted == 2
    # both parents came from the id cache (this run's upsert and the last run's): no look-up
    assert env.zoho.stats()["calls"]["coql"] == coql_before
    assert_parity(env)


def test_contact_moving_to_another_customer(env: Env) -> None:
    _small_world(env)
    sync(env)
    env.galaxy.add_rows("ZH_CONTACTS", [_contact("K1", "C2", 3000020)])
    report = sync(env)
    assert report.contacts.updated == 1
    assert contacts_by_key(env)["K1"]["Account_Name"]["id"] == accounts_by_key(env)["C2"]["id"]
    assert len(env.zoho.records("Contacts")) == 3
    assert_parity(env)


def test_contact_of_a_rejected_customer_waits_then_syncs(env: Env) -> None:
    _small_world(env)
    env.galaxy.add_rows("zh_Customers_fin", [_customer("C9", 3000030, name="   ")])
    env.galaxy.add_rows("ZH_CONTACTS", [_contact("K9", "C9", 3000031)])
    first = sync(env)
    assert first.status == "incomplete"
    assert "K9" not in contacts_by_key(env)  # never created as an orphan
    waiting = {(e.stream, e.key): e for e in ledger(env)}
    assert waiting[("contacts", "K9")].kind == "waiting_parent"
    assert waiting[("customers", "C9")].kind == "rejected"

    # nothing changes: the contact is retried (re-read) and still waits, nothing else moves
    second = sync(env)
    assert second.contacts.failed == 1
    assert "K9" not in contacts_by_key(env)

    env.galaxy.add_rows("zh_Customers_fin", [_customer("C9", 3000040, name="Fixed SA")])
    third = sync(env)
    assert third.status == "success", third.to_json()
    assert contacts_by_key(env)["K9"]["Account_Name"]["id"] == accounts_by_key(env)["C9"]["id"]
    assert ledger(env) == []
    assert_parity(env)


def test_account_deleted_in_zoho_is_evicted_and_resolved_again(env: Env) -> None:
    _small_world(env)
    sync(env)
    old_id = accounts_by_key(env)["C1"]["id"]
    # a CRM user deletes the Account; another integration re-creates it (a new id)
    assert env.zoho.delete_record("Accounts", old_id)
    env.zoho.crm.upsert(
        "Accounts", [{"Trader_ID": "C1", "Account_Name": "Customer C1"}], ["Trader_ID"]
    )
    new_id = accounts_by_key(env)["C1"]["id"]
    assert new_id != old_id
    env.galaxy.add_rows("ZH_CONTACTS", [_contact("K1", "C1", 3000050, JOBTITLE="Owner")])
    report = sync(env, entities=("contacts",))
    assert report.contacts.updated == 1
    assert report.contacts.failed == 0
    assert contacts_by_key(env)["K1"]["Account_Name"]["id"] == new_id


def test_account_deleted_in_zoho_and_gone_makes_the_contact_wait(env: Env) -> None:
    _small_world(env)
    sync(env)
    assert env.zoho.delete_record("Accounts", accounts_by_key(env)["C2"]["id"])
    env.galaxy.add_rows("ZH_CONTACTS", [_contact("K3", "C2", 3000060, JOBTITLE="Owner")])
    report = sync(env, entities=("contacts",))
    assert report.contacts.failed == 1
    entry = next(e for e in ledger(env) if e.key == "K3")
    assert entry.kind == "waiting_parent"
    # the customer comes back with its next change; the contact follows in the same run
    env.galaxy.add_rows("zh_Customers_fin", [_customer("C2", 3000070)])
    report = sync(env)
    assert report.status == "success", report.to_json()
    assert_parity(env)


def test_email_shared_by_two_contacts_gives_two_records(env: Env) -> None:
    _small_world(env)
    env.galaxy.add_rows(
        "ZH_CONTACTS",
        [
            _contact("K7", "C1", 3000080, EMAIL="office@example.gr"),
            _contact("K8", "C2", 3000081, EMAIL="office@example.gr"),
        ],
    )
    sync(env)
    contacts = contacts_by_key(env)
    assert contacts["K7"]["Email"] == contacts["K8"]["Email"] == "office@example.gr"
    assert contacts["K7"]["id"] != contacts["K8"]["id"]
    assert_parity(env)


def test_invalid_email_is_dropped_with_a_warning_not_the_contact(env: Env) -> None:
    _small_world(env)
    env.galaxy.add_rows("ZH_CONTACTS", [_contact("K6", "C1", 3000090, EMAIL="not-an-email")])
    report = sync(env)
    assert report.contacts.warnings >= 1
    assert "K6" in contacts_by_key(env)
    assert not contacts_by_key(env)["K6"].get("Email")


def test_contact_without_last_name_syncs_and_one_without_any_name_is_rejected(env: Env) -> None:
    _small_world(env)
    env.galaxy.add_rows(
        "ZH_CONTACTS",
        [
            _contact("K0", "C1", 3000095, LASTNAME="  "),
            _contact("K9", "C1", 3000096, LASTNAME=None, FIRSTNAME=None, EMAIL=""),
        ],
    )
    report = sync(env)
    entry = next(e for e in ledger(env) if e.key == "K9")
    assert (entry.kind, entry.reason) == ("rejected", "missing_name")
    assert "K0" not in {e.key for e in ledger(env)}
    zoho = next(r for r in env.zoho.records("Contacts") if r["Galaxy_Contact_ID"] == "K0")
    assert (zoho["Last_Name"], zoho.get("First_Name")) == ("Maria", None)
    assert report.contacts.warnings_by_reason == {"last_name_fallback": 1}


def test_entities_selects_a_subset(env: Env) -> None:
    _small_world(env)
    report = sync(env, entities=("accounts",))
    assert report.contacts.fetched == 0
    assert env.zoho.records("Contacts") == []
    report = sync(env, entities=("contacts",))
    assert report.customers.fetched == 0
    assert len(env.zoho.records("Contacts")) == 3
