"""The sandbox's Bulk Write, spoken to with plain httpx as Zoho's docs show it (§6)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gzsync.sandbox import credentials
from gzsync.sandbox.serve import ServedApp
from gzsync.sandbox.zoho import ZohoState, create_zoho_app
from gzsync.sandbox.zoho_bulk import MAX_ROWS, ZGID


@pytest.fixture
def crm() -> Iterator[tuple[httpx.Client, ZohoState]]:
    app = create_zoho_app()
    with ServedApp(app) as served:
        token = httpx.post(
            f"{served.url}/oauth/v2/token",
            params={
                "grant_type": "refresh_token",
                "client_id": credentials.ZOHO_CLIENT_ID,
                "client_secret": credentials.ZOHO_CLIENT_SECRET,
                "refresh_token": credentials.ZOHO_REFRESH_TOKEN,
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Zoho-oauthtoken {token}"}
        with httpx.Client(base_url=served.url, headers=headers) as client:
            yield client, app.state.zoho


def _zip(text: str, name: str = "accounts.csv", extra: str | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, text)
        if extra is not None:
            z.writestr(extra, text)
    return out.getvalue()


def _upload(client: httpx.Client, data: bytes, **headers: str) -> httpx.Response:
    sent = {"feature": "bulk-write", "X-CRM-ORG": ZGID, **headers}
    return client.post(
        "/crm/v8/upload", headers=sent, files={"file": ("f.zip", data, "application/zip")}
    )


def _job(file_id: str, find_by: str | None = "Trader_ID", **resource: Any) -> dict[str, Any]:
    operation = resource.pop("operation", "upsert")
    res: dict[str, Any] = {"type": "data", "module": {"api_name": "Accounts"}, "file_id": file_id}
    if find_by is not None:
        res["find_by"] = find_by
    res.update(resource)
    return {"operation": operation, "resource": [res]}


CSV = "Trader_ID,Account_Name,Rev_Number\nT1,One,5\nT2,Two,x\nT3,,7\n"


def test_the_documented_flow_and_job_progression(crm: tuple[httpx.Client, ZohoState]) -> None:
    client, state = crm
    assert client.get("/crm/v8/org").json()["org"][0]["zgid"] == ZGID
    up = _upload(client, _zip(CSV))
    assert up.status_code == 200
    assert up.json()["code"] == "FILE_UPLOAD_SUCCESS"
    used = state.credits.used
    created = client.post("/crm/bulk/v8/write", json=_job(up.json()["details"]["file_id"]))
    assert created.status_code == 201
    assert created.json()["code"] == "SUCCESS"
    assert state.credits.used - used == 500
    job = created.json()["details"]["id"]
    assert state.bulk.jobs[job].status == "ADDED"
    first = client.get(f"/crm/bulk/v8/write/{job}").json()
    assert first["status"] == "IN PROGRESS"
    assert "result" not in first
    assert state.records("Accounts") == []  # nothing lands before the job completes
    done = client.get(f"/crm/bulk/v8/write/{job}").json()
    assert done["status"] == "COMPLETED"
    assert done["operation"] == "upsert"
    counts = done["resource"][0]["file"]
    assert (counts["added_count"], counts["skipped_count"], counts["total_count"]) == (1, 2, 3)
    result = client.get(done["result"]["download_url"])
    assert result.status_code == 200
    with zipfile.ZipFile(io.BytesIO(result.content)) as z:
        assert z.namelist() == ["Accounts-accounts.csv"]
        rows = list(csv.reader(io.StringIO(z.read(z.namelist()[0]).decode())))
    assert rows[0] == ["Trader_ID", "Account_Name", "Rev_Number", "STATUS", "RECORD_ID", "ERRORS"]
    assert rows[1][3:5] == ["added", state.records("Accounts")[0]["id"]]
    assert rows[2][3:] == ["skipped", "", "INVALID_DATA-Rev_Number"]
    assert rows[3][3:] == ["skipped", "", "MANDATORY_NOT_FOUND-Account_Name"]
    assert client.get("/crm/bulk/v8/write/999").status_code == 404
    # the records are in the CRM every other route reads
    coql = client.post(
        "/crm/v8/coql",
        json={"select_query": "select Trader_ID from Accounts where Trader_ID = 'T1'"},
    )
    assert coql.json()["data"][0]["Trader_ID"] == "T1"


@pytest.mark.parametrize(
    ("data", "headers", "status", "code"),
    [
        (b"not a zip", {}, 400, "INVALID_FILE_FORMAT"),
        (_zip(CSV, extra="second.csv"), {}, 400, "INVALID_FILE_FORMAT"),
        (
            _zip("Trader_ID,Account_Name\n" + "T,N\n" * (MAX_ROWS + 1)),
            {},
            400,
            "INVALID_FILE_FORMAT",
        ),
        (_zip(",".join(f"c{i}" for i in range(201)) + "\n"), {}, 400, "INVALID_FILE_FORMAT"),
        (_zip(CSV), {"feature": "bulk-read"}, 400, "INVALID_DATA"),
        (_zip(CSV), {"X-CRM-ORG": "1"}, 400, "INVALID_DATA"),
    ],
    ids=["not-zip", "two-csv", "too-many-rows", "too-many-columns", "feature", "org"],
)
def test_uploads_zoho_refuses(
    crm: tuple[httpx.Client, ZohoState],
    data: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    client, state = crm
    response = _upload(client, data, **headers)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert state.bulk.files == {}


def test_a_file_above_25_mb_is_413(crm: tuple[httpx.Client, ZohoState]) -> None:
    client, _ = crm
    big = _zip("Trader_ID\n", extra=None) + b"\0" * (25 * 1024 * 1024)
    response = _upload(client, big)
    assert (response.status_code, response.json()["code"]) == (413, "FILE_TOO_LARGE")


@pytest.mark.parametrize(
    ("csv_text", "job", "code"),
    [
        (CSV, {"find_by": "Account_Name"}, "INVALID_DATA"),  # not a unique field
        (CSV, {"find_by": None}, "MANDATORY_NOT_FOUND"),  # upsert needs find_by
        ("Trader_ID,Account_Name,Colour\nT1,N,red\n", {}, "INVALID_FIELD"),  # header unknown
        (CSV, {"field_mappings": [{"api_name": "Trader_ID", "index": 0},
                                  {"api_name": "Account_Name", "index": 1},
                                  {"api_name": "Nope", "index": 2}]}, "INVALID_FIELD"),
        (CSV, {"field_mappings": [{"api_name": "Trader_ID", "index": 0},
                                  {"api_name": "Account_Name", "index": 9}]},
         "COLUMN_INDEX_NOT_FOUND"),
        (CSV, {"field_mappings": [{"api_name": "Trader_ID", "index": 0}]},
         "MANDATORY_FIELDS_NOT_MAPPED"),
        # a lookup column without find_by
        ("Trader_ID,Account_Name,Affiliate_To\nT1,N,1\n", {}, "MANDATORY_NOT_FOUND"),
        (CSV, {"file_id": "123"}, "INVALID_FILE_ID"),
        (CSV, {"module": {"api_name": "Deals"}}, "MODULE_NOT_AVAILABLE"),
    ],
    ids=["find_by-not-unique", "no-find_by", "unknown-header", "unknown-mapping",
         "column-index", "mandatory", "lookup-find_by", "file-id", "module"],
)  # fmt: skip
def test_jobs_zoho_refuses_cost_nothing(
    crm: tuple[httpx.Client, ZohoState], csv_text: str, job: dict[str, Any], code: str
) -> None:
    client, state = crm
    file_id = _upload(client, _zip(csv_text)).json()["details"]["file_id"]
    find_by = job.pop("find_by", "Trader_ID")
    body = _job(job.pop("file_id", file_id), find_by, **job)
    used = state.credits.used
    response = client.post("/crm/bulk/v8/write", json=body)
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert state.credits.used == used
    assert state.bulk.jobs == {}


def test_lookup_by_unique_key_and_update_by_id(crm: tuple[httpx.Client, ZohoState]) -> None:
    client, state = crm
    httpx.post(f"{client.base_url}/__sandbox/bulk", json={"polls_to_complete": 1})

    def run(text: str, **job: Any) -> list[list[str]]:
        file_id = _upload(client, _zip(text)).json()["details"]["file_id"]
        body = _job(file_id, job.pop("find_by", "Trader_ID"), **job)
        job_id = client.post("/crm/bulk/v8/write", json=body).json()["details"]["id"]
        done = client.get(f"/crm/bulk/v8/write/{job_id}").json()
        with zipfile.ZipFile(io.BytesIO(client.get(done["result"]["download_url"]).content)) as z:
            return list(csv.reader(io.StringIO(z.read(z.namelist()[0]).decode())))[1:]

    run("Trader_ID,Account_Name\nP1,Parent\n")
    rows = run("Trader_ID,Account_Name,Affiliate_To.Trader_ID\nK1,Kid,P1\nK2,Kid2,P9\n")
    parent = next(r["id"] for r in state.records("Accounts") if r["Trader_ID"] == "P1")
    kid = next(r for r in state.records("Accounts") if r["Trader_ID"] == "K1")
    assert kid["Affiliate_To"] == {"id": parent}
    assert rows[1][3:] == ["skipped", "", "RESOURCE_NOT_FOUND-Affiliate_To"]
    rows = run(
        f"id,Account_Name\n{kid['id']},Renamed\n999,Ghost\n", find_by="id", operation="update"
    )
    assert [r[-3] for r in rows] == ["updated", "skipped"]
    assert state.crm.get("Accounts", kid["id"])["Account_Name"] == "Renamed"  # type: ignore[index]
