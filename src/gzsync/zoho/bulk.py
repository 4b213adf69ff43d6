"""Zoho Bulk Write (zoho-crm-api.md §6): CSV files zipped, uploaded, one job each, polled,
the result CSV read record by record into :class:`~gzsync.zoho.client.UpsertResult`.

:class:`BulkWriter` takes mapped payloads (the dicts an upsert sends) and writes them in
files of at most 25,000 rows. Per file: the CSV goes straight into a zip on disk (a
temporary file, so memory stays flat whatever the file's size), the zip is uploaded to the
upload host (`feature: bulk-write`, `X-CRM-ORG: <zgid>` from `GET /crm/v8/org`), a job
is created with `find_by` on the stream's key, polled with backoff until `COMPLETED` or
`FAILED`, and the result zip is downloaded and read row by row. Each file's results come
back in input order, as an upsert's do, so the commit/ledger path consumes either.

Decisions:

- **Columns**: the key (`find_by`) is column 0, so the result CSV (which holds the first
  three mapped columns) names each row's key; results are matched by position and checked
  against that key, then by key when Zoho's order differs. A record missing from the result
  is `CANNOT_PROCESS` (retried next run), as is a row whose `STATUS` is `unprocessed`.
- **Values**: `None` is an empty cell and `ignore_empty` is false, so an empty cell clears
  the field exactly as `None` does in an upsert; a record without a column another record
  of the file has gets an empty cell too (the mapping always sends every field). Numbers
  are written without exponent; booleans `true`/`false`.
- **Lookups** (`Affiliate_To`, a contact's `Account_Name`) are written **by id**: a dict
  value `{"id": ...}` becomes the cell and the column's field mapping gets `find_by: id`.
  Bulk Write could resolve a lookup by the parent's unique key, but only against records
  Zoho already holds when it reaches that row, and the order in which a job processes its
  rows is not documented: an affiliate in the same file might not exist yet, and the child
  would be refused. So the integration resolves ids before (affiliates are written before
  their card holders, accounts before contacts, as the upsert path does, and each job's
  `RECORD_ID`s fill the id cache); see :mod:`gzsync.sync.bulk_path` for what happens to a
  record whose parent id is not known (no second pass: it waits as with upserts).
  A refused lookup (`INVALID_DATA` or `RESOURCE_NOT_FOUND` on a lookup column, whichever
  Zoho uses) becomes the upsert's shape: `INVALID_DATA` with `api_name` the lookup field,
  so the writer's lookup repair applies to both paths.
- **Errors**: `ERRORS` is `CODE-column[,column]` joined with `:`; the result's `code` and
  `api_name` are the first one's, `details["errors"]` holds them all. `STATUS` `added` is
  an insert, `updated` an update, `skipped` a refusal.
- **Polling**: the reference documents no polling interval (a callback is the alternative
  Zoho offers; it needs a public URL). Each status call costs a credit (UNCONFIRMED), so the
  writer polls with exponential backoff, 5 s doubling to 60 s plus up to 1 s of jitter, at
  most one hour per job (:class:`PollPolicy`). Each status call is retried on 429/5xx by the
  client's stamina layer; the wait between polls is a plain loop, because a job still
  running is not a failure (stamina would log every poll as a scheduled retry). The first
  poll waits `wait_initial` too: no job is done at once. A job that ends `FAILED` raises
  :class:`~gzsync.errors.ZohoRequestError` with code `BULK_JOB_FAILED`: nothing was
  written, the caller keeps its records (upserts, or the ledger).
- **Hosts**: the upload host is `content.zohoapis.<dc>` for a `www.zohoapis.<dc>` API base
  (what Zoho's SDK does), else the API base itself (the sandbox). A relative
  `download_url` is resolved against the API base; an absolute one is used only on a Zoho
  host (`*.zoho.*`, `*.zohoapis.*`) or the API base's own host, so the token is never sent
  elsewhere.
- **Cost** (§6.2): 500 credits a job, plus 1 each for the upload, each status call and the
  download (UNCONFIRMED, Zoho's default for a call): about 505 credits for up to 25,000
  records, against 2,500 for the same records upserted 100 at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import decimal
import io
import itertools
import math
import random
import tempfile
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import urlsplit

from gzsync.errors import ZohoRequestError
from gzsync.zoho import coql
from gzsync.zoho.client import UpsertResult, ZohoClient, _json, _request_error

#: Most records one CSV of a Bulk Write job holds.
MAX_ROWS = 25_000
#: Largest zip Zoho takes; the CSV is cut below this uncompressed, so its zip never exceeds it.
MAX_ZIP_BYTES = 25 * 1024 * 1024
MAX_CSV_BYTES = 24 * 1024 * 1024
#: What Zoho charges to start a job (§3.2).
JOB_CREDITS = 500
DONE = frozenset({"COMPLETED", "FAILED"})


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """How patiently a job is polled: waits from `wait_initial` doubling to `wait_max`."""

    wait_initial: float = 5.0
    wait_max: float = 60.0
    wait_jitter: float = 1.0
    timeout: float = 3600.0

    @classmethod
    def for_tests(cls) -> PollPolicy:
        return cls(wait_initial=0.0, wait_max=0.0, wait_jitter=0.0, timeout=60.0)


class JobPending(Exception):
    """A job still running when the caller asked to stop waiting; collect it later."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"Bulk Write job {job_id} is still running in Zoho")
        self.job_id = job_id


@dataclass(frozen=True, slots=True)
class Submitted:
    """A job created from one uploaded file: its id and the columns written by id."""

    job_id: str
    lookups: list[str]


@dataclass(slots=True)
class BulkFileResult:
    """One job: its id, Zoho's counts, and one result per record in input order."""

    job_id: str
    results: list[UpsertResult]
    counts: dict[str, int] = field(default_factory=dict)
    polls: int = 0


def poll_wait(policy: PollPolicy, polls: int, jitter: float) -> float:
    """Seconds before the next status call after `polls` calls (`jitter` in [0, 1))."""
    backoff = min(policy.wait_initial * 2.0 ** (polls - 1), policy.wait_max)
    return float(backoff + policy.wait_jitter * jitter)


def upload_base(api_base: str) -> str:
    """Zoho's upload host for an API base (`www.zohoapis.eu` -> `content.zohoapis.eu`)."""
    parts = urlsplit(api_base)
    host = parts.hostname or ""
    if host.startswith("www.zohoapis."):
        return f"{parts.scheme}://content.{host.removeprefix('www.')}"
    return api_base.rstrip("/")


def cell(value: Any) -> str:
    """One CSV cell for a payload value (lookups are written by id)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return format(decimal.Decimal(text), "f") if "e" in text else text
    if isinstance(value, Mapping):
        if "id" not in value:
            raise ValueError(f"a lookup value needs an id: {value!r}")
        return str(value["id"])
    return str(value)


def parse_errors(text: str) -> list[tuple[str, list[str]]]:
    """`MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email` -> codes and columns."""
    out: list[tuple[str, list[str]]] = []
    for part in filter(None, (p.strip() for p in text.split(":"))):
        code, _, columns = part.partition("-")
        out.append((code.strip(), [c.strip() for c in columns.split(",") if c.strip()]))
    return out


def result_of(row: Mapping[str, str], lookups: Iterable[str]) -> UpsertResult:
    """One row of the result CSV as an upsert result."""
    status = (row.get("STATUS") or "").strip().lower()
    record_id = (row.get("RECORD_ID") or "").strip() or None
    if status in ("added", "updated") and record_id:
        action: Literal["insert", "update"] = "insert" if status == "added" else "update"
        return UpsertResult(
            True,
            action,
            record_id,
            "SUCCESS",
            f"record {status}",
            None,
            {"id": record_id, "bulk_status": status},
        )
    errors = parse_errors(row.get("ERRORS") or "")
    details: dict[str, Any] = {
        "bulk_status": status or "missing",
        "errors": [{"code": c, "api_names": n} for c, n in errors],
    }
    if not errors:
        code = "CANNOT_PROCESS"  # unprocessed (or no error given): worth another try
        return UpsertResult(
            False, None, None, code, f"bulk write: {status or 'no status'}", None, details
        )
    code, columns = errors[0]
    api_name = columns[0] if columns else None
    if api_name in set(lookups) and code in ("INVALID_DATA", "RESOURCE_NOT_FOUND"):
        details["bulk_code"] = code
        return UpsertResult(
            False,
            None,
            None,
            "INVALID_DATA",
            "the related id given seems to be invalid",
            api_name,
            details,
        )
    return UpsertResult(
        False, None, None, code, f"bulk write: {row.get('ERRORS')}", api_name, details
    )


@dataclass(slots=True)
class _Sheet:
    """One CSV being written into a zip on disk."""

    handle: IO[bytes]
    archive: zipfile.ZipFile
    text: io.TextIOWrapper
    writer: Any
    keys: list[str] = field(default_factory=list)
    size: int = 0


class BulkWriter:
    """Writes records through Bulk Write jobs on one :class:`ZohoClient`."""

    def __init__(
        self,
        client: ZohoClient,
        *,
        api_base: str,
        upload_url: str | None = None,
        poll: PollPolicy = PollPolicy(),
        spool_dir: Path | None = None,
        max_rows: int = MAX_ROWS,
    ) -> None:
        if not 0 < max_rows <= MAX_ROWS:
            raise ValueError(f"a Bulk Write file holds 1 to {MAX_ROWS} rows, not {max_rows}")
        self._client = client
        self._api_base = api_base.rstrip("/")
        self._upload_url = (upload_url or upload_base(api_base)).rstrip("/") + "/crm/v8/upload"
        self._poll = poll
        self._spool_dir = spool_dir
        self._max_rows = max_rows
        self._zgid: str | None = None

    async def write(
        self,
        module: str,
        records: Iterable[Mapping[str, Any]],
        *,
        find_by: str,
        columns: Sequence[str] | None = None,
        lookups: Iterable[str] = (),
        operation: str = "upsert",
    ) -> AsyncIterator[BulkFileResult]:
        """Write `records` in files of at most 25,000 rows; one result per file, in order.

        `columns` are the fields written (default: the first record's keys), `find_by`
        first; a record with a field outside them is a ValueError (the caller's mistake).
        `lookups` name the lookup fields (a field whose value is a dict is one too).
        Raises ZohoRequestError when a request or a job fails as a whole.
        """
        iterator = iter(records)
        first = next(iterator, None)
        if first is None:
            return
        names = [coql.name(find_by), *(c for c in (columns or list(first)) if c != find_by)]
        lookup_set = set(lookups) | {n for n in names if isinstance(first.get(n), Mapping)}
        pending: Iterator[Mapping[str, Any]] = _chain(first, iterator)
        while True:
            with self._sheet(names) as sheet:
                for record in pending:
                    lookup_set |= self._add(sheet, names, record)
                    if len(sheet.keys) >= self._max_rows or sheet.size >= MAX_CSV_BYTES:
                        break
                if not sheet.keys:
                    return
                sheet.text.close()
                sheet.archive.close()
                yield await self.write_file(module, sheet, names, lookup_set, find_by, operation)

    @staticmethod
    def _add(sheet: _Sheet, names: Sequence[str], record: Mapping[str, Any]) -> set[str]:
        extra = set(record) - set(names)
        if extra:
            raise ValueError(f"fields outside the file's columns: {sorted(extra)}")
        row = [cell(record.get(n)) for n in names]
        sheet.writer.writerow(row)
        sheet.keys.append(row[0])
        sheet.size += sum(len(c) for c in row) + len(row)
        return {n for n in names if isinstance(record.get(n), Mapping)}

    @contextlib.contextmanager
    def _sheet(self, names: Sequence[str]) -> Iterator[_Sheet]:
        with tempfile.TemporaryFile(dir=self._spool_dir) as handle:
            archive = zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED)
            raw = archive.open("records.csv", "w", force_zip64=True)
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(names)
            try:
                yield _Sheet(handle, archive, text, writer)
            finally:
                if not text.closed:
                    text.close()
                archive.close()

    async def write_file(
        self,
        module: str,
        sheet: _Sheet,
        names: Sequence[str],
        lookups: set[str],
        find_by: str,
        operation: str,
    ) -> BulkFileResult:
        """Upload one finished sheet, run its job, read its result."""
        sheet.handle.seek(0, io.SEEK_END)
        if sheet.handle.tell() > MAX_ZIP_BYTES:
            raise ValueError("a Bulk Write zip above 25 MB")  # MAX_CSV_BYTES prevents it
        sheet.handle.seek(0)
        file_id = await self._upload(sheet.handle)
        job_id = await self._create_job(module, file_id, names, lookups, find_by, operation)
        return await self.collect(module, job_id, sheet.keys, lookups)

    async def submit(
        self,
        module: str,
        records: Iterable[Mapping[str, Any]],
        *,
        find_by: str,
        columns: Sequence[str],
        lookups: Iterable[str] = (),
    ) -> Submitted:
        """Upload one file of `records` (1 to `max_rows`, read once, as they come: they
        may come from disk) with these `columns`, and create its upsert job.

        The first half of :meth:`write` for a caller that persists the job id before it
        waits (a run that may be stopped while Zoho works: :meth:`collect` later)."""
        names = [coql.name(find_by), *(c for c in columns if c != find_by)]
        lookup_set = set(lookups) & set(names)
        with self._sheet(names) as sheet:
            for record in records:
                lookup_set |= self._add(sheet, names, record)
                if len(sheet.keys) > self._max_rows or sheet.size >= MAX_CSV_BYTES:
                    raise ValueError(f"a Bulk Write file above {self._max_rows} rows or 24 MB")
            if not sheet.keys:
                raise ValueError("a Bulk Write file without records")
            sheet.text.close()
            sheet.archive.close()
            sheet.handle.seek(0)
            file_id = await self._upload(sheet.handle)
            job_id = await self._create_job(module, file_id, names, lookup_set, find_by, "upsert")
        return Submitted(job_id, sorted(lookup_set))

    async def collect(
        self,
        module: str,
        job_id: str,
        keys: Sequence[str],
        lookups: Iterable[str],
        *,
        stop: Callable[[], bool] | None = None,
        resumed: bool = False,
    ) -> BulkFileResult:
        """Wait for job `job_id` and read its result: one result per key, in order.

        `stop`, asked before each wait between polls: True raises :class:`JobPending` (the
        job goes on in Zoho; collect it later). `resumed`: a job submitted earlier (a
        previous run), polled at once."""
        details, polls = await self._wait(job_id, stop=stop, resumed=resumed)
        if details.get("status") != "COMPLETED":
            raise ZohoRequestError(
                f"Zoho Bulk Write job {job_id} for {module} ended {details.get('status')}",
                endpoint="bulk_status",
                code="BULK_JOB_FAILED",
            )
        rows = await self._result_rows(details)
        results = _match(keys, rows, set(lookups))
        return BulkFileResult(job_id, results, _counts(details), polls)

    # -- the calls --------------------------------------------------------------------------

    async def zgid(self) -> str:
        """The org's `zgid` (`X-CRM-ORG` of an upload), read once."""
        if self._zgid is None:
            response = await self._client._call("org", "GET", "/crm/v8/org")
            payload = _json(response)
            orgs = payload.get("org") if isinstance(payload, dict) else None
            if not response.is_success or not isinstance(orgs, list) or not orgs:
                raise _request_error("org", response)
            zgid = orgs[0].get("zgid") if isinstance(orgs[0], dict) else None
            if zgid is None:
                raise ZohoRequestError("Zoho org: no zgid", endpoint="org", code="NO_ZGID")
            self._zgid = str(zgid)
        return self._zgid

    async def _upload(self, handle: IO[bytes]) -> str:
        headers = {"feature": "bulk-write", "X-CRM-ORG": await self.zgid()}
        response = await self._client._call(
            "upload",
            "POST",
            self._upload_url,
            headers=headers,
            files={"file": ("records.zip", handle, "application/zip")},
        )
        payload = _json(response)
        details = payload.get("details") if isinstance(payload, dict) else None
        if response.is_success and isinstance(details, dict) and details.get("file_id"):
            return str(details["file_id"])
        raise _request_error("upload", response)

    async def _create_job(
        self,
        module: str,
        file_id: str,
        names: Sequence[str],
        lookups: set[str],
        find_by: str,
        operation: str,
    ) -> str:
        mappings: list[dict[str, Any]] = []
        for index, name in enumerate(names):
            mapping: dict[str, Any] = {"api_name": name, "index": index}
            if name in lookups:
                mapping["find_by"] = "id"
            mappings.append(mapping)
        body = {
            "operation": operation,
            "ignore_empty": False,
            "resource": [
                {
                    "type": "data",
                    "module": {"api_name": coql.name(module)},
                    "file_id": file_id,
                    "find_by": find_by,
                    "field_mappings": mappings,
                }
            ],
        }
        response = await self._client._call(
            "bulk_write", "POST", "/crm/bulk/v8/write", json=body, credits=JOB_CREDITS
        )
        payload = _json(response)
        details = payload.get("details") if isinstance(payload, dict) else None
        if response.status_code in (200, 201) and isinstance(details, dict) and details.get("id"):
            return str(details["id"])
        raise _request_error("bulk_write", response)

    async def _status(self, job_id: str) -> dict[str, Any]:
        response = await self._client._call("bulk_status", "GET", f"/crm/bulk/v8/write/{job_id}")
        payload = _json(response)
        if response.is_success and isinstance(payload, dict):
            if isinstance(payload.get("data"), list) and payload["data"]:  # a wrapped answer
                payload = payload["data"][0]
            if isinstance(payload, dict):
                return payload
        raise _request_error("bulk_status", response)

    async def _wait(
        self, job_id: str, *, stop: Callable[[], bool] | None = None, resumed: bool = False
    ) -> tuple[dict[str, Any], int]:
        policy = self._poll
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.timeout
        if not resumed:  # no job is done at once; a poll costs a credit
            if stop is not None and stop():
                raise JobPending(job_id)
            await asyncio.sleep(policy.wait_initial)
        for polls in itertools.count(1):
            details = await self._status(job_id)  # its 429/5xx are retried by the client
            status = str(details.get("status", "")).upper().replace("INPROGRESS", "IN PROGRESS")
            details["status"] = status
            if status in DONE:
                return details, polls
            wait = poll_wait(policy, polls, random.random())
            if loop.time() + wait > deadline:
                break
            if stop is not None and stop():
                raise JobPending(job_id)
            await asyncio.sleep(wait)
        raise ZohoRequestError(
            f"Zoho Bulk Write job {job_id} not done after {policy.timeout:g} s",
            endpoint="bulk_status",
            code="BULK_JOB_TIMEOUT",
        )

    def _download_target(self, url: str) -> str:
        parts = urlsplit(url)
        if not parts.scheme:
            return self._api_base + "/" + url.lstrip("/")
        host = parts.hostname or ""
        zoho = ".zoho." in f".{host}" or ".zohoapis." in f".{host}"
        if zoho or host == urlsplit(self._api_base).hostname:
            return url
        raise ZohoRequestError(
            "Zoho Bulk Write: the result is on a host that is not Zoho's; not downloaded",
            endpoint="bulk_download",
            code="UNEXPECTED_HOST",
        )

    async def _result_rows(self, details: Mapping[str, Any]) -> Iterator[dict[str, str]]:
        result = details.get("result")
        url = result.get("download_url") if isinstance(result, dict) else None
        if not isinstance(url, str) or not url:
            raise ZohoRequestError(
                "Zoho Bulk Write: a completed job without a download_url",
                endpoint="bulk_status",
                code="NO_RESULT",
            )
        response = await self._client._call("bulk_download", "GET", self._download_target(url))
        if not response.is_success:
            raise _request_error("bulk_download", response)
        return read_result_zip(response.content)


def read_result_zip(data: bytes) -> Iterator[dict[str, str]]:
    """The rows of a result zip's CSV, one dict per record, read lazily."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ZohoRequestError(
            "Zoho Bulk Write: the result is not a zip",
            endpoint="bulk_download",
            code="BAD_RESULT",
        ) from None
    names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
    if not names:
        raise ZohoRequestError(
            "Zoho Bulk Write: no CSV in the result zip",
            endpoint="bulk_download",
            code="BAD_RESULT",
        )

    def rows() -> Iterator[dict[str, str]]:
        with archive.open(names[0]) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            yield from csv.DictReader(text)

    return rows()


def _match(
    keys: Sequence[str], rows: Iterable[dict[str, str]], lookups: set[str]
) -> list[UpsertResult]:
    """One result per key, in input order: by position when Zoho's order is ours, else by
    key; a key without a row is `CANNOT_PROCESS`."""
    results: list[UpsertResult | None] = [None] * len(keys)
    by_key: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        by_key.setdefault(key.casefold(), []).append(i)
    key_column: str | None = None
    for position, row in enumerate(rows):
        if key_column is None:
            key_column = next(iter(row), "")
        key = (row.get(key_column) or "").casefold()
        if position < len(keys) and keys[position].casefold() == key and results[position] is None:
            index = position
        else:
            free = [i for i in by_key.get(key, []) if results[i] is None]
            if not free:
                continue  # a row for no record of ours
            index = free[0]
        results[index] = result_of(row, lookups)
    missing = UpsertResult(
        False,
        None,
        None,
        "CANNOT_PROCESS",
        "bulk write: not in the result",
        None,
        {"bulk_status": "missing"},
    )
    return [r if r is not None else missing for r in results]


def _counts(details: Mapping[str, Any]) -> dict[str, int]:
    resources = details.get("resource")
    file = resources[0].get("file") if isinstance(resources, list) and resources else None
    if not isinstance(file, dict):
        return {}
    return {
        k.removesuffix("_count"): int(v)
        for k, v in file.items()
        if k.endswith("_count") and isinstance(v, int)
    }


def _chain(
    first: Mapping[str, Any], rest: Iterator[Mapping[str, Any]]
) -> Iterator[Mapping[str, Any]]:
    yield first
    yield from rest


def credits_for(records: int, *, polls: int = 2) -> int:
    """Credits Bulk Write spends on `records` (upload, job, `polls` status calls, download
    per file), by the reference's table."""
    files = math.ceil(records / MAX_ROWS)
    return files * (1 + JOB_CREDITS + polls + 1)
