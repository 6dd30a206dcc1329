"""Playback endpoints: start a film, and the viewer's own progress, continue-watching and
history under /me. Parse, authorize, call the service."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from kino.core.http import AppSettings, DbSession, IdPath
from kino.core.pagination import Page, Paging
from kino.identity.dependencies import CurrentUser, OptionalUser
from kino.playback import service
from kino.playback.schemas import PlaybackRead, ProgressRead, ProgressWrite

router = APIRouter(tags=["playback"])


@router.post("/movies/{movie_id}/playback")
async def start_playback(
    movie_id: IdPath, session: DbSession, settings: AppSettings, user: OptionalUser
) -> PlaybackRead:
    """A signed master-playlist URL for the film (valid for KINO_PLAYBACK_TTL_SECONDS), where to
    resume, the poster, storyboard and subtitles. 401/402/403 when the viewer may not play it,
    404 when it has no published video."""
    return await service.start_playback(session, settings, user, movie_id)


@router.put("/me/progress/{movie_id}")
async def record_progress(
    movie_id: IdPath,
    body: ProgressWrite,
    session: DbSession,
    settings: AppSettings,
    user: CurrentUser,
) -> ProgressRead:
    """Where the viewer is in the film; positions past the end count as the end, and 95% marks
    the film watched."""
    return await service.record_progress(session, settings, user, movie_id, body.position_seconds)


@router.get("/me/continue-watching")
async def continue_watching(
    session: DbSession, settings: AppSettings, user: CurrentUser, paging: Paging
) -> Page[ProgressRead]:
    return await service.continue_watching(session, settings, user, paging)


@router.get("/me/history")
async def history(
    session: DbSession, settings: AppSettings, user: CurrentUser, paging: Paging
) -> Page[ProgressRead]:
    return await service.history(session, settings, user, paging)


@router.delete("/me/history/{movie_id}", status_code=status.HTTP_204_NO_CONTENT)
async def forget_film(movie_id: IdPath, session: DbSession, user: CurrentUser) -> Response:
    await service.forget_film(session, user, movie_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/me/history", status_code=status.HTTP_204_NO_CONTENT)
async def clear_history(session: DbSession, user: CurrentUser) -> Response:
    await service.clear_history(session, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
