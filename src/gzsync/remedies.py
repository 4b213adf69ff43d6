"""What to do about an error: the variable behind it, its value, and the fix.

`gzsync run` (in the run's message and exit-3 line) and `gzsync check` (in its problems)
say the same thing about the same failure: the URL tried, the variable that set it, and
one sentence on what to do. :func:`remedy` is pure: it reads the exception's type and
endpoint and the settings, and never a secret (URLs pass through redaction).
"""

from __future__ import annotations

from dataclasses import dataclass

from gzsync.config import Settings
from gzsync.errors import (
    GalaxyAuthError,
    GalaxyError,
    GalaxyResponseError,
    GzsyncError,
    LockHeldError,
    StateError,
    ZohoAuthError,
    ZohoError,
)
from gzsync.logs import redact

_SCOPES = "ZohoCRM.modules.ALL, ZohoCRM.coql.READ, ZohoCRM.settings.fields.READ"


@dataclass(frozen=True, slots=True)
class Remedy:
    """The variable(s) behind a failure, what they are set to, and what to do."""

    variable: str  # the setting to look at first, e.g. "BASE_URL"
    setting: str  # how it is set now, e.g. "BASE_URL=http://127.0.0.1:9"
    fix: str  # one sentence

    def text(self) -> str:
        return f"{self.setting} · fix: {self.fix}"


def remedy(exc: GzsyncError, settings: Settings) -> Remedy | None:
    """The remedy for a run-time failure, or None when the message says it all."""
    if isinstance(exc, LockHeldError):
        return None
    if isinstance(exc, GalaxyAuthError):
        return Remedy(
            "AUTH_USERNAME",
            f"AUTH_USERNAME={settings.auth_username or ''} at BASE_URL={_url(settings.base_url)}",
            "set AUTH_USERNAME and AUTH_PASSWORD to a Galaxy API user that can log in "
            "(`gzsync check` tries them).",
        )
    if isinstance(exc, GalaxyResponseError):
        view = _view_setting(exc, settings)
        if view is not None:
            name, value = view
            if exc.status in (400, 404):
                fix = (
                    f"set {name} to the name of that view in Galaxy (views are "
                    "case-sensitive); `gzsync check` reads one row of each view."
                )
            else:
                fix = (
                    f"Galaxy answered an error for this view: ask the Galaxy admin, or set "
                    f"{name} to a view that answers; `gzsync check` reads one row of each."
                )
            return Remedy(name, f"{name}={value} at BASE_URL={_url(settings.base_url)}", fix)
    if isinstance(exc, GalaxyError):
        return Remedy(
            "BASE_URL",
            f"BASE_URL={_url(settings.base_url)}",
            "check BASE_URL (scheme, host, port, path) and that this host can reach Galaxy "
            "(firewall, VPN); GALAXY_CA_BUNDLE for a private certificate.",
        )
    if isinstance(exc, ZohoAuthError):
        return Remedy(
            "ZOHO_REFRESH_TOKEN",
            f"ZOHO_DC={settings.zoho_dc}, accounts server {settings.zoho_accounts_base}",
            "check ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_REFRESH_TOKEN, and that ZOHO_DC "
            f"is the data centre they were issued in; a new refresh token needs the scopes "
            f"{_SCOPES}.",
        )
    if isinstance(exc, ZohoError):
        if exc.endpoint == "zoho token" or "accounts server" in str(exc):
            name = "ZOHO_ACCOUNTS_URL" if settings.zoho_accounts_url else "ZOHO_DC"
            return Remedy(
                name,
                f"{name}={_url(settings.zoho_accounts_url) or settings.zoho_dc} "
                f"(accounts server {settings.zoho_accounts_base})",
                f"check {name} and that this host can reach {settings.zoho_accounts_base}.",
            )
        name = "ZOHO_API_URL" if settings.zoho_api_url else "ZOHO_DC"
        setting = (
            f"{name}={_url(settings.zoho_api_url) or settings.zoho_dc} "
            f"(CRM API {settings.zoho_api_base})"
        )
        if exc.code == "network_error" or exc.status is None:
            fix = f"check {name} and that this host can reach {settings.zoho_api_base}."
        elif exc.status in (401, 403) or (exc.code or "").startswith("OAUTH"):
            fix = f"give the refresh token the scopes {_SCOPES} (ZOHO_REFRESH_TOKEN)."
        else:
            fix = "Zoho refused the request; the message says why (`gzsync check` helps)."
        return Remedy(name, setting, fix)
    if isinstance(exc, StateError):
        if settings.state_backend == "catalyst":
            return Remedy(
                "CATALYST_NOSQL_TABLE",
                f"STATE_BACKEND=catalyst, CATALYST_NOSQL_TABLE={settings.catalyst_nosql_table}",
                "check that the NoSQL table exists with partition key pk and sort key sk.",
            )
        return Remedy(
            "STATE_DB",
            f"STATE_DB={settings.state_db}",
            "run `gzsync check`; a corrupt file: `gzsync state restore BACKUP` or "
            "`gzsync state reset`; a full disk or wrong owner: free space, fix ownership.",
        )
    return None


def explain(exc: GzsyncError, settings: Settings) -> str:
    """The error's message followed by its remedy, redacted: one line for people."""
    message = redact(str(exc))
    found = remedy(exc, settings)
    return message if found is None else f"{message} · {redact(found.text())}"


def _url(url: str | None) -> str:
    return redact(url or "")


def _view_setting(exc: GalaxyResponseError, settings: Settings) -> tuple[str, str] | None:
    where = f"{exc.endpoint or ''} {exc}"
    for name, value in (
        ("GALAXY_CUSTOMERS_VIEW", settings.galaxy_customers_view),
        ("GALAXY_AFFILIATES_VIEW", settings.galaxy_affiliates_view),
        ("GALAXY_CONTACTS_VIEW", settings.galaxy_contacts_view),
    ):
        if f"/{value}" in where or f"view {value}" in where:
            return name, value
    return None
