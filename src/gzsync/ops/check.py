"""`gzsync check`: Zoho's field metadata against our mappings, and probes of both systems.

:func:`check_metadata` is pure: it takes the `fields` arrays of
`GET /crm/v8/settings/fields` for Accounts and Contacts and the mapping tables, and returns
every :class:`Problem` with its fix. :func:`probe` is the I/O around it: configuration,
Galaxy's `/auth`, Zoho's token and field metadata.

Metadata shapes accepted (the sandbox's and Zoho's, v2 to v8):

- uniqueness: `"unique": {"casesensitive": "false"}` on a unique field, `{}` (or null,
  false, absent) on the others; a bare `true` counts as unique too;
- lookup target: `"lookup": {"module": {"api_name": "Accounts", "id": ...}}` (v8) or
  `"lookup": {"module": "Accounts"}` (older versions).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from gzsync.config import Settings
from gzsync.errors import (
    GalaxyAuthError,
    GalaxyError,
    GzsyncError,
    ZohoAuthError,
    ZohoError,
)
from gzsync.galaxy.filters import Condition, Op
from gzsync.galaxy.offers import DOC_ID_COLUMN
from gzsync.http import RetryPolicy
from gzsync.logs import redact
from gzsync.mapping.tables import AFFILIATE, CUSTOMER, Kind, Table, contact_table

#: Zoho data types that can hold each kind of mapped value.
_TEXT = frozenset({"text", "textarea", "picklist"})
COMPATIBLE_TYPES: dict[Kind, frozenset[str]] = {
    "text": _TEXT,
    "digits": _TEXT,
    # The key must be a Single Line: Zoho allows "Do not allow duplicate values" on it.
    "id": frozenset({"text"}),
    "phone": frozenset({"phone", "text"}),
    "email": frozenset({"email"}),
    # Balances and turnovers have decimals: an integer field would refuse 10.5.
    "currency": frozenset({"currency", "double", "decimal"}),
    "decimal": frozenset({"currency", "double", "decimal"}),
    "revision": frozenset({"integer", "bigint", "double", "currency", "decimal"}),
}

#: Lookups the pipeline fills (not in the mapping tables): module -> field -> target module.
LOOKUPS: dict[str, dict[str, str]] = {
    "Accounts": {"Affiliate_To": "Accounts"},
    "Contacts": {"Account_Name": "Accounts"},
}

_SETUP = "In Zoho CRM, Setup > Modules and Fields > {module}"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing that stops a sync from working, and how to fix it (one sentence)."""

    field: str  # `Module.Field`, or the system/setting concerned ("Galaxy", "ZOHO_DC")
    problem: str
    fix: str

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "problem": self.problem, "fix": self.fix}


@dataclass(frozen=True, slots=True)
class Expected:
    """What our mapping needs of one Zoho field."""

    module: str
    field: str
    types: frozenset[str]
    unique: bool = False
    lookup_to: str | None = None


def expected_fields(tables: Iterable[Table]) -> list[Expected]:
    """What the mapping tables (plus the pipeline's lookups) need of Zoho, one per field."""
    seen: dict[tuple[str, str], Expected] = {}
    for table in tables:
        for rule in table.rules:
            key = (table.module, rule.zoho_field)
            if key not in seen:
                seen[key] = Expected(
                    table.module,
                    rule.zoho_field,
                    COMPATIBLE_TYPES[rule.kind],
                    unique=rule is table.key,
                )
    for module, lookups in LOOKUPS.items():
        for field, target in lookups.items():
            seen[(module, field)] = Expected(module, field, frozenset({"lookup"}), lookup_to=target)
    return list(seen.values())


def check_metadata(
    metadata: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    tables: Iterable[Table] | None = None,
) -> list[Problem]:
    """Every problem of Zoho's field metadata (module -> `fields` array) for our mappings.

    `tables` defaults to the customer, affiliate and default contact mappings.
    """
    if tables is None:
        tables = (CUSTOMER, AFFILIATE, contact_table())
    expected = expected_fields(tables)
    problems: list[Problem] = []
    for module in dict.fromkeys(e.module for e in expected):
        fields = {str(f.get("api_name")): f for f in metadata.get(module, ())}
        wanted = [e for e in expected if e.module == module]
        for want in wanted:
            problems += _check_field(want, fields.get(want.field))
        mapped = {e.field for e in wanted}
        for name, meta in fields.items():
            if meta.get("system_mandatory") is True and name not in mapped:
                problems.append(
                    Problem(
                        f"{module}.{name}",
                        "is mandatory in Zoho but gzsync does not fill it, so every new "
                        "record would be refused",
                        f"{_SETUP.format(module=module)}: make {name} optional.",
                    )
                )
    return problems


def _check_field(want: Expected, meta: Mapping[str, Any] | None) -> list[Problem]:
    name = f"{want.module}.{want.field}"
    setup = _SETUP.format(module=want.module)
    if meta is None:
        kind = "a lookup to " + want.lookup_to if want.lookup_to else _type_words(want.types)
        return [
            Problem(
                name,
                "does not exist in Zoho",
                f"{setup}: add a field with API name {want.field} ({kind}).",
            )
        ]
    problems: list[Problem] = []
    data_type = str(meta.get("data_type", ""))
    if data_type not in want.types:
        problems.append(
            Problem(
                name,
                f"has type {data_type or '(none)'}, gzsync needs {_type_words(want.types)}",
                f"{setup}: replace {want.field} with a field of type "
                f"{_type_words(want.types)} (Zoho cannot change a field's type).",
            )
        )
    elif want.lookup_to is not None and lookup_module(meta) != want.lookup_to:
        problems.append(
            Problem(
                name,
                f"is a lookup to {lookup_module(meta) or '(unknown)'}, not to {want.lookup_to}",
                f"{setup}: make {want.field} a lookup to {want.lookup_to}.",
            )
        )
    if want.unique and not is_unique(meta):
        problems.append(
            Problem(
                name,
                "is not a unique field, so upserts cannot match on it and duplicates appear",
                f'{setup}: edit {want.field} and tick "Do not allow duplicate values".',
            )
        )
    if meta.get("read_only") is True:
        problems.append(
            Problem(
                name,
                "is read-only, so Zoho ignores what gzsync writes",
                f"{setup}: make {want.field} editable for the API user's profile.",
            )
        )
    return problems


def is_unique(meta: Mapping[str, Any]) -> bool:
    """True when the field has "Do not allow duplicate values" (any metadata shape)."""
    unique = meta.get("unique")
    if isinstance(unique, dict):
        return bool(unique)
    if isinstance(unique, str):
        return unique.strip().lower() == "true"
    return unique is True


def lookup_module(meta: Mapping[str, Any]) -> str | None:
    """The module a lookup field points to (v8 object or older string form)."""
    lookup = meta.get("lookup")
    if not isinstance(lookup, dict):
        return None
    module = lookup.get("module")
    if isinstance(module, dict):
        name = module.get("api_name")
        return str(name) if name else None
    return str(module) if module else None


def _type_words(types: frozenset[str]) -> str:
    return " or ".join(sorted(types))


# -- probes ---------------------------------------------------------------------------------


@dataclass(slots=True)
class CheckResult:
    """What `gzsync check` found: each probe's outcome and every problem."""

    checks: list[tuple[str, bool, str]]  # (name, ok, detail)
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": [{"name": n, "ok": ok, "detail": d} for n, ok, d in self.checks],
            "problems": [p.to_json() for p in self.problems],
        }


#: Probes fail fast: an operator waiting for `check` wants an answer, not five retries.
PROBE_RETRY = RetryPolicy(attempts=2, wait_initial=0.2, wait_max=1.0, wait_jitter=0.0, timeout=60)


def probe(settings: Settings, *, retry: RetryPolicy = PROBE_RETRY) -> CheckResult:
    """Log in to Galaxy, get a Zoho token and both modules' metadata, and compare.

    The caller has checked the configuration (`settings.require_sync()`). The probes use
    a throwaway state store, so they test the credentials themselves (not a cached session
    or token) and leave the real state untouched.
    """
    with tempfile.TemporaryDirectory(prefix="gzsync-check-") as tmp:
        from gzsync.state.sqlite import open_sqlite_store

        store = open_sqlite_store(Path(tmp) / "probe.db")
        try:
            return asyncio.run(_probe(settings, store, retry))
        finally:
            store.close()


async def _probe(settings: Settings, store: Any, retry: RetryPolicy) -> CheckResult:
    from gzsync.ops.check_quotes import probe_quotes

    galaxy, zoho = await asyncio.gather(
        _probe_galaxy(settings, store, retry), _probe_zoho(settings, store, retry)
    )
    state = probe_state(settings)
    checks = [galaxy[0], zoho[0], state[0]]
    problems = galaxy[1] + zoho[1] + state[1]
    metadata = zoho[2]
    if metadata is not None:
        found = check_metadata(metadata, tables=_tables(settings))
        detail = f"{len(found)} problem(s)" if found else "every mapped field fits"
        checks.append(("Zoho field metadata", not found, detail))
        problems += found
        phase2 = await probe_quotes(settings, store, retry)  # issue 14: Quotes, Products, taxes
        checks += phase2[0]
        problems += phase2[1]
    return CheckResult(checks=checks, problems=problems)


def _tables(settings: Settings) -> tuple[Table, ...]:
    return (CUSTOMER, AFFILIATE, contact_table(settings.galaxy_contact_columns))


async def _probe_galaxy(
    settings: Settings, store: Any, retry: RetryPolicy
) -> tuple[tuple[str, bool, str], list[Problem]]:
    from gzsync.clients import galaxy_client

    client = galaxy_client(settings, store, retry=retry)
    name = "Galaxy ERP"
    try:
        await client.authenticate()
    except GalaxyAuthError as exc:
        return (name, False, _text(exc)), [
            Problem(
                "AUTH_USERNAME",
                f"Galaxy refused the credentials: {_text(exc)}{_where(exc, settings)}",
                "Set AUTH_USERNAME and AUTH_PASSWORD to a Galaxy API user that can log in.",
            )
        ]
    except GalaxyError as exc:
        return (name, False, _text(exc)), [
            Problem(
                "BASE_URL",
                f"Galaxy cannot be reached or answers oddly: {_text(exc)}{_where(exc, settings)}",
                "Check BASE_URL (and GALAXY_CA_BUNDLE for a private certificate) and that "
                "this host can reach Galaxy.",
            )
        ]
    else:
        view_checks, view_problems = await _probe_views(settings, client)
    finally:
        await client.aclose()
    detail = f"logged in at {redact(settings.base_url or '')}; {view_checks}"
    return (name, not view_problems, detail), view_problems


class _OneRowIsEnough(Exception):
    """Raised from the row callback: a view that yields a row answers."""


#: An offer id no Galaxy holds: `check` reads the lines view for it (an empty answer).
NO_OFFER = "00000000-0000-0000-0000-000000000000"


def _no_offer_lines(client: Any) -> Any:
    """A read of the offer-lines view (a GUID) filtered to :data:`NO_OFFER`."""

    async def read(guid: str, _: Sequence[Any], on_row: Any) -> int:
        condition = Condition(DOC_ID_COLUMN, Op.Equal, NO_OFFER)
        rows: int = await client.read_advanced_view(guid, [condition], on_row)
        return rows

    return read


_NAME = "name of that view in Galaxy (case-sensitive)"
_VIEW_WORDS = {"GALAXY_OFFER_LINES_VIEW": "GUID of the offer lines' advanced custom view"}

#: The views a run reads: the variable that names each, and its setting attribute.
VIEW_SETTINGS: tuple[tuple[str, str], ...] = (
    ("GALAXY_CUSTOMERS_VIEW", "galaxy_customers_view"),
    ("GALAXY_AFFILIATES_VIEW", "galaxy_affiliates_view"),
    ("GALAXY_CONTACTS_VIEW", "galaxy_contacts_view"),
)


async def _probe_views(settings: Settings, client: Any) -> tuple[str, list[Problem]]:
    """Read one row of each view a run reads (the read stops at the first row)."""
    from gzsync.remedies import remedy

    def enough(row: dict[str, Any]) -> None:
        raise _OneRowIsEnough

    answered: list[str] = []
    problems: list[Problem] = []
    reads = [
        (variable, str(getattr(settings, attr)), partial(client.read_view, entity="Customer"))
        for variable, attr in VIEW_SETTINGS
    ]
    # phase 2 (issue 14): the offers view, and the lines view asked for an offer no one has
    # (a cheap read: Galaxy answers an empty list when the GUID exists, 404 when it does not)
    reads += [
        (
            "GALAXY_OFFERS_VIEW",
            settings.galaxy_offers_view,
            partial(client.read_view, entity=settings.galaxy_offers_entity),
        ),
        ("GALAXY_OFFER_LINES_VIEW", settings.galaxy_offer_lines_view, _no_offer_lines(client)),
    ]
    for variable, view, read in reads:
        try:
            rows = await read(view, [], enough)
        except _OneRowIsEnough:
            answered.append(view)
        except (GalaxyError, ValueError) as exc:
            text = redact(str(exc))
            found = remedy(exc, settings) if isinstance(exc, GalaxyError) else None
            fix = (
                found.fix[:1].upper() + found.fix[1:]
                if found is not None and found.variable == variable
                else f"Set {variable} to the {_VIEW_WORDS.get(variable, _NAME)}."
            )
            problems.append(Problem(variable, f"= {view}: {text}", fix))
        else:
            lines = variable == "GALAXY_OFFER_LINES_VIEW"  # asked for no offer: always empty
            answered.append(f"{view} (empty)" if rows == 0 and not lines else view)
    if problems:
        return f"{len(problems)} view(s) do not answer", problems
    return "views answer: " + ", ".join(answered), problems


async def _probe_zoho(
    settings: Settings, store: Any, retry: RetryPolicy
) -> tuple[tuple[str, bool, str], list[Problem], dict[str, list[dict[str, Any]]] | None]:
    from gzsync.clients import token_source, zoho_client

    name = "Zoho CRM"
    if not (
        settings.zoho_client_id and settings.zoho_client_secret and settings.zoho_refresh_token
    ):
        # A Catalyst Connection gives tokens only inside Catalyst.
        problem = Problem(
            "ZOHO_CONNECTION",
            "Zoho is reached through a Catalyst Connection, which works only inside Catalyst",
            "Run check with ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_REFRESH_TOKEN of a "
            "self client to test Zoho from here.",
        )
        return (name, False, problem.problem), [problem], None
    tokens = token_source(settings, store, retry=retry)
    client = zoho_client(settings, tokens, retry=retry)
    try:
        metadata = {module: await client.fields(module) for module in ("Accounts", "Contacts")}
    except ZohoAuthError as exc:
        return (
            (name, False, _text(exc)),
            [
                Problem(
                    "ZOHO_REFRESH_TOKEN",
                    "Zoho refused the client or refresh token: "
                    f"{_text(exc)}{_where(exc, settings)}",
                    "Check ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN and that "
                    "ZOHO_DC is the data centre they were issued in.",
                )
            ],
            None,
        )
    except ZohoError as exc:
        from gzsync.remedies import remedy

        found = remedy(exc, settings)
        field, fix = (
            "ZOHO_API_URL",
            (
                "Check ZOHO_DC (or ZOHO_API_URL) and that the refresh token has the scopes "
                "ZohoCRM.modules.ALL, ZohoCRM.settings.fields.READ and ZohoCRM.coql.READ."
            ),
        )
        if found is not None:
            field, fix = found.variable, found.fix[:1].upper() + found.fix[1:]
        what = f"Zoho's field metadata could not be read: {_text(exc)}{_where(exc, settings)}"
        return (
            (name, False, _text(exc)),
            [Problem(field, what, fix)],
            None,
        )
    finally:
        await client.aclose()
        await tokens.aclose()
    return (name, True, f"token and field metadata from {settings.zoho_api_base}"), [], metadata


def probe_state(settings: Settings) -> tuple[tuple[str, bool, str], list[Problem]]:
    """The state store a run needs: it opens read-write, is not corrupt, and whose the run
    lock is. Reads only; creates nothing (a missing SQLite file only needs a writable
    folder)."""
    name = "State store"
    if settings.state_backend == "catalyst":
        from gzsync.state import open_store

        try:
            store = open_store(settings)
            try:
                store.get_watermark("customers")
            finally:
                store.close()
        except GzsyncError as exc:
            problem = Problem(
                "CATALYST_NOSQL_TABLE",
                f"the Catalyst state store does not answer: {_text(exc)}",
                "Create the NoSQL table (partition key pk, sort key sk, both String) and run "
                "check inside Catalyst or with Catalyst credentials.",
            )
            return (name, False, problem.problem), [problem]
        return (name, True, f"Catalyst NoSQL table {settings.catalyst_nosql_table}"), []

    from gzsync.ops import state_admin

    path = Path(settings.state_db)
    summary = state_admin.summarize(path)
    if summary.problems:
        problem = Problem(
            "STATE_DB",
            f"= {path} is corrupt or not a gzsync state file: {'; '.join(summary.problems)}",
            "Restore a backup with `gzsync state restore FILE`, or start empty with "
            "`gzsync state reset` (it says what is lost, and keeps the old file).",
        )
        return (name, False, problem.problem), [problem]
    unwritable = state_admin.writable(path)
    if unwritable is not None:
        problem = Problem(
            "STATE_DB",
            f"= {path}: {unwritable}",
            "Point STATE_DB at a file this user can write, or fix the owner and mode of "
            "the file and its folder.",
        )
        return (name, False, problem.problem), [problem]
    if not summary.exists:
        return (name, True, f"{path} will be created by the first run"), []
    detail = f"{path} opens read-write and is sound; " + _lock_words(summary)
    return (name, True, detail), []


def _lock_words(summary: Any) -> str:
    import time

    from gzsync.ops import words

    holder, expires = summary.lock_holder, summary.lock_expires_at
    if holder is None or expires is None or expires <= time.time():
        return "the run lock is free"
    return f"the run lock is held by {holder} until {words.iso_time(expires)}"


def _where(exc: GzsyncError, settings: Settings) -> str:
    """` (BASE_URL=https://...)`: the setting behind the failure, as a run would name it."""
    from gzsync.remedies import remedy

    found = remedy(exc, settings)
    return "" if found is None else f" ({redact(found.setting)})"


def _text(exc: GzsyncError) -> str:
    return redact(str(exc))
