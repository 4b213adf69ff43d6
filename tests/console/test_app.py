"""The console over real loopback HTTP: routes, actions, security, redaction, metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from tests.console.helpers import Served, serve
from tests.e2e.helpers import Env

from gzsync import logs
from gzsync.config import Settings
from gzsync.console.security import check_bind, is_loopback, safe_next
from gzsync.errors import ConfigError
from gzsync.state.sqlite import open_sqlite_store
from gzsync.state.store import BatchCommit, LedgerEntry
from gzsync.streams import STREAM_NAMES


def _entries(env: Env) -> list[LedgerEntry]:
    store = open_sqlite_store(env.state_db)
    try:
        return store.ledger_list()
    finally:
        store.close()


def test_runs_page_lists_runs_newest_first_with_counts(served: Served) -> None:
    store = open_sqlite_store(served.env.state_db)
    try:
        run = store.runs(1)[0]
    finally:
        store.close()
    page = served.client.get("/")
    assert page.status_code == 200
    assert f'data-run="{run.run_id}"' in page.text
    fetched = run.report["customers"]["fetched"]  # type: ignore[index]
    assert f"{fetched} / " in page.text
    # a column per declared stream, quotes and products too (the stream table)
    head = re.search(r'<table id="runs">.*?</thead>', page.text, re.S)
    assert head is not None
    assert re.findall(r'<th class="n">(\w+)</th>', head.group())[:5] == list(STREAM_NAMES)
    for chart in ("records-written", "ledger-by-reason", "duration-vs-budget"):
        assert f'data-chart="{chart}"' in page.text
    assert served.client.get(f"/runs/{run.run_id}").status_code == 200
    assert served.client.get("/runs/no-such-run").status_code == 404


def test_ledger_filters_by_stream_kind_reason_and_run(served: Served) -> None:
    entries = _entries(served.env)
    contacts = [e for e in entries if e.stream == "contacts"]
    assert contacts
    page = served.client.get("/ledger", params={"stream": "contacts"}).text
    keys = set(re.findall(r'data-key="([^"]+)"', page))
    assert keys == {e.key for e in contacts}
    reason = entries[0].reason
    page = served.client.get("/ledger", params={"reason": reason}).text
    assert set(re.findall(r'data-key="([^"]+)"', page)) == {
        e.key for e in entries if e.reason == reason
    }
    page = served.client.get("/ledger", params={"kind": "failed"}).text
    assert "No entries match." in page
    store = open_sqlite_store(served.env.state_db)
    try:
        run_id = store.runs(1)[0].run_id
    finally:
        store.close()
    page = served.client.get("/ledger", params={"run": run_id}).text
    assert len(re.findall(r'data-key="', page)) == len(entries)  # all were seen by that run
    page = served.client.get("/ledger", params={"run": "not-a-run"}).text
    assert "No entries match." in page


def test_retry_marks_and_drop_removes_with_history(served: Served) -> None:
    first, second = _entries(served.env)[:2]
    token = served.csrf()
    answer = served.client.post(
        "/ledger/retry",
        data={"csrf": token, "stream": first.stream, "key": first.key, "next": "/ledger"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ledger?done=retry&n=1"
    marked = {e.key: e.retry_requested for e in _entries(served.env)}
    assert marked[first.key] is True
    assert marked[second.key] is False

    answer = served.client.post(
        "/ledger/drop", data={"csrf": token, "stream": second.stream, "key": second.key}
    )
    assert answer.status_code == 303
    assert "done=drop" in answer.headers["location"]
    assert second.key not in {e.key for e in _entries(served.env)}
    record = served.client.get(f"/ledger/{second.stream}/{quote(second.key, safe='')}").text
    assert "dropped from the ledger" in record
    record = served.client.get(f"/ledger/{first.stream}/{quote(first.key, safe='')}").text
    assert "marked for retry" in record
    assert str(first.rev) in record


def test_posts_without_a_valid_csrf_token_are_refused(served: Served) -> None:
    entry = _entries(served.env)[0]
    fields = {"stream": entry.stream, "key": entry.key}
    fresh = httpx.Client(base_url=served.url)
    try:  # no cookie at all: a cross-site form post
        assert fresh.post("/ledger/drop", data={**fields, "csrf": "x"}).status_code == 403
    finally:
        fresh.close()
    token = served.csrf()
    assert served.client.post("/ledger/drop", data={**fields, "csrf": "0" * 64}).status_code == 403
    assert served.client.post("/ledger/drop", data=fields).status_code == 403
    foreign = served.client.post(
        "/ledger/drop", data={**fields, "csrf": token}, headers={"origin": "http://evil.test"}
    )
    assert foreign.status_code == 403
    assert served.client.post("/sync", data={"csrf": "nope"}).status_code == 403
    assert entry.key in {e.key for e in _entries(served.env)}  # nothing was dropped
    assert served.client.get("/ledger/drop").status_code == 405  # GET never changes state


def test_secrets_are_never_rendered(synced: Env) -> None:
    """A secret that reached the store (a detail) is masked on every page, as in the logs."""
    password = synced.settings.auth_password
    assert password is not None
    secret = password.get_secret_value()
    store = open_sqlite_store(synced.state_db)
    try:
        store.commit_batch(
            BatchCommit(
                stream="customers",
                module="Accounts",
                ledger=[
                    LedgerEntry("customers", "LEAKY", 5, "refused", "INVALID_DATA", f"pw {secret}")
                ],
            )
        )
    finally:
        store.close()
    logs.forget_secrets()
    for served in serve(synced):
        pages = [
            served.client.get(path).text
            for path in ("/", "/ledger", "/ledger/customers/LEAKY", "/metrics", "/sync")
        ]
        assert "LEAKY" in pages[1]
        assert all(secret not in page for page in pages)
        assert "pw ***" in pages[1]


def test_security_headers_and_health(served: Served) -> None:
    page = served.client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie.replace("Strict", "strict")
    health = served.client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["last_run"]["status"] == "incomplete"


def test_metrics_in_prometheus_format(served: Served) -> None:
    entries = _entries(served.env)
    body = served.client.get("/metrics")
    assert body.headers["content-type"].startswith("text/plain")
    text = body.text
    assert 'gzsync_runs{status="incomplete"} 1.0' in text
    assert re.search(r'gzsync_last_run_records\{outcome="fetched",stream="customers"\} 120', text)
    for e in entries:
        assert f'kind="{e.kind}",reason="{e.reason}",stream="{e.stream}"' in text
    assert re.search(r"gzsync_last_run_duration_seconds \d", text)
    assert re.search(r"gzsync_last_run_zoho_credits [1-9]", text)
    assert "gzsync_last_success_timestamp_seconds 1" in text  # an epoch, not 0


@pytest.fixture
def token_served(synced: Env) -> Iterator[Served]:
    settings = synced.with_settings(CONSOLE_TOKEN="tok-3f9a8b7c6d")
    yield from serve(synced, settings)


def test_token_guards_every_page_but_health(token_served: Served) -> None:
    client = token_served.client
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 401
    login = client.get("/", headers={"accept": "text/html"})
    assert login.status_code == 303
    assert login.headers["location"].startswith("/login")
    bearer = client.get("/metrics", headers={"authorization": "Bearer tok-3f9a8b7c6d"})
    assert bearer.status_code == 200
    assert client.get("/", headers={"authorization": "Bearer wrong"}).status_code == 401
    token = token_served.csrf("/login")
    refused = client.post("/login", data={"csrf": token, "token": "wrong", "next": "/ledger"})
    assert refused.status_code == 401
    signed = client.post(
        "/login", data={"csrf": token, "token": "tok-3f9a8b7c6d", "next": "/ledger"}
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/ledger"
    assert client.get("/ledger").status_code == 200  # the session cookie now opens it
    assert "tok-3f9a8b7c6d" not in client.get("/").text


def test_basic_auth(synced: Env) -> None:
    settings = synced.with_settings(CONSOLE_USER="ops", CONSOLE_PASSWORD="pw-8c1d2e3f")
    for served in serve(synced, settings):
        denied = served.client.get("/")
        assert denied.status_code == 401
        assert denied.headers["www-authenticate"].startswith("Basic")
        assert served.client.get("/", auth=("ops", "pw-8c1d2e3f")).status_code == 200
        assert served.client.get("/", auth=("ops", "nope")).status_code == 401


def test_read_only_console_hides_and_refuses_actions(synced: Env) -> None:
    for served in serve(synced, read_only=True):
        page = served.client.get("/ledger").text
        assert "/ledger/drop" not in page
        assert 'id="sync-now"' not in page
        token = served.csrf("/login")
        entry = _entries(synced)[0]
        answer = served.client.post(
            "/ledger/drop", data={"csrf": token, "stream": entry.stream, "key": entry.key}
        )
        assert answer.status_code == 403
        assert served.client.post("/sync", data={"csrf": token}).status_code == 403
        assert entry.key in {e.key for e in _entries(synced)}


def test_sync_now_refused_while_another_process_holds_the_lock(served: Served) -> None:
    store = open_sqlite_store(served.env.state_db)
    try:
        store.acquire_lock("cron host pid 42 run X", 600)
        token = served.csrf()
        answer = served.client.post("/sync", data={"csrf": token})
        assert answer.status_code == 409
        assert "another gzsync run holds the lock: cron host pid 42 run X" in answer.text
    finally:
        store.release_lock("cron host pid 42 run X")
        store.close()
    started = served.client.post("/sync", data={"csrf": token})
    assert started.status_code == 303
    assert started.headers["location"].startswith("/runs/")


def test_bind_rules() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("127.8.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.0.2.1")
    check_bind("127.0.0.1", Settings.from_values())
    with pytest.raises(ConfigError, match="CONSOLE_TOKEN"):
        check_bind("0.0.0.0", Settings.from_values())
    check_bind("0.0.0.0", Settings.from_values(CONSOLE_TOKEN="t0ken-long"))
    check_bind("0.0.0.0", Settings.from_values(CONSOLE_USER="u", CONSOLE_PASSWORD="p4ss"))
    with pytest.raises(ConfigError, match="CONSOLE_PASSWORD"):
        check_bind("127.0.0.1", Settings.from_values(CONSOLE_USER="u"))
    assert safe_next("/ledger?x=1") == "/ledger?x=1"
    assert safe_next("//evil.test/") == "/"
    assert safe_next("https://evil.test/") == "/"
