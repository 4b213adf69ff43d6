"""Redaction and logging setup: no secret survives into a log line, text or JSON."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from gzsync.logs import configure_logging, forget_secrets, redact, register_secret


@pytest.fixture(autouse=True)
def _clean_secrets() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()
    logging.getLogger("gzsync").handlers.clear()


def test_registered_secret_is_masked_in_every_spelling() -> None:
    register_secret("p@ss word&1")
    text = "GET /auth?username=u&password=p%40ss%20word%261 body p@ss word&1 form p%40ss+word%261"
    out = redact(text)
    assert "p@ss" not in out
    assert "p%40ss" not in out
    assert out.count("***") >= 3


def test_short_and_empty_values_are_not_registered() -> None:
    register_secret(None)
    register_secret("")
    register_secret("ab")
    assert redact("ab cd") == "ab cd"


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("https://g/auth?username=bob&password=hunter22&x=1", "hunter22"),
        (
            "grant_type=refresh_token&client_id=1000.X&client_secret=s3cr3t&refresh_token=1000.r",
            "s3cr3t",
        ),
        ("grant_type=refresh_token&refresh_token=1000.rrr", "1000.rrr"),
        ("GET /cb?code=1000.grant&state=1", "1000.grant"),
        ("Cookie: ss-id=AbCdEf123; ss-pid=ZyXw987", "AbCdEf123"),
        ("Cookie: ss-id=AbCdEf123; ss-pid=ZyXw987", "ZyXw987"),
        ('{"SessionId": "sess-123", "UserName": "bob"}', "sess-123"),
        ('{"access_token":"1000.tok","expires_in":3600}', "1000.tok"),
        ("{'access_token': '1000.tok', 'api_domain': 'x'}", "1000.tok"),
        ('{"session_id": "s1x", "ss_pid": "p2y"}', "p2y"),
        ("Authorization: Zoho-oauthtoken 1000.abc.def", "1000.abc.def"),
    ],
)
def test_secret_shapes_are_masked_without_registration(text: str, leak: str) -> None:
    out = redact(text)
    assert leak not in out
    assert "***" in out


def test_ordinary_text_is_left_alone() -> None:
    text = 'zip_code=12345 {"code": "INVALID_TOKEN", "Trader_ID": "A1"} grant_type=refresh_token'
    assert redact(text) == text


def test_text_handler_redacts_messages_args_and_tracebacks() -> None:
    register_secret("TopSecret99")
    stream = io.StringIO()
    configure_logging(debug=True, stream=stream)
    log = logging.getLogger("gzsync.test")
    log.debug("url %s", "/auth?password=TopSecret99")
    try:
        raise RuntimeError("failed with TopSecret99")
    except RuntimeError:
        log.exception("boom %d", 1)
    out = stream.getvalue()
    assert "TopSecret99" not in out
    assert "boom 1" in out
    assert "RuntimeError" in out
    assert "url /auth?password=***" in out


def test_json_lines_with_extras_and_levels() -> None:
    register_secret("TopSecret99")
    stream = io.StringIO()
    configure_logging(debug=False, fmt="json", stream=stream)
    log = logging.getLogger("gzsync.zoho")
    log.debug("hidden at INFO")
    log.info("batch %d done", 3, extra={"batch": 3, "token": "TopSecret99"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["level"] == "INFO"
    assert record["logger"] == "gzsync.zoho"
    assert record["msg"] == "batch 3 done"
    assert record["batch"] == 3
    assert record["token"] == "***"
    assert "ts" in record


def test_quiet_and_reconfiguring_replace_the_handler() -> None:
    stream1, stream2 = io.StringIO(), io.StringIO()
    configure_logging(debug=True, stream=stream1)
    configure_logging(debug=False, quiet=True, stream=stream2)
    log = logging.getLogger("gzsync.x")
    log.info("not shown")
    log.warning("shown")
    assert stream1.getvalue() == ""
    assert "shown" in stream2.getvalue()
    assert "not shown" not in stream2.getvalue()
