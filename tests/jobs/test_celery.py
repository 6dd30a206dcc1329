"""Distributed mode: real `kino worker` processes (Celery, Redis broker) run the jobs the app
enqueues, and a job whose worker is killed mid-run is completed by the next worker.

The broker is a Redis database of its own: the test Redis database's number + 8, so that runs
on other databases (CI's 0, a colleague's, another process of a parallel run) do not share
messages.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
import redis
from fastapi import FastAPI

from kino.jobs.celery_app import QUEUE, TASK_NAME
from kino.jobs.models import JobStatus
from kino.settings import Settings
from tests.jobs.sample_jobs import traced
from tests.jobs.support import enqueue, wait_for_job, wait_until_finished
from tests.jobs.workers import KINO, WorkerStarter, kill_worker


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
