"""Helpers for end-to-end tests: run a sync, check the whole Zoho end state."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gzsync.config import Settings
from gzsync.sandbox.parity import ParityReport, check_parity
from gzsync.sandbox.serve import SandboxUrls
from gzsync.state.sqlite import open_sqlite_store
from gzsync.sync.options import RunOptions
from gzsync.sync.pipeline import run_sync
from gzsync.sync.report import RunReport


@dataclass
class Env:
    """Both sandboxes, in-process handles on their state, and settings pointing at them."""

    urls: SandboxUrls
    galaxy: Any  # gzsync.sandbox.galaxy.GalaxyState
    zoho: Any  # gzsync.sandbox.zoho.ZohoState
    settings: Settings
    state_db: Path

    def with_settings(self, **values: Any) -> Settings:
        base = {**self.urls.env(), "STATE_DB": self.state_db}
        base.update(values)
        return Settings.from_values(**base)


def make_env(
    tmp_path: Path, *, customers: int = 300, seed: int = 7, offers: int = 0, **zoho: Any
) -> Iterator[Env]:
    """Phase-1 tests get no sales offers (`offers=0`); the quotes tests put their own."""
    from gzsync.sandbox.galaxy import create_galaxy_app
    from gzsync.sandbox.serve import serve_sandboxes
    from gzsync.sandbox.zoho import create_zoho_app

    galaxy_app = create_galaxy_app(customers=customers, seed=seed, offers=offers)
    zoho.setdefault("strict_fields", True)
    zoho_app = create_zoho_app(seed=seed, **zoho)
    with serve_sandboxes(galaxy_app, zoho_app) as urls:
        state_db = tmp_path / "state.db"
        yield Env(
            urls=urls,
            galaxy=galaxy_app.state.galaxy,
            zoho=zoho_app.state.zoho,
            settings=Settings.from_values(**urls.env(), STATE_DB=state_db),
            state_db=state_db,
        )


def sync(env: Any, settings: Any = None, **options: Any) -> RunReport:
    """One run against the sandboxes of `env` with its state file."""
    return run_sync(settings or env.settings, RunOptions(**options))


def parity(env: Any, *, contacts: bool = True) -> ParityReport:
    """The whole Zoho end state compared with what the Galaxy sandbox holds."""
    return check_parity(
        galaxy_customers=env.galaxy.rows("zh_Customers_fin"),
        galaxy_affiliates=env.galaxy.rows("ZH_AFFILIATE"),
        galaxy_contacts=env.galaxy.rows("ZH_CONTACTS") if contacts else None,
        zoho_accounts=env.zoho.records("Accounts"),
        zoho_contacts=env.zoho.records("Contacts") if contacts else None,
        number_decimal=env.settings.number_decimal,
    )


def assert_parity(env: Any, *, contacts: bool = True) -> ParityReport:
    result = parity(env, contacts=contacts)
    assert result.ok, result.summary()
    return result


def ledger(env: Any) -> list[Any]:
    store = open_sqlite_store(env.state_db)
    try:
        return store.ledger_list()
    finally:
        store.close()


def accounts_by_key(env: Any) -> dict[str, dict[str, Any]]:
    return {r["Trader_ID"]: r for r in env.zoho.records("Accounts")}
