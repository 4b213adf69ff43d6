"""Stamina's testing switch as a fixture, shared by the suites that serve both sandboxes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stamina


@pytest.fixture(autouse=True)
def no_retry_waits() -> Iterator[None]:
    """Retries still happen (up to 6 attempts), but never sleep: stamina's testing switch."""
    stamina.set_testing(True, attempts=6)
    yield
    stamina.set_testing(False)
