"""Shared pieces of Kino's benchmarks: servers started as subprocesses, load from wrk."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
KINO = str(Path(sys.executable).with_name("kino"))


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    rps: float
    errors: int
    non_2xx: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout} s")


@contextlib.contextmanager
def server(
    command: Sequence[str], *, env: dict[str, str], health_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_until_up(health_url)
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def bare_fastapi(*, workers: int) -> Iterator[str]:
    """The baseline app under Granian with the same worker count as Kino; yields its base URL."""
    with bare_fastapi_server(workers=workers) as (url, _process):
        yield url


@contextlib.contextmanager
def bare_fastapi_server(*, workers: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``bare_fastapi``, yielding its server process too (for ``cpu_seconds``)."""
    port = free_port()
    command = [
        sys.executable, "-m", "granian", "--interface", "asgi", "--workers", str(workers),
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "bench.bare_app:app",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with server(command, env=dict(os.environ), health_url=f"{url}/json") as process:
        yield url, process


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its live descendants (Granian's
    workers), from /proc: far steadier than throughput on a machine shared with other work."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) is not None:
            children.setdefault(int(stat[1]), []).append(int(entry.name))
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        pending += children.get(current, [])
        if (stat := _proc_stat(current)) is not None:
            total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, …), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is needed for load: `apt-get install wrk` (make bench does it)")
    return wrk


def load(
    base_url: str, paths: Sequence[str], *, connections: int, seconds: int, threads: int = 1
) -> LoadResult:
    """Run wrk against ``paths`` (round-robin) and return its latency and throughput."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(paths) + "\n")
        paths_file = handle.name
    try:
        command = [require_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s"]
        command += ["--timeout", "10s", "-s", str(BENCH_DIR / "wrk_paths.lua"), base_url]
        command += ["--", paths_file]
        finished = subprocess.run(command, capture_output=True, text=True)
        if finished.returncode != 0:
            raise RuntimeError(f"wrk failed: {finished.stderr or finished.stdout}")
        output = finished.stdout
    finally:
        os.unlink(paths_file)
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    return LoadResult(**json.loads(line.removeprefix("WRK_JSON ")))
