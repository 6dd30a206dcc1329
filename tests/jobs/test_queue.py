"""Jobs are dispatched after the commit of the transaction that created them, never on
rollback; the settings choose the queue's adapter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kino.jobs.models import Job
from kino.jobs.queue import CeleryJobQueue, EmbeddedJobQueue, call_after_commit, create_job_queue
from kino.settings import Settings


class Rollback(Exception):
    pass


async def rolled_back(app: FastAPI, work: Callable[[AsyncSession], Awaitable[object]]) -> None:
    """Do ``work`` in a transaction that then fails and rolls back."""
    async with app.state.db.transaction() as session:
        await work(session)
        raise Rollback


async def count_jobs(app: FastAPI) -> int:
    async with app.state.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Job)) or 0)


async def test_callbacks_run_after_the_commit_and_never_after_a_rollback(app: FastAPI) -> None:
    calls: list[str] = []

    async def register(session: AsyncSession) -> None:
        call_after_commit(session, lambda: calls.append("rolled back"))

    with pytest.raises(Rollback):
        await rolled_back(app, register)
    async with app.state.db.transaction() as session:
        call_after_commit(session, lambda: calls.append("committed"))
        assert calls == []

    assert calls == ["committed"]


async def test_a_savepoint_does_not_dispatch_before_the_outer_commit(app: FastAPI) -> None:
    calls: list[str] = []

    async def in_savepoint(session: AsyncSession) -> None:
        async with session.begin_nested():
            call_after_commit(session, lambda: calls.append("inner"))
        assert calls == []

    with pytest.raises(Rollback):
        await rolled_back(app, in_savepoint)

    assert calls == []


async def test_a_failed_savepoint_keeps_what_the_transaction_dispatches(app: FastAPI) -> None:
    calls: list[str] = []

    async with app.state.db.transaction() as session:
        call_after_commit(session, lambda: calls.append("outer"))
        with pytest.raises(Rollback):
            async with session.begin_nested():
                raise Rollback
        assert calls == []

    assert calls == ["outer"]


async def test_an_enqueue_rolled_back_leaves_no_job_and_wakes_no_pool(
    app: FastAPI, pool: EmbeddedJobQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    wakes: list[bool] = []
    assert pool.pool is not None
    monkeypatch.setattr(pool.pool, "wake", lambda: wakes.append(True))

    async def enqueue(session: AsyncSession) -> object:
        return await pool.enqueue(session, kind="test.steps", payload={})

    with pytest.raises(Rollback):
        await rolled_back(app, enqueue)

    assert wakes == []
    assert await count_jobs(app) == 0

    async with app.state.db.transaction() as session:
        job = await pool.enqueue(session, kind="test.steps", payload={"n": 1}, max_attempts=5)
        assert wakes == []

    assert wakes == [True]
    assert await count_jobs(app) == 1
    assert (job.kind, job.payload, job.max_attempts, job.attempts) == ("test.steps", {"n": 1}, 5, 0)


async def test_the_broker_setting_chooses_celery(app: FastAPI, settings: Settings) -> None:
    embedded = create_job_queue(settings, app.state.db)
    distributed = create_job_queue(
        settings.model_copy(update={"broker_url": "redis://127.0.0.1:6379/15"}), app.state.db
    )
    try:
        assert isinstance(embedded, EmbeddedJobQueue)
        assert isinstance(distributed, CeleryJobQueue)
    finally:
        await embedded.close()
        await distributed.close()
