"""The exception tree of gzsync, in one place.

    GzsyncError                      anything gzsync raises on purpose
    ├── ConfigError                  a setting is missing or malformed (exit 2)
    │   └── ConfigErrors             several at once, with "did you mean" hints
    ├── ServiceError                 a remote system failed the run (exit 3)
    │   ├── GalaxyError              Galaxy ERP
    │   │   ├── GalaxyAuthError      /auth refused our credentials
    │   │   └── GalaxyResponseError  a view answered with an error or a body we cannot read
    │   └── ZohoError                Zoho CRM
    │       ├── ZohoAuthError        the token endpoint refused our client or refresh token
    │       └── ZohoRequestError     a whole request failed (Zoho `code`, HTTP status)
    │           └── ZohoCreditsExhausted  429: the org's daily API credits are used up
    ├── StateError                   the state store failed
    │   └── LockHeldError            another run holds the lock (exit 75)
    └── BudgetExhausted              the run's time budget ran out (not a failure)

A record that Zoho or our validation refuses is *data* (a result with its code and field),
never an exception. No exception text ever carries a secret: messages are built from
endpoints, statuses and codes, and URLs pass through :func:`gzsync.logs.redact` first.
"""

from __future__ import annotations

from collections.abc import Sequence


class GzsyncError(Exception):
    """Base class of every error gzsync raises on purpose."""

    exit_code: int = 1


class ConfigError(GzsyncError):
    """A configuration value is missing or malformed; names the variable (and the fix)."""

    exit_code = 2

    def __init__(self, variable: str, problem: str, *, fix: str = "") -> None:
        self.variable = variable
        self.problem = problem
        self.fix = fix
        super().__init__(f"{variable}: {problem}")

    def line(self) -> str:
        """`VARIABLE: problem · fix: what to do`."""
        return f"{self.variable}: {self.problem}" + (f" · fix: {self.fix}" if self.fix else "")


class ConfigErrors(ConfigError):
    """Every configuration problem found at once; `variable` is the first one's.

    `hints` are lines about names that are close to a setting but not one ("did you
    mean"); `source` says where settings were read from (the `.env` path).
    """

    def __init__(
        self, errors: Sequence[ConfigError], *, hints: Sequence[str] = (), source: str = ""
    ) -> None:
        first = errors[0]
        super().__init__(first.variable, first.problem, fix=first.fix)
        self.errors = list(errors)
        self.hints = list(hints)
        self.source = source
        self.args = (self.render(),)

    def render(self) -> str:
        where = f" ({self.source})" if self.source else ""
        if len(self.errors) == 1 and not self.hints:
            return self.errors[0].line() + where
        head = f"{len(self.errors)} configuration problem(s){where}:"
        lines = [head, *(f"  {e.line()}" for e in self.errors), *(f"  {h}" for h in self.hints)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


class ServiceError(GzsyncError):
    """A remote system failed in a way that aborts the run before anything is half-written."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.status = status
        self.code = code
        super().__init__(message)


class GalaxyError(ServiceError):
    """Galaxy ERP could not be reached or answered with an error."""


class GalaxyAuthError(GalaxyError):
    """Galaxy's /auth refused the configured username and password."""


class GalaxyResponseError(GalaxyError):
    """A Galaxy view answered with an error status or a body that is not a view result."""


class ZohoError(ServiceError):
    """Zoho CRM could not be reached or answered with a request-level error."""


class ZohoAuthError(ZohoError):
    """Zoho's token endpoint refused the client id, secret or refresh token."""


class ZohoRequestError(ZohoError):
    """A Zoho API request failed as a whole (not a per-record error)."""


class ZohoCreditsExhausted(ZohoRequestError):
    """A 429 that means the org's API credits for the rolling 24 hours are used up.

    Not retried (waiting minutes does not bring credits back); a run stops cleanly on it.
    """


class StateError(GzsyncError):
    """The state store could not be read or written."""

    exit_code = 3


class LockHeldError(StateError):
    """Another run holds the run lock."""

    exit_code = 75

    def __init__(self, holder: str, expires_at: float) -> None:
        self.holder = holder
        self.expires_at = expires_at
        super().__init__(f"another gzsync run holds the lock: {holder}")


class BudgetExhausted(GzsyncError):
    """The run's time budget is spent; the run stops cleanly and resumes next time."""

    exit_code = 0
