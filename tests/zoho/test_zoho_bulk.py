"""BulkWriter against the Zoho sandbox over loopback: files, jobs, polls, results."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.zoho.sandbox_client import sandbox_client

from gzsync.errors import ZohoRequestError
from gzsync.sandbox.serve import ServedApp
from gzsync.sandbox.zoho import ZohoState, create_zoho_app
from gzsync.zoho.bulk import (
    BulkFileResult,
    BulkWriter,
    PollPolicy,
    cell,
    parse_errors,
    poll_wait,
    read_result_zip,
    result_of,
    upload_base,
)
from gzsync.zoho.client import ZohoClient


@pytest.fixture
def sandbox() -> Iterator[tuple[str, ZohoState]]:
    app = create_zoho_app()
    with ServedApp(app) as served:
        yield served.url, app.state.zoho


def _client(url: str) -> ZohoClient:
    return sandbox_client(url)


def _accounts(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "Trader_ID": f"TR{i:06d}",
            "Account_Name": f"Customer {i}",
            "Rev_Number": 1000 + i,
            "Credit_Limit": 12.5 + i,
            "Phone": None,
        }
        for i in range(start, start + n)
    ]


def _write(
    url: str, records: list[dict[str, Any]], **kw: Any
) -> tuple[list[BulkFileResult], ZohoClient]:
    async def go() -> tuple[list[BulkFileResult], ZohoClient]:
        client = _client(url)
        writer = BulkWriter(
            client, api_base=url, poll=PollPolicy.for_tests(), max_rows=kw.pop("max_rows", 25_000)
        )
        out = [
            r
            async for r in writer.write(
                kw.pop("module", "Accounts"), records, find_by=kw.pop("find_by", "Trader_ID"), **kw
            )
        ]
        await client.aclose()
        return out, client

    return asyncio.run(go())


def test_records_land_in_the_crm_with_ids_and_actions_in_input_order(
    sandbox: tuple[str, ZohoState],
) -> None:
    url, state = sandbox
    files, client = _write(url, _accounts(250), max_rows=100)
    assert [len(f.results) for f in files] == [100, 100, 50]
    results = [r for f in files for r in f.results]
    assert all(r.ok and r.action == "insert" for r in results)
    stored = {r["Trader_ID"]: r for r in state.records("Accounts")}
    assert len(stored) == 250
    assert [stored[f"TR{i:06d}"]["id"] for i in range(250)] == [r.zoho_id for r in results]
    assert stored["TR000007"]["Rev_Number"] == 1007  # typed as the field is
    assert stored["TR000007"]["Credit_Limit"] == 19.5
    assert files[0].counts["added"] == 100
    assert files[0].polls == 2
    # credits: per job upload 1 + job 500 + 2 polls + download 1, plus the org read once
    assert client.stats.credits == 3 * 504 + 1 == state.credits.used
    assert client.stats.calls["bulk_write"] == 3

    again = _accounts(3)
    again[1]["Account_Name"] = "Renamed"
    files, _ = _write(url, again)
    assert [r.action for r in files[0].results] == ["update"] * 3
    assert state.crm.get("Accounts", files[0].results[1].zoho_id or "")["Account_Name"] == "Renamed"  # type: ignore[index]


def test_refused_records_are_results_with_codes_and_lookups_by_id(
    sandbox: tuple[str, ZohoState],
) -> None:
    url, state = sandbox
    files, _ = _write(url, _accounts(2))
    parent = files[0].results[0].zoho_id
    records = [
        {"Trader_ID": "A1", "Account_Name": "Child", "Affiliate_To": {"id": parent}},
        {
            "Trader_ID": "A2",
            "Account_Name": "Orphan",
            "Affiliate_To": {"id": "5725767000000000001"},
        },
        {"Trader_ID": "A3", "Account_Name": None, "Affiliate_To": None},
        {"Trader_ID": "A4", "Account_Name": "x" * 300, "Affiliate_To": None},
    ]
    files, _ = _write(url, records, lookups=["Affiliate_To"])
    ok, orphan, nameless, too_long = files[0].results
    assert ok.ok
    assert state.crm.get("Accounts", ok.zoho_id or "")["Affiliate_To"] == {"id": parent}
    # an unknown parent id looks like the upsert's stale lookup: INVALID_DATA on the field
    assert (orphan.ok, orphan.code, orphan.api_name) == (False, "INVALID_DATA", "Affiliate_To")
    assert (nameless.code, nameless.api_name) == ("MANDATORY_NOT_FOUND", "Account_Name")
    assert (too_long.code, too_long.api_name) == ("INVALID_DATA", "Account_Name")
    assert {r["Trader_ID"] for r in state.records("Accounts")} == {"TR000000", "TR000001", "A1"}


def test_a_failed_job_raises_and_writes_nothing(sandbox: tuple[str, ZohoState]) -> None:
    url, state = sandbox
    httpx.post(f"{url}/__sandbox/bulk", json={"fail_next": 1, "polls_to_complete": 4})
    with pytest.raises(ZohoRequestError) as info:
        _write(url, _accounts(5))
    assert info.value.code == "BULK_JOB_FAILED"
    assert state.records("Accounts") == []
    files, _ = _write(url, _accounts(5))  # the next job goes through, after 4 polls
    assert files[0].polls == 4
    assert len(state.records("Accounts")) == 5


def test_absolute_download_url_on_the_api_host_is_followed(sandbox: tuple[str, ZohoState]) -> None:
    url, _ = sandbox
    httpx.post(f"{url}/__sandbox/bulk", json={"download_url": "absolute"})
    files, _ = _write(url, _accounts(3))
    assert all(r.ok for r in files[0].results)


def test_contacts_hang_on_accounts_by_id(sandbox: tuple[str, ZohoState]) -> None:
    url, state = sandbox
    files, _ = _write(url, _accounts(1))
    account = files[0].results[0].zoho_id
    contacts = [
        {"Galaxy_Contact_ID": f"C{i}", "Last_Name": f"L{i}", "Account_Name": {"id": account}}
        for i in range(3)
    ]
    files, _ = _write(url, contacts, module="Contacts", find_by="Galaxy_Contact_ID")
    assert all(r.ok for r in files[0].results)
    assert {c["Account_Name"]["id"] for c in state.records("Contacts")} == {account}


def test_polls_back_off_to_a_minute() -> None:
    policy = PollPolicy()
    assert [poll_wait(policy, n, 0.0) for n in (1, 2, 3, 4, 5, 9)] == [5, 10, 20, 40, 60, 60]
    assert poll_wait(policy, 1, 0.5) == 5.5


def test_pure_parts() -> None:
    assert upload_base("https://www.zohoapis.eu") == "https://content.zohoapis.eu"
    assert upload_base("http://127.0.0.1:9") == "http://127.0.0.1:9"
    assert [cell(v) for v in (None, True, 3, 1e-7, 2.5, {"id": "9"}, "a,b")] == [
        "", "true", "3", "0.0000001", "2.5", "9", "a,b",
    ]  # fmt: skip
    assert parse_errors("MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email") == [
        ("MANDATORY_NOT_FOUND", ["Company", "Last_Name"]),
        ("DUPLICATE_DATA", ["Email"]),
    ]
    dup = result_of({"STATUS": "skipped", "RECORD_ID": "", "ERRORS": "DUPLICATE_DATA-Email"}, ())
    assert (dup.ok, dup.code, dup.api_name) == (False, "DUPLICATE_DATA", "Email")
    unprocessed = result_of({"STATUS": "unprocessed", "RECORD_ID": "", "ERRORS": ""}, ())
    assert unprocessed.code == "CANNOT_PROCESS"  # a transient code: retried next run
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as z:
        z.writestr("Accounts-x.csv", "Trader_ID,STATUS,RECORD_ID,ERRORS\nT1,added,42,\n")
    assert list(read_result_zip(data.getvalue())) == [
        {"Trader_ID": "T1", "STATUS": "added", "RECORD_ID": "42", "ERRORS": ""}
    ]


def test_failing_status_calls_are_retried_and_the_job_still_reads(
    sandbox: tuple[str, ZohoState],
) -> None:
    url, state = sandbox
    from gzsync.sandbox.faults import FaultRule

    state.faults.add(
        [FaultRule.from_json({"endpoint": "bulk_status", "status": 503, "count": 2})], 3
    )
    files, client = _write(url, _accounts(10))
    assert all(r.ok for r in files[0].results)
    assert client.stats.calls["bulk_status"] == 2 + 2  # two refused, two answered


def test_writer_refuses_what_it_cannot_write_faithfully(sandbox: tuple[str, ZohoState]) -> None:
    url, state = sandbox
    records = [{"Trader_ID": "T1", "Account_Name": "A"}, {"Trader_ID": "T2", "Colour": "red"}]
    with pytest.raises(ValueError, match="Colour"):
        _write(url, records)
    assert state.bulk.jobs == {}
    with pytest.raises(ValueError, match="1 to 25000"):
        BulkWriter(_client(url), api_base=url, max_rows=25_001)
    writer = BulkWriter(_client(url), api_base="https://www.zohoapis.eu")
    with pytest.raises(ZohoRequestError) as info:
        writer._download_target("https://evil.example/x.zip")
    assert info.value.code == "UNEXPECTED_HOST"
    assert writer._download_target("/v7/crm/org1/bulk-write/1/1.zip").startswith(
        "https://www.zohoapis.eu/v7/"
    )
    assert writer._download_target("https://download-accl.zoho.com/v2/crm/6/bulk-write/1/1.zip")


def test_submit_then_collect_later_stops_at_stop_and_resumes(
    sandbox: tuple[str, ZohoState],
) -> None:
    """A job submitted by one caller is collected by another (a later run) by its id."""
    from gzsync.zoho.bulk import JobPending

    url, state = sandbox
    state.bulk.polls_to_complete = 3
    records = _accounts(40)

    async def go() -> tuple[str, list[Any], int]:
        client = _client(url)
        writer = BulkWriter(client, api_base=url, poll=PollPolicy.for_tests())
        submitted = await writer.submit(
            "Accounts", records, find_by="Trader_ID", columns=list(records[0])
        )
        # asked to stop before the first poll: nothing polled yet, the job goes on
        with pytest.raises(JobPending) as first:
            await writer.collect("Accounts", submitted.job_id, [], [], stop=lambda: True)
        assert first.value.job_id == submitted.job_id
        # resumed: polled at once; stop after the first poll that finds it running
        with pytest.raises(JobPending):
            await writer.collect(
                "Accounts", submitted.job_id, [], [], stop=lambda: True, resumed=True
            )
        polls_before = state.stats()["calls"]["bulk_status"]
        later = BulkWriter(client, api_base=url, poll=PollPolicy.for_tests())
        keys = [str(r["Trader_ID"]) for r in records]
        done = await later.collect("Accounts", submitted.job_id, keys, [], resumed=True)
        await client.aclose()
        return submitted.job_id, done.results, polls_before

    job_id, results, polls = asyncio.run(go())
    assert polls == 1  # only the resumed collect polled before the last one
    assert list(state.bulk.jobs) == [job_id]
    assert [r.ok for r in results] == [True] * 40
    by_key = {r["Trader_ID"]: r["id"] for r in state.records("Accounts")}
    assert [r.zoho_id for r in results] == [by_key[str(x["Trader_ID"])] for x in records]
