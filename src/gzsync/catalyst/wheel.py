"""A wheel of the running gzsync, built from its own files: no index, no build backend.

`gzsync catalyst init` puts it next to `requirements.txt`, so a Catalyst deploy installs
exactly the gzsync that wrote the folder and never asks a package index for the name
`gzsync` (which nobody has claimed there: installing it by name would fail today, and
would install whatever a stranger published tomorrow).

The wheel is pure Python (`py3-none-any`): the `gzsync` package directory as it is loaded
(an editable checkout or an installed copy, without `__pycache__`), and a `.dist-info` with
the installed METADATA and entry points, a WHEEL file and a RECORD of sha256 digests. Zip
entries are sorted and dated 1980-01-01, so the same sources give the same bytes (and the
same hash in `requirements.txt`).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import re
import zipfile
from pathlib import Path

import gzsync

_EPOCH = (1980, 1, 1, 0, 0, 0)
_WHEEL = (
    "Wheel-Version: 1.0\n"
    "Generator: gzsync catalyst init\n"
    "Root-Is-Purelib: true\n"
    "Tag: py3-none-any\n"
)


def wheel_name(version: str | None = None) -> str:
    """`gzsync-0.1.0-py3-none-any.whl` for the running version."""
    raw = version or importlib.metadata.version("gzsync")
    return f"gzsync-{_escape(raw)}-py3-none-any.whl"


def build_wheel(target_dir: Path) -> Path:
    """Write the wheel of the running gzsync into `target_dir`; return its path."""
    dist = importlib.metadata.distribution("gzsync")
    version = dist.version
    dist_info = f"gzsync-{_escape(version)}.dist-info"
    files: dict[str, bytes] = {}
    package = Path(gzsync.__file__).parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[f"gzsync/{path.relative_to(package).as_posix()}"] = path.read_bytes()
    metadata = dist.read_text("METADATA")
    if not metadata:
        raise RuntimeError("the installed gzsync has no METADATA: reinstall it with pip")
    files[f"{dist_info}/METADATA"] = without_server_stack(metadata).encode("utf-8")
    entry_points = dist.read_text("entry_points.txt")
    if entry_points:
        files[f"{dist_info}/entry_points.txt"] = entry_points.encode("utf-8")
    files[f"{dist_info}/WHEEL"] = _WHEEL.encode("ascii")
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode("utf-8")

    target_dir.mkdir(parents=True, exist_ok=True)
    out = target_dir / wheel_name(version)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out


def without_server_stack(metadata: str) -> str:
    """METADATA whose unconditional requirements leave out the `server` extra's packages:
    a function folder's gzsync needs no HTTP server (`gzsync[server]` still asks for it)."""
    server = {
        line.partition(";")[0].strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra == 'server'" in line.replace('"', "'")
    }
    kept = [line for line in metadata.splitlines(keepends=True) if line.strip() not in server]
    return "".join(kept)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, as pip's `--hash=sha256:` takes it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


def _escape(text: str) -> str:
    """Wheel file-name escaping (PEP 427): runs of anything but letters, digits and . become _."""
    return re.sub(r"[^\w\d.]+", "_", text, flags=re.UNICODE)
