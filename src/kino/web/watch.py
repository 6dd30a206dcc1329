"""``/watch/{movie_id}``: the player, started the way the API starts playback (entitlement, a
signed stream, a counted view), or a plain explanation when the viewer may not play the film:
sign in (401), not included (402), the age rule (403), no video (404)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from kino.catalog import service as catalog
from kino.catalog.schemas import MovieRead
from kino.core.errors import KinoError
from kino.core.http import DbSession, IdPath
from kino.media import service as media
from kino.playback import service as playback
from kino.playback.errors import AgeRestricted, AgeVerificationRequired, PaymentRequired
from kino.settings import Settings
from kino.web.cards import poster_url
from kino.web.context import WebContext
from kino.web.errors import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# How often the player stores the position while playing (and on pause, and on leaving).
PROGRESS_INTERVAL_SECONDS = 10


@dataclass(frozen=True)
class Notice:
    """Why the film does not play, and what the viewer can do about it."""

    heading: str
    message: str
    action: str | None = None
    action_url: str | None = None


@router.get("/watch/{movie_id}")
async def watch_page(movie_id: IdPath, web: WebContext, session: DbSession) -> HTMLResponse:
    movie = await catalog.get_movie(session, movie_id, include_drafts=web.is_staff)
    try:
        answer = await playback.start_playback(session, web.settings, web.user, movie_id)
    except KinoError as error:
        notice = _notice(error, movie, signed_in=web.user is not None)
        return web.render("watch.html", {"movie": movie, "notice": notice}, status=error.status)
    asset = await media.published_asset(session, movie_id)
    player = {
        "master": _site_path(web.settings, answer.master_url),
        "resume": f"{answer.resume_position_seconds:.1f}",
        "duration": f"{answer.duration_seconds or 0:.1f}",
        "storyboard": _site_path(web.settings, answer.storyboard_url) or "",
        "poster": poster_url(movie_id, asset, "large") or "",
        "progress_url": f"/api/v1/me/progress/{movie_id}" if web.user else "",
        "progress_interval": str(PROGRESS_INTERVAL_SECONDS),
    }
    return web.render(
        "watch.html",
        {"movie": movie, "notice": None, "player": player, "subtitles": answer.subtitles},
    )


def _site_path(settings: Settings, url: str | None) -> str | None:
    """A URL of this site as a path, so the page plays from whatever address it was opened at;
    a URL elsewhere (a CDN) stays whole."""
    if url is None:
        return None
    base = settings.public_url.rstrip("/")
    if url.startswith(base + "/"):
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return url


def _notice(error: KinoError, movie: MovieRead, *, signed_in: bool) -> Notice:
    here = f"/watch/{movie.id}"
    if error.status == 401:
        return Notice(
            "Sign in to watch",
            error.message,
            "Sign in",
            f"/login?next={here}",
        )
    if isinstance(error, PaymentRequired):
        return Notice(
            "Not included yet",
            error.message,
            "Back to the film",
            f"/movies/{movie.id}",
        )
    if isinstance(error, AgeVerificationRequired):
        return Notice(
            "Adults only",
            error.message,
            "Add your birth date",
            "/account#profile",
        )
    if isinstance(error, AgeRestricted):
        return Notice("Adults only", error.message, "Find another film", "/movies")
    if error.status == 404:
        return Notice(
            "Nothing to play yet",
            "This film has no video yet. Come back soon.",
            "Back to the film",
            f"/movies/{movie.id}",
        )
    return Notice("This film cannot play", error.message, "Back to the film", f"/movies/{movie.id}")
