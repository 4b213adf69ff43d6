"""The console's security: where it may listen, who may see it, and forged-POST protection.

- **Bind**: loopback (127.0.0.0/8, ::1, `localhost`) by default. Any other address needs
  `CONSOLE_TOKEN` or `CONSOLE_USER` + `CONSOLE_PASSWORD`; without them `gzsync serve` stops
  with exit 2 before listening (:func:`check_bind`).
- **Authentication** (when configured, on any bind): HTTP basic auth with the user and
  password, or the token as `Authorization: Bearer TOKEN` (Prometheus, scripts), or, for a
  browser, a session cookie set by `POST /login` (an HMAC of the token, so it survives a
  restart and dies when the token changes). `GET /healthz` and `/static/` stay open.
- **CSRF**: every state-changing route is a POST that must carry a token bound to a random
  per-browser cookie (`gzsync_csrf`, SameSite=Strict, HttpOnly) by an HMAC under a per-process
  key; a POST whose `Origin` is not this console is refused too. Comparisons are
  constant-time.
- **Headers**: a strict Content-Security-Policy (scripts and styles only from this console,
  no inline script), no framing, no sniffing, no caching of pages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

from gzsync.config import Settings
from gzsync.errors import ConfigError

CSRF_COOKIE = "gzsync_csrf"
SESSION_COOKIE = "gzsync_session"
OPEN_PATHS = ("/healthz", "/login", "/static/")

HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


def is_loopback(host: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_configured(settings: Settings) -> bool:
    return settings.console_token is not None or _basic_configured(settings)


def _basic_configured(settings: Settings) -> bool:
    return bool(settings.console_user) and settings.console_password is not None


def check_bind(host: str, settings: Settings) -> None:
    """Refuse a non-loopback bind without credentials (ConfigError, exit 2)."""
    if settings.console_user and settings.console_password is None:
        raise ConfigError("CONSOLE_PASSWORD", "is not set (CONSOLE_USER is)")
    if not is_loopback(host) and not auth_configured(settings):
        raise ConfigError(
            "CONSOLE_TOKEN",
            f"is required to listen on {host} (or set CONSOLE_USER and CONSOLE_PASSWORD); "
            "without credentials the console binds to loopback only",
        )


def session_value(settings: Settings) -> str | None:
    """The session cookie's value for the configured token."""
    if settings.console_token is None:
        return None
    token = settings.console_token.get_secret_value().encode()
    return hmac.new(token, b"gzsync-console-session", hashlib.sha256).hexdigest()


def token_matches(settings: Settings, candidate: str) -> bool:
    if settings.console_token is None:
        return False
    return hmac.compare_digest(
        candidate.encode(), settings.console_token.get_secret_value().encode()
    )


def authenticated(settings: Settings, authorization: str | None, session: str | None) -> bool:
    """Whether a request with these `Authorization` header and session cookie may proceed."""
    if not auth_configured(settings):
        return True
    expected_session = session_value(settings)
    if session and expected_session and hmac.compare_digest(session, expected_session):
        return True
    if not authorization:
        return False
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return token_matches(settings, value.strip())
    if scheme.lower() == "basic" and _basic_configured(settings):
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        assert settings.console_user is not None
        assert settings.console_password is not None
        ok_user = hmac.compare_digest(user.encode(), settings.console_user.encode())
        ok_password = hmac.compare_digest(
            password.encode(), settings.console_password.get_secret_value().encode()
        )
        return ok_user and ok_password
    return False


class Csrf:
    """Tokens bound to the browser's CSRF cookie under a per-process key."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    @staticmethod
    def new_cookie() -> str:
        return secrets.token_urlsafe(24)

    def token(self, cookie: str) -> str:
        return hmac.new(self._key, cookie.encode(), hashlib.sha256).hexdigest()

    def valid(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token:
            return False
        return hmac.compare_digest(self.token(cookie), token)


def same_origin(origin: str | None, host: str | None) -> bool:
    """A POST's Origin (when the browser sends one) must be this console's host."""
    if not origin:
        return True  # old browsers and non-browser clients; the CSRF token still applies
    if origin == "null" or not host:
        return False
    return urlsplit(origin).netloc.lower() == host.lower()


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target inside this console only (no `//host`, no scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
