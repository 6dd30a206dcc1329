"""Job endpoints: managers follow, cancel and retry background work; a user follows the jobs
they started."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kino.core.http import MAX_ID, DbSession, IdPath
from kino.core.pagination import Page, Paging
from kino.identity.dependencies import CurrentUser, StaffUser
from kino.jobs import service
from kino.jobs.dependencies import AppJobQueue
from kino.jobs.models import JobStatus
from kino.jobs.schemas import JobRead
from kino.jobs.service import JobFilters

router = APIRouter(tags=["jobs"])


@router.get("/jobs")
async def list_jobs(
    session: DbSession,
    _staff: StaffUser,
    paging: Paging,
    status: JobStatus | None = None,
    movie_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    kind: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> Page[JobRead]:
    """Jobs, newest first, by status, film or kind."""
    filters = JobFilters(status=status, movie_id=movie_id, kind=kind)
    return await service.list_jobs(session, filters=filters, paging=paging)


@router.get("/jobs/{job_id}")
async def get_job(job_id: IdPath, session: DbSession, user: CurrentUser) -> JobRead:
    return JobRead.model_validate(await service.get_job_for(session, user, job_id))


@router.post("/jobs/{job_id}/cancel")
async def cancel_job(job_id: IdPath, session: DbSession, user: CurrentUser) -> JobRead:
    """Cancel a queued job at once, or ask a running one to stop (``cancel_requested``)."""
    return JobRead.model_validate(await service.request_cancel(session, user, job_id))


@router.post("/jobs/{job_id}/retry")
async def retry_job(
    job_id: IdPath, session: DbSession, queue: AppJobQueue, user: CurrentUser
) -> JobRead:
    """Queue a failed or cancelled job again, with all its attempts."""
    return JobRead.model_validate(await service.retry(session, queue, user, job_id))
