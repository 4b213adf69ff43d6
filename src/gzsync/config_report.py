"""Configuration problems as an operator reads them: all at once, each with its fix.

:func:`config_errors` turns what :mod:`gzsync.config` found (pydantic's validation errors,
missing required values) into one :class:`~gzsync.errors.ConfigErrors` that lists every
problem with the variable, what is wrong and what to do, says where settings were read
from (the environment and the `.env` path, found or not), and adds "did you mean" hints
for names in the environment or `.env` that are close to a setting but not one
(`AUTH_PASWORD`, `zoho_dc`).

A command that syncs gets malformed and missing values in one list
(:func:`gzsync.config.load_sync_settings`): the missing ones are found on the settings read
with each malformed value at its default.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from gzsync.errors import ConfigError, ConfigErrors

#: Where pydantic-settings looks for the `.env` file (Settings.model_config): the working
#: directory.
ENV_FILE = Path(".env")

#: What to set a variable to, for the fix of a missing or malformed value.
_WHAT: dict[str, str] = {
    "BASE_URL": "the Galaxy API base URL, e.g. https://galaxy.example.com",
    "AUTH_USERNAME": "the Galaxy API user",
    "AUTH_PASSWORD": "the Galaxy API user's password",
    "ZOHO_CLIENT_ID": "the client id of a Zoho self client (api-console.zoho.<dc>)",
    "ZOHO_CLIENT_SECRET": "that self client's secret",
    "ZOHO_REFRESH_TOKEN": "a refresh token with the scopes ZohoCRM.modules.ALL, "
    "ZohoCRM.coql.READ, ZohoCRM.settings.fields.READ",
    "ZOHO_DC": "your Zoho data centre: us, eu, in, au, jp, ca, sa, cn or uk",
    "ZOHO_CONCURRENCY": "a whole number from 1 to 10",
    "TIMEOUT_MS": "a whole number of milliseconds, e.g. 20000",
    "HTTP_ATTEMPTS": "a whole number from 1 to 20",
    "STATE_BACKEND": "sqlite or catalyst",
    "GALAXY_VERIFY_TLS": "true or false",
    "GALAXY_CA_BUNDLE": "the path of a PEM file holding your private CA",
    "GALAXY_CONTACT_COLUMNS": 'a JSON object with all nine keys, e.g. {"CONTACTID":"ID", ...}',
    "ZOHO_WATERMARK_READ": "coql or v2",
}


@dataclass(frozen=True, slots=True)
class NearMiss:
    """A name that looks like a setting but is not one."""

    name: str
    meant: str
    source: str  # "the environment" or the `.env` path

    def hint(self) -> str:
        return (
            f"{self.name} (in {self.source}) is not a gzsync setting: did you mean "
            f"{self.meant}? Rename it."
        )


def fix_for(variable: str, problem: str) -> str:
    """One sentence saying what to do about `variable`."""
    what = _WHAT.get(variable)
    where = f"in the environment or in {env_file_path()}"
    if problem == "is not set":
        return f"set {variable} {where}" + (f" to {what}" if what else "")
    if what:
        return f"set {variable} to {what}"
    return f"correct {variable} {where}"


def env_file_path() -> Path:
    """The `.env` file settings are read from (absolute)."""
    return ENV_FILE.resolve()


def source_note() -> str:
    """`settings from the environment and /srv/gzsync/.env` (or `; no .env at ...`)."""
    path = env_file_path()
    if path.is_file():
        return f"settings read from the environment and {path}"
    return f"settings read from the environment; no .env file at {path}"


def env_file_names(path: Path) -> list[str]:
    """The variable names a `.env` file sets (`NAME=...`, `export NAME=...`)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    names = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name = line.split("=", 1)[0].strip().removeprefix("export ").strip()
        if name:
            names.append(name)
    return names


def near_misses(
    known: Iterable[str],
    *,
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = None,
) -> list[NearMiss]:
    """Names in the environment or `.env` that are close to a known setting but not one.

    A name differing only in case counts (names are case-sensitive); otherwise the match
    must be close (difflib ratio 0.85 for the environment, which holds many unrelated
    names, 0.75 for `.env`, which is ours).
    """
    known_list = list(known)
    known_set = set(known_list)
    by_upper: dict[str, str] = {}
    for name in known_list:  # the upper-case spelling (the documented one) wins
        if name.upper() not in by_upper or name.isupper():
            by_upper[name.upper()] = name
    found: list[NearMiss] = []
    sources: list[tuple[str, Iterable[str], float]] = [
        ("the environment", (environ if environ is not None else os.environ).keys(), 0.85)
    ]
    path = env_file if env_file is not None else env_file_path()
    sources.append((str(path), env_file_names(path), 0.75))
    seen: set[str] = set()
    for source, names, cutoff in sources:
        for name in names:
            if name in known_set or name in seen:
                continue
            meant = by_upper.get(name.upper())
            if meant is None:
                close = difflib.get_close_matches(name.upper(), list(by_upper), n=1, cutoff=cutoff)
                meant = by_upper[close[0]] if close else None
            if meant is not None:
                seen.add(name)
                found.append(NearMiss(name, meant, source))
    return found


def config_errors(errors: list[ConfigError], known: Iterable[str]) -> ConfigErrors:
    """Every problem with its fix, the hints for near-miss names, and where settings come
    from: the one exception the CLI prints."""
    misses = near_misses(known)
    hints: list[str] = []
    meant = {m.meant: m for m in misses}
    enriched = []
    for error in errors:
        fix = error.fix or fix_for(error.variable, error.problem)
        miss = meant.pop(error.variable, None)
        if miss is not None:
            fix = f"{fix} (did you mean {miss.name}, set in {miss.source}? Rename it.)"
        enriched.append(ConfigError(error.variable, error.problem, fix=fix))
    hints += [m.hint() for m in meant.values()]
    return ConfigErrors(enriched, hints=hints, source=source_note())
