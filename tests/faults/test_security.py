"""Security: secrets never leave the process, TLS verifies unless told not to, hostile keys
cannot change a query.

Secrets are of two kinds: the configured ones (Galaxy password, Zoho client secret and
refresh token) and the ones the services issue during a run (Galaxy `SessionId` and
`ss-pid`, Zoho access tokens). The issued ones are captured on the wire by a recorder
wrapped around each sandbox, so the test knows every value that was ever handed out —
including the second session and token a mid-run expiry makes the client fetch.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tests.e2e.helpers import accounts_by_key, assert_parity, sync
from tests.faults.conftest import FaultEnv, fault_env, run_gzsync

from gzsync.config import Settings
from gzsync.sandbox import credentials
from gzsync.sandbox.faults import FaultRule
from gzsync.state.sqlite import open_sqlite_store

CONFIGURED = {
    "Galaxy password": credentials.GALAXY_PASSWORD,
    "Zoho client secret": credentials.ZOHO_CLIENT_SECRET,
    "Zoho refresh token": credentials.ZOHO_REFRESH_TOKEN,
}
_ISSUING_PATHS = ("/auth", "/auth/credentials", "/oauth/v2/token")


class SecretRecorder:
    """Records every secret the wrapped sandbox issues: session ids, cookies, tokens."""

    def __init__(self, app: ASGIApp, secrets: dict[str, str]) -> None:
        self.app = app
        self.secrets = secrets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in _ISSUING_PATHS:
            await self.app(scope, receive, send)
            return
        body = bytearray()

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                for name, value in message.get("headers", []):
                    if name.lower() == b"set-cookie":
                        self._cookie(value.decode("latin-1"))
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    self._body(bytes(body))
            await send(message)

        await self.app(scope, receive, recording_send)

    def _cookie(self, header: str) -> None:
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name in ("ss-id", "ss-pid"):
            if name in cookie and cookie[name].value:
                self.secrets[f"{name} #{len(self.secrets)}"] = cookie[name].value

    def _body(self, raw: bytes) -> None:
        try:
            data: Any = json.loads(raw)
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        for name in ("SessionId", "access_token", "refresh_token"):
            value = data.get(name)
            if isinstance(value, str) and value:
                self.secrets[f"{name} #{len(self.secrets)}"] = value


@pytest.fixture
def issued() -> dict[str, str]:
    return {}


@pytest.fixture
def recorded_env(tmp_path: Path, issued: dict[str, str]) -> Iterator[FaultEnv]:
    def record(app: ASGIApp) -> ASGIApp:
        return SecretRecorder(app, issued)

    with fault_env(tmp_path, customers=150, seed=9, galaxy_wrap=record, zoho_wrap=record) as env:
        yield env


def _leaks(blob: bytes, secrets: dict[str, str]) -> list[str]:
    return [name for name, value in secrets.items() if value.encode() in blob]


def _state_files(state_db: Path) -> list[Path]:
    return [p for p in state_db.parent.iterdir() if p.name.startswith(state_db.name)]


def _gzsync_commands() -> set[str]:
    """The subcommands this build has (`gzsync status` may or may not exist yet)."""
    from typer.main import get_command

    from gzsync.cli import app

    command: Any = get_command(app)
    return set(command.commands)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_debug_run_leaks_no_secret(
    recorded_env: FaultEnv, issued: dict[str, str], tmp_path: Path, log_format: str
) -> None:
    env = recorded_env
    # a session expiry and an INVALID_TOKEN mid-run: a second session and token get issued
    env.galaxy.faults.add([FaultRule.from_json({"endpoint": "view", "status": 401, "count": 1})])
    env.zoho.faults.add([FaultRule.from_json({"endpoint": "upsert", "status": 401, "count": 1})])
    done = run_gzsync(env, "run", "--json", "--log-format", log_format, cwd=tmp_path, DEBUG="1")
    env.settle()
    report = json.loads(done.stdout)
    # this data has no row our rules reject since issue 11: the 401s are absorbed
    assert (done.returncode, report["status"]) == (0, "success"), done.stderr.decode()[-2000:]
    assert_parity(env)

    sessions = [n for n in issued if n.startswith("SessionId")]
    tokens = [n for n in issued if n.startswith("access_token")]
    assert len(sessions) >= 2, sorted(issued)
    assert len(tokens) >= 2, sorted(issued)
    assert any(n.startswith("ss-pid") for n in issued), sorted(issued)
    secrets = {**CONFIGURED, **issued}

    stderr = done.stderr
    # DEBUG really logged requests (the URLs that carry the password and cookies) ...
    assert b"/auth" in stderr, stderr[-2000:]
    assert b"upsert" in stderr, stderr[-2000:]
    assert b"DEBUG" in stderr
    if log_format == "json":
        # log records are JSON lines (the human summary table follows them)
        lines = [json.loads(ln) for ln in stderr.decode().splitlines() if ln.startswith("{")]
        assert len(lines) > 5
        assert all("msg" in line for line in lines)
    # ... and nothing in the output, the report or the history carries a secret
    assert _leaks(done.stdout, secrets) == []
    assert _leaks(stderr, secrets) == []
    outputs = [done.stdout, stderr]
    if "status" in _gzsync_commands():
        status = run_gzsync(env, "status", "--json", cwd=tmp_path, DEBUG="1")
        outputs.append(status.stdout + status.stderr)
        assert _leaks(status.stdout + status.stderr, secrets) == []
    store = open_sqlite_store(env.state_db)
    try:
        history = json.dumps([r.report for r in store.runs()]).encode()
    finally:
        store.close()
    assert _leaks(history, secrets) == []

    # The state file caches the session and the token by design (it is private), but never
    # holds the configured credentials.
    files = _state_files(env.state_db)
    assert env.state_db in files
    for path in files:
        assert _leaks(path.read_bytes(), CONFIGURED) == [], path.name
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path.name, oct(path.stat().st_mode))
    assert stat.S_IMODE(env.state_db.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("variable", "wrong"),
    [
        ("AUTH_PASSWORD", "Wr0ng-Galaxy-Pa55word"),
        ("ZOHO_REFRESH_TOKEN", "1000.deadbeefdeadbeef.cafebabecafebabe"),
        ("ZOHO_CLIENT_SECRET", "wrong-client-secret-0123456789"),
    ],
)
def test_refused_credentials_abort_without_echoing_them(
    recorded_env: FaultEnv, issued: dict[str, str], tmp_path: Path, variable: str, wrong: str
) -> None:
    env = recorded_env
    done = run_gzsync(env, "run", "--json", cwd=tmp_path, DEBUG="1", **{variable: wrong})
    assert done.returncode == 3, done.stderr.decode()[-2000:]
    report = json.loads(done.stdout)
    assert report["status"] == "aborted"
    assert report["message"]
    secrets = {**CONFIGURED, **issued, f"wrong {variable}": wrong}
    assert _leaks(done.stdout + done.stderr, secrets) == []
    assert env.zoho.records("Accounts") == []


# -- TLS ----------------------------------------------------------------------------------


def test_tls_verification_is_on_unless_explicitly_turned_off(tmp_path: Path) -> None:
    settings = Settings.from_values(BASE_URL="https://galaxy.example")
    assert settings.galaxy_verify is True
    off = Settings.from_values(BASE_URL="https://galaxy.example", GALAXY_VERIFY_TLS="false")
    assert off.galaxy_verify is False
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not used here")
    assert Settings.from_values(GALAXY_CA_BUNDLE=bundle).galaxy_verify == str(bundle)


def test_turning_tls_verification_off_is_loud(tmp_path: Path) -> None:
    with fault_env(tmp_path, customers=30, seed=4) as env:
        done = run_gzsync(env, "run", "--quiet", cwd=tmp_path, GALAXY_VERIFY_TLS="false")
        assert done.returncode in (0, 1), done.stderr.decode()
        warnings = [
            line for line in done.stderr.decode().splitlines() if "TLS verification is OFF" in line
        ]
        assert len(warnings) == 1, done.stderr.decode()
        assert "WARNING" in warnings[0]


# -- hostile keys -------------------------------------------------------------------------

HOSTILE_KEYS = [
    "X'); DELETE FROM Accounts; --",
    "1,Greater]}]",
    "Q' or Trader_ID is not null or Trader_ID = 'Z",
    '"]},{THIRDPARTYREVNUM:[0,Greater]}]',
    "O'BRIEN & SONS",
    "ΑΒΓ'Δ",
]


def test_hostile_keys_cannot_change_the_queries_they_are_placed_in(tmp_path: Path) -> None:
    with fault_env(tmp_path, customers=40, seed=6) as env:
        rev = 4_000_000
        customers, contacts = [], []
        for i, key in enumerate(HOSTILE_KEYS):
            customers.append(
                {"TRDRID": key, "TRDRNAME": f"Hostile {i}", "THIRDPARTYREVNUM": rev + i}
            )
            contacts.append(
                {"CONTACTID": f"{key}#c", "TRDRID": key, "LASTNAME": f"Contact {i}",
                 "CONTACTS_REVNUM": rev + 100 + i}
            )  # fmt: skip
        env.galaxy.add_rows("zh_Customers_fin", customers)
        env.galaxy.add_rows("ZH_CONTACTS", contacts)

        sync(env, entities=("accounts",))
        accounts = accounts_by_key(env)
        assert all(key.upper() in accounts for key in HOSTILE_KEYS)
        # Contacts from a fresh state file: no id cache, so every parent is looked up in
        # Zoho with COQL `Trader_ID in (...)`, hostile values included.
        coql_before = env.zoho.stats()["calls"]["coql"]
        fresh = env.with_settings(STATE_DB=tmp_path / "fresh.db", WATERMARK_REREAD=10**7)
        report = sync(env, fresh, entities=("contacts",))
        assert report.status in ("success", "incomplete"), report.message
        assert env.zoho.stats()["calls"]["coql"] > coql_before
        assert_parity(env)  # every contact hangs on its own Account, no other
        by_contact = {c["Galaxy_Contact_ID"].casefold(): c for c in env.zoho.records("Contacts")}
        for key in HOSTILE_KEYS:
            parent = by_contact[f"{key}#c".casefold()]["Account_Name"]["id"]
            assert parent == accounts[key.upper()]["id"], key
        # and nothing was deleted or rewritten on the way
        assert len(env.zoho.records("Accounts")) == len(accounts)
