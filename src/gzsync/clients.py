"""Building the two API clients from the settings: one place, used by runs and `check`."""

from __future__ import annotations

from collections.abc import Callable

from gzsync.config import Settings
from gzsync.galaxy.client import GalaxyClient
from gzsync.http import RetryPolicy
from gzsync.state.store import StateStore
from gzsync.zoho.auth import StaticTokenSource, TokenProvider, TokenSource
from gzsync.zoho.client import ZohoClient


def galaxy_client(
    settings: Settings, store: StateStore, *, retry: RetryPolicy | None = None
) -> GalaxyClient:
    """The Galaxy client of these settings; its session is kept in `store`."""
    if not (settings.base_url and settings.auth_username and settings.auth_password):
        raise ValueError("galaxy_client needs BASE_URL, AUTH_USERNAME and AUTH_PASSWORD")
    return GalaxyClient(
        base_url=settings.base_url,
        username=settings.auth_username,
        password=settings.auth_password.get_secret_value(),
        store=store,
        timeout_s=settings.timeout_s,
        verify=settings.galaxy_verify,
        ss_pid=settings.ss_pid_cookie.get_secret_value() if settings.ss_pid_cookie else None,
        retry=retry or settings.retry_policy,
    )


def token_source(
    settings: Settings,
    store: StateStore,
    *,
    access_token: Callable[[], str] | None = None,
    retry: RetryPolicy | None = None,
) -> TokenSource:
    """Zoho access tokens: from `access_token` (a Catalyst Connection) when given, else the
    refresh-token grant, cached in `store`."""
    if access_token is not None:
        return StaticTokenSource(access_token)
    if not (
        settings.zoho_client_id and settings.zoho_client_secret and settings.zoho_refresh_token
    ):
        raise ValueError("token_source needs the three ZOHO_* credentials")
    return TokenProvider(
        accounts_base=settings.zoho_accounts_base,
        client_id=settings.zoho_client_id,
        client_secret=settings.zoho_client_secret.get_secret_value(),
        refresh_token=settings.zoho_refresh_token.get_secret_value(),
        store=store,
        timeout_s=settings.timeout_s,
        retry=retry or settings.retry_policy,
    )


def zoho_client(
    settings: Settings, tokens: TokenSource, *, retry: RetryPolicy | None = None
) -> ZohoClient:
    """The Zoho client of these settings; never more than ZOHO_CONCURRENCY calls in flight."""
    return ZohoClient(
        api_base=settings.zoho_api_base,
        tokens=tokens,
        timeout_s=settings.timeout_s,
        retry=retry or settings.retry_policy,
        max_connections=max(10, settings.zoho_concurrency * 2),
        max_in_flight=settings.zoho_concurrency,
    )
