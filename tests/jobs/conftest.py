"""Fixtures for the job tests: quick job settings, a running embedded pool, a trace file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from kino.jobs.queue import EmbeddedJobQueue
from kino.settings import Settings
from tests.jobs import sample_jobs  # noqa: F401 - registers the test job kinds
from tests.jobs.support import PoolStarter
from tests.jobs.workers import (  # noqa: F401 - fixtures for real `kino worker` processes
    broker_url,
    celery_app,
    celery_settings,
    start_worker,
)

# Tiny heartbeats and backoffs keep the tests quick. The pool's poll is long on purpose: a job
# that runs at once was woken by its enqueue (or found at the pool's start), not polled.
QUICK_JOBS: dict[str, Any] = {
    "job_heartbeat_seconds": 0.05,
    "job_stale_seconds": 30.0,
    "job_poll_seconds": 30.0,
    "job_sweep_seconds": 0.2,
    "job_retry_base_seconds": 0.01,
    "job_retry_max_seconds": 0.05,
    "job_cancel_grace_seconds": 0.2,
    "job_report_interval_seconds": 0.0,
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update=QUICK_JOBS)


@pytest.fixture
async def start_pool(app: FastAPI) -> AsyncIterator[PoolStarter]:
    """Starts the app's embedded worker pool, with settings changed by keyword if needed (the
    app's lifespan, which starts it under `kino serve`, does not run under the test client)."""
    started: list[EmbeddedJobQueue] = []

    async def start(**settings: Any) -> EmbeddedJobQueue:
        queue = app.state.jobs
        assert isinstance(queue, EmbeddedJobQueue)
        if settings:
            app.state.settings = app.state.settings.model_copy(update=settings)
            queue = app.state.jobs = EmbeddedJobQueue(app.state.settings, app.state.db)
        await queue.start()
        assert queue.pool is not None
        started.append(queue)
        return queue

    yield start
    for queue in started:
        await queue.close()


@pytest.fixture
async def pool(start_pool: PoolStarter) -> EmbeddedJobQueue:
    return await start_pool()


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    return tmp_path / "trace.log"
