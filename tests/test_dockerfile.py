"""The Dockerfile at the repository root: what docs/DEPLOY.md shows, built from the source
tree, running the schedule. (`scripts/docker-check` builds it where an engine runs; the
suite stays offline.)"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.cli.process import gzsync

ROOT = Path(__file__).parent.parent


def _instructions(text: str) -> list[str]:
    """Instructions, a continued line (`\\` at its end) joined to the next."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line for line in joined.splitlines() if line.strip() and not line.startswith("#")]


def test_deploy_doc_shows_exactly_the_dockerfile() -> None:
    deploy = (ROOT / "docs" / "DEPLOY.md").read_text()
    blocks = re.findall(r"```dockerfile\n(.*?)```", deploy, flags=re.S)
    assert len(blocks) == 1
    assert _instructions(blocks[0]) == _instructions((ROOT / "Dockerfile").read_text())
    assert "pip install gzsync" not in deploy  # no package index is asked for gzsync
    assert "pip install gzsync" not in (ROOT / "README.md").read_text()


def test_dockerfile_builds_from_the_source_tree_and_runs_the_schedule() -> None:
    steps = _instructions((ROOT / "Dockerfile").read_text())
    copies = [s.split()[1:-1] for s in steps if s.startswith("COPY ")]
    sources = [source for sources in copies for source in sources]
    assert sources == ["pyproject.toml", "README.md", "src"]
    for source in sources:
        assert (ROOT / source).exists(), source
    ignored = _instructions((ROOT / ".dockerignore").read_text())
    assert not set(sources) & set(ignored)  # what the image needs reaches the build
    runs = [s for s in steps if s.startswith("RUN ")]
    assert any("pip install --no-cache-dir --no-deps ." in s for s in runs)
    assert not any(re.search(r"pip install[^&]*\bgzsync\b", s) for s in runs)
    cmd = next(s for s in steps if s.startswith("CMD "))
    argv = json.loads(cmd.removeprefix("CMD "))
    assert argv[:4] == ["gzsync", "schedule", "--every", "2h"]
    assert "ENV STATE_DB=/data/state.db" in steps
    assert "VOLUME /data" in steps


def test_the_image_command_line_is_one_gzsync_accepts(tmp_path: Path) -> None:
    cmd = next(s for s in _instructions((ROOT / "Dockerfile").read_text()) if s.startswith("CMD"))
    argv = json.loads(cmd.removeprefix("CMD "))
    helped = gzsync(*argv[1:2], "--help", cwd=tmp_path, env={"COLUMNS": "200"})
    assert helped.returncode == 0, helped.stderr
    for flag in argv[2:]:
        if flag.startswith("--"):
            assert flag in helped.stdout, flag


def test_the_image_installs_the_runtime_pins_without_the_server_stack(tmp_path: Path) -> None:
    """A cron image serves no HTTP: the Dockerfile's requirements are pyproject's pins less
    the `server` extra (starlette, uvicorn), computed by the very command the image runs."""
    run = next(s for s in _instructions((ROOT / "Dockerfile").read_text()) if "tomllib" in s)
    command = run.removeprefix("RUN ").split(" > /tmp/requirements.txt")[0]
    argv = shlex.split(command)
    assert argv[0] == "python"
    made = subprocess.run(
        [sys.executable, *argv[1:]], cwd=ROOT, capture_output=True, text=True, check=True
    )
    wanted = set(made.stdout.split())
    assert not any(pin.startswith(("starlette", "uvicorn")) for pin in wanted)
    assert any(pin.startswith("httpx==") for pin in wanted)
    assert any(pin.startswith("typer==") for pin in wanted)
