"""Zoho's own Python SDK (zohocrmsdk8-0) as a real client of the Zoho sandbox.

The SDK's Initializer is process-global, so this module holds every SDK test and
initialises it once per test against that test's sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.crm.api.coql import APIException as CoqlException
from zohocrmsdk.src.com.zoho.crm.api.coql import BodyWrapper as QueryBody
from zohocrmsdk.src.com.zoho.crm.api.coql import CoqlOperations
from zohocrmsdk.src.com.zoho.crm.api.coql import ResponseWrapper as QueryResponse
from zohocrmsdk.src.com.zoho.crm.api.dc import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.record import (
    ActionWrapper,
    APIException,
    BodyWrapper,
    GetRecordsParam,
    Record,
    RecordOperations,
    ResponseWrapper,
    SuccessResponse,
)
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

from gzsync.sandbox import credentials
from gzsync.sandbox.serve import ServedApp
from gzsync.sandbox.zoho import ZohoState, create_zoho_app


@pytest.fixture
def sdk(tmp_path: Path) -> Iterator[tuple[str, ZohoState]]:
    """A served sandbox and the SDK initialised against it."""
    app = create_zoho_app(strict_fields=True, seed=7)
    with ServedApp(app) as served:
        base = served.url
        Initializer.initialize(
            environment=DataCenter.Environment(base, base + "/oauth/v2/token", base),
            token=OAuthToken(
                client_id=credentials.ZOHO_CLIENT_ID,
                client_secret=credentials.ZOHO_CLIENT_SECRET,
                refresh_token=credentials.ZOHO_REFRESH_TOKEN,
                find_user=False,
            ),
            store=FileStore(str(tmp_path / "tokens.csv")),
            sdk_config=SDKConfig(
                update_api_domain=False,
                pick_list_validation=False,
                connect_timeout=5.0,
                read_timeout=10.0,
            ),
            resource_path=str(tmp_path),
        )
        yield base, app.state.zoho


def _account(name: str, trader_id: str, rev: int) -> Record:
    record = Record()
    record.add_key_value("Account_Name", name)
    record.add_key_value("Trader_ID", trader_id)
    record.add_key_value("Rev_Number", rev)
    record.add_key_value("Credit_Limit", 1250.5)
    return record


def _upsert(records: list[Record]) -> list[Any]:
    body = BodyWrapper()
    body.set_data(records)
    body.set_duplicate_check_fields(["Trader_ID"])
    response = RecordOperations("Accounts").upsert_records(body)
    wrapper = response.get_object()
    assert isinstance(wrapper, ActionWrapper), wrapper
    return list(wrapper.get_data())


def test_sdk_upserts_accounts_by_trader_id_and_reads_them_back(
    sdk: tuple[str, ZohoState],
) -> None:
    _, state = sdk
    first = _upsert([_account("Alpha", "T-1", 1000001), _account("Alpha", "T-2", 1000002)])
    assert [type(r) for r in first] == [SuccessResponse, SuccessResponse]
    assert [r.get_action().get_value() for r in first] == ["insert", "insert"]
    ids = [str(r.get_details()["id"]) for r in first]
    assert len(set(ids)) == 2
    assert all(len(i) == 19 and i.isdigit() for i in ids)

    second = _upsert([_account("Alpha renamed", "T-1", 1000003)])
    assert second[0].get_action().get_value() == "update"
    assert second[0].get_duplicate_field() == "Trader_ID"
    assert str(second[0].get_details()["id"]) == ids[0]

    stored = {r["Trader_ID"]: r for r in state.records("Accounts")}
    assert stored["T-1"]["Account_Name"] == "Alpha renamed"
    assert stored["T-1"]["Rev_Number"] == 1000003
    assert stored["T-2"]["Account_Name"] == "Alpha"

    params = ParameterMap()
    params.add(GetRecordsParam.ids, ",".join(ids))
    params.add(GetRecordsParam.fields, "Account_Name,Trader_ID,Rev_Number")
    read = RecordOperations("Accounts").get_records(params).get_object()
    assert isinstance(read, ResponseWrapper), read
    by_id = {str(r.get_id()): r for r in read.get_data()}
    assert by_id[ids[0]].get_key_value("Account_Name") == "Alpha renamed"
    assert by_id[ids[1]].get_key_value("Trader_ID") == "T-2"
    assert state.stats()["tokens_issued"] == 1


def test_sdk_reads_the_watermark_through_coql(sdk: tuple[str, ZohoState]) -> None:
    _upsert([_account(f"Acc {i}", f"T-{i}", 2000000 + i) for i in range(5)])
    body = QueryBody()
    body.set_select_query(
        "select Rev_Number, Trader_ID from Accounts where Rev_Number is not null "
        "order by Rev_Number desc limit 1"
    )
    result = CoqlOperations().get_records(body).get_object()
    assert isinstance(result, QueryResponse), result
    rows = result.get_data()
    assert len(rows) == 1
    assert rows[0].get_key_value("Rev_Number") == 2000004
    assert rows[0].get_key_value("Trader_ID") == "T-4"
    assert result.get_info().get_more_records() is True


def test_sdk_sees_per_record_errors_as_api_exceptions(sdk: tuple[str, ZohoState]) -> None:
    bad = Record()
    bad.add_key_value("Trader_ID", "T-9")  # no Account_Name
    results = _upsert([_account("Fine", "T-8", 1), bad])
    assert isinstance(results[0], SuccessResponse)
    assert isinstance(results[1], APIException)
    assert results[1].get_code().get_value() == "MANDATORY_NOT_FOUND"
    assert results[1].get_details()["api_name"] == "Account_Name"


def test_sdk_reads_coql_errors(sdk: tuple[str, ZohoState]) -> None:
    body = QueryBody()
    body.set_select_query("select Rev_Number from Accounts")
    error = CoqlOperations().get_records(body).get_object()
    assert isinstance(error, CoqlException), error
    assert error.get_code().get_value() == "SYNTAX_ERROR"
    details = error.get_details()
    assert (details["line"], details["column"]) == (1, 32)
