"""Configuration: one typed settings model read from the environment and a `.env` file.

Names are the ones the seed's users already have (SPEC §5) plus ours. Every problem is
reported as a :class:`~gzsync.errors.ConfigError` naming the variable, before any network
call. Secrets are :class:`pydantic.SecretStr`, so they never print by accident.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gzsync.errors import ConfigError
from gzsync.http import RetryPolicy

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

Entity = Literal["accounts", "contacts"]

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
    watermark_reread: int = Field(100_000, ge=0, validation_alias="WATERMARK_REREAD")
    max_duration_s: float | None = Field(None, gt=0, validation_alias="MAX_DURATION")
    lock_ttl_s: int = Field(900, gt=0, validation_alias="LOCK_TTL")
    # `gzsync reconcile --repair`: what to do with a Zoho record whose Galaxy key is gone
    orphan_action: Literal["report", "tag"] = Field("report", validation_alias="ORPHAN_ACTION")

    # State
    state_backend: Literal["sqlite", "catalyst"] = Field("sqlite", validation_alias="STATE_BACKEND")
    state_db: Path = Field(Path(".gzsync/state.db"), validation_alias="STATE_DB")
    catalyst_nosql_table: str = Field("gzsync_state", validation_alias="CATALYST_NOSQL_TABLE")
    catalyst_cache_segment: str | None = Field(None, validation_alias="CATALYST_CACHE_SEGMENT")

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
        """Raise ConfigError for the first variable a sync run needs and does not have."""
        for attr, name in _REQUIRED_FOR_SYNC:
            if not _present(getattr(self, attr)):
                raise ConfigError(name, "is not set")
        if self.zoho_connection is None:
            for attr, name in _REQUIRED_ZOHO:
                if not _present(getattr(self, attr)):
                    raise ConfigError(name, "is not set")
        assert self.base_url is not None
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError("BASE_URL", "must start with http:// or https://")
        if self.galaxy_ca_bundle is not None and not self.galaxy_ca_bundle.is_file():
            raise ConfigError("GALAXY_CA_BUNDLE", f"no such file: {self.galaxy_ca_bundle}")
        missing = set(DEFAULT_CONTACT_COLUMNS) - set(self.galaxy_contact_columns)
        if missing:
            raise ConfigError("GALAXY_CONTACT_COLUMNS", f"lacks {', '.join(sorted(missing))}")


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


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and `.env`; raise ConfigError on the first problem.

    `overrides` are field names (not env names) that take precedence, for the CLI and tests.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first.get("loc", ()))
        msg = str(first.get("msg", "invalid value"))
        if not loc and msg.startswith("Value error, "):
            variable, _, problem = msg.removeprefix("Value error, ").partition(": ")
            raise ConfigError(variable, problem) from None
        raise ConfigError(_field_env_name(loc), msg.removeprefix("Value error, ")) from None
