"""``kino serve`` (Granian) in a child process on a free port, configured like a test's app:
for tests that need a real HTTP server (real clients, cut connections)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kino.settings import Settings
from tests.s3_server import free_port


def server_environment(settings: Settings, **extra: str) -> dict[str, str]:
    """The process environment that makes ``kino serve`` use ``settings``' database, storage,
    Redis and secret (and nothing from the caller's own KINO_* variables)."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("KINO_")
    }
    values = {
        "KINO_DATA_DIR": str(settings.data_dir),
        "KINO_DATABASE_URL": settings.database_url,
        "KINO_STORAGE_URL": settings.storage_url,
        "KINO_REDIS_URL": settings.redis_url,
        "KINO_SECRET_KEY": settings.secret_key.get_secret_value() if settings.secret_key else None,
        "KINO_MAX_UPLOAD_BYTES": str(settings.max_upload_bytes),
        "KINO_ENVIRONMENT": settings.environment,
        "KINO_LOG_LEVEL": "WARNING",
        "KINO_WORKERS": "0",  # no job pool: these tests talk HTTP only
    }
    environment.update({name: value for name, value in values.items() if value is not None})
    environment.update(extra)
    return environment


@contextmanager
def running_kino(settings: Settings, *, log: Path | None = None, **extra: str) -> Iterator[str]:
    """The base URL of a ``kino serve`` process for ``settings``; stopped on exit."""
    port = free_port()
    output = log.open("wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("kino")), "serve", "--port", str(port)],
        env=server_environment(settings, **extra),
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base_url, process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            output.close()  # type: ignore[union-attr]


def wait_until_serving(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"kino serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError("kino serve did not answer /healthz within 60 seconds")
