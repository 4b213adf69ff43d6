"""`gzsync catalyst init`: write a ready Catalyst Job function folder.

The folder holds what the Catalyst CLI deploys for a Python function: `catalyst-config.json`
(type `job`, a Python stack, `main.py`), `main.py` (our handler), `requirements.txt` and a
README with the console steps. It never holds a secret: `env_variables` stays empty and the
README says which variables to set in the console.

`requirements.txt` pins gzsync's own runtime dependencies exactly as the installed gzsync
declares them (its `catalyst` extra included), and installs gzsync itself from a wheel of
the running gzsync written into the folder (:mod:`gzsync.catalyst.wheel`), referenced by
file with its sha256: `file:./gzsync-<version>-py3-none-any.whl#sha256=<hex>`. So a deploy
never asks a package index for the name `gzsync` (unclaimed there: asking would fail, or
install a stranger's package), and pip refuses a wheel that changed since.

Why this spelling: pip checks a `#sha256=` URL fragment without switching to hash-checking
mode for the whole file (a `--hash` option would make every dependency need a hash too, and
their wheels' hashes depend on the platform Catalyst installs them on). A `file:./` URL is
resolved from the directory pip runs in: the function folder, where the Catalyst CLI
installs from; the README says so for installs by hand. A deployment that installs gzsync
from elsewhere (a private index, a Git URL) passes that line as `gzsync_requirement`, and
then no wheel is written.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path
from string import Template

from gzsync.catalyst.wheel import build_wheel, sha256_of, wheel_name

#: Python stacks that can run gzsync (Python >= 3.11) with zcatalyst-sdk 1.4.0 (>= 3.10).
SUPPORTED_STACKS: tuple[str, ...] = ("python_3_11", "python_3_12", "python_3_13")
CATALYST_SDK_PIN = "zcatalyst-sdk==1.4.0"
FUNCTION_MEMORY_MB = 256
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,49}$")

_MAIN = '''"""Catalyst Job function entry point (written by `gzsync catalyst init`)."""

from gzsync.catalyst.handler import handler

__all__ = ["handler"]
'''


def write_function_folder(
    target: Path,
    *,
    function_name: str = "gzsync_job",
    stack: str = "python_3_11",
    force: bool = False,
    gzsync_requirement: str | None = None,
) -> list[Path]:
    """Write the function folder at `target`; return the files written.

    Raises FileExistsError (naming the files) when any would be overwritten and `force` is
    False, before writing anything; ValueError for a bad function name or stack.
    """
    if not _NAME_RE.match(function_name):
        raise ValueError(
            f"function name {function_name!r}: letters, digits and _, starting with a letter"
        )
    if stack not in SUPPORTED_STACKS:
        raise ValueError(f"stack {stack!r}: gzsync runs on {', '.join(SUPPORTED_STACKS)}")
    files = {
        target / "catalyst-config.json": _config(function_name, stack),
        target / "main.py": _MAIN,
        target / "requirements.txt": "",
        target / "README.md": _readme(function_name, stack),
    }
    wheel = None if gzsync_requirement else target / wheel_name()
    existing = [path for path in [*files, wheel] if path is not None and path.exists()]
    if existing and not force:
        names = ", ".join(str(path) for path in existing)
        raise FileExistsError(f"would overwrite {names} (use force to replace)")
    target.mkdir(parents=True, exist_ok=True)
    if wheel is not None:
        wheel = build_wheel(target)
        gzsync_requirement = wheel_requirement(wheel)
    files[target / "requirements.txt"] = requirements_txt(gzsync_requirement)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return [*files, *([wheel] if wheel is not None else [])]


def wheel_requirement(wheel: Path) -> str:
    """The requirements.txt line for a wheel in the function folder, with its sha256."""
    return f"file:./{wheel.name}#sha256={sha256_of(wheel)}"


def requirements_txt(gzsync_requirement: str | None = None) -> str:
    """gzsync's pinned runtime dependencies, the Catalyst SDK, and gzsync itself."""
    lines = runtime_pins()
    lines.append(gzsync_requirement or f"gzsync=={importlib.metadata.version('gzsync')}")
    header = (
        "# Written by `gzsync catalyst init`: the pins of the gzsync that wrote it.\n"
        "# gzsync itself comes from the wheel in this folder (checked against its sha256);\n"
        "# pip resolves file:./ from the directory it runs in: run it from this folder.\n"
    )
    return header + "\n".join(lines) + "\n"


def runtime_pins() -> list[str]:
    """The installed gzsync's runtime requirements plus its `catalyst` extra, sorted,
    without the `server` extra's packages (starlette, uvicorn: the sandboxes' and the
    console's server stack, which a Job never runs)."""
    pins: set[str] = set()
    server: set[str] = set()
    for requirement in importlib.metadata.requires("gzsync") or []:
        spec, _, marker = requirement.partition(";")
        marker = marker.strip().replace('"', "'")
        if not marker or marker == "extra == 'catalyst'":
            pins.add(spec.strip())
        elif marker == "extra == 'server'":
            server.add(spec.strip())
    pins -= server
    pins.add(CATALYST_SDK_PIN)
    return sorted(pins, key=str.lower)


def _config(function_name: str, stack: str) -> str:
    config = {
        "deployment": {
            "name": function_name,
            "stack": stack,
            "type": "job",
            # Secrets go in the console, never here: this file is committed and deployed.
            "env_variables": {},
        },
        "execution": {"main": "main.py"},
    }
    return json.dumps(config, indent=2) + "\n"


def _readme(function_name: str, stack: str) -> str:
    return _README.substitute(function_name=function_name, stack=stack, memory=FUNCTION_MEMORY_MB)


_README = Template("""# $function_name: gzsync as a Zoho Catalyst Job function

This folder was written by `gzsync catalyst init`. It runs one Galaxy ERP -> Zoho CRM sync
per job: `main.py` exposes `gzsync.catalyst.handler.handler(job_request, context)`.

`gzsync-*.whl` is the gzsync that wrote this folder; `requirements.txt` installs it by file
with its sha256, so no package index is asked for gzsync. pip resolves `file:./` from the
directory it runs in: the Catalyst CLI installs from this folder; to install by hand,
`cd` here first (`pip install -r requirements.txt`). Re-run `gzsync catalyst init --force`
after upgrading gzsync to refresh the wheel.

## Deploy

1. Put this folder under your Catalyst project's `functions/` directory and list it in
   `catalyst.json` (or create it with `catalyst functions:add --type job --stack $stack`
   and copy these files over it).
2. `catalyst deploy --only functions:$function_name`.
3. Memory: $memory MB, set with `catalyst functions:config --memory $memory $function_name`;
   a run streams its records and stays well inside it.

## State: a NoSQL table and the Cache

A Catalyst function's disk does not persist between runs, so gzsync keeps its state in
Catalyst (`STATE_BACKEND=catalyst`, the default inside this function):

- Cloud Scale > NoSQL: create the table `gzsync_state` (or the name in
  `CATALYST_NOSQL_TABLE`) with partition key `pk` and sort key `sk`, both String.
- Cloud Scale > Cache: the default segment is used; set `CATALYST_CACHE_SEGMENT` to a
  segment id to use another.

## Environment variables (set them in the console, not in catalyst-config.json)

Function > Configuration > Environment Variables. `catalyst deploy` may replace console values
with the (empty) `env_variables` of catalyst-config.json: check them after each deploy.

| variable | value |
| --- | --- |
| `STATE_BACKEND` | `catalyst` |
| `BASE_URL`, `AUTH_USERNAME`, `AUTH_PASSWORD` | Galaxy ERP API and its user |
| `GALAXY_CA_BUNDLE` | only for a Galaxy certificate from a private CA |
| `ZOHO_DC` | your Zoho data centre (`eu`, `us`, `in`, ...) |
| `ZOHO_CONNECTION` | the link name of a Catalyst Connection to Zoho CRM, **or** |
| `ZOHO_CLIENT_ID`, `ZOHO_CLIENT_SECRET`, `ZOHO_REFRESH_TOKEN` | a Zoho self client |
| `CATALYST_NOSQL_TABLE`, `CATALYST_CACHE_SEGMENT` | optional, see above |

## Run it every two hours

1. Job Scheduling > Job Pools: create a **Function** job pool whose memory is above the
   function's $memory MB (e.g. 512 MB).
2. Job Scheduling > Cron: create a pre-defined cron (pre-defined crons are migrated to
   Production on deploy; crons created from code are not) with a job that targets the
   function `$function_name` in that pool, and a schedule of every 2 hours: either
   **Periodic**, repeat every 2 hours 0 minutes, or **Cron expression** `0 */2 * * *`.
3. Optional job parameters (strings) override the configuration for that job:
   `since_rev` (re-read from this Galaxy revision), `limit` (at most N records, the lowest
   revisions), `entities` (`accounts`, `contacts` or `accounts,contacts`), `dry_run`
   (`true`: read and map, write nothing).

A job has 15 minutes. gzsync stops starting new batches a minute before the end, records
where it stopped and reports `partial`: the next job carries on. A Galaxy read still going
then is cancelled too (`stopped at the time budget while reading ...`): nothing of it is
written and the next job reads it again. The job ends with success
for `success`, `incomplete` (some records wait in the ledger and are retried next time) and
`partial`; with failure for an aborted run, a configuration error or a run lock held by
another run. Each job logs its JSON report (Catalyst > Logs).
""")
