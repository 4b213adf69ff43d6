"""The Catalyst console the tests use is the sandbox's (:mod:`gzsync.sandbox.catalyst`): one
fake for tests, demo and benchmarks. This module only re-exports it under its old name."""

from gzsync.sandbox.catalyst import (
    ADMIN_TOKEN,
    ConsoleState,
    create_catalyst_app,
    runtime_headers,
    sdk_environment,
)

create_console_app = create_catalyst_app

__all__ = [
    "ADMIN_TOKEN",
    "ConsoleState",
    "create_console_app",
    "runtime_headers",
    "sdk_environment",
]
