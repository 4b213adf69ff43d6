"""Logging for gzsync: one setup call, text or JSON lines, and secrets scrubbed everywhere.

Every value that could open a door (Galaxy password, `SessionId`, `ss-pid`, Zoho access and
refresh tokens, client secret) is passed to :func:`register_secret` by the code that reads or
receives it; :func:`redact` then replaces it with `***` wherever it appears, in any of the
spellings a URL or form body gives it. On top of the registered values, :func:`redact` masks
secret-bearing query parameters, cookies, `Authorization` values and JSON keys by shape, so a
secret we were never told about (a fresh token in a logged body) is masked too.

:func:`configure_logging` installs a :class:`RedactingFilter` on the handler it creates, so
every record that handler writes (ours, httpx's, stamina's) is scrubbed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import threading
from contextvars import ContextVar
from typing import Any, Literal, TextIO
from urllib.parse import quote, quote_plus

MASK = "***"

#: The id of the run in progress; every record logged while it is set carries `run_id`.
current_run_id: ContextVar[str | None] = ContextVar("gzsync_run_id", default=None)

# Values shorter than this are not registered: masking "a" everywhere would garble logs and
# hide nothing (such a value is also caught by the shape rules below).
_MIN_SECRET_LEN = 4

_lock = threading.Lock()
_secrets: set[str] = set()
_secrets_pattern: re.Pattern[str] | None = None

# Query/form parameters whose value is a secret: `?password=..&`, `refresh_token=..`.
_PARAM_RE = re.compile(
    r"(?i)(?<![\w-])(password|refresh_token|client_secret|access_token|code|ss-id|ss-pid)=([^&#\s\"';,]*)"
)
# JSON or Python-repr keys whose value is a secret: `"SessionId": "..."`, `'access_token': '...'`.
_SECRET_KEYS = "|".join(
    (
        "password",
        "refresh_token",
        "client_secret",
        "access_token",
        "SessionId",
        "session_id",
        "ss_pid",
        "ss-id",
        "ss-pid",
        "BearerToken",
        "RefreshToken",
    )
)
_JSON_DQ_RE = re.compile(rf'("(?:{_SECRET_KEYS})"\s*:\s*")((?:[^"\\]|\\.)*)(")')
_JSON_SQ_RE = re.compile(rf"('(?:{_SECRET_KEYS})'\s*:\s*')((?:[^'\\]|\\.)*)(')")
# `Authorization: Zoho-oauthtoken 1000.abc` and `Bearer ...`.
_AUTH_RE = re.compile(r"(?i)\b(Zoho-oauthtoken|Bearer)(\s+)[^\s\"',;]+")


def register_secret(value: str | None) -> None:
    """Remember a secret value so that :func:`redact` masks it from now on.

    None, empty and very short values are ignored. Its URL-encoded spellings are registered
    too, because a password travels in a query string.
    """
    global _secrets_pattern
    if value is None or len(value) < _MIN_SECRET_LEN:
        return
    variants = {value, quote(value, safe=""), quote_plus(value, safe=""), quote(value)}
    with _lock:
        if variants <= _secrets:
            return
        _secrets.update(variants)
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _secrets_pattern = re.compile("|".join(re.escape(s) for s in ordered))


def forget_secrets() -> None:
    """Drop every registered secret (for tests that need a clean slate)."""
    global _secrets_pattern
    with _lock:
        _secrets.clear()
        _secrets_pattern = None


def redact(text: str) -> str:
    """`text` with every registered secret and every secret-shaped value replaced by `***`."""
    pattern = _secrets_pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _PARAM_RE.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _JSON_DQ_RE.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
    text = _JSON_SQ_RE.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
    return _AUTH_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


class RedactingFilter(logging.Filter):
    """Renders each record's message (and traceback) once, redacted; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        run_id = current_run_id.get()
        if run_id is not None and not hasattr(record, "run_id"):
            record.run_id = run_id
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


# Attributes every LogRecord has; anything else on a record is an `extra`.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `ts`, `level`, `logger`, `msg`, then any extras."""

    def format(self, record: logging.LogRecord) -> str:
        ts = dt.datetime.fromtimestamp(record.created, tz=dt.UTC)
        out: dict[str, Any] = {
            "ts": ts.isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                out[key] = _jsonable(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = redact(record.exc_text)
        return json.dumps(out, ensure_ascii=False, default=str)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    try:
        return json.loads(redact(json.dumps(value, default=str)))
    except (TypeError, ValueError):
        return redact(str(value))


_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure_logging(
    *,
    debug: bool,
    fmt: Literal["text", "json"] = "text",
    quiet: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Send gzsync's logs to `stream` (default stderr), redacted, as text or JSON lines.

    DEBUG with `debug`, WARNING with `quiet`, INFO otherwise. Calling it again replaces the
    handler it installed before. httpx's and httpcore's own loggers are held at WARNING: they
    log raw URLs, and ours (`gzsync.http`) already logs every request, redacted.
    """
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
    handler.addFilter(RedactingFilter())
    handler.set_name("gzsync")

    root = logging.getLogger("gzsync")
    for old in list(root.handlers):
        if old.get_name() == "gzsync":
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # stamina logs a bare "stamina.retry_scheduled"; gzsync.http logs each retry with its cause.
    logging.getLogger("stamina").setLevel(logging.ERROR)
