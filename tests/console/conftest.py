"""Console fixtures: sandboxes after one finished sync, and the console served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.console.helpers import Served, serve
from tests.e2e.helpers import Env, make_env, sync
from tests.retries import no_retry_waits  # noqa: F401  (autouse: no sleeps between retries)


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[Env]:
    """Both sandboxes (120 customers, some bad rows) after one full sync."""
    for env in make_env(tmp_path, customers=120, seed=11):
        report = sync(env)
        assert report.status == "incomplete"  # the generator's bad rows wait in the ledger
        yield env


@pytest.fixture
def served(synced: Env) -> Iterator[Served]:
    yield from serve(synced)
