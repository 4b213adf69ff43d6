"""What the benchmark scripts share: sandboxes in their own process, gzsync runs measured
from outside, and the output format (a human table, then one JSON line).

The sandboxes run in a separate process (`python -m gzsync sandbox`), so their CPU and
memory never count against gzsync. The machine has few cores (2 where these figures were
taken): the sandbox and gzsync then compete for them, which every script says in its output.

gzsync is run as `python -m gzsync run --json --quiet` in a subprocess with the settings in
its environment and a private working directory (no stray `.env`). Its wall time, CPU time
and peak RSS come from `os.wait4` (the kernel's own accounting of that one process); an
optional psutil poller records RSS over time to tell *when* the peak is reached.
"""

from __future__ import annotations

import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

#: Zoho latency model of issue 6: 400 ms per upsert call plus 2 ms per record in it.
DEFAULT_LATENCY_MS = (400.0, 2.0)
#: Zoho's limit of concurrent heavy calls (and the sandbox's).
ZOHO_CONCURRENCY_LIMIT = 10
UPSERT_BATCH = 100


# --- the machine --------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Cores, memory and the Python build, for the record."""
    try:
        import psutil  # type: ignore[import-untyped]

        memory_gb: float | None = round(psutil.virtual_memory().total / 2**30, 1)
    except Exception:  # psutil is a test dependency; the figure is only informative
        memory_gb = None
    return {
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "python": sys.version.split()[0],
        "python_build": " ".join(platform.python_build()),
        "compiler": platform.python_compiler(),
        "platform": platform.platform(),
    }


def machine_line() -> str:
    m = machine()
    return (
        f"machine: {m['cores']} cores, {m['memory_gb']} GB, CPython {m['python']} "
        f"({m['python_build']}, {m['compiler']}); the sandbox runs in its own process but "
        f"shares these {m['cores']} cores with gzsync"
    )


# --- the sandboxes ------------------------------------------------------------------------


@dataclass
class Sandbox:
    """A running `gzsync sandbox` process and what its first stdout line said."""

    process: subprocess.Popen[bytes]
    info: dict[str, str]
    startup_s: float
    customers: int
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(trust_env=False, timeout=600))

    def env(self) -> dict[str, str]:
        """The environment variables that point gzsync at these sandboxes."""
        return {
            "BASE_URL": self.info["galaxy_url"],
            "AUTH_USERNAME": self.info["username"],
            "AUTH_PASSWORD": self.info["password"],
            "ZOHO_CLIENT_ID": self.info["client_id"],
            "ZOHO_CLIENT_SECRET": self.info["client_secret"],
            "ZOHO_REFRESH_TOKEN": self.info["refresh_token"],
            "ZOHO_API_URL": self.info["zoho_api_url"],
            "ZOHO_ACCOUNTS_URL": self.info["zoho_accounts_url"],
        }

    def zoho_stats(self) -> dict[str, Any]:
        """`GET /__sandbox/stats` of the Zoho sandbox (calls, credits, 429s, peak concurrency)."""
        return self._get(self.info["zoho_api_url"] + "/__sandbox/stats")

    def galaxy_stats(self) -> dict[str, Any]:
        return self._get(self.info["galaxy_url"] + "/__sandbox/stats")

    def clear_zoho(self) -> None:
        """Delete every Account and Contact: the next run is a clean full sync again."""
        for module in ("Contacts", "Accounts"):
            self._http.delete(f"{self.info['zoho_api_url']}/__sandbox/records/{module}")

    def set_latency(self, latency_ms: tuple[float, float]) -> None:
        self._http.post(
            self.info["zoho_api_url"] + "/__sandbox/limits",
            json={"latency_ms": list(latency_ms)},
        ).raise_for_status()

    def _get(self, url: str) -> dict[str, Any]:
        response = self._http.get(url)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data


@contextmanager
def sandbox(
    customers: int,
    *,
    latency_ms: tuple[float, float] = (0.0, 0.0),
    concurrency: int = ZOHO_CONCURRENCY_LIMIT,
    seed: int = 1,
    credits: int = 1_000_000_000,
    catalyst_latency_ms: float | None = None,
    offers: int | None = None,
) -> Iterator[Sandbox]:
    """Start `python -m gzsync sandbox` in its own process; stop it (SIGTERM) afterwards.

    With `catalyst_latency_ms`, it also serves a Catalyst console (`info["catalyst"]`)."""
    command = [
        sys.executable,
        "-m",
        "gzsync",
        "sandbox",
        "--customers",
        str(customers),
        "--seed",
        str(seed),
        "--zoho-latency-ms",
        f"{latency_ms[0]:g},{latency_ms[1]:g}",
        "--zoho-concurrency",
        str(concurrency),
        "--zoho-credits",
        str(credits),
    ]
    if offers is not None:
        command += ["--offers", str(offers)]
    if catalyst_latency_ms is not None:
        command += ["--catalyst", "--catalyst-latency-ms", f"{catalyst_latency_ms:g}"]
    t0 = time.monotonic()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_base_env()
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if not first:
            raise RuntimeError(f"the sandbox exited before it was up (code {process.wait()})")
        box = Sandbox(process, json.loads(first), time.monotonic() - t0, customers)
        yield box
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- gzsync runs --------------------------------------------------------------------------


@dataclass
class RunResult:
    """One `gzsync run` measured from outside."""

    report: dict[str, Any]
    exit_code: int
    wall_s: float
    cpu_user_s: float
    cpu_sys_s: float
    #: the kernel's ru_maxrss for the child: it includes the RSS this bench process had when
    #: it forked the child (Linux carries the pre-exec high-water mark), see hwm_rss_mb
    max_rss_mb: float
    rss_samples: list[tuple[float, float]]  # (seconds since start, RSS MB) when sampled
    stderr_tail: str
    #: gzsync's own peak RSS (VmHWM of its process after exec, last sampled value); 0 when
    #: not sampled (`sample_rss_every_s`)
    hwm_rss_mb: float = 0.0

    @property
    def cpu_s(self) -> float:
        return self.cpu_user_s + self.cpu_sys_s

    def peak_sample(self) -> tuple[float, float]:
        """When the sampled RSS was highest: (seconds since start, MB)."""
        return max(self.rss_samples, key=lambda s: s[1]) if self.rss_samples else (0.0, 0.0)


def run_gzsync(
    env: dict[str, str],
    *,
    workdir: Path,
    args: Sequence[str] = (),
    sample_rss_every_s: float | None = None,
) -> RunResult:
    """Run `python -m gzsync run --json --quiet ARGS` with `env`; measure it with wait4."""
    workdir.mkdir(parents=True, exist_ok=True)
    full_env = {**_base_env(), "STATE_DB": str(workdir / "state.db"), **env}
    command = [sys.executable, "-m", "gzsync", "run", "--json", "--quiet", *args]
    out_path, err_path = workdir / "stdout.json", workdir / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        t0 = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=full_env, cwd=workdir)
        samples: list[tuple[float, float]] = []
        hwm: list[float] = [0.0]
        stop = threading.Event()
        sampler = None
        if sample_rss_every_s:
            sampler = threading.Thread(
                target=_sample_rss, args=(process.pid, t0, sample_rss_every_s, samples, stop, hwm)
            )
            sampler.start()
        # wait4 rather than Popen.wait: it gives this one child's own rusage
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - t0
        process.returncode = os.waitstatus_to_exitcode(status)
        stop.set()
        if sampler is not None:
            sampler.join()
    text = out_path.read_text().strip()
    report: dict[str, Any] = json.loads(text.splitlines()[-1]) if text else {}
    return RunResult(
        report=report,
        exit_code=process.returncode,
        wall_s=wall,
        cpu_user_s=usage.ru_utime,
        cpu_sys_s=usage.ru_stime,
        max_rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        rss_samples=samples,
        stderr_tail=err_path.read_text(errors="replace")[-2000:],
        hwm_rss_mb=hwm[0],
    )


def _sample_rss(
    pid: int,
    t0: float,
    every_s: float,
    samples: list[tuple[float, float]],
    stop: threading.Event,
    hwm: list[float] | None = None,
) -> None:
    import psutil

    try:
        process = psutil.Process(pid)
        while not stop.is_set():
            samples.append((time.monotonic() - t0, process.memory_info().rss / 2**20))
            if hwm is not None:
                hwm[0] = max(hwm[0], vm_hwm_mb(pid))
            stop.wait(every_s)
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return


def vm_hwm_mb(pid: int) -> float:
    """The process's own peak RSS since its exec (`VmHWM`), 0 when unreadable."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return 0.0


def _base_env() -> dict[str, str]:
    """A minimal environment: nothing of the caller's gzsync settings leaks into a run."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def workspace(prefix: str) -> Iterator[Path]:
    """A temporary directory for state files and run outputs."""
    with tempfile.TemporaryDirectory(prefix=prefix) as path:
        yield Path(path)


# --- figures ------------------------------------------------------------------------------


def stats_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What the Zoho sandbox counted between two `zoho_stats()` snapshots."""
    calls = {
        name: after["calls"].get(name, 0) - before["calls"].get(name, 0) for name in after["calls"]
    }
    return {
        "calls": {k: v for k, v in calls.items() if v},
        "credits": after["credits_used"] - before["credits_used"],
        "throttled_429": after["throttled_429"] - before["throttled_429"],
        "records_upserted": after["records_upserted"] - before["records_upserted"],
        "peak_concurrency": after["peak_concurrency"],
    }


def records_synced(report: dict[str, Any]) -> int:
    """Records that reached Zoho in a run (inserted + updated, every entity)."""
    return sum(
        report[e]["inserted"] + report[e]["updated"]
        for e in ("customers", "affiliates", "contacts")
    )


def limit_s(upsert_calls: int, records: int, latency_ms: tuple[float, float]) -> float:
    """Zoho's physical limit: Σ per-call latency / 10, per-call = base + per_record × n."""
    base, per_record = latency_ms
    return (upsert_calls * base + records * per_record) / 1000 / ZOHO_CONCURRENCY_LIMIT


def ceil_batches(records: int) -> int:
    return math.ceil(records / UPSERT_BATCH)


def table(title: str, rows: Sequence[tuple[str, object]]) -> None:
    """Print a two-column table."""
    width = max((len(k) for k, _ in rows), default=0)
    print(title)
    print("-" * len(title))
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    print()


def emit(bench: str, figures: dict[str, Any]) -> None:
    """The last line of every script: one JSON object with every figure."""
    sys.stdout.write(json.dumps({"bench": bench, "machine": machine(), **figures}) + "\n")
    sys.stdout.flush()


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def parse_latency(text: str, scale: float = 1.0) -> tuple[float, float]:
    """`"400,2"` -> (400.0, 2.0), both multiplied by `scale`."""
    parts = [float(p) for p in text.split(",")]
    base, per_record = (parts[0], parts[1] if len(parts) > 1 else 0.0)
    return base * scale, per_record * scale
