"""Distributed mode: real `kino worker` processes (Celery, Redis broker) run the jobs the app
enqueues, and a job whose worker is killed mid-run is completed by the next worker.

The broker is a Redis database of its own: KINO_TEST_REDIS_URL's number + 8, so that runs on
other databases (CI's 0, a colleague's) do not share messages.
"""

from __future__ import annotations

import asyncio
import json
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
from kino.jobs.celery_app import QUEUE, TASK_NAME
from kino.jobs.models import JobStatus
from kino.jobs.queue import CeleryJobQueue
from kino.settings import Settings
from tests.conftest import TEST_REDIS_URL
from tests.jobs.sample_jobs import traced
from tests.jobs.support import enqueue, wait_for_job, wait_until_finished

KINO = Path(sys.executable).parent / "kino"
REPOSITORY = Path(__file__).resolve().parents[2]
BROKER_DB_OFFSET = 8
# The worker's own timing: quick heartbeats, a short stale threshold and frequent sweeps, so a
# killed worker's job is taken over within seconds.
WORKER_JOB_SETTINGS = {
    "KINO_JOB_HEARTBEAT_SECONDS": "0.1",
    "KINO_JOB_STALE_SECONDS": "1.0",
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


async def test_a_worker_runs_a_job_to_success(
    celery_app: FastAPI, start_worker: WorkerStarter, tmp_path: Path
) -> None:
    start_worker()
    trace = tmp_path / "trace.log"

    job_id = await enqueue(celery_app, "test.steps", {"trace": str(trace), "progress": 60})
    flaky_id = await enqueue(
        celery_app, "test.flaky", {"trace": str(tmp_path / "flaky.log"), "succeed_on": 2}
    )

    job = await wait_until_finished(celery_app, job_id)
    assert (job.status, job.progress, job.stage, job.attempts) == (
        JobStatus.SUCCEEDED,
        100,
        "publish",
        1,
    )
    assert traced(trace) == ["start 1", "done 1"]
    flaky = await wait_until_finished(celery_app, flaky_id)
    assert (flaky.status, flaky.attempts) == (JobStatus.SUCCEEDED, 2)


async def test_a_job_whose_worker_was_killed_is_completed_by_the_next_worker(
    celery_app: FastAPI, start_worker: WorkerStarter, tmp_path: Path
) -> None:
    first = start_worker()
    trace = tmp_path / "trace.log"
    job_id = await enqueue(celery_app, "test.hang_first_attempt", {"trace": str(trace)})
    await wait_for_job(celery_app, job_id, lambda job: job.stage == "hanging", what="hanging")

    kill_worker(first)
    start_worker()

    job = await wait_until_finished(celery_app, job_id)
    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts == 2
    assert traced(trace) == ["start 1", "start 2", "done 2"]


async def test_an_enqueue_rolled_back_sends_no_message(
    celery_app: FastAPI, broker_url: str
) -> None:
    with pytest.raises(RuntimeError):
        await enqueue_and_fail(celery_app)
    job_id = await enqueue(celery_app, "test.steps")
    await celery_app.state.jobs.close()  # lets the send in progress finish

    broker = redis.Redis.from_url(broker_url)
    try:
        messages = [json.loads(message) for message in broker.lrange(QUEUE, 0, -1)]
    finally:
        broker.close()
    assert [message["headers"]["task"] for message in messages] == [TASK_NAME]
    assert messages[0]["headers"]["argsrepr"] == f"[{job_id}]"


async def enqueue_and_fail(app: FastAPI) -> None:
    async with app.state.db.transaction() as session:
        await app.state.jobs.enqueue(session, kind="test.steps", payload={})
        raise RuntimeError("the request failed after enqueueing")


async def test_kino_worker_refuses_to_start_without_a_broker(settings: Settings) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("KINO_")}
    environment |= {"KINO_DATA_DIR": str(settings.data_dir), "KINO_ENVIRONMENT": "test"}
    process = await asyncio.create_subprocess_exec(
        str(KINO),
        "worker",
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()

    assert process.returncode == 2
    assert "KINO_BROKER_URL is not set" in output.decode()
