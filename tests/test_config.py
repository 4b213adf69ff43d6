"""Settings: every variable, its aliases and defaults, and one-line errors naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gzsync.config import DATA_CENTRES, Settings, load_settings
from gzsync.errors import ConfigError

REQUIRED = {
    "BASE_URL": "https://galaxy.example.com",
    "AUTH_USERNAME": "user",
    "AUTH_PASSWORD": "secret-password",
    "ZOHO_CLIENT_ID": "1000.ID",
    "ZOHO_CLIENT_SECRET": "secret-client",
    "ZOHO_REFRESH_TOKEN": "1000.refresh",
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only what a test sets: no stray variables, no .env from the working directory."""
    for name in [*Settings.model_fields, *REQUIRED, "username", "password", "DEBUG"]:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)


def test_every_spec_variable_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        **REQUIRED,
        "SS_PID_COOKIE": "pid",
        "ZOHO_DC": "us",
        "TIMEOUT_MS": "5000",
        "SESSION_FILE": "s.json",
        "DEBUG": "1",
        "DEV_LIMIT": "25",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    settings.require_sync()
    assert settings.base_url == "https://galaxy.example.com"
    assert settings.auth_password is not None
    assert settings.auth_password.get_secret_value() == "secret-password"
    assert settings.zoho_accounts_base == "https://accounts.zoho.com"
    assert settings.zoho_api_base == "https://www.zohoapis.com"
    assert settings.timeout_s == 5.0
    assert settings.debug is True
    assert settings.dev_limit == 25
    assert "secret-password" not in repr(settings)
    assert "secret-client" not in repr(settings)


def test_lower_case_aliases_of_the_galaxy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("username", "alias-user")
    monkeypatch.setenv("password", "alias-pass")
    settings = load_settings()
    assert settings.auth_username == "alias-user"
    assert settings.auth_password is not None
    assert settings.auth_password.get_secret_value() == "alias-pass"


@pytest.mark.parametrize("dc", sorted(DATA_CENTRES))
def test_every_data_centre_gives_its_hosts(dc: str) -> None:
    settings = Settings.from_values(ZOHO_DC=dc)
    assert (settings.zoho_accounts_base, settings.zoho_api_base) == DATA_CENTRES[dc]


def test_explicit_urls_override_the_data_centre() -> None:
    settings = Settings.from_values(
        ZOHO_DC="in", ZOHO_API_URL="http://127.0.0.1:9/", ZOHO_ACCOUNTS_URL="http://proxy/"
    )
    assert settings.zoho_api_base == "http://127.0.0.1:9"
    assert settings.zoho_accounts_base == "http://proxy"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TIMEOUT_MS", "soon"),
        ("TIMEOUT_MS", "-1"),
        ("DEV_LIMIT", "0"),
        ("ZOHO_DC", "mars"),
        ("ZOHO_CONCURRENCY", "11"),
        ("STATE_BACKEND", "redis"),
        ("GALAXY_VERIFY_TLS", "maybe"),
        ("ZOHO_TAX_NAMES", '{"high": "VAT"}'),
        ("ZOHO_TAX_NAMES", "24"),
        ("GALAXY_CONCURRENCY", "0"),
    ],
)
def test_a_malformed_value_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.variable == name
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_a_missing_variable_is_named(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    for name, value in REQUIRED.items():
        if name != missing:
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings().require_sync()
    assert caught.value.variable == missing


def test_the_shipped_env_example_works_once_the_required_values_are_filled(
    tmp_path: Path,
) -> None:
    example = (Path(__file__).parent.parent / ".env.example").read_text()
    lines = [
        f"{line}{REQUIRED[line[:-1]]}" if line.endswith("=") and line[:-1] in REQUIRED else line
        for line in example.splitlines()
    ]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n")
    settings = load_settings()
    settings.require_sync()  # empty optional names (GALAXY_CA_BUNDLE=) mean "not set"
    assert settings.galaxy_ca_bundle is None
    assert settings.ss_pid_cookie is None
    assert settings.zoho_dc == "eu"


def test_the_environment_wins_over_the_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("TIMEOUT_MS=1000\n")
    monkeypatch.setenv("TIMEOUT_MS", "2000")
    assert load_settings().timeout_ms == 2000


def test_a_missing_ca_bundle_file_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GALAXY_CA_BUNDLE", "/nonexistent/ca.pem")
    with pytest.raises(ConfigError) as caught:
        load_settings().require_sync()
    assert caught.value.variable == "GALAXY_CA_BUNDLE"


def test_zoho_tax_names_are_rates_to_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from gzsync.config import DEFAULT_TAX_NAMES

    assert Settings.from_values().zoho_tax_names == DEFAULT_TAX_NAMES
    monkeypatch.setenv("ZOHO_TAX_NAMES", '{"24": "ΦΠΑ 24%", "13%": "ΦΠΑ 13%"}')
    assert load_settings().zoho_tax_names == {"24": "ΦΠΑ 24%", "13%": "ΦΠΑ 13%"}
