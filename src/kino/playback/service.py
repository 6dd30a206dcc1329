"""Playback rules: starting a film (entitlement, a signed stream, a counted view), and each
viewer's watch progress, continue-watching row and history.

Every query on progress is keyed by the acting viewer: no argument names another viewer's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog import service as catalog
from kino.catalog.models import MovieStatus
from kino.catalog.schemas import MovieSummary
from kino.core.db import utcnow
from kino.core.errors import NotFound
from kino.core.pagination import Page, PageParams
from kino.identity.models import User
from kino.media import service as media
from kino.media.models import MediaAsset
from kino.playback import entitlements
from kino.playback.models import WatchProgress
from kino.playback.schemas import PlaybackRead, ProgressRead, SubtitleOption, WatchedMovie
from kino.playback.signing import SignedStream, sign_stream, stream_secret
from kino.settings import Settings

# A film counts as watched once the viewer is this far in (the credits need not be sat through).
WATCHED_FRACTION = 0.95


# --- starting playback ---------------------------------------------------------------------


async def start_playback(
    session: AsyncSession, settings: Settings, viewer: User | None, movie_id: int
) -> PlaybackRead:
    """Check that ``viewer`` may play the film, sign its published asset for
    ``settings.playback_ttl_seconds`` and count the view. What a watch page calls too."""
    film = await _film(session, movie_id)
    entitlements.check_playable(
        movie_id=movie_id,
        status=film.status,
        access=film.access,
        age_rating=film.age_rating,
        viewer=viewer,
        today=utcnow().date(),
    )
    asset = (await media.published_assets(session, [movie_id])).get(movie_id)
    if asset is None:
        raise NotFound(f"Film {movie_id} has no published video yet.")
    stream = _sign(settings, asset)
    tracks = await media.list_subtitles(session, movie_id, include_drafts=True)
    resume = await _resume_position(session, viewer, movie_id)
    await catalog.record_view(session, movie_id)
    images = asset.images or {}
    return PlaybackRead(
        movie_id=movie_id,
        asset_id=asset.id,
        master_url=_url(settings, stream.path()),
        expires_at=stream.expires_at,
        resume_position_seconds=resume,
        duration_seconds=asset.duration_seconds,
        poster_url=_image_url(settings, stream, images.get("poster")),
        storyboard_url=_image_url(settings, stream, (images.get("storyboard") or {}).get("vtt")),
        subtitles=[SubtitleOption(language=t.language, label=t.label) for t in tracks],
    )


async def _film(session: AsyncSession, movie_id: int) -> MovieSummary:
    films = await catalog.movie_summaries(session, [movie_id])
    if not films:
        raise NotFound(f"There is no film with id {movie_id}.")
    return films[0]


def _sign(settings: Settings, asset: MediaAsset) -> SignedStream:
    expires_at = utcnow() + timedelta(seconds=settings.playback_ttl_seconds)
    return sign_stream(stream_secret(settings), asset.id, expires_at)


def _url(settings: Settings, path: str) -> str:
    return settings.public_url.rstrip("/") + path


def _image_url(settings: Settings, stream: SignedStream, relative: Any) -> str | None:
    return _url(settings, stream.path(relative)) if isinstance(relative, str) else None


async def _resume_position(session: AsyncSession, viewer: User | None, movie_id: int) -> float:
    """Where the viewer left off; from the start once they had watched the film."""
    if viewer is None:
        return 0.0
    progress = await session.get(WatchProgress, (viewer.id, movie_id))
    if progress is None or progress.watched:
        return 0.0
    return progress.position_seconds


# --- watch progress ------------------------------------------------------------------------


async def record_progress(
    session: AsyncSession, settings: Settings, viewer: User, movie_id: int, position: float
) -> ProgressRead:
    """Store where ``viewer`` is in the film. The last write wins; a position past the end is
    the end; reaching 95% marks the film watched, and a later position before that (watching
    again) unmarks it, so the film returns to continue-watching."""
    film = await _film(session, movie_id)
    staff = viewer.role in entitlements.STAFF_ROLES
    if film.status is not MovieStatus.PUBLISHED and not staff:
        raise NotFound(f"There is no film with id {movie_id}.")
    asset = (await media.published_assets(session, [movie_id])).get(movie_id)
    duration = _duration(film, asset)
    if duration is not None:
        position = min(position, duration)
    watched = duration is not None and position >= WATCHED_FRACTION * duration
    now = utcnow()
    values = {
        "position_seconds": position,
        "duration_seconds": duration,
        "watched": watched,
        "updated_at": now,
    }
    insert = _insert(session)(WatchProgress).values(
        user_id=viewer.id, movie_id=movie_id, started_at=now, **values
    )
    upsert = insert.on_conflict_do_update(
        index_elements=[WatchProgress.user_id, WatchProgress.movie_id], set_=values
    ).returning(WatchProgress)
    result = await session.scalars(upsert, execution_options={"populate_existing": True})
    return _progress_read(result.one(), film, asset, settings, viewer)


def _insert(session: AsyncSession) -> Any:
    """INSERT … ON CONFLICT DO UPDATE, the same on both databases: two first writes at once
    cannot both insert, and the later one wins."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _duration(film: MovieSummary, asset: MediaAsset | None) -> float | None:
    if asset is not None and asset.duration_seconds:
        return asset.duration_seconds
    return film.runtime_minutes * 60.0 if film.runtime_minutes else None


# --- continue watching and history ---------------------------------------------------------


async def continue_watching(
    session: AsyncSession, settings: Settings, viewer: User, paging: PageParams
) -> Page[ProgressRead]:
    """Films the viewer started and has not finished, the most recently watched first."""
    return await _progress_page(
        session,
        settings,
        viewer,
        paging,
        WatchProgress.position_seconds > 0,
        WatchProgress.watched.is_(False),
    )


async def history(
    session: AsyncSession, settings: Settings, viewer: User, paging: PageParams
) -> Page[ProgressRead]:
    """Every film the viewer has played, the most recently watched first."""
    return await _progress_page(session, settings, viewer, paging)


async def forget_film(session: AsyncSession, viewer: User, movie_id: int) -> None:
    """Remove one film from the viewer's history (and so its resume position)."""
    result = await session.execute(
        delete(WatchProgress).where(
            WatchProgress.user_id == viewer.id, WatchProgress.movie_id == movie_id
        )
    )
    if not _rowcount(result):
        raise NotFound(f"Film {movie_id} is not in your history.")


async def clear_history(session: AsyncSession, viewer: User) -> int:
    """Remove the viewer's whole history; returns how many films it held."""
    result = await session.execute(delete(WatchProgress).where(WatchProgress.user_id == viewer.id))
    return _rowcount(result)


def _rowcount(result: Any) -> int:
    return int(result.rowcount or 0)


async def _progress_page(
    session: AsyncSession,
    settings: Settings,
    viewer: User,
    paging: PageParams,
    *conditions: ColumnElement[bool],
) -> Page[ProgressRead]:
    where = (WatchProgress.user_id == viewer.id, *conditions)
    total = await session.scalar(select(func.count()).select_from(WatchProgress).where(*where))
    rows = (
        await session.scalars(
            select(WatchProgress)
            .where(*where)
            .order_by(WatchProgress.updated_at.desc(), WatchProgress.movie_id.desc())
            .offset(paging.offset)
            .limit(paging.page_size)
        )
    ).all()
    items = await _progress_items(session, settings, viewer, rows)
    return Page(items=items, total=total or 0, page=paging.page, page_size=paging.page_size)


async def _progress_items(
    session: AsyncSession, settings: Settings, viewer: User, rows: Sequence[WatchProgress]
) -> list[ProgressRead]:
    movie_ids = [row.movie_id for row in rows]
    films = {film.id: film for film in await catalog.movie_summaries(session, movie_ids)}
    assets = await media.published_assets(session, movie_ids)
    return [
        _progress_read(row, films[row.movie_id], assets.get(row.movie_id), settings, viewer)
        for row in rows
        if row.movie_id in films
    ]


def _progress_read(
    progress: WatchProgress,
    film: MovieSummary,
    asset: MediaAsset | None,
    settings: Settings,
    viewer: User,
) -> ProgressRead:
    return ProgressRead(
        movie=WatchedMovie(
            id=film.id,
            title=film.title,
            slug=film.slug,
            year=film.year,
            poster_url=_poster_url(settings, film, asset, viewer),
        ),
        position_seconds=progress.position_seconds,
        duration_seconds=progress.duration_seconds,
        watched=progress.watched,
        started_at=progress.started_at,
        updated_at=progress.updated_at,
    )


def _poster_url(
    settings: Settings, film: MovieSummary, asset: MediaAsset | None, viewer: User
) -> str | None:
    """The poster lives inside the asset, and its signed path would open the whole asset: it
    is given only to a viewer who may play the film anyway."""
    poster = (asset.images or {}).get("poster") if asset is not None else None
    if poster is None or not entitlements.may_play(
        status=film.status,
        access=film.access,
        age_rating=film.age_rating,
        viewer=viewer,
        today=utcnow().date(),
    ):
        return None
    assert asset is not None
    return _image_url(settings, _sign(settings, asset), poster)
