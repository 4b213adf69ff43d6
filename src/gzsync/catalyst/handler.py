"""The Zoho Catalyst Job function: `handler(job_request, context)` runs one sync.

The Catalyst Python runtime (zcatalyst-runtime 2.0.0, `flavours/job.py`) imports the
function's `main.py` and calls `handler(job_request, context)` once per job. What it means
for us:

- **Job parameters override configuration**: `since_rev`, `limit`, `entities`
  (`accounts,contacts`) and `dry_run` (`true`/`false`), all strings. A malformed one fails
  the job before any network call.
- **State lives in Catalyst** (the function's disk does not persist): `STATE_BACKEND`
  defaults to `catalyst` here unless the environment sets it.
- **The 15-minute limit**: the run gets `context.get_remaining_execution_time_ms` as its
  time budget and stops starting batches 60 s before the end (status `partial`; the next
  invocation carries on). The same budget bounds the Galaxy reads: one still going then is
  cancelled and abandoned (:mod:`gzsync.sync.read_budget`), so a slow Galaxy cannot run the
  function into the platform's kill.
- **Zoho credentials** may come from a Catalyst Connection: with `ZOHO_CONNECTION` set, the
  access token is read from `app.connections().get_connection_credentials(name)` (its
  `Authorization: Zoho-oauthtoken ...` header) instead of the refresh-token flow.
- **The ending**: `context.close_with_success()` for a run that ran (success, incomplete:
  records wait in the ledger and are in the logged report, partial: stopped at the budget),
  `close_with_failure()` for an aborted run, a configuration error, a lock held by another
  run or anything unexpected. Both post the status and `os._exit` at once: no `finally`
  runs after them, so the report is logged, the logs flushed and the store closed *before*
  the one call, which is the handler's last statement.

Nothing secret reaches a log line: every root handler (the runtime's own) gets gzsync's
redacting filter, and errors are logged by type and redacted message.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from gzsync import logs
from gzsync.config import Settings, load_settings
from gzsync.errors import ConfigError, GzsyncError, ServiceError
from gzsync.state.store import StateStore
from gzsync.sync.options import RunOptions, parse_entities

log = logging.getLogger("gzsync.catalyst")

#: How long a token read from a Catalyst Connection is reused before asking again.
CONNECTION_TOKEN_REUSE_S = 300.0
#: Report statuses that close the job with success: the run ran and recorded its outcome.
SUCCESS_STATUSES = frozenset({"success", "incomplete", "partial"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class JobRequest(Protocol):
    """What the runtime's `JobDetails` offers us."""

    def get_all_job_params(self) -> Mapping[str, Any] | None: ...


class JobContext(Protocol):
    """What the runtime's job `Context` offers us."""

    def get_remaining_execution_time_ms(self) -> float: ...

    def close_with_success(self) -> None: ...

    def close_with_failure(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the job ends: success or failure, and the one line that says why."""

    ok: bool
    summary: str


def handler(job_request: JobRequest, context: JobContext) -> None:
    """The Job function entry point; ends the process through `context.close_*`."""
    _redact_root_handlers()
    outcome = run_job(job_request, context)
    (log.info if outcome.ok else log.error)("gzsync job %s", outcome.summary)
    _flush_logs()
    if outcome.ok:
        context.close_with_success()
    else:
        context.close_with_failure()


def run_job(job_request: JobRequest, context: JobContext) -> Outcome:
    """Everything the handler does before it closes the job; never raises."""
    store: StateStore | None = None
    try:
        options = parse_job_params(job_request.get_all_job_params() or {})
        settings = job_settings()
        token_source = connection_token_source(settings)
        options = _with(
            options, remaining_ms=context.get_remaining_execution_time_ms, access_token=token_source
        )
        from gzsync.state import open_store
        from gzsync.sync.pipeline import run_sync

        store = open_store(settings)
        report = run_sync(settings, options, store=store)
    except GzsyncError as exc:
        return Outcome(False, f"failed: {type(exc).__name__}: {logs.redact(str(exc))}")
    except Exception as exc:  # the job must end with a status, whatever broke
        log.error("unexpected error", exc_info=True)
        return Outcome(False, f"failed: {type(exc).__name__}: {logs.redact(str(exc))}")
    finally:
        if store is not None:
            _close_quietly(store)
    log.info("gzsync run report %s", json.dumps(report.to_json(), default=str))
    ok = report.status in SUCCESS_STATUSES
    return Outcome(ok, f"run {report.run_id} {report.status}")


def parse_job_params(params: Mapping[str, Any]) -> RunOptions:
    """Job parameters (strings) as run options; ConfigError naming the bad parameter."""
    since_rev = _int_param(params, "since_rev", minimum=0)
    limit = _int_param(params, "limit", minimum=1)
    entities = RunOptions().entities
    if params.get("entities") not in (None, ""):
        try:
            entities = parse_entities(str(params["entities"]))
        except ValueError as exc:
            raise ConfigError("job parameter entities", str(exc)) from None
    dry = str(params.get("dry_run", "")).strip().lower()
    if dry not in _TRUE | _FALSE:
        raise ConfigError("job parameter dry_run", f"expected true or false, got {dry!r}")
    # issue 15: "true" forces Bulk Write, "false" forbids it, empty lets BULK_THRESHOLD decide
    bulk_text = str(params.get("bulk", "")).strip().lower()
    if bulk_text and bulk_text not in _TRUE | _FALSE:
        raise ConfigError("job parameter bulk", f"expected true or false, got {bulk_text!r}")
    bulk = None if not bulk_text else bulk_text in _TRUE
    return RunOptions(
        dry_run=dry in _TRUE, since_rev=since_rev, limit=limit, entities=entities, bulk=bulk
    )


def job_settings() -> Settings:
    """Settings from the function's environment; the Catalyst store unless told otherwise."""
    if os.environ.get("STATE_BACKEND"):
        return load_settings()
    return load_settings(state_backend="catalyst")


def connection_token_source(settings: Settings) -> Callable[[], str] | None:
    """With `ZOHO_CONNECTION`, a source of Zoho access tokens from that Catalyst Connection.

    Catalyst keeps the connection's grant and refreshes it; we reuse what it gives for a few
    minutes rather than asking before every Zoho call.
    """
    name = settings.zoho_connection
    if not name:
        return None
    from gzsync.state.catalyst import catalyst_app

    return _ConnectionTokens(catalyst_app(), name)


class _ConnectionTokens:
    """Tokens of a Catalyst Connection, reused for a few minutes; `reset()` forgets the
    cached one (StaticTokenSource calls it when Zoho rejected it)."""

    def __init__(self, app: Any, name: str) -> None:
        self._app = app
        self._name = name
        self._cached: tuple[str, float] | None = None

    def __call__(self) -> str:
        now = time.monotonic()
        if self._cached is not None and now - self._cached[1] < CONNECTION_TOKEN_REUSE_S:
            return self._cached[0]
        token = _connection_token(self._app, self._name)
        logs.register_secret(token)
        self._cached = (token, now)
        return token

    def reset(self) -> None:
        self._cached = None


def _connection_token(app: Any, name: str) -> str:
    from zcatalyst_sdk.exceptions import CatalystError

    try:
        data = app.connections().get_connection_credentials(name)
    except CatalystError as exc:
        raise ServiceError(
            f"Catalyst Connection {name!r}: credentials not available ({exc.code})",
            endpoint="connection-details",
        ) from None
    headers = ((data or {}).get("connections") or {}).get("headers") or {}
    value = next((str(v) for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "zoho-oauthtoken" or not token.strip():
        raise ServiceError(
            f"Catalyst Connection {name!r}: no Zoho-oauthtoken Authorization header",
            endpoint="connection-details",
        )
    return token.strip()


def _int_param(params: Mapping[str, Any], name: str, *, minimum: int) -> int | None:
    raw = params.get(name)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigError(f"job parameter {name}", f"not a whole number: {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"job parameter {name}", f"must be at least {minimum}")
    return value


def _with(options: RunOptions, **changes: Any) -> RunOptions:
    from dataclasses import replace

    return replace(options, **changes)


def _close_quietly(store: StateStore) -> None:
    try:
        store.close()
    except Exception:  # closing must not change how the job ends
        log.warning("closing the state store failed", exc_info=True)


def _redact_root_handlers() -> None:
    """Scrub secrets from whatever the runtime logs for us (its handler is on the root)."""
    root = logging.getLogger()
    if not root.handlers:
        logs.configure_logging(debug=False, fmt="json")
        return
    for handler in root.handlers:
        if not any(isinstance(f, logs.RedactingFilter) for f in handler.filters):
            handler.addFilter(logs.RedactingFilter())
    # The runtime logs at DEBUG; httpx and httpcore log raw URLs there.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _flush_logs() -> None:
    """Everything logged so far reaches its file before os._exit ends the process."""
    for logger in (logging.getLogger(), logging.getLogger("gzsync")):
        for handler in logger.handlers:
            handler.flush()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
