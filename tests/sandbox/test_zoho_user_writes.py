"""A CRM user's writes on the Zoho sandbox: insert, update by id, delete — the shapes of
the record APIs (zoho-crm-api.md §2.3 envelopes) and their limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.sandbox.oauth import access_token

from gzsync.sandbox.serve import ServedApp
from gzsync.sandbox.zoho import create_zoho_app


class User:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=10.0)
        token = access_token(self.http)
        self.auth = {"Authorization": f"Zoho-oauthtoken {token}"}

    def insert(self, module: str, *records: dict[str, Any]) -> httpx.Response:
        return self.http.post(f"/crm/v8/{module}", json={"data": list(records)}, headers=self.auth)

    def put(self, module: str, rid: str, record: dict[str, Any]) -> httpx.Response:
        return self.http.put(f"/crm/v8/{module}/{rid}", json={"data": [record]}, headers=self.auth)

    def delete(self, module: str, ids: str) -> httpx.Response:
        return self.http.delete(f"/crm/v8/{module}", params={"ids": ids}, headers=self.auth)


@pytest.fixture
def served() -> Iterator[tuple[Any, User]]:
    app = create_zoho_app(seed=2, strict_fields=True)
    with ServedApp(app) as server:
        user = User(server.url)
        yield app.state.zoho, user
        user.http.close()


def test_insert_adds_new_records_201_and_never_matches(served: tuple[Any, User]) -> None:
    state, user = served
    first = user.insert("Accounts", {"Account_Name": "Acme", "Trader_ID": "T1"})
    assert first.status_code == 201
    (result,) = first.json()["data"]
    assert result["status"] == "success"
    assert result["action"] == "insert"
    assert result["message"] == "record added"
    # the same name again is a second record: insert does no duplicate matching
    assert user.insert("Accounts", {"Account_Name": "Acme"}).status_code == 201
    assert len(state.records("Accounts")) == 2


def test_insert_refuses_a_unique_value_another_record_holds(served: tuple[Any, User]) -> None:
    _state, user = served
    user.insert("Accounts", {"Account_Name": "Acme", "Trader_ID": "T1"})
    mixed = user.insert(
        "Accounts",
        {"Account_Name": "Other", "Trader_ID": "t1"},  # the unique check ignores case
        {"Account_Name": "New", "Trader_ID": "T2"},
    )
    assert mixed.status_code == 207
    refused, added = mixed.json()["data"]
    assert refused["code"] == "DUPLICATE_DATA"
    assert refused["details"]["api_name"] == "Trader_ID"
    assert added["status"] == "success"
    no_name = user.insert("Accounts", {"Trader_ID": "T3"})
    assert no_name.status_code == 400
    assert no_name.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"


def test_insert_takes_at_most_100_records(served: tuple[Any, User]) -> None:
    _state, user = served
    response = user.insert("Accounts", *({"Account_Name": f"A{i}"} for i in range(101)))
    assert response.status_code == 400
    assert response.json()["code"] == "LIMIT_EXCEEDED"


def test_update_by_id_changes_only_the_fields_given(served: tuple[Any, User]) -> None:
    state, user = served
    rid = user.insert("Accounts", {"Account_Name": "Acme", "Phone": "210 1"}).json()["data"][0][
        "details"
    ]["id"]
    response = user.put("Accounts", rid, {"Phone": "210 2", "Rev_Number": 7})
    assert response.status_code == 200
    assert response.json()["data"][0]["details"]["id"] == rid
    (record,) = state.records("Accounts")
    assert (record["Account_Name"], record["Phone"], record["Rev_Number"]) == ("Acme", "210 2", 7)
    bad = user.put("Accounts", rid, {"Rev_Number": "seven"})
    assert bad.status_code == 400
    assert bad.json()["data"][0]["code"] == "INVALID_DATA"
    unknown = user.put("Accounts", "1234", {"Phone": "1"})
    assert unknown.status_code == 400
    assert unknown.json()["data"][0]["details"] == {"id": "1234"}


def test_delete_answers_per_id_and_takes_at_most_100(served: tuple[Any, User]) -> None:
    state, user = served
    ids = [
        r["details"]["id"]
        for r in user.insert("Accounts", {"Account_Name": "A"}, {"Account_Name": "B"}).json()[
            "data"
        ]
    ]
    response = user.delete("Accounts", f"{ids[0]},999")
    assert response.status_code == 207
    done, unknown = response.json()["data"]
    assert done == {
        "code": "SUCCESS",
        "details": {"id": ids[0]},
        "message": "record deleted",
        "status": "success",
    }
    assert unknown["code"] == "INVALID_DATA"
    assert [r["id"] for r in state.records("Accounts")] == [ids[1]]
    assert user.delete("Accounts", "").json()["code"] == "REQUIRED_PARAM_MISSING"
    too_many = user.delete("Accounts", ",".join(str(i) for i in range(101)))
    assert too_many.status_code == 400
    assert too_many.json()["code"] == "LIMIT_EXCEEDED"
    assert state.stats()["calls"]["delete"] == 3


def test_user_writes_need_a_token(served: tuple[Any, User]) -> None:
    _state, user = served
    response = user.http.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "A"}]})
    assert response.status_code == 401
    assert response.json()["code"] == "AUTHENTICATION_FAILURE"
