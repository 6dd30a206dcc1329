"""The staff area under /admin, for managers and admins: the catalog (films, people, credits,
genres), uploads and the jobs that process them, subtitles, and users (admins only).

Every page calls the same service functions as the JSON API, so a change made here keeps the
search index, the response cache and the jobs exactly as the API would."""

from __future__ import annotations

from fastapi import FastAPI


def install_admin(app: FastAPI) -> None:
    from kino.web.admin import (
        jobs_pages,
        media_pages,
        movies_pages,
        overview,
        people_pages,
        users_pages,
    )

    app.include_router(overview.router)
    app.include_router(jobs_pages.router)
    app.include_router(media_pages.router)
    app.include_router(movies_pages.router)
    app.include_router(people_pages.router)
    app.include_router(users_pages.router)
