"""``/admin/movies/{id}/media``: a film's video for staff. What plays now (renditions, length,
poster), a new video uploaded with tus (``static/js/admin-upload.js`` sends it to
``/api/v1/uploads`` with the session cookie and the CSRF header) and attached as the film's
next version, the processing job followed live until the film plays, and subtitle tracks.

Attaching answers an htmx-style request (``HX-Request``) with the job's panel, which then polls
``…/media/job`` every second; the last answer, once the job has finished, is status 286 (htmx
stops polling) and also refreshes the "playing now" panel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from kino.catalog import service as catalog
from kino.catalog.schemas import MovieRead
from kino.core.errors import Conflict, KinoError
from kino.core.http import DbSession, IdPath
from kino.core.pagination import PageParams
from kino.identity.cookies import CSRF_COOKIE, CSRF_FIELD, CsrfFailed, csrf_matches
from kino.jobs import service as jobs
from kino.jobs.dependencies import AppJobQueue
from kino.media import service as media
from kino.media import subtitles
from kino.media.dependencies import MediaStorage
from kino.media.errors import InvalidSubtitles, UploadExpired, UploadNotFound
from kino.media.models import RenditionKind
from kino.media.schemas import MediaRead, RenditionRead
from kino.web.admin.jobs_pages import JobView
from kino.web.admin.layout import render_admin
from kino.web.cards import poster_url
from kino.web.context import Web, WebContext
from kino.web.errors import PageRoute

router = APIRouter(
    prefix="/admin/movies/{movie_id}/media", route_class=PageRoute, include_in_schema=False
)

# htmx stops polling an element whose request is answered with this status.
STOP_POLLING = 286
MAX_LABEL_LENGTH = 100
LanguagePath = Annotated[str, Path(min_length=1, max_length=35)]


@dataclass
class SubtitleForm:
    """What the subtitle form was sent with, and what was wrong with it."""

    language: str = ""
    label: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Published:
    """The version of the film's video that plays now."""

    media: MediaRead
    poster: str | None

    @property
    def video_rungs(self) -> list[str]:
        videos = [r for r in self.media.renditions if r.kind is RenditionKind.VIDEO]
        return [f"{_quality_name(r)} · {round(r.bandwidth / 1000)} kbit/s" for r in videos]

    @property
    def audio_count(self) -> int:
        return sum(1 for r in self.media.renditions if r.kind is RenditionKind.AUDIO)


# ---------------------------------------------------------------------------- the page


@router.get("")
async def media_page(movie_id: IdPath, web: WebContext, session: DbSession) -> Response:
    web.require_staff()
    return await _render_page(web, session, movie_id)


async def _render_page(
    web: Web,
    session: AsyncSession,
    movie_id: int,
    *,
    subtitle_form: SubtitleForm | None = None,
    attach_error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    movie = await catalog.get_movie(session, movie_id, include_drafts=True)
    context = {
        "movie": movie,
        "published": await _published(session, movie_id),
        "job": await _latest_job(session, movie_id),
        "attach_error": attach_error,
        "tracks": await media.list_subtitles(session, movie_id, include_drafts=True),
        "subtitle_form": subtitle_form or SubtitleForm(),
    }
    return render_admin(web, "admin/media.html", "films", context, status=status)


async def _published(session: AsyncSession, movie_id: int) -> Published | None:
    asset = await media.published_asset(session, movie_id)
    if asset is None:
        return None
    described = await media.get_media(session, movie_id, include_drafts=True)
    return Published(described, poster_url(movie_id, asset, "small"))


async def _latest_job(session: AsyncSession, movie_id: int) -> JobView | None:
    latest = await jobs.list_jobs(
        session,
        filters=jobs.JobFilters(movie_id=movie_id, kind=media.TRANSCODE_JOB),
        paging=PageParams(page=1, page_size=1),
    )
    return JobView(latest.items[0]) if latest.items else None


# ---------------------------------------------------------------------------- processing


@router.post("/video")
async def attach_video(
    movie_id: IdPath, web: WebContext, session: DbSession, queue: AppJobQueue
) -> Response:
    """Start processing a finished upload (its id in ``upload_id``) into the film's video."""
    user = web.require_staff()
    form = await web.form()
    movie = await catalog.get_movie(session, movie_id, include_drafts=True)
    try:
        await media.attach_video(session, queue, user, movie_id, form.get("upload_id", "").strip())
    except (Conflict, UploadNotFound, UploadExpired) as error:
        if web.wants_fragment:
            return _job_panel(web, movie, await _latest_job(session, movie_id), error)
        return await _render_page(
            web, session, movie_id, attach_error=error.message, status=error.status
        )
    if not web.wants_fragment:
        return web.redirect(f"/admin/movies/{movie_id}/media")
    return _job_panel(web, movie, await _latest_job(session, movie_id), None, status=202)


def _quality_name(rendition: RenditionRead) -> str:
    """The name of a rung as the ladder gives it: the picture's short side, so a vertical
    1080x1920 video is 1080p."""
    sides = [side for side in (rendition.width, rendition.height) if side]
    return f"{min(sides)}p" if sides else "video"


def _job_panel(
    web: Web, movie: MovieRead, job: JobView | None, error: KinoError | None, *, status: int = 200
) -> HTMLResponse:
    context = {
        "movie": movie,
        "job": job,
        "attach_error": error.message if error else None,
    }
    return web.render("admin/_media_job.html", context, status=error.status if error else status)


@router.get("/job")
async def job_state(movie_id: IdPath, web: WebContext, session: DbSession) -> Response:
    """The processing job's state, polled by the page; with the "playing now" panel too once
    the job has finished."""
    web.require_staff()
    movie = await catalog.get_movie(session, movie_id, include_drafts=True)
    job = await _latest_job(session, movie_id)
    finished = job is None or not job.is_active
    context: dict[str, Any] = {"movie": movie, "job": job, "finished": finished}
    if finished:
        context["published"] = await _published(session, movie_id)
    return web.render(
        "admin/_media_job_state.html", context, status=STOP_POLLING if finished else 200
    )


# ---------------------------------------------------------------------------- subtitles


@router.post("/subtitles")
async def add_subtitles(
    movie_id: IdPath, web: WebContext, session: DbSession, storage: MediaStorage
) -> Response:
    """Add (or replace) the film's subtitles in one language from an SRT or WebVTT file."""
    web.require_staff()
    await catalog.movie_status(session, movie_id)
    form, raw = await _subtitle_form(web)
    if not form.errors:
        try:
            await media.add_subtitles(
                session,
                storage,
                movie_id,
                language=form.language,
                label=form.label or None,
                raw=raw,
            )
        except InvalidSubtitles as error:
            form.errors["file"] = error.message
    if form.errors:
        return await _render_page(web, session, movie_id, subtitle_form=form, status=422)
    return web.redirect(f"/admin/movies/{movie_id}/media#subtitles")


async def _subtitle_form(web: Web) -> tuple[SubtitleForm, bytes]:
    """The posted fields and file (at most one byte past the limit is read), once the CSRF
    token is checked; the fields' own errors found."""
    async with web.request.form(max_files=1, max_fields=10) as posted:
        fields = {name: value for name, value in posted.items() if isinstance(value, str)}
        file = posted.get("file")
        chosen = isinstance(file, UploadFile) and bool(file.filename)
        raw = b""
        if isinstance(file, UploadFile) and chosen:
            raw = await file.read(subtitles.MAX_SUBTITLE_BYTES + 1)
    sent_token = fields.pop(CSRF_FIELD, None)
    if not csrf_matches(
        web.settings, web.request.cookies.get(CSRF_COOKIE), web.session_token, sent_token
    ):
        raise CsrfFailed()
    form = SubtitleForm(
        language=fields.get("language", "").strip(), label=fields.get("label", "").strip()
    )
    form.errors = _subtitle_errors(form, raw, chosen=chosen)
    return form, raw


def _subtitle_errors(form: SubtitleForm, raw: bytes, *, chosen: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    try:
        form.language = subtitles.check_language(form.language) if form.language else ""
    except InvalidSubtitles as error:
        errors["language"] = error.message
    if not form.language and "language" not in errors:
        errors["language"] = "Give the subtitles' language, such as 'en' or 'pt-BR'."
    if len(form.label) > MAX_LABEL_LENGTH:
        errors["label"] = f"The label is longer than {MAX_LABEL_LENGTH} characters."
    if not chosen:
        errors["file"] = "Choose an SRT or WebVTT file."
    elif len(raw) > subtitles.MAX_SUBTITLE_BYTES:
        limit = subtitles.MAX_SUBTITLE_BYTES // (1024 * 1024)
        errors["file"] = f"The subtitle file is larger than {limit} MiB."
    return errors


@router.post("/subtitles/{language}/delete")
async def delete_subtitles(
    movie_id: IdPath,
    language: LanguagePath,
    web: WebContext,
    session: DbSession,
    storage: MediaStorage,
) -> Response:
    web.require_staff()
    await web.form()
    await media.delete_subtitles(session, storage, movie_id, language)
    return web.redirect(f"/admin/movies/{movie_id}/media#subtitles")
