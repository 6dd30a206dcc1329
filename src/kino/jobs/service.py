"""Jobs as managers see them: read, list, cancel, retry. Running them is ``runner.py``'s."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import ColumnElement, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kino.core.db import utcnow
from kino.core.errors import Conflict, NotFound
from kino.core.pagination import Page, PageParams
from kino.identity.models import STAFF_ROLES, User
from kino.jobs.models import Job, JobStatus
from kino.jobs.queue import JobQueue
from kino.jobs.schemas import JobRead

log = structlog.get_logger("kino.jobs")


@dataclass(frozen=True, kw_only=True)
class JobFilters:
    status: JobStatus | None = None
    movie_id: int | None = None
    kind: str | None = None


async def get_job(session: AsyncSession, job_id: int) -> Job:
    job = await session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise NotFound(f"There is no job {job_id}.")
    return job


async def get_job_for(session: AsyncSession, actor: User, job_id: int) -> Job:
    """The job, if ``actor`` may see it: staff see every job, others only the jobs they
    started. Anyone else's job is reported missing, not forbidden."""
    job = await get_job(session, job_id)
    if actor.role not in STAFF_ROLES and job.created_by_id != actor.id:
        raise NotFound(f"There is no job {job_id}.")
    return job


async def list_jobs(
    session: AsyncSession, *, filters: JobFilters, paging: PageParams
) -> Page[JobRead]:
    """One page of jobs, newest first."""
    conditions = _conditions(filters)
    total = await session.scalar(select(func.count()).select_from(Job).where(*conditions))
    jobs = await session.scalars(
        select(Job)
        .where(*conditions)
        .order_by(Job.id.desc())
        .offset(paging.offset)
        .limit(paging.page_size)
    )
    return Page(
        items=[JobRead.model_validate(job) for job in jobs],
        total=int(total or 0),
        page=paging.page,
        page_size=paging.page_size,
    )


async def count_jobs_by_status(session: AsyncSession) -> dict[str, int]:
    """How many jobs are in each status, for the staff overview."""
    rows = await session.execute(select(Job.status, func.count()).group_by(Job.status))
    counts = {str(status): int(count) for status, count in rows}
    return {status.value: counts.get(status.value, 0) for status in JobStatus}


def _conditions(filters: JobFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.status is not None:
        conditions.append(Job.status == filters.status)
    if filters.movie_id is not None:
        conditions.append(Job.movie_id == filters.movie_id)
    if filters.kind is not None:
        conditions.append(Job.kind == filters.kind)
    return conditions


async def request_cancel(session: AsyncSession, actor: User, job_id: int) -> Job:
    """A queued job is cancelled at once. A running one is asked to stop: its body sees
    ``ctx.cancelled`` at the next heartbeat and the job becomes cancelled when it stops."""
    job = await get_job_for(session, actor, job_id)
    # One statement, so a job claimed (or given back) at this moment is still handled right.
    queued = Job.status == JobStatus.QUEUED
    statement = (
        update(Job)
        .where(Job.id == job_id, Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
        .values(
            cancel_requested=True,
            status=case((queued, JobStatus.CANCELLED.value), else_=Job.status),
            finished_at=case((queued, utcnow()), else_=Job.finished_at),
            run_after=None,
        )
        .returning(Job.status)
        .execution_options(synchronize_session=False)
    )
    status = (await session.execute(statement)).scalar_one_or_none()
    if status is None:
        job = await get_job(session, job_id)
        raise Conflict(f"Job {job_id} has already {job.status.value}; there is nothing to cancel.")
    log.info("jobs.job.cancel_requested", job_id=job_id, by=str(actor.id), status=str(status))
    return await get_job(session, job.id)


async def retry(session: AsyncSession, queue: JobQueue, actor: User, job_id: int) -> Job:
    """A failed or cancelled job is queued again from the start, with all its attempts."""
    job = await get_job_for(session, actor, job_id)
    again = await _update_if(
        session,
        job_id,
        Job.status.in_((JobStatus.FAILED, JobStatus.CANCELLED)),
        status=JobStatus.QUEUED,
        attempts=0,
        error=None,
        stage=None,
        progress=0.0,
        eta_seconds=None,
        cancel_requested=False,
        worker=None,
        heartbeat_at=None,
        run_after=None,
        started_at=None,
        finished_at=None,
    )
    if not again:
        raise Conflict(
            f"Job {job_id} is {job.status.value}; only failed or cancelled jobs are retried."
        )
    queue.dispatch_after_commit(session, job_id)
    log.info("jobs.job.retried", job_id=job_id, by=str(actor.id))
    return await get_job(session, job_id)


async def _update_if(
    session: AsyncSession, job_id: int, condition: ColumnElement[bool], **values: object
) -> bool:
    statement = (
        update(Job)
        .where(Job.id == job_id, condition)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))
