"""Zoho's Bulk Write API in the sandbox (reference `zoho-crm-api.md` §6): upload a zip,
create a job, poll it, download the result zip. Records land in the same in-memory CRM
(`CrmStore`) the upsert route writes, so parity checks see them.

Routes (registered by `gzsync.sandbox.zoho` ahead of its `/crm/v8/{module}` routes):

    GET  /crm/v8/org                                  the org, with its `zgid`
    POST /crm/v8/upload                               multipart `file` = a zip of one CSV
    POST /crm/bulk/v8/write                           create a job
    GET  /crm/bulk/v8/write/{job_id}                  job details (status, counts, result)
    GET  /v8/crm/org{zgid}/bulk-write/{job}/{job}.zip the result zip
    POST /__sandbox/bulk                              `polls_to_complete`, `fail_next`,
                                                      `download_url` ("relative"|"absolute")
    GET  /__sandbox/bulk                              jobs and files held, knobs

Decisions where the reference is silent or UNCONFIRMED:

- **Upload** needs `feature: bulk-write` and `X-CRM-ORG: <zgid>`; a missing or wrong one
  is 400 `MANDATORY_NOT_FOUND` / `INVALID_DATA` with `details.header`. The zip is checked
  at upload: not a zip, or not exactly one `.csv` in it, is 400 `INVALID_FILE_FORMAT`;
  over 25 MB is 413 `FILE_TOO_LARGE`; over 25,000 data rows or 200 columns is 400
  `INVALID_FILE_FORMAT` ("improper file") with `details.limit`. The first CSV row is the
  header. Upload answers 200 `FILE_UPLOAD_SUCCESS`.
- **Create job** answers 201 with `code: SUCCESS` (200 or 201 is unconfirmed; clients
  accept both). Rejections (400): `MANDATORY_NOT_FOUND` (no `find_by` for update/upsert;
  `find_by` not mapped; a lookup column without `find_by`), `INVALID_DATA` with
  `details.api_name: find_by` when `find_by` is neither `id` nor a unique field (e.g.
  Accounts' `Account_Name`, which is only the system duplicate check), `INVALID_FIELD` for
  an unknown or read-only column (mapped or, without `field_mappings`, in the header),
  `COLUMN_INDEX_NOT_FOUND`, `HEADER_LIMIT_EXCEEDED` (> 200 mappings),
  `MANDATORY_FIELDS_NOT_MAPPED` (Accounts `Account_Name`, Contacts `Last_Name`, for
  insert/upsert), `INVALID_FILE_ID`, `MODULE_NOT_AVAILABLE`. A file serves one job.
- **Progress** is driven by status polls, never by time, so tests are deterministic: a job
  is `ADDED` when created, `IN PROGRESS` on the polls before the `polls_to_complete`-th
  (default 2), and on that poll it is processed at once and `COMPLETED` (or `FAILED` when
  `fail_next` was set: then nothing is written and there is no result).
- **Processing**: rows in file order; CSV cells are text, converted by the field's type
  (integer, decimal; an unparseable number is `INVALID_DATA-<column>`). An empty cell
  clears the field unless `ignore_empty` is true. A lookup column resolves by `id`, by a
  unique field of the target module, or by its display field (`Account_Name`); an
  unresolved one is `RESOURCE_NOT_FOUND-<column>`. `upsert` matches only on `find_by`
  (then the module's other unique fields, as the upsert route does); `update` without a
  match is `RESOURCE_NOT_FOUND-<find_by>`; `insert` with a match is skipped as
  `DUPLICATE_DATA-<find_by>`. Record errors are the upsert route's own, so a bulk write
  and an upsert refuse the same records.
- **Result CSV** `{Module}-{file name}` holds the first three mapped columns, then `STATUS`
  (`added`/`updated`/`skipped`/`unprocessed`), `RECORD_ID`, `ERRORS` (`CODE-column`,
  several joined with `:`). `download_url` is relative (the v7 sample) unless the knob
  asks for an absolute URL on this host.
- **Credits**: upload 1, create job 500, status 1, download 1; a rejected request costs
  nothing, as elsewhere in the sandbox. Calls are counted as `upload`, `bulk_write`,
  `bulk_status`, `bulk_download`, `org`.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gzsync.sandbox.zoho_records import FIELDS, MODULES, SANDBOX_USER, CrmStore, FieldSpec

if TYPE_CHECKING:
    from gzsync.sandbox.zoho import Prepared, ZohoState

MAX_ZIP_BYTES = 25 * 1024 * 1024
MAX_ROWS = 25_000
MAX_COLUMNS = 200
CREATE_JOB_CREDITS = 500
ORG_ID = "20079381"
ZGID = "20079382"
_MANDATORY = {"Accounts": "Account_Name", "Contacts": "Last_Name"}
_DISPLAY_FIELD = {"Accounts": "Account_Name"}


def _error(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


def _reject(
    code: str, message: str, details: dict[str, Any] | None = None, status: int = 400
) -> Response:
    return JSONResponse(_error(code, message, details), status_code=status)


@dataclass(slots=True)
class Mapping:
    """One mapped column: the field, its CSV index, how a lookup finds its target."""

    api_name: str
    index: int
    find_by: str | None = None
    default: str | None = None


@dataclass(slots=True)
class BulkFile:
    name: str
    header: list[str]
    rows: list[list[str]]
    used: bool = False


@dataclass(slots=True)
class BulkJob:
    id: str
    module: str
    operation: str
    find_by: str
    ignore_empty: bool
    mappings: list[Mapping]
    file: BulkFile
    file_id: str
    fail: bool
    created: str
    status: str = "ADDED"
    polls: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    result: bytes | None = None


class BulkState:
    """Files uploaded, jobs created, and the knobs of their progress."""

    def __init__(self) -> None:
        self.files: dict[str, BulkFile] = {}
        self.jobs: dict[str, BulkJob] = {}
        self.polls_to_complete = 2
        self.fail_next = 0
        self.absolute_download_url = False
        self._ids = itertools.count(111111000001492610, 7)

    def new_id(self) -> str:
        return str(next(self._ids))

    def summary(self) -> dict[str, Any]:
        return {
            "files": len(self.files),
            "jobs": {j.id: {"status": j.status, **j.counts} for j in self.jobs.values()},
            "polls_to_complete": self.polls_to_complete,
            "fail_next": self.fail_next,
            "download_url": "absolute" if self.absolute_download_url else "relative",
        }


def _zoho(request: Request) -> ZohoState:
    state: ZohoState = request.app.state.zoho
    return state


def _now() -> str:
    return datetime.now(tz=UTC).replace(microsecond=0).isoformat()


# --- upload ------------------------------------------------------------------------------


def read_zip_csv(data: bytes) -> tuple[str, list[str], list[list[str]]] | Response:
    """The one CSV of an uploaded zip: name, header, rows; or the 400 to answer."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = [n for n in archive.namelist() if not n.endswith("/")]
    except zipfile.BadZipFile:
        return _reject("INVALID_FILE_FORMAT", "the file is not a zip file")
    if len(names) != 1 or not names[0].lower().endswith(".csv"):
        return _reject(
            "INVALID_FILE_FORMAT", "the zip must hold exactly one CSV file", {"files": len(names)}
        )
    with archive.open(names[0]) as raw:
        first = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="").readline()
    # Zoho detects the delimiter; API names hold none of them, so the header line tells
    delimiter = max(",;:|", key=first.count)
    with archive.open(names[0]) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        rows = csv.reader(text, delimiter=delimiter)
        header = next(rows, None)
        if header is None:
            return _reject("INVALID_FILE_FORMAT", "the CSV file is empty")
        if len(header) > MAX_COLUMNS:
            return _reject(
                "INVALID_FILE_FORMAT", "improper file: too many columns", {"limit": MAX_COLUMNS}
            )
        body: list[list[str]] = []
        for row in rows:
            if len(body) >= MAX_ROWS:
                return _reject(
                    "INVALID_FILE_FORMAT", "improper file: too many records", {"limit": MAX_ROWS}
                )
            body.append(row)
    return names[0].rsplit("/", 1)[-1], header, body


def _multipart_file(request: Request, body: bytes) -> bytes | None:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return None
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    for part in message.iter_parts() if message.is_multipart() else ():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None


async def upload(request: Request) -> Response:
    """`POST /crm/v8/upload`."""
    from gzsync.sandbox import zoho as api

    return await api._serve_api(request, ["upload"], _prepare_upload)


async def _prepare_upload(request: Request, state: ZohoState) -> Prepared | Response:
    from gzsync.sandbox.zoho import Prepared

    feature = request.headers.get("feature")
    if feature is None:
        return _reject("MANDATORY_NOT_FOUND", "required header not found", {"header": "feature"})
    if feature != "bulk-write":
        return _reject("INVALID_DATA", "invalid data", {"header": "feature"})
    org = request.headers.get("x-crm-org")
    if org is None:
        return _reject("MANDATORY_NOT_FOUND", "required header not found", {"header": "X-CRM-ORG"})
    if org != ZGID:
        return _reject("INVALID_DATA", "invalid data", {"header": "X-CRM-ORG"})
    body = await request.body()
    data = _multipart_file(request, body)
    if data is None:
        return _reject("MANDATORY_NOT_FOUND", "required field not found", {"param": "file"})
    if len(data) > MAX_ZIP_BYTES:
        return _reject(
            "FILE_TOO_LARGE", "the file is too large", {"limit": MAX_ZIP_BYTES}, status=413
        )
    parsed = read_zip_csv(data)
    if isinstance(parsed, Response):
        return parsed
    name, header, rows = parsed

    def respond() -> Response:
        file_id = state.bulk.new_id()
        state.bulk.files[file_id] = BulkFile(name, header, rows)
        details = {"file_id": file_id, "created_time": _now()}
        body = {"status": "success", "code": "FILE_UPLOAD_SUCCESS", "message": "file uploaded."}
        return JSONResponse({**body, "details": details})

    return Prepared(1, 0, respond)


# --- create job --------------------------------------------------------------------------


def _specs(module: str) -> dict[str, FieldSpec]:
    return {s.api_name: s for s in FIELDS[module]}


def _unique(module: str) -> set[str]:
    return {s.api_name for s in FIELDS[module] if s.unique}


def validate_job(body: Any, files: dict[str, BulkFile]) -> BulkJob | Response:
    """A job from the create-job body, or the 400 Zoho answers (without an id yet)."""
    if not isinstance(body, dict):
        return _reject("INVALID_DATA", "body is not a valid JSON")
    operation = body.get("operation")
    if operation not in ("insert", "update", "upsert"):
        return _reject("INVALID_DATA", "invalid data", {"api_name": "operation"})
    resources = body.get("resource")
    if not isinstance(resources, list) or len(resources) != 1 or not isinstance(resources[0], dict):
        return _reject("MANDATORY_NOT_FOUND", "required field not found", {"api_name": "resource"})
    res = resources[0]
    module_obj = res.get("module")
    module = module_obj.get("api_name") if isinstance(module_obj, dict) else None
    if module not in MODULES:
        return _reject("MODULE_NOT_AVAILABLE", "the module is not available", {"module": module})
    file = files.get(str(res.get("file_id")))
    if file is None or file.used:
        return _reject("INVALID_FILE_ID", "the file id is invalid", {"file_id": res.get("file_id")})
    specs = _specs(module)
    mappings = _mappings(res.get("field_mappings"), file.header)
    if isinstance(mappings, Response):
        return mappings
    if len(mappings) > MAX_COLUMNS:
        return _reject(
            "HEADER_LIMIT_EXCEEDED", "more than 200 fields mapped", {"limit": MAX_COLUMNS}
        )
    for m in mappings:
        if m.api_name == "id":
            continue
        spec = specs.get(m.api_name)
        if spec is None or spec.read_only:
            return _reject("INVALID_FIELD", "invalid field", {"api_name": m.api_name})
        if m.index >= len(file.header):
            return _reject("COLUMN_INDEX_NOT_FOUND", "column index not found", {"index": m.index})
        if spec.lookup_module is not None:
            target = spec.lookup_module
            allowed = {"id", *_unique(target), *filter(None, [_DISPLAY_FIELD.get(target)])}
            if m.find_by is None:
                return _reject(
                    "MANDATORY_NOT_FOUND",
                    "required key find_by is not available",
                    {"api_name": m.api_name},
                )
            if m.find_by not in allowed:
                return _reject(
                    "INVALID_DATA", "invalid data", {"api_name": m.api_name, "find_by": m.find_by}
                )
    find_by = res.get("find_by")
    mapped = {m.api_name for m in mappings}
    if find_by is None:
        if operation != "insert":
            return _reject("MANDATORY_NOT_FOUND", "Required key find_by is not available")
        find_by = ""
    elif find_by != "id" and find_by not in _unique(module):
        return _reject(
            "INVALID_DATA",
            "the find_by field is not a unique field",
            {"api_name": "find_by", "value": find_by},
        )
    elif find_by != "id" and find_by not in mapped:
        return _reject(
            "MANDATORY_NOT_FOUND", "the find_by field is not mapped", {"api_name": find_by}
        )
    if find_by == "id" and not any(m.api_name == "id" for m in mappings):
        id_index = file.header.index("id") if "id" in file.header else None
        if id_index is None:
            return _reject(
                "MANDATORY_NOT_FOUND", "the find_by field is not mapped", {"api_name": "id"}
            )
        mappings.insert(0, Mapping("id", id_index))
    if operation != "update" and _MANDATORY[module] not in mapped:
        return _reject(
            "MANDATORY_FIELDS_NOT_MAPPED",
            "mandatory fields not mapped",
            {"api_name": _MANDATORY[module]},
        )
    return BulkJob(
        id="",
        module=module,
        operation=operation,
        find_by=find_by,
        ignore_empty=body.get("ignore_empty") is True,
        mappings=mappings,
        file=file,
        file_id=str(res.get("file_id")),
        fail=False,
        created=_now(),
    )


def _mappings(raw: Any, header: Sequence[str]) -> list[Mapping] | Response:
    if raw is None:  # the header row names the fields; `Field.find_by` names a lookup's key
        out = []
        for i, name in enumerate(header):
            api_name, _, find_by = name.strip().partition(".")
            out.append(Mapping(api_name, i, find_by or None))
        return [m for m in out if m.api_name != "id"] + [m for m in out if m.api_name == "id"]
    if not isinstance(raw, list):
        return _reject("INVALID_DATA", "invalid data", {"api_name": "field_mappings"})
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("api_name"), str):
            return _reject(
                "MANDATORY_NOT_FOUND", "required field not found", {"api_name": "api_name"}
            )
        index = item.get("index")
        default = item.get("default_value")
        value = default.get("value") if isinstance(default, dict) else None
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            if value is None:
                return _reject(
                    "COLUMN_INDEX_NOT_FOUND",
                    "column index not found",
                    {"api_name": item["api_name"]},
                )
            index = -1
        lookup_key = item.get("find_by")
        out.append(
            Mapping(
                item["api_name"],
                index,
                lookup_key if isinstance(lookup_key, str) else None,
                None if value is None else str(value),
            )
        )
    return out


async def create_job(request: Request) -> Response:
    """`POST /crm/bulk/v8/write`."""
    from gzsync.sandbox import zoho as api

    return await api._serve_api(request, ["bulk_write"], _prepare_job)


async def _prepare_job(request: Request, state: ZohoState) -> Prepared | Response:
    from gzsync.sandbox.zoho import Prepared

    try:
        body = json.loads(await request.body())
    except ValueError:
        return _reject("INVALID_DATA", "body is not a valid JSON")
    job = validate_job(body, state.bulk.files)
    if isinstance(job, Response):
        return job

    def respond() -> Response:
        job.id = state.bulk.new_id()
        job.file.used = True
        state.bulk.files.pop(job.file_id, None)
        if state.bulk.fail_next > 0:
            state.bulk.fail_next -= 1
            job.fail = True
        state.bulk.jobs[job.id] = job
        details = {"id": job.id, "created_by": dict(SANDBOX_USER)}
        return JSONResponse(
            {"status": "success", "code": "SUCCESS", "message": "success", "details": details},
            status_code=201,
        )

    return Prepared(CREATE_JOB_CREDITS, 0, respond)


# --- status, processing, result --------------------------------------------------------


async def job_status(request: Request) -> Response:
    """`GET /crm/bulk/v8/write/{job_id}`."""
    from gzsync.sandbox import zoho as api

    return await api._serve_api(request, ["bulk_status"], _prepare_status)


async def _prepare_status(request: Request, state: ZohoState) -> Prepared | Response:
    from gzsync.sandbox.zoho import Prepared

    job = state.bulk.jobs.get(request.path_params["job_id"])
    if job is None:
        return _reject("RESOURCE_NOT_FOUND", "the job id is invalid", status=404)

    def respond() -> Response:
        if job.status in ("ADDED", "IN PROGRESS"):
            job.polls += 1
            if job.polls >= state.bulk.polls_to_complete:
                _finish(job, state.crm)
            else:
                job.status = "IN PROGRESS"
        return JSONResponse(_details(job, request, state.bulk.absolute_download_url))

    return Prepared(1, 0, respond)


def _details(job: BulkJob, request: Request, absolute: bool) -> dict[str, Any]:
    file: dict[str, Any] = {"status": job.status, "name": job.file.name}
    if job.status == "COMPLETED":
        file.update(
            added_count=job.counts.get("added", 0),
            skipped_count=job.counts.get("skipped", 0),
            updated_count=job.counts.get("updated", 0),
            total_count=job.counts.get("total", 0),
        )
    resource = {
        "status": job.status,
        "type": "data",
        "code": "SUCCESS" if job.status != "FAILED" else "FAILED",
        "module": {"api_name": job.module, "id": "5725767000000002179"},
        "field_mappings": [
            {
                "api_name": m.api_name,
                "index": m.index,
                "format": None,
                "find_by": m.find_by,
                "default_value": None if m.default is None else {"value": m.default},
            }
            for m in job.mappings
        ],
        "file": file,
    }
    out: dict[str, Any] = {
        "status": job.status,
        "character_encoding": "UTF-8",
        "resource": [resource],
        "id": job.id,
        "created_by": dict(SANDBOX_USER),
        "operation": job.operation,
        "created_time": job.created,
    }
    if job.result is not None:
        path = f"/v8/crm/org{ZGID}/bulk-write/{job.id}/{job.id}.zip"
        base = f"{request.url.scheme}://{request.url.netloc}" if absolute else ""
        out["result"] = {"download_url": base + path}
    return out


def _finish(job: BulkJob, crm: CrmStore) -> None:
    if job.fail:
        job.status = "FAILED"
        return
    results = list(process(job, crm))
    job.counts = {"added": 0, "updated": 0, "skipped": 0}
    for status, _, _ in results:
        job.counts[status] = job.counts.get(status, 0) + 1
    job.result = result_zip(job, results)
    job.counts["total"] = len(results)
    job.status = "COMPLETED"
    job.file.rows = []  # the rows live on only as the result


def _cell(row: Sequence[str], m: Mapping) -> str:
    value = row[m.index] if 0 <= m.index < len(row) else ""
    return m.default if value == "" and m.default is not None else value


def _convert(spec: FieldSpec, text: str, m: Mapping, crm: CrmStore) -> tuple[bool, Any]:
    """(ok, value) of one CSV cell for the upsert validator; (False, code) when refused."""
    if spec.is_number:
        try:
            number = float(text.strip())
        except ValueError:
            return False, "INVALID_DATA"
        if spec.data_type == "integer":
            return (True, int(number)) if number.is_integer() else (False, "INVALID_DATA")
        return True, number
    if spec.lookup_module is not None:
        target = crm.table(spec.lookup_module)
        if m.find_by == "id":
            rid = text.strip() if text.strip() in target.records else None
        else:
            rid = target.find(str(m.find_by), text)
        return (True, {"id": rid}) if rid is not None else (False, "RESOURCE_NOT_FOUND")
    return True, text


def process(job: BulkJob, crm: CrmStore) -> Iterator[tuple[str, str, str]]:
    """(STATUS, RECORD_ID, ERRORS) per row, in file order, writing as Zoho would."""
    specs = _specs(job.module)
    table = crm.table(job.module)
    for row in job.file.rows:
        values: dict[str, Any] = {}
        errors: list[str] = []
        record_id = ""
        for m in job.mappings:
            text = _cell(row, m)
            if m.api_name == "id":
                record_id = text.strip()
                continue
            if text == "":
                if not job.ignore_empty:
                    values[m.api_name] = None
                continue
            ok, value = _convert(specs[m.api_name], text, m, crm)
            if ok:
                values[m.api_name] = value
            else:
                errors.append(f"{value}-{m.api_name}")
        if errors:
            yield "skipped", "", ":".join(errors)
            continue
        if job.find_by == "id":
            target = record_id if record_id in table.records else None
        elif job.find_by:
            key = values.get(job.find_by)
            target = table.find(job.find_by, key) if key not in (None, "") else None
        else:
            target = None
        if job.operation == "update" and target is None:
            yield "skipped", "", f"RESOURCE_NOT_FOUND-{job.find_by}"
            continue
        if job.operation == "insert" and target is not None:
            yield "skipped", "", f"DUPLICATE_DATA-{job.find_by}"
            continue
        if target is not None and job.find_by == "id":
            outcome = crm.update(job.module, target, values)
        elif job.operation == "insert" or job.find_by == "id":
            outcome = crm.insert(job.module, [values])
        else:
            outcome = crm.upsert(job.module, [values], [job.find_by])
        result = outcome.results[0]
        if result["status"] == "success":
            added = result.get("action", "insert") == "insert" and target is None
            yield ("added" if added else "updated"), str(result["details"]["id"]), ""
        else:
            column = result["details"].get("api_name") or job.find_by
            yield "skipped", "", f"{result['code']}-{column}"


def result_zip(job: BulkJob, results: Sequence[tuple[str, str, str]]) -> bytes:
    """The result zip: one CSV, the first three mapped columns then STATUS, RECORD_ID, ERRORS."""
    shown = [m for m in job.mappings if m.api_name != "id" or job.find_by == "id"][:3]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(
        [job.file.header[m.index] if m.index >= 0 else m.api_name for m in shown]
        + ["STATUS", "RECORD_ID", "ERRORS"]
    )
    for row, (status, record_id, errors) in zip(job.file.rows, results, strict=True):
        writer.writerow([_cell(row, m) for m in shown] + [status, record_id, errors])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{job.module}-{job.file.name}", text.getvalue())
    return out.getvalue()


async def download(request: Request) -> Response:
    """`GET /v8/crm/org{zgid}/bulk-write/{job}/{job}.zip`."""
    from gzsync.sandbox import zoho as api

    return await api._serve_api(request, ["bulk_download"], _prepare_download)


async def _prepare_download(request: Request, state: ZohoState) -> Prepared | Response:
    from gzsync.sandbox.zoho import Prepared

    job = state.bulk.jobs.get(request.path_params["job_id"])
    if (
        job is None
        or job.result is None
        or request.path_params["org"] != f"org{ZGID}"
        or request.path_params["name"] != f"{job.id}.zip"
    ):
        return _reject("RESOURCE_NOT_FOUND", "the requested resource is not found", status=404)
    result = job.result
    return Prepared(1, 0, lambda: Response(result, media_type="application/zip"))


async def org(request: Request) -> Response:
    """`GET /crm/v8/org`."""
    from gzsync.sandbox import zoho as api

    async def prepare(request: Request, state: ZohoState) -> Prepared | Response:
        body = {
            "org": [
                {
                    "id": ORG_ID,
                    "zgid": ZGID,
                    "company_name": "Sandbox Org",
                    "domain_name": f"org{ZGID}",
                }
            ]
        }
        return api.Prepared(1, 0, lambda: JSONResponse(body))

    return await api._serve_api(request, ["org"], prepare)


async def control_bulk(request: Request) -> Response:
    """`GET|POST /__sandbox/bulk`: the knobs of job progress, and what is held."""
    bulk = _zoho(request).bulk
    if request.method == "POST":
        try:
            body = await request.json()
            if body.get("polls_to_complete") is not None:
                bulk.polls_to_complete = max(1, int(body["polls_to_complete"]))
            if body.get("fail_next") is not None:
                bulk.fail_next = max(0, int(body["fail_next"]))
            if body.get("download_url") is not None:
                if body["download_url"] not in ("relative", "absolute"):
                    raise ValueError("download_url is relative or absolute")
                bulk.absolute_download_url = body["download_url"] == "absolute"
        except (ValueError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse(bulk.summary())


#: Call names this module adds to the sandbox's counters.
CALL_NAMES = ("org", "upload", "bulk_write", "bulk_status", "bulk_download")


def bulk_routes() -> list[Route]:
    """The routes above; they go before `/crm/v8/{module}` so `org` and `upload` match."""
    return [
        Route("/crm/v8/org", org, methods=["GET"]),
        Route("/crm/v8/upload", upload, methods=["POST"]),
        Route("/crm/bulk/v8/write", create_job, methods=["POST"]),
        Route("/crm/bulk/v8/write/{job_id}", job_status, methods=["GET"]),
        Route("/v8/crm/{org}/bulk-write/{job_id}/{name}", download, methods=["GET"]),
        Route("/__sandbox/bulk", control_bulk, methods=["GET", "POST"]),
    ]
