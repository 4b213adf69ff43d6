"""CLI tests: the log handler a command installs must not outlive the test."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _drop_cli_log_handler() -> Iterator[None]:
    """The commands point gzsync's log handler at CliRunner's stderr; detach it after."""
    yield
    root = logging.getLogger("gzsync")
    for handler in list(root.handlers):
        if handler.get_name() == "gzsync":
            root.removeHandler(handler)
