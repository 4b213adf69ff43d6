"""At run time, as in `check`: every failure names the URL tried, the variable that set it,
and the fix; a closed port fails after a few quick tries, not the whole retry policy."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.process import gzsync
from tests.e2e.helpers import Env, make_env


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path, customers=20, seed=3)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(e: Env, **extra: str) -> dict[str, str]:
    return {**e.urls.env(), "STATE_DB": str(e.state_db), **extra}


def test_a_closed_galaxy_port_names_base_url_after_a_few_tries(served: Env, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = gzsync("run", "--quiet", env=_env(served, BASE_URL=url), cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "connection refused (nothing listens there) after 3 attempts" in result.stderr
    assert f"BASE_URL={url}" in result.stderr
    assert "fix: check BASE_URL" in result.stderr


def test_a_misnamed_view_names_its_variable(served: Env, tmp_path: Path) -> None:
    env = _env(served, GALAXY_CUSTOMERS_VIEW="zh_Customers_typo")
    result = gzsync("run", "--quiet", env=env, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "GALAXY_CUSTOMERS_VIEW=zh_Customers_typo" in result.stderr
    assert "fix: set GALAXY_CUSTOMERS_VIEW to the name of that view" in result.stderr


def test_refused_zoho_credentials_name_the_variables(served: Env, tmp_path: Path) -> None:
    env = _env(served, ZOHO_REFRESH_TOKEN="1000.not-the-token")
    result = gzsync("run", "--quiet", env=env, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "ZOHO_DC=" in result.stderr
    assert "fix: check ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_REFRESH_TOKEN" in result.stderr
    assert "not-the-token" not in result.stderr
