"""End-to-end fixtures: both sandboxes on loopback and settings pointing at them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.helpers import Env, make_env
from tests.retries import no_retry_waits  # noqa: F401  (autouse: no sleeps between retries)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path)
