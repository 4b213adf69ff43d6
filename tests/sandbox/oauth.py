"""A CRM user's access token from the Zoho sandbox, as the sandbox's own credentials grant it."""

from __future__ import annotations

import httpx

from gzsync.sandbox import credentials


def access_token(http: httpx.Client) -> str:
    """Trade the sandbox's refresh token for an access token at `http`'s base URL."""
    token: str = http.post(
        "/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": credentials.ZOHO_CLIENT_ID,
            "client_secret": credentials.ZOHO_CLIENT_SECRET,
            "refresh_token": credentials.ZOHO_REFRESH_TOKEN,
        },
    ).json()["access_token"]
    return token
