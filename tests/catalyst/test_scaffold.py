"""`write_function_folder`: the Catalyst function folder `gzsync catalyst init` writes."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gzsync.catalyst.scaffold import SUPPORTED_STACKS, write_function_folder


def test_writes_config_main_requirements_and_readme(tmp_path: Path) -> None:
    target = tmp_path / "functions" / "gzsync_job"
    written = write_function_folder(target)
    version = importlib.metadata.version("gzsync")
    assert sorted(p.name for p in written) == [
        "README.md",
        "catalyst-config.json",
        f"gzsync-{version}-py3-none-any.whl",
        "main.py",
        "requirements.txt",
    ]
    config = json.loads((target / "catalyst-config.json").read_text())
    assert config == {
        "deployment": {
            "name": "gzsync_job",
            "stack": "python_3_11",
            "type": "job",
            "env_variables": {},
        },
        "execution": {"main": "main.py"},
    }
    assert "from gzsync.catalyst.handler import handler" in (target / "main.py").read_text()
    readme = (target / "README.md").read_text()
    for needle in ("0 */2 * * *", "Periodic", "job pool", "256 MB", "STATE_BACKEND", "`pk`"):
        assert needle in readme


def test_requirements_pin_runtime_dependencies_exactly(tmp_path: Path) -> None:
    write_function_folder(tmp_path, gzsync_requirement="./wheels/gzsync-0.1.0-py3-none-any.whl")
    lines = [
        line
        for line in (tmp_path / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    requires = importlib.metadata.requires("gzsync") or []
    server = {r.partition(";")[0].strip() for r in requires if "extra == 'server'" in r}
    runtime = {r for r in requires if ";" not in r}
    assert server == {"starlette==1.10.0", "uvicorn==0.54.0"}
    assert server <= runtime  # `pip install -e .` still pulls the server stack
    assert runtime - server <= set(lines)
    assert not server & set(lines)  # a Catalyst Job does not install it
    assert "zcatalyst-sdk==1.4.0" in lines
    assert lines[-1] == "./wheels/gzsync-0.1.0-py3-none-any.whl"
    assert all("==" in line for line in lines[:-1])
    assert not any(name in "\n".join(lines) for name in ("pytest", "mypy", "hypothesis"))


def test_default_gzsync_line_is_the_wheel_in_the_folder_with_its_hash(tmp_path: Path) -> None:
    write_function_folder(tmp_path)
    version = importlib.metadata.version("gzsync")
    wheel = tmp_path / f"gzsync-{version}-py3-none-any.whl"
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    last = (tmp_path / "requirements.txt").read_text().splitlines()[-1]
    assert last == f"file:./{wheel.name}#sha256={digest}"
    assert "gzsync==" not in (tmp_path / "requirements.txt").read_text()  # no index lookup
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert "gzsync/catalyst/handler.py" in names
        assert f"gzsync-{version}.dist-info/METADATA" in names
        assert not any("__pycache__" in n for n in names)
        record = archive.read(f"gzsync-{version}.dist-info/RECORD").decode()
        handler = archive.read("gzsync/catalyst/handler.py")
    assert "gzsync/catalyst/handler.py,sha256=" in record
    assert len(handler) > 1000
    # the same sources give the same bytes, so the hash in requirements.txt is stable
    again = tmp_path / "again"
    write_function_folder(again)
    assert (again / wheel.name).read_bytes() == wheel.read_bytes()


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("# mine\n")
    with pytest.raises(FileExistsError, match=r"main\.py"):
        write_function_folder(tmp_path)
    assert (tmp_path / "main.py").read_text() == "# mine\n"
    assert not (tmp_path / "catalyst-config.json").exists()  # nothing written at all
    write_function_folder(tmp_path, force=True, function_name="erp_sync", stack="python_3_12")
    config = json.loads((tmp_path / "catalyst-config.json").read_text())
    assert (config["deployment"]["name"], config["deployment"]["stack"]) == (
        "erp_sync",
        "python_3_12",
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stack": "python_3_9"}, "stack"),
        ({"stack": "node18"}, "stack"),
        ({"function_name": "9lives"}, "function name"),
        ({"function_name": "has space"}, "function name"),
    ],
)
def test_rejects_bad_names_and_stacks(tmp_path: Path, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_function_folder(tmp_path, **kwargs)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_no_secret_values_in_the_folder(tmp_path: Path) -> None:
    write_function_folder(tmp_path)
    config = json.loads((tmp_path / "catalyst-config.json").read_text())
    assert config["deployment"]["env_variables"] == {}
    assert "python_3_11" in SUPPORTED_STACKS


def test_the_function_folder_wheel_does_not_require_the_server_stack(tmp_path: Path) -> None:
    write_function_folder(tmp_path)
    (wheel,) = tmp_path.glob("gzsync-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(name).decode()
    required = [
        line
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and ";" not in line
    ]
    assert "Requires-Dist: httpx==0.28.1" in required
    assert not [line for line in required if "starlette" in line or "uvicorn" in line]
    assert "Requires-Dist: starlette==1.10.0; extra == 'server'" in metadata


def test_a_job_imports_no_server_stack() -> None:
    code = (
        "import sys, gzsync.catalyst.handler, gzsync.sync.pipeline, gzsync.state.catalyst;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("command", ["serve", "sandbox", "demo"])
def test_a_command_that_serves_names_the_extra_when_the_server_stack_is_missing(
    command: str,
) -> None:
    code = (
        "import sys; sys.modules['uvicorn'] = None; sys.argv = ['gzsync', sys.argv[1]];"
        "from gzsync.cli import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, command], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert f"gzsync {command} needs uvicorn (the server extra)" in done.stderr
    assert "pip install 'gzsync[server]'" in done.stderr
