"""The embedded worker pool runs jobs through ``run_job``: success, progress, retries,
failures, cancels, and jobs left running by a process that died."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from kino.core.db import Database, utcnow
from kino.jobs.models import Job, JobStatus
from kino.jobs.pool import WorkerPool
from kino.jobs.queue import EmbeddedJobQueue
from kino.jobs.runner import run_job
from kino.settings import Settings
from tests.jobs.sample_jobs import traced
from tests.jobs.support import (
    PoolStarter,
    enqueue,
    load_job,
    wait_for_job,
    wait_for_status,
    wait_until_finished,
)


async def test_pool_runs_a_job_to_success_and_reports_progress(
    app: FastAPI, pool: EmbeddedJobQueue, trace: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    job_id = await enqueue(
        app, "test.steps", {"trace": str(trace), "gate": str(gate), "progress": 40, "eta": 12}
    )

    running = await wait_for_job(app, job_id, lambda job: job.stage == "encode", what="encode")
    assert (running.status, running.progress, running.eta_seconds) == (JobStatus.RUNNING, 40, 12)
    assert running.started_at is not None
    assert running.finished_at is None
    gate.touch()
    job = await wait_until_finished(app, job_id)

    assert job.status == JobStatus.SUCCEEDED
    assert (job.stage, job.progress, job.eta_seconds) == ("publish", 100, None)
    assert (job.attempts, job.error, job.worker) == (1, None, None)
    assert job.finished_at is not None
    assert traced(trace) == ["start 1", "done 1"]


async def test_the_last_report_is_written_even_when_reports_are_throttled(
    app: FastAPI, start_pool: PoolStarter, trace: Path, tmp_path: Path
) -> None:
    await start_pool(job_report_interval_seconds=60.0)
    gate = tmp_path / "gate"
    job_id = await enqueue(app, "test.burst", {"trace": str(trace), "gate": str(gate)})

    # 10 is written at once (a new stage); 20 and 30 come within the minute, so 30 waits for
    # the heartbeat.
    job = await wait_for_job(app, job_id, lambda job: job.progress == 30, what="30%")
    assert job.status == JobStatus.RUNNING
    assert job.eta_seconds is not None
    gate.touch()
    assert (await wait_until_finished(app, job_id)).status == JobStatus.SUCCEEDED


async def test_a_transient_error_is_retried_with_backoff_until_it_succeeds(
    app: FastAPI, pool: EmbeddedJobQueue, trace: Path
) -> None:
    job_id = await enqueue(app, "test.flaky", {"trace": str(trace), "succeed_on": 3})

    job = await wait_until_finished(app, job_id)

    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts == 3
    assert job.error is None
    assert traced(trace) == ["start 1", "start 2", "start 3", "done 3"]


async def test_job_failed_is_recorded_at_once_without_retry(
    app: FastAPI, pool: EmbeddedJobQueue, trace: Path, tmp_path: Path
) -> None:
    job_id = await enqueue(
        app, "test.needs_file", {"trace": str(trace), "path": str(tmp_path / "missing")}
    )

    job = await wait_until_finished(app, job_id)

    assert job.status == JobStatus.FAILED
    assert job.error == "The source file is missing; upload it again."
    assert (job.attempts, job.max_attempts) == (1, 3)
    assert traced(trace) == ["start 1"]


async def test_an_unexpected_error_fails_the_job_after_its_last_attempt(
    app: FastAPI, pool: EmbeddedJobQueue, trace: Path
) -> None:
    job_id = await enqueue(app, "test.crash", {"trace": str(trace)}, max_attempts=2)

    job = await wait_until_finished(app, job_id)

    assert job.status == JobStatus.FAILED
    assert job.error == "RuntimeError: boom"
    assert job.attempts == 2
    assert traced(trace) == ["start 1", "start 2"]


async def test_a_job_of_an_unknown_kind_fails(app: FastAPI, pool: EmbeddedJobQueue) -> None:
    job_id = await enqueue(app, "test.nobody_handles_this")

    job = await wait_until_finished(app, job_id)

    assert job.status == JobStatus.FAILED
    assert job.error is not None
    assert "test.nobody_handles_this" in job.error


async def test_a_running_job_that_died_is_taken_over_when_the_pool_starts(
    app: FastAPI, start_pool: PoolStarter, trace: Path
) -> None:
    abandoned = await enqueue(app, "test.steps", {"trace": str(trace)})
    alive = await enqueue(app, "test.steps", {"trace": str(trace)})
    now = utcnow()
    await _mark_running(app, abandoned, heartbeat_at=now - timedelta(hours=1), attempts=1)
    # Another process holds this one and is alive: its heartbeat is fresh.
    await _mark_running(app, alive, heartbeat_at=now + timedelta(hours=1), attempts=1)

    await start_pool()
    job = await wait_until_finished(app, abandoned)

    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts == 2
    still = await load_job(app, alive)
    assert (still.status, still.worker, still.attempts) == (JobStatus.RUNNING, "elsewhere", 1)
    assert traced(trace) == ["start 2", "done 2"]


async def test_a_job_that_died_on_its_last_attempt_fails(app: FastAPI) -> None:
    job_id = await enqueue(app, "test.steps", max_attempts=1)
    await _mark_running(app, job_id, heartbeat_at=utcnow() - timedelta(hours=1), attempts=1)

    await run_job(app.state.settings, app.state.db, job_id, worker="test")

    job = await load_job(app, job_id)
    assert job.status == JobStatus.FAILED
    assert job.error is not None
    assert "stopped" in job.error


async def test_a_long_job_keeps_its_claim_with_heartbeats(
    app: FastAPI, start_pool: PoolStarter, trace: Path, tmp_path: Path
) -> None:
    await start_pool(job_stale_seconds=0.3)
    gate = tmp_path / "gate"
    job_id = await enqueue(app, "test.steps", {"trace": str(trace), "gate": str(gate)})
    first = await wait_for_status(app, job_id, JobStatus.RUNNING)
    assert first.started_at is not None
    old_enough = first.started_at + timedelta(seconds=0.6)
    await wait_for_job(
        app,
        job_id,
        lambda job: job.heartbeat_at is not None and job.heartbeat_at > old_enough,
        what="a job older than twice the stale threshold",
    )

    # Another process tries to take it: the heartbeat says it is alive.
    await run_job(app.state.settings, app.state.db, job_id, worker="other")
    gate.touch()
    job = await wait_until_finished(app, job_id)

    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts == 1
    assert traced(trace) == ["start 1", "done 1"]


async def test_two_processes_claiming_one_job_at_once_run_it_once(
    app: FastAPI, settings: Settings, trace: Path
) -> None:
    job_id = await enqueue(app, "test.steps", {"trace": str(trace)})
    first, second = Database(settings.sqlalchemy_url), Database(settings.sqlalchemy_url)
    try:
        await asyncio.gather(
            run_job(settings, first, job_id, worker="first"),
            run_job(settings, second, job_id, worker="second"),
        )
    finally:
        await first.dispose()
        await second.dispose()

    job = await load_job(app, job_id)
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)
    assert traced(trace) == ["start 1", "done 1"]


async def test_a_process_runs_at_most_one_pool(app: FastAPI, pool: EmbeddedJobQueue) -> None:
    second = WorkerPool(app.state.settings, app.state.db, size=1)

    assert await second.start() is False
    assert not second.running
    await second.stop()
    assert pool.pool is not None
    assert pool.pool.running


async def test_stopping_the_pool_queues_its_running_jobs_again(
    app: FastAPI, start_pool: PoolStarter, trace: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    job_id = await enqueue(app, "test.steps", {"trace": str(trace), "gate": str(gate)})
    queue = await start_pool()
    await wait_for_status(app, job_id, JobStatus.RUNNING)

    await queue.close()

    job = await load_job(app, job_id)
    assert (job.status, job.attempts, job.worker) == (JobStatus.QUEUED, 0, None)
    gate.touch()
    await start_pool()
    job = await wait_until_finished(app, job_id)
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)
    assert traced(trace) == ["start 1", "start 1", "done 1"]


async def test_pool_size_zero_runs_nothing(app: FastAPI, settings: Settings) -> None:
    queue = EmbeddedJobQueue(settings.model_copy(update={"workers": 0}), app.state.db)

    await queue.start()

    assert queue.pool is None
    await queue.close()


@pytest.mark.parametrize("max_attempts", [0, -1])
async def test_a_job_needs_at_least_one_attempt(app: FastAPI, max_attempts: int) -> None:
    with pytest.raises(ValueError, match="at least one attempt"):
        await enqueue(app, "test.steps", max_attempts=max_attempts)


async def _mark_running(
    app: FastAPI, job_id: int, *, heartbeat_at: datetime, attempts: int
) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status=JobStatus.RUNNING,
                worker="elsewhere",
                heartbeat_at=heartbeat_at,
                started_at=utcnow(),
                attempts=attempts,
            )
        )
