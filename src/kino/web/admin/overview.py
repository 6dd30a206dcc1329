"""``/admin``: where the staff area starts: what needs attention (drafts, failed and running
jobs) and the way to each part of it."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from kino.catalog import service as catalog
from kino.core.http import DbSession
from kino.identity import service as identity
from kino.jobs import service as jobs
from kino.web.admin.layout import render_admin
from kino.web.context import WebContext
from kino.web.errors import PageRoute

router = APIRouter(prefix="/admin", route_class=PageRoute, include_in_schema=False)


@router.get("")
async def overview_page(web: WebContext, session: DbSession) -> Response:
    web.require_staff()
    context = {
        "films": await catalog.count_movies_by_status(session),
        "jobs": await jobs.count_jobs_by_status(session),
        "users": await identity.count_users(session),
    }
    return render_admin(web, "admin/overview.html", "overview", context)
