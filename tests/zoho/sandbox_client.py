"""A Zoho client for the loopback sandbox: its OAuth credentials, a memory store, test retries."""

from __future__ import annotations

from typing import Any

from tests.kvstore import MemoryStore

from gzsync.http import RetryPolicy
from gzsync.sandbox import credentials
from gzsync.zoho.auth import TokenProvider
from gzsync.zoho.client import ZohoClient


def sandbox_tokens(url: str) -> TokenProvider:
    """Tokens from the sandbox's accounts endpoint at url, cached in a fresh MemoryStore."""
    return TokenProvider(
        accounts_base=url,
        client_id=credentials.ZOHO_CLIENT_ID,
        client_secret=credentials.ZOHO_CLIENT_SECRET,
        refresh_token=credentials.ZOHO_REFRESH_TOKEN,
        store=MemoryStore(),
        retry=RetryPolicy.for_tests(),
    )


def sandbox_client(url: str, **kwargs: Any) -> ZohoClient:
    """A ZohoClient on the sandbox at url; kwargs go to ZohoClient (e.g. max_in_flight)."""
    return ZohoClient(
        api_base=url, tokens=sandbox_tokens(url), retry=RetryPolicy.for_tests(), **kwargs
    )
