"""The fixed credentials both sandboxes accept. They open nothing outside this machine."""

from __future__ import annotations

GALAXY_USERNAME = "sandbox"
GALAXY_PASSWORD = "sandbox-password"  # noqa: S105 - a sandbox credential, not a secret
ZOHO_CLIENT_ID = "1000.SANDBOXCLIENT"
ZOHO_CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105
ZOHO_REFRESH_TOKEN = "1000.sandbox-refresh-token"  # noqa: S105
