"""Configuration: one typed settings model read from the environment and a `.env` file.

Names are the ones the seed's users already have (SPEC §5) plus ours. Every problem is
reported as a :class:`~gzsync.errors.ConfigError` naming the variable, before any network
call. Secrets are :class:`pydantic.SecretStr`, so they never print by accident.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gzsync.errors import ConfigError
from gzsync.http import RetryPolicy
from gzsync.zoho.credits import CreditReserve

#: Zoho data centres: DC code -> (accounts server, CRM API domain). Zoho CRM reference §1.3.
DATA_CENTRES: dict[str, tuple[str, str]] = {
    "us": ("https://accounts.zoho.com", "https://www.zohoapis.com"),
    "eu": ("https://accounts.zoho.eu", "https://www.zohoapis.eu"),
    "in": ("https://accounts.zoho.in", "https://www.zohoapis.in"),
    "au": ("https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
    "jp": ("https://accounts.zoho.jp", "https://www.zohoapis.jp"),
    "ca": ("https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
    "sa": ("https://accounts.zoho.sa", "https://www.zohoapis.sa"),
    "cn": ("https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
    "uk": ("https://accounts.zoho.uk", "https://www.zohoapis.uk"),
}

#: Default column names of the contacts view (SPEC §2); override with GALAXY_CONTACT_COLUMNS.
DEFAULT_CONTACT_COLUMNS: dict[str, str] = {
    "CONTACTID": "CONTACTID",
    "TRDRID": "TRDRID",
    "FIRSTNAME": "FIRSTNAME",
    "LASTNAME": "LASTNAME",
    "EMAIL": "EMAIL",
    "PHONE": "PHONE",
    "MOBILE": "MOBILE",
    "JOBTITLE": "JOBTITLE",
    "CONTACTS_REVNUM": "CONTACTS_REVNUM",
}

#: Default ZOHO_TAX_NAMES: Greek VAT rates (%) -> the sandbox org's tax names (SPEC §7).
DEFAULT_TAX_NAMES: dict[str, str] = {"0": "VAT 0%", "6": "VAT 6%", "13": "VAT 13%", "24": "VAT 24%"}

# Variables that a sync run needs; checked by :meth:`Settings.require_sync`.
_REQUIRED_FOR_SYNC: tuple[tuple[str, str], ...] = (
    ("base_url", "BASE_URL"),
    ("auth_username", "AUTH_USERNAME"),
    ("auth_password", "AUTH_PASSWORD"),
)
_REQUIRED_ZOHO: tuple[tuple[str, str], ...] = (
    ("zoho_client_id", "ZOHO_CLIENT_ID"),
    ("zoho_client_secret", "ZOHO_CLIENT_SECRET"),
    ("zoho_refresh_token", "ZOHO_REFRESH_TOKEN"),
)


class Settings(BaseSettings):
    """Every setting of gzsync; environment variable names in `validation_alias`."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=True,
        # `NAME=` (as .env.example ships optional names) means "not set", not "empty"
        env_ignore_empty=True,
        extra="ignore",
        populate_by_name=True,
    )

    # Galaxy ERP
    base_url: str | None = Field(None, validation_alias="BASE_URL")
    auth_username: str | None = Field(
        None, validation_alias=AliasChoices("AUTH_USERNAME", "username")
    )
    auth_password: SecretStr | None = Field(
        None, validation_alias=AliasChoices("AUTH_PASSWORD", "password")
    )
    ss_pid_cookie: SecretStr | None = Field(None, validation_alias="SS_PID_COOKIE")
    galaxy_ca_bundle: Path | None = Field(None, validation_alias="GALAXY_CA_BUNDLE")
    galaxy_verify_tls: bool = Field(True, validation_alias="GALAXY_VERIFY_TLS")
    galaxy_customers_view: str = Field("zh_Customers_fin", validation_alias="GALAXY_CUSTOMERS_VIEW")
    galaxy_affiliates_view: str = Field("ZH_AFFILIATE", validation_alias="GALAXY_AFFILIATES_VIEW")
    galaxy_contacts_view: str = Field("ZH_CONTACTS", validation_alias="GALAXY_CONTACTS_VIEW")
    galaxy_contact_columns: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_CONTACT_COLUMNS),
        validation_alias="GALAXY_CONTACT_COLUMNS",
    )

    # Zoho CRM
    zoho_client_id: str | None = Field(None, validation_alias="ZOHO_CLIENT_ID")
    zoho_client_secret: SecretStr | None = Field(None, validation_alias="ZOHO_CLIENT_SECRET")
    zoho_refresh_token: SecretStr | None = Field(None, validation_alias="ZOHO_REFRESH_TOKEN")
    zoho_dc: str = Field("eu", validation_alias="ZOHO_DC")
    zoho_api_url: str | None = Field(None, validation_alias="ZOHO_API_URL")
    zoho_accounts_url: str | None = Field(None, validation_alias="ZOHO_ACCOUNTS_URL")
    zoho_concurrency: int = Field(4, ge=1, le=10, validation_alias="ZOHO_CONCURRENCY")
    zoho_watermark_read: Literal["coql", "v2"] = Field(
        "coql", validation_alias="ZOHO_WATERMARK_READ"
    )
    zoho_connection: str | None = Field(None, validation_alias="ZOHO_CONNECTION")

    # The run
    timeout_ms: int = Field(20000, gt=0, validation_alias="TIMEOUT_MS")
    http_attempts: int = Field(6, ge=1, le=20, validation_alias="HTTP_ATTEMPTS")
    http_max_wait_s: float = Field(30.0, ge=0, validation_alias="HTTP_MAX_WAIT")
    session_file: Path | None = Field(None, validation_alias="SESSION_FILE")
    debug: bool = Field(False, validation_alias="DEBUG")
    dev_limit: int | None = Field(None, gt=0, validation_alias="DEV_LIMIT")
    #: None: a store without a watermark reads Galaxy from the start (and sends only what
    #: Zoho lacks); a number caps that read at Zoho's max `Rev_Number` minus it
    watermark_reread: int | None = Field(None, ge=0, validation_alias="WATERMARK_REREAD")
    affiliate_full_read_every: int = Field(12, ge=1, validation_alias="AFFILIATE_FULL_READ_EVERY")
    max_duration_s: float | None = Field(None, gt=0, validation_alias="MAX_DURATION")
    lock_ttl_s: int = Field(900, gt=0, validation_alias="LOCK_TTL")
    # `gzsync reconcile --repair`: what to do with a Zoho record whose Galaxy key is gone
    orphan_action: Literal["report", "tag"] = Field("report", validation_alias="ORPHAN_ACTION")

    # Mapping rules (gzsync.mapping.rules)
    number_decimal: Literal["comma", "dot"] = Field("comma", validation_alias="NUMBER_DECIMAL")
    contact_name_fallback: str = Field(
        "first_name,email",
        pattern=r"^\s*(?i:none|(first_name|email)(\s*,\s*(first_name|email))?)\s*$",
        validation_alias="CONTACT_NAME_FALLBACK",
    )

    # State
    state_backend: Literal["sqlite", "catalyst"] = Field("sqlite", validation_alias="STATE_BACKEND")
    state_db: Path = Field(Path(".gzsync/state.db"), validation_alias="STATE_DB")
    catalyst_nosql_table: str = Field("gzsync_state", validation_alias="CATALYST_NOSQL_TABLE")
    catalyst_cache_segment: str | None = Field(None, validation_alias="CATALYST_CACHE_SEGMENT")

    # Console, alerts, metrics (`gzsync serve`, `gzsync metrics`; gzsync/console, alerts.py)
    console_token: SecretStr | None = Field(None, validation_alias="CONSOLE_TOKEN")
    console_user: str | None = Field(None, validation_alias="CONSOLE_USER")
    console_password: SecretStr | None = Field(None, validation_alias="CONSOLE_PASSWORD")
    console_url: str | None = Field(None, validation_alias="CONSOLE_URL")
    alert_urls: SecretStr | None = Field(None, validation_alias="ALERT_URLS")
    alert_stale_after: str = Field(
        "6h", pattern=r"^\s*(\d+h)?(\d+m)?(\d+s)?\s*$", validation_alias="ALERT_STALE_AFTER"
    )
    alert_ledger_growth_runs: int = Field(3, ge=1, validation_alias="ALERT_LEDGER_GROWTH_RUNS")
    zoho_daily_credits: int | None = Field(None, gt=0, validation_alias="ZOHO_DAILY_CREDITS")
    zoho_credit_reserve: str = Field(
        "10%", pattern=r"^\s*\d+(\.\d+)?\s*%?\s*$", validation_alias="ZOHO_CREDIT_RESERVE"
    )
    # Bulk Write in the run (issue 15; gzsync.sync.bulk_path)
    bulk_threshold: int = Field(20000, ge=0, validation_alias="BULK_THRESHOLD")
    bulk_file_rows: int = Field(25000, ge=1, le=25000, validation_alias="BULK_FILE_ROWS")
    bulk_poll_s: float = Field(5.0, ge=0, validation_alias="BULK_POLL")

    # Phase 2: offers -> Quotes (SPEC §7; gzsync.galaxy.offers, gzsync.mapping.quotes)
    galaxy_offers_view: str = Field("zh_offers", validation_alias="GALAXY_OFFERS_VIEW")
    galaxy_offers_entity: str = Field("salesentry", validation_alias="GALAXY_OFFERS_ENTITY")
    galaxy_offer_lines_view: str = Field(
        "b6a2d6c9-e3bf-4d14-b000-269991c68dd5", validation_alias="GALAXY_OFFER_LINES_VIEW"
    )
    galaxy_concurrency: int = Field(4, ge=1, le=32, validation_alias="GALAXY_CONCURRENCY")
    zoho_tax_names: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_TAX_NAMES), validation_alias="ZOHO_TAX_NAMES"
    )

    @field_validator("zoho_tax_names")
    @classmethod
    def _check_tax_rates(cls, value: dict[str, str]) -> dict[str, str]:
        for rate in value:
            try:
                number = float(rate.strip().rstrip("%"))
            except ValueError:
                raise ValueError(f'{rate!r} is not a VAT rate in % (e.g. "24")') from None
            if not 0 <= number <= 100:
                raise ValueError(f"{rate!r} is not a VAT rate between 0 and 100")
        return value

    @classmethod
    def from_values(cls, **values: Any) -> Settings:
        """Settings from these values only: no environment, no `.env` (demo, tests)."""
        return _IsolatedSettings(**values)

    @model_validator(mode="after")
    def _check_dc(self) -> Settings:
        if self.zoho_dc not in DATA_CENTRES:
            known = ", ".join(DATA_CENTRES)
            raise ValueError(f"ZOHO_DC: unknown data centre {self.zoho_dc!r} (one of {known})")
        return self

    @property
    def zoho_accounts_base(self) -> str:
        """The accounts server (token endpoint host) for this configuration."""
        return (self.zoho_accounts_url or DATA_CENTRES[self.zoho_dc][0]).rstrip("/")

    @property
    def zoho_api_base(self) -> str:
        """The CRM API domain for this configuration."""
        return (self.zoho_api_url or DATA_CENTRES[self.zoho_dc][1]).rstrip("/")

    @field_validator("zoho_credit_reserve")
    @classmethod
    def _check_reserve(cls, value: str) -> str:
        CreditReserve.parse(value)  # "150%" is refused here, not mid-run
        return value

    @property
    def credit_reserve(self) -> CreditReserve:
        """`ZOHO_CREDIT_RESERVE` parsed ("10%" of the day's allowance, or a number)."""
        return CreditReserve.parse(self.zoho_credit_reserve)

    @property
    def timeout_s(self) -> float:
        return self.timeout_ms / 1000.0

    @property
    def retry_policy(self) -> RetryPolicy:
        """Retries of every HTTP call: HTTP_ATTEMPTS tries, backoff capped at HTTP_MAX_WAIT."""
        return RetryPolicy(
            attempts=self.http_attempts,
            wait_initial=min(0.5, self.http_max_wait_s),
            wait_max=self.http_max_wait_s,
        )

    @property
    def galaxy_verify(self) -> bool | str:
        """What httpx's `verify` takes: a CA bundle path, True, or an explicit False."""
        if self.galaxy_ca_bundle is not None:
            return str(self.galaxy_ca_bundle)
        return self.galaxy_verify_tls

    def require_sync(self) -> None:
        """Raise ConfigErrors listing every problem that stops a sync run (all at once)."""
        problems = self.sync_problems()
        if problems:
            from gzsync.config_report import config_errors

            raise config_errors(problems, setting_names())

    def sync_problems(self) -> list[ConfigError]:
        """Every variable a sync run needs and does not have, or has malformed."""
        problems: list[ConfigError] = []
        for attr, name in _REQUIRED_FOR_SYNC:
            if not _present(getattr(self, attr)):
                problems.append(ConfigError(name, "is not set"))
        if self.zoho_connection is None:
            for attr, name in _REQUIRED_ZOHO:
                if not _present(getattr(self, attr)):
                    problems.append(ConfigError(name, "is not set"))
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            problems.append(ConfigError("BASE_URL", "must start with http:// or https://"))
        if self.galaxy_ca_bundle is not None and not self.galaxy_ca_bundle.is_file():
            problems.append(
                ConfigError("GALAXY_CA_BUNDLE", f"no such file: {self.galaxy_ca_bundle}")
            )
        missing = set(DEFAULT_CONTACT_COLUMNS) - set(self.galaxy_contact_columns)
        if missing:
            problems.append(
                ConfigError("GALAXY_CONTACT_COLUMNS", f"lacks {', '.join(sorted(missing))}")
            )
        return problems


class _IsolatedSettings(Settings):
    """Settings that read nothing but the values they are given."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value().strip())
    return bool(str(value).strip())


def _field_env_name(loc: tuple[int | str, ...]) -> str:
    """The environment variable behind a validation error location."""
    if not loc:
        return "configuration"
    name = str(loc[0])
    field = Settings.model_fields.get(name)
    if field is not None and field.validation_alias is not None:
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            return str(alias.choices[0])
        return str(alias)
    return name


def setting_names() -> list[str]:
    """Every environment variable name a setting reads: aliases, and the field names
    (`populate_by_name` accepts `timeout_ms` too)."""
    names: list[str] = []
    for field_name, field in Settings.model_fields.items():
        names.append(field_name)
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names += [str(choice) for choice in alias.choices]
        elif alias is not None:
            names.append(str(alias))
    return names


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and `.env`; raise ConfigErrors listing every
    malformed value at once, each with its fix, "did you mean" hints and the `.env` path.

    `overrides` are field names (not env names) that take precedence, for the CLI and tests.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        from gzsync.config_report import config_errors

        raise config_errors(_validation_problems(exc), setting_names()) from None


def load_sync_settings(**overrides: Any) -> Settings:
    """:func:`load_settings` for a command that syncs: one pass reports every problem, the
    malformed values and the missing required ones (:meth:`Settings.require_sync`) together.

    The missing ones are found on the settings read with each malformed value at its
    default (a model-level error leaves nothing to retry: then only it is reported).
    """
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        from gzsync.config_report import config_errors

        problems = _validation_problems(exc)
        partial = _without_malformed(exc, overrides)
        if partial is not None:
            reported = {p.variable for p in problems}
            problems += [p for p in partial.sync_problems() if p.variable not in reported]
        raise config_errors(problems, setting_names()) from None
    settings.require_sync()
    return settings


def _validation_problems(exc: ValidationError) -> list[ConfigError]:
    problems: list[ConfigError] = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        msg = str(error.get("msg", "invalid value"))
        if not loc and msg.startswith("Value error, "):
            variable, _, problem = msg.removeprefix("Value error, ").partition(": ")
            problems.append(ConfigError(variable, problem))
        else:
            problems.append(ConfigError(_field_env_name(loc), msg.removeprefix("Value error, ")))
    return problems


def _without_malformed(exc: ValidationError, overrides: dict[str, Any]) -> Settings | None:
    """The settings with every malformed field at its default, or None when that fails."""
    by_name: dict[str, str] = {}  # env name or field name -> field name
    for field_name, info in Settings.model_fields.items():
        by_name[field_name] = field_name
        alias = info.validation_alias
        for choice in alias.choices if isinstance(alias, AliasChoices) else [alias]:
            if isinstance(choice, str):
                by_name[choice] = field_name
    defaults: dict[str, Any] = {}
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        known = by_name.get(str(loc[0])) if loc else None
        if known is None:
            return None
        # keyed by the name that failed: the default then wins over that source's value
        defaults[str(loc[0])] = Settings.model_fields[known].get_default(call_default_factory=True)
    try:
        return Settings(**{**overrides, **defaults})
    except ValidationError:
        return None
