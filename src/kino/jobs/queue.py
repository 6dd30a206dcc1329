"""The ``JobQueue`` port: a job is a row inserted in the caller's transaction, handed to whoever
runs jobs only once that transaction commits (and never when it rolls back).

``EmbeddedJobQueue`` wakes this process's worker pool; ``CeleryJobQueue`` sends the job's id
to the broker (``KINO_BROKER_URL``). Either way the row is the truth: a lost wake-up or message
is made good by the pool's polling or the worker's sweep.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from kino.core.db import Database
from kino.jobs.models import Job
from kino.jobs.pool import WorkerPool
from kino.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

log = structlog.get_logger("kino.jobs")

AFTER_COMMIT_KEY = "kino.after_commit"


class JobQueue(Protocol):
    async def enqueue(
        self,
        session: AsyncSession,
        *,
        kind: str,
        payload: dict[str, Any],
        movie_id: int | None = None,
        created_by_id: uuid.UUID | None = None,
        max_attempts: int = 3,
    ) -> Job:
        """Insert a queued job in ``session``'s transaction; it is dispatched after the commit."""
        ...

    def dispatch_after_commit(self, session: AsyncSession, job_id: int) -> None:
        """Hand an existing queued job to the runners once ``session`` commits."""
        ...

    async def start(self) -> None:
        """Start running jobs in this process (the embedded pool); nothing for Celery."""
        ...

    async def close(self) -> None:
        """Stop what ``start`` started and release connections."""
        ...


def call_after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call ``callback`` once the session's current transaction commits; forget it on rollback.
    Works for any session: the request's ``DbSession`` and ``Database.transaction()`` alike."""
    session.sync_session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the work is not stored yet
        return
    for callback in session.info.pop(AFTER_COMMIT_KEY, ()):
        try:
            callback()
        except Exception as error:  # the row is committed; pollers and sweeps pick it up
            log.error("jobs.dispatch.failed", error=repr(error))


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    # A savepoint rolled back keeps the callbacks: one for a row it undid finds nothing to run.
    if not session.in_nested_transaction():
        session.info.pop(AFTER_COMMIT_KEY, None)


def new_job(
    *,
    kind: str,
    payload: dict[str, Any],
    movie_id: int | None,
    created_by_id: uuid.UUID | None,
    max_attempts: int,
) -> Job:
    if max_attempts < 1:
        raise ValueError("a job needs at least one attempt")
    return Job(
        kind=kind,
        payload=payload,
        movie_id=movie_id,
        created_by_id=created_by_id,
        max_attempts=max_attempts,
        progress=0.0,
        attempts=0,
        cancel_requested=False,
    )


class _RowQueue:
    async def enqueue(
        self,
        session: AsyncSession,
        *,
        kind: str,
        payload: dict[str, Any],
        movie_id: int | None = None,
        created_by_id: uuid.UUID | None = None,
        max_attempts: int = 3,
    ) -> Job:
        job = new_job(
            kind=kind,
            payload=payload,
            movie_id=movie_id,
            created_by_id=created_by_id,
            max_attempts=max_attempts,
        )
        session.add(job)
        await session.flush()
        self.dispatch_after_commit(session, job.id)
        log.info("jobs.job.enqueued", job_id=job.id, kind=kind)
        return job

    def dispatch_after_commit(self, session: AsyncSession, job_id: int) -> None:
        raise NotImplementedError


class EmbeddedJobQueue(_RowQueue):
    """Jobs run by this process's ``WorkerPool`` once ``start`` is called (``kino serve`` does
    it in the app's lifespan). Other processes' pools find the job by polling."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.pool: WorkerPool | None = None

    def dispatch_after_commit(self, session: AsyncSession, job_id: int) -> None:
        call_after_commit(session, self._wake)

    def _wake(self) -> None:
        if self.pool is not None:
            self.pool.wake()

    async def start(self) -> None:
        if self.pool is None and self.settings.workers > 0:
            pool = WorkerPool(self.settings, self.db, size=self.settings.workers)
            if await pool.start():
                self.pool = pool

    async def close(self) -> None:
        pool, self.pool = self.pool, None
        if pool is not None:
            await pool.stop()


class CeleryJobQueue(_RowQueue):
    """Jobs run by `kino worker` processes: the job's id goes to the broker after the commit."""

    def __init__(self, settings: Settings, celery: Celery) -> None:
        self.settings = settings
        self.celery = celery
        self._sending: set[asyncio.Task[None]] = set()

    def dispatch_after_commit(self, session: AsyncSession, job_id: int) -> None:
        call_after_commit(session, lambda: self._send_soon(job_id))

    def _send_soon(self, job_id: int) -> None:
        # after_commit runs inside the event loop: publishing waits for the broker, so it
        # happens in a thread, tracked so that ``close`` lets it finish.
        task = asyncio.get_running_loop().create_task(self.send(job_id))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def send(self, job_id: int, *, delay_seconds: float = 0) -> None:
        from kino.jobs.celery_app import send_job

        try:
            await asyncio.to_thread(send_job, self.celery, job_id, delay_seconds=delay_seconds)
        except Exception as error:  # the worker's sweep dispatches it again later
            log.error("jobs.dispatch.failed", job_id=job_id, error=repr(error))

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        if self._sending:
            await asyncio.wait(set(self._sending))
        await asyncio.to_thread(self.celery.close)


def create_job_queue(settings: Settings, db: Database) -> JobQueue:
    """Celery when ``KINO_BROKER_URL`` is set, else the embedded pool."""
    if settings.broker_url:
        from kino.jobs.celery_app import create_celery_app

        return CeleryJobQueue(settings, create_celery_app(settings))
    return EmbeddedJobQueue(settings, db)
