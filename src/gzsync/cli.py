"""Command-line interface (placeholder while the commands are built)."""

from __future__ import annotations


def main() -> None:
    raise SystemExit("gzsync: not built yet")
