"""Enqueue a job and wait for its row to change."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fastapi import FastAPI

from kino.jobs.models import FINISHED, Job, JobStatus
from kino.jobs.queue import EmbeddedJobQueue

WAIT_SECONDS = 30.0
POLL_SECONDS = 0.02

# start_pool(**settings) -> the app's job queue, its pool running
PoolStarter = Callable[..., Awaitable[EmbeddedJobQueue]]


async def enqueue(
    app: FastAPI, kind: str, payload: dict[str, Any] | None = None, **options: Any
) -> int:
    async with app.state.db.transaction() as session:
        job = await app.state.jobs.enqueue(session, kind=kind, payload=payload or {}, **options)
        return int(job.id)


async def load_job(app: FastAPI, job_id: int) -> Job:
    async with app.state.db.transaction() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        return job


async def wait_for_job(
    app: FastAPI, job_id: int, condition: Callable[[Job], bool], *, what: str = "the condition"
) -> Job:
    """Poll the row until ``condition`` holds (fails after a generous limit, never asserting on
    how long it took)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while True:
        job = await load_job(app, job_id)
        if condition(job):
            return job
        if loop.time() > deadline:
            pytest.fail(f"job {job_id} never met {what}: {job.status} {job.stage} {job.error}")
        await asyncio.sleep(POLL_SECONDS)


async def wait_until_finished(app: FastAPI, job_id: int) -> Job:
    return await wait_for_job(app, job_id, lambda job: job.status in FINISHED, what="finished")


async def wait_for_status(app: FastAPI, job_id: int, status: JobStatus) -> Job:
    return await wait_for_job(app, job_id, lambda job: job.status == status, what=str(status))
