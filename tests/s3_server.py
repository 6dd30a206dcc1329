"""moto's S3 server in its own process on a free port: the S3 API over real HTTP, for the tests
of ``S3Storage`` and for every media test of the distributed mode."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import quote

import boto3

# moto accepts any credentials; these keep boto3 from looking for real ones.
ACCESS_KEY = "kino-test"
SECRET_KEY = "kino-test-secret"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3TestServer:
    endpoint_url: str

    @cached_property
    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def create_bucket(self) -> str:
        """A new, empty bucket with a random name: each test gets its own."""
        bucket = f"kino-test-{secrets.token_hex(6)}"
        self.client.create_bucket(Bucket=bucket)
        return bucket

    def storage_url(self, bucket: str, prefix: str = "") -> str:
        """The ``KINO_STORAGE_URL`` of ``bucket`` on this server."""
        path = f"/{prefix}" if prefix else ""
        query = f"endpoint_url={quote(self.endpoint_url, safe='')}&region={REGION}"
        return f"s3://{ACCESS_KEY}:{SECRET_KEY}@{bucket}{path}?{query}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_s3_server() -> Iterator[S3TestServer]:
    """moto_server in a child process (its own interpreter: it does not compete with the tests
    for the GIL, and its warnings are not the tests' warnings)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(endpoint_url, process)
        yield S3TestServer(endpoint_url)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_up(endpoint_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{endpoint_url}/moto-api/", timeout=1):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError("moto_server did not start within 30 seconds")
