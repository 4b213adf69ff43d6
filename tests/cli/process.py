"""Running the CLI as users do: `python -m gzsync` in a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: What a subprocess keeps of this environment unless told to inherit it all.
_BASE = ("PATH", "HOME", "LANG")


def gzsync(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stdin: str | None = None,
    inherit: bool = False,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m gzsync ARGS` with `env` on top of PATH/HOME/LANG (or of the whole
    environment with `inherit`)."""
    base = dict(os.environ) if inherit else {k: os.environ[k] for k in _BASE if k in os.environ}
    return subprocess.run(
        [sys.executable, "-m", "gzsync", *args],
        env={**base, **(env or {})},
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def gzsync_popen(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    """Start `python -m gzsync ARGS` in the background, in this whole environment, with
    stdout and stderr piped as text: for commands that serve until stopped."""
    return subprocess.Popen(
        [sys.executable, "-m", "gzsync", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
