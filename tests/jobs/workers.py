"""Real `kino worker` processes for tests: a Celery broker on a Redis database of its own
(the test Redis database's number + 8, so runs on other databases, and the other processes of a
parallel run, do not share messages), an app that enqueues to it, and workers that are always
killed when the test ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from fastapi import FastAPI

from kino.app import create_app, dispose
from kino.jobs.queue import CeleryJobQueue
from kino.settings import Settings
from tests.conftest import TEST_REDIS_URL
from tests.parallel import BROKER_DB_OFFSET

KINO = Path(sys.executable).parent / "kino"
REPOSITORY = Path(__file__).resolve().parents[2]
# The worker's own timing: quick heartbeats, a stale threshold short enough for tests yet long
# enough for a heartbeat to arrive while ffmpeg loads both cores, and frequent sweeps, so a
# killed worker's job is taken over within seconds.
WORKER_JOB_SETTINGS = {
    "KINO_JOB_HEARTBEAT_SECONDS": "0.2",
    "KINO_JOB_STALE_SECONDS": "4.0",
    "KINO_JOB_SWEEP_SECONDS": "0.2",
    "KINO_JOB_RETRY_BASE_SECONDS": "0.01",
    "KINO_JOB_RETRY_MAX_SECONDS": "0.05",
    "KINO_JOB_REPORT_INTERVAL_SECONDS": "0",
}
WorkerStarter = Callable[[], subprocess.Popen[bytes]]


def broker_url_for(redis_url: str) -> str:
    parts = urlsplit(redis_url)
    number = int(parts.path.strip("/") or 0) + BROKER_DB_OFFSET
    return urlunsplit((parts.scheme, parts.netloc, f"/{number}", parts.query, ""))


@pytest.fixture
def broker_url() -> Iterator[str]:
    if not TEST_REDIS_URL:
        pytest.skip("KINO_TEST_REDIS_URL is not set (CI sets it): Celery needs a Redis broker")
    url = broker_url_for(TEST_REDIS_URL)
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def celery_settings(settings: Settings, broker_url: str) -> Settings:
    return settings.model_copy(update={"broker_url": broker_url})


@pytest.fixture
async def celery_app(celery_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(celery_settings)
    assert isinstance(application.state.jobs, CeleryJobQueue)
    yield application
    await dispose(application)


@pytest.fixture
def start_worker(celery_settings: Settings, tmp_path: Path) -> Iterator[WorkerStarter]:
    """Starts `kino worker` processes, each in a process group of its own; all of them are
    killed when the test ends, whatever happened."""
    workers: list[subprocess.Popen[bytes]] = []
    environment = {key: value for key, value in os.environ.items() if not key.startswith("KINO_")}
    environment |= WORKER_JOB_SETTINGS | {
        "KINO_ENVIRONMENT": "test",
        "KINO_DATA_DIR": str(celery_settings.data_dir),
        "KINO_DATABASE_URL": celery_settings.sqlalchemy_url,
        "KINO_BROKER_URL": str(celery_settings.broker_url),
        "KINO_SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256",
        "KINO_WORKERS": "1",
        "KINO_LOG_LEVEL": "INFO",
        "PYTHONPATH": str(REPOSITORY),
    }
    if celery_settings.storage_url:
        environment["KINO_STORAGE_URL"] = celery_settings.storage_url

    def start() -> subprocess.Popen[bytes]:
        log = (tmp_path / f"worker-{len(workers)}.log").open("wb")  # see worker_log
        worker = subprocess.Popen(
            [str(KINO), "worker", "--include", "tests.jobs.sample_jobs"],
            env=environment,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        workers.append(worker)
        return worker

    yield start
    for number, worker in enumerate(workers):
        kill_worker(worker)
        # Captured by pytest and shown only when the test failed.
        sys.stdout.write(f"--- worker {number}\n{worker_log(tmp_path, number)}\n")


def worker_log(tmp_path: Path, number: int) -> str:
    return (tmp_path / f"worker-{number}.log").read_text(errors="replace")


def kill_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its pool processes, as a machine dying would."""
    if worker.poll() is None:
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    worker.wait(timeout=30)
