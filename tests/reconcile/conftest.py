"""Reconcile fixtures: both sandboxes on loopback, synced once, and a CRM user's session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina
from tests.e2e.helpers import Env, make_env


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    stamina.set_testing(True, attempts=6)
    yield
    stamina.set_testing(False)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path, customers=200, seed=11)
