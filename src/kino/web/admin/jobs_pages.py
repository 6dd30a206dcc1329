"""``/admin/jobs``: background jobs as staff follow them (status, stage, progress, attempts and
the error of a failed one), filtered by status and paged, with cancel and retry. The film's
video page (``media_pages``) shows its own processing job with the same pieces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from kino.catalog import service as catalog
from kino.core.http import DbSession, IdPath
from kino.core.pagination import PageParams
from kino.jobs import service as jobs
from kino.jobs.dependencies import AppJobQueue
from kino.jobs.models import FINISHED, JobStatus
from kino.jobs.schemas import JobRead
from kino.web.admin.layout import render_admin
from kino.web.context import WebContext, safe_next
from kino.web.errors import PageRoute
from kino.web.pages import Pages
from kino.web.templating import MONTHS

router = APIRouter(prefix="/admin/jobs", route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 25
PageQuery = Annotated[int, Query(ge=1, le=10_000)]
STATUS_LABELS = {
    JobStatus.QUEUED: "Queued",
    JobStatus.RUNNING: "Running",
    JobStatus.SUCCEEDED: "Done",
    JobStatus.FAILED: "Failed",
    JobStatus.CANCELLED: "Cancelled",
}
STAGE_LABELS = {
    "probe": "Checking the file",
    "remux": "Making it playable at once",
    "encode": "Encoding every quality",
    "images": "Making the poster and storyboard",
    "publish": "Publishing",
}
KIND_LABELS = {"media.transcode": "Video processing"}


@dataclass(frozen=True)
class JobView:
    """A job as the staff pages show it."""

    job: JobRead
    film_title: str | None = None

    @property
    def status_label(self) -> str:
        if self.job.cancel_requested and self.job.status is JobStatus.RUNNING:
            return "Cancelling"
        return STATUS_LABELS[self.job.status]

    @property
    def stage_label(self) -> str:
        stage = self.job.stage
        return STAGE_LABELS.get(stage, stage.capitalize()) if stage else ""

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.job.kind, self.job.kind)

    @property
    def percent(self) -> int:
        if self.job.status is JobStatus.SUCCEEDED:
            return 100
        return max(0, min(100, int(self.job.progress)))

    @property
    def is_active(self) -> bool:
        return self.job.status not in FINISHED

    @property
    def can_cancel(self) -> bool:
        return self.is_active and not self.job.cancel_requested

    @property
    def can_retry(self) -> bool:
        return self.job.status in (JobStatus.FAILED, JobStatus.CANCELLED)

    @property
    def created(self) -> str:
        return moment(self.job.created_at)

    @property
    def finished(self) -> str:
        return moment(self.job.finished_at)


def moment(value: datetime | None) -> str:
    """``2026-11-22 16:05:09+00:00`` → ``22 Nov 16:05 UTC`` (the year when not this one)."""
    if value is None:
        return ""
    year = "" if value.year == datetime.now(value.tzinfo).year else f" {value.year}"
    return f"{value.day} {MONTHS[value.month - 1]}{year} {value:%H:%M} UTC"


@router.get("")
async def jobs_page(
    web: WebContext,
    session: DbSession,
    status: JobStatus | None = None,
    page: PageQuery = 1,
) -> Response:
    web.require_staff()
    result = await jobs.list_jobs(
        session,
        filters=jobs.JobFilters(status=status),
        paging=PageParams(page=page, page_size=PAGE_SIZE),
    )
    films = await catalog.movie_summaries(
        session, list({job.movie_id: 0 for job in result.items if job.movie_id})
    )
    titles = {film.id: film.title for film in films}
    context = {
        "jobs": [JobView(job, titles.get(job.movie_id or 0)) for job in result.items],
        "total": result.total,
        "status": status,
        "statuses": STATUS_LABELS,
        "params": {"status": status.value if status else None},
        "pages": Pages.of(page, result.total, PAGE_SIZE),
        "here": str(web.request.url.path)
        + (f"?{web.request.url.query}" if web.request.url.query else ""),
    }
    return render_admin(web, "admin/jobs.html", "jobs", context)


@router.post("/{job_id}/cancel")
async def cancel_job(job_id: IdPath, web: WebContext, session: DbSession) -> Response:
    """A queued job stops at once, a running one at its next heartbeat."""
    user = web.require_staff()
    form = await web.form()
    await jobs.request_cancel(session, user, job_id)
    return web.redirect(safe_next(form.get("next"), "/admin/jobs"))


@router.post("/{job_id}/retry")
async def retry_job(
    job_id: IdPath, web: WebContext, session: DbSession, queue: AppJobQueue
) -> Response:
    """A failed or cancelled job runs again from the start."""
    user = web.require_staff()
    form = await web.form()
    await jobs.retry(session, queue, user, job_id)
    return web.redirect(safe_next(form.get("next"), "/admin/jobs"))
