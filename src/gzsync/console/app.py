"""The console's Starlette app: routes, rendering, and the security middleware.

Routes (a contract): `GET /` runs, `GET /runs/{run_id}`, `GET /ledger` (query parameters
`stream`, `reason`, `kind`, `run`), `POST /ledger/retry`, `POST /ledger/drop`, `POST /sync`
(Sync now), `GET /metrics`, `GET /healthz`. Besides them: `GET /ledger/{stream}/{key}` (one
record), `GET /sync` (JSON: the progress of the current run, polled by the run page),
`GET|POST /login` (token sign-in for browsers) and `/static/`.

Pages are rendered on the server with Jinja2 (autoescaped); every value that reaches a page
passes through :func:`gzsync.logs.redact` first, like a log line, and no setting is ever
rendered. Each request opens its own store connection (SQLite or Catalyst), so the console
reads what cron, a schedule or a Catalyst job wrote, and never holds a connection between
requests. With `read_only`, the actions are hidden and their routes answer 403.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlencode

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gzsync import logs, metrics
from gzsync.config import Settings
from gzsync.console import actions, security, views
from gzsync.console.runner import SyncRunner
from gzsync.errors import GzsyncError
from gzsync.state.store import StateStore

log = logging.getLogger("gzsync.console")

_HERE = Path(__file__).parent
RUNS_SHOWN = 50
HISTORY = 200


def _finalize(value: Any) -> Any:
    """Jinja's last step before escaping: the same redaction as the logs."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return Markup(logs.redact(str(value)))  # noqa: S704 - already escaped markup
    if isinstance(value, str):
        return logs.redact(value)
    return value


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = views.when
    env.filters["seconds"] = lambda v: "-" if v is None else f"{v:,.1f} s"
    env.filters["num"] = lambda v: "-" if v is None else f"{v:,}"
    return env


def register_secrets(settings: Settings) -> None:
    """Every secret of the settings, so redaction masks it wherever it would appear."""
    for name, value in settings:
        if hasattr(value, "get_secret_value"):
            logs.register_secret(value.get_secret_value())
        del name
    from gzsync.alerts import alert_urls

    for url in alert_urls(settings):
        logs.register_secret(url)


class Console:
    """The app's state: settings, how to open the store, the Sync now runner, CSRF keys."""

    def __init__(
        self,
        settings: Settings,
        *,
        read_only: bool = False,
        open_store: Callable[[], StateStore] | None = None,
    ) -> None:
        self.settings = settings
        self.read_only = read_only
        self._open = open_store or self._default_open
        self.runner = SyncRunner(settings, self._open)
        self.csrf = security.Csrf()
        self.templates = _environment()
        register_secrets(settings)

    def _default_open(self) -> StateStore:
        from gzsync.state import open_store

        return open_store(self.settings)

    @contextlib.contextmanager
    def store(self) -> Iterator[StateStore | None]:
        """The store for one request; None when a SQLite state file does not exist yet."""
        s = self.settings
        if s.state_backend == "sqlite" and not Path(s.state_db).exists():
            yield None
            return
        store = self._open()
        try:
            yield store
        finally:
            store.close()

    def render(self, request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        ctx.setdefault("flash", None)
        page = self.templates.get_template(name).render(
            csrf=getattr(request.state, "csrf_token", ""),
            read_only=self.read_only,
            path=request.url.path,
            **ctx,
        )
        return HTMLResponse(page, status_code=status)


def _console(request: Request) -> Console:
    return cast(Console, request.app.state.console)


class Form:
    """An `application/x-www-form-urlencoded` body (the console's forms send nothing else;
    parsed here rather than with python-multipart, which the console would need for
    nothing more)."""

    MAX_BYTES = 1_000_000

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self._fields = fields

    @classmethod
    async def read(cls, request: Request) -> Form:
        body = await request.body()
        if len(body) > cls.MAX_BYTES:
            return cls({})
        return cls(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))

    def get(self, name: str) -> str:
        values = self._fields.get(name)
        return values[0] if values else ""

    def getlist(self, name: str) -> list[str]:
        return list(self._fields.get(name, []))


# -- pages -------------------------------------------------------------------------------

_FLASH = {
    "retry": "Marked {n} ledger entries for retry: the next run retries them (Sync now runs one).",
    "drop": "Dropped {n} ledger entry: it is not retried until it changes in Galaxy.",
    "nodrop": "No such ledger entry: nothing dropped.",
}


def _flash(request: Request) -> str | None:
    done = request.query_params.get("done")
    if done not in _FLASH:
        return None
    try:
        n = int(request.query_params.get("n", "0"))
    except ValueError:
        n = 0
    return _FLASH[done].format(n=n)


def index(request: Request) -> Response:
    console = _console(request)
    budget = console.settings.max_duration_s
    with console.store() as store:
        history = store.runs(HISTORY) if store else []
        ledger = views.ledger_summary(store) if store else []
    rows = [views.run_row(r, budget) for r in history]
    latest = next((r for r in rows if r.status != "running" and not r.dry_run), None)
    return console.render(
        request,
        "index.html",
        runs=rows[:RUNS_SHOWN],
        entities=views.ENTITIES,
        charts={
            k: Markup(v)  # noqa: S704 - charts escape every label themselves
            for k, v in views.run_charts(
                rows, daily_allowance=console.settings.zoho_daily_credits
            ).items()
        },
        ledger=ledger,
        ledger_total=sum(r["count"] for r in ledger),
        latest=latest,
        quality=views.warnings_by_field(latest.report) if latest else [],
        flash=_flash(request),
        sync=console.runner.snapshot(),
    )


def run_page(request: Request) -> Response:
    console = _console(request)
    run_id = request.path_params["run_id"]
    with console.store() as store:
        record = store.run(run_id) if store else None
    if record is None:
        return console.render(
            request,
            "message.html",
            404,
            title="No such run",
            message=(f"No run {run_id} in the state store."),
        )
    row = views.run_row(record, console.settings.max_duration_s)
    sync = console.runner.snapshot()
    return console.render(
        request,
        "run.html",
        run=row,
        phases=row.report.get("phases") if isinstance(row.report.get("phases"), dict) else {},
        calls=(
            row.report.get("zoho_calls_by_endpoint")
            if isinstance(row.report.get("zoho_calls_by_endpoint"), dict)
            else {}
        ),
        samples=[
            (entity, sample)
            for entity in views.ENTITIES
            for sample in (row.report.get(entity) or {}).get("samples", [])
            if isinstance(sample, dict)
        ],
        quality=views.warnings_by_field(row.report),
        warning_totals=views.warning_totals(row.report),
        progress=sync["progress"] if sync.get("run_id") == run_id else {},
        flash=None,
    )


def ledger_page(request: Request) -> Response:
    console = _console(request)
    flt = views.LedgerFilter.parse(request.query_params)
    with console.store() as store:
        entries, total = views.query_ledger(store, flt) if store else ([], 0)
        reasons = views.ledger_reasons(store) if store else []
        runs = store.runs(30) if store else []
    here = "/ledger" + (f"?{urlencode(flt.as_params())}" if flt.as_params() else "")
    return console.render(
        request,
        "ledger.html",
        entries=entries,
        total=total,
        flt=flt,
        streams=views.STREAMS,
        kinds=views.KINDS,
        reasons=reasons,
        runs=[r.run_id for r in runs],
        here=here,
        flash=_flash(request),
    )


def record_page(request: Request) -> Response:
    console = _console(request)
    stream = request.path_params["stream"]
    key = request.path_params["key"]
    if stream not in views.STREAMS:
        return console.render(
            request,
            "message.html",
            404,
            title="No such stream",
            message=f"Streams are {', '.join(views.STREAMS)}.",
        )
    with console.store() as store:
        if store is None:
            view = views.RecordView(stream, key, None, None, None, None, [])
        else:
            view = views.record_view(store, stream, key, store.runs(HISTORY))
    return console.render(
        request, "record.html", record=view, here=f"/ledger/{stream}/{key}", flash=_flash(request)
    )


# -- actions -----------------------------------------------------------------------------


def _refuse_read_only(console: Console) -> Response | None:
    if console.read_only:
        return PlainTextResponse("This console is read-only.", status_code=403)
    return None


async def ledger_retry(request: Request) -> Response:
    console = _console(request)
    if (refused := _refuse_read_only(console)) is not None:
        return refused
    form = await Form.read(request)
    stream_raw = form.get("stream")
    stream = stream_raw if stream_raw in views.STREAMS else None
    keys = [k for k in form.getlist("key") if k]
    if not keys and form.get("all") != "1":
        return PlainTextResponse("Say which records: key=..., or all=1.", status_code=400)

    def work() -> int:
        with console.store() as store:
            if store is None:
                return 0
            return actions.mark_retry(store, stream, keys or None)

    n = await run_in_threadpool(work)
    back = security.safe_next(form.get("next"), "/ledger")
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}done=retry&n={n}", status_code=303)


async def ledger_drop(request: Request) -> Response:
    console = _console(request)
    if (refused := _refuse_read_only(console)) is not None:
        return refused
    form = await Form.read(request)
    stream_raw = form.get("stream")
    key = form.get("key")
    if stream_raw not in views.STREAMS or not key:
        return PlainTextResponse("Say which record: stream and key.", status_code=400)
    stream = stream_raw

    def work() -> bool:
        with console.store() as store:
            return False if store is None else actions.drop(store, stream, key)

    dropped = await run_in_threadpool(work)
    back = security.safe_next(form.get("next"), "/ledger")
    if back.startswith(f"/ledger/{stream}/"):
        back = "/ledger"  # the record's page would show it gone; the list is more useful
    sep = "&" if "?" in back else "?"
    return RedirectResponse(
        f"{back}{sep}done={'drop' if dropped else 'nodrop'}&n={int(dropped)}", status_code=303
    )


async def sync_now(request: Request) -> Response:
    console = _console(request)
    if (refused := _refuse_read_only(console)) is not None:
        return refused
    await Form.read(request)
    result = await run_in_threadpool(console.runner.start)
    if result.outcome == "started" and result.run_id:
        return RedirectResponse(f"/runs/{result.run_id}", status_code=303)
    status = 400 if result.outcome == "error" else 409
    return console.render(
        request,
        "message.html",
        status,
        title="Sync now: not started" if result.outcome != "busy" else "Sync now: already running",
        message=result.message,
        run_id=result.run_id,
    )


def sync_progress(request: Request) -> Response:
    """JSON for the run page's live progress: the console's run, or one run's status."""
    console = _console(request)
    snapshot = console.runner.snapshot()
    run_id = request.query_params.get("run")
    out: dict[str, Any] = {"console": snapshot}
    if run_id:
        with console.store() as store:
            record = store.run(run_id) if store else None
        out["run"] = (
            None
            if record is None
            else {
                "run_id": record.run_id,
                "status": record.status,
                "progress": snapshot["progress"] if snapshot["run_id"] == run_id else {},
            }
        )
    return Response(
        logs.redact(json.dumps(out)),
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )


# -- machine endpoints -------------------------------------------------------------------


def metrics_endpoint(request: Request) -> Response:
    console = _console(request)
    with console.store() as store:
        body = metrics.render(store)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


def healthz(request: Request) -> Response:
    console = _console(request)
    try:
        with console.store() as store:
            runs = store.runs(1) if store else []
    except GzsyncError as exc:
        return JSONResponse({"status": "error", "error": logs.redact(str(exc))}, status_code=503)
    last = runs[0] if runs else None
    return JSONResponse(
        {
            "status": "ok",
            "last_run": None if last is None else {"run_id": last.run_id, "status": last.status},
            "sync_in_progress": console.runner.busy(),
        }
    )


# -- sign-in -----------------------------------------------------------------------------


async def login(request: Request) -> Response:
    console = _console(request)
    target = security.safe_next(request.query_params.get("next"))
    if request.method == "GET":
        return console.render(
            request,
            "login.html",
            next=target,
            error=None,
            enabled=console.settings.console_token is not None,
        )
    form = await Form.read(request)
    target = security.safe_next(form.get("next"))
    if not security.token_matches(console.settings, form.get("token")):
        return console.render(
            request,
            "login.html",
            401,
            next=target,
            error="That token is not the console's.",
            enabled=True,
        )
    response = RedirectResponse(target, status_code=303)
    value = security.session_value(console.settings)
    assert value is not None
    _set_cookie(response, request, security.SESSION_COOKIE, value)
    return response


# -- middleware --------------------------------------------------------------------------


def _set_cookie(response: Response, request: Request, name: str, value: str) -> None:
    """The console's cookies: HttpOnly, SameSite=Strict, Secure when served over HTTPS."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


async def _guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Authentication, CSRF, and security headers on every response."""
    console = _console(request)
    path = request.url.path
    csrf_cookie = request.cookies.get(security.CSRF_COOKIE)
    new_cookie = None
    if not csrf_cookie:
        new_cookie = csrf_cookie = security.Csrf.new_cookie()
    request.state.csrf_token = console.csrf.token(csrf_cookie)
    response: Response
    is_open = path == "/healthz" or path == "/login" or path.startswith("/static/")
    if not is_open and not security.authenticated(
        console.settings,
        request.headers.get("authorization"),
        request.cookies.get(security.SESSION_COOKIE),
    ):
        response = _unauthorized(request, console)
    elif request.method == "POST" and not await _csrf_ok(request, console, new_cookie):
        response = PlainTextResponse(
            "Refused: this form is stale or was not sent from this console (CSRF check). "
            "Reload the page and try again.",
            status_code=403,
        )
    else:
        response = await call_next(request)
    for name, value in security.HEADERS.items():
        response.headers.setdefault(name, value)
    if new_cookie:
        _set_cookie(response, request, security.CSRF_COOKIE, new_cookie)
    return response


async def _csrf_ok(request: Request, console: Console, new_cookie: str | None) -> bool:
    if new_cookie is not None:
        return False  # no cookie came with the POST: not a form this console served
    if not security.same_origin(request.headers.get("origin"), request.headers.get("host")):
        return False
    token = request.headers.get("x-csrf-token")
    if token is None:
        token = (await Form.read(request)).get("csrf") or None  # the body is replayed
    return console.csrf.valid(request.cookies.get(security.CSRF_COOKIE), token)


def _unauthorized(request: Request, console: Console) -> Response:
    wants_html = "text/html" in request.headers.get("accept", "")
    if wants_html and console.settings.console_token is not None and request.method == "GET":
        return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)
    headers = {}
    if console.settings.console_user:
        headers["www-authenticate"] = 'Basic realm="gzsync console", charset="UTF-8"'
    return PlainTextResponse("Sign in first.", status_code=401, headers=headers)


def create_app(
    settings: Settings,
    *,
    read_only: bool = False,
    open_store: Callable[[], StateStore] | None = None,
) -> Starlette:
    """The console app. `open_store` (tests) replaces opening the configured store."""
    console = Console(settings, read_only=read_only, open_store=open_store)
    app = Starlette(
        routes=[
            Route("/", index),
            Route("/runs/{run_id}", run_page),
            Route("/ledger", ledger_page),
            Route("/ledger/retry", ledger_retry, methods=["POST"]),
            Route("/ledger/drop", ledger_drop, methods=["POST"]),
            Route("/ledger/{stream}/{key:path}", record_page),
            Route("/sync", sync_now, methods=["POST"]),
            Route("/sync", sync_progress, methods=["GET"]),
            Route("/metrics", metrics_endpoint),
            Route("/healthz", healthz),
            Route("/login", login, methods=["GET", "POST"]),
            Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
        ],
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=_guard)],
    )
    app.state.console = console
    return app
