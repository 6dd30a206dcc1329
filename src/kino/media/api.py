"""Media endpoints: attach an upload as a film's video, read the published version, subtitles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile, status

from kino.core.errors import KinoError
from kino.core.http import DbSession, IdPath
from kino.identity.dependencies import OptionalUser, StaffUser, is_staff
from kino.jobs.dependencies import AppJobQueue
from kino.media import service
from kino.media.dependencies import MediaStorage
from kino.media.schemas import AttachVideo, JobAccepted, MediaRead, SubtitleTrackRead
from kino.media.subtitles import MAX_SUBTITLE_BYTES

router = APIRouter(tags=["media"])


class SubtitlesTooLarge(KinoError):
    status = 413
    code = "payload_too_large"


@router.post("/movies/{movie_id}/video", status_code=status.HTTP_202_ACCEPTED)
async def attach_video(
    movie_id: IdPath, body: AttachVideo, session: DbSession, jobs: AppJobQueue, user: StaffUser
) -> JobAccepted:
    """Process a finished upload into the film's new video; follow it at /api/v1/jobs/{job_id}."""
    job = await service.attach_video(session, jobs, user, movie_id, body.upload_id)
    return JobAccepted(job_id=job.id)


@router.get("/movies/{movie_id}/media")
async def get_media(movie_id: IdPath, session: DbSession, user: OptionalUser) -> MediaRead:
    return await service.get_media(session, movie_id, include_drafts=is_staff(user))


@router.get("/movies/{movie_id}/subtitles")
async def list_subtitles(
    movie_id: IdPath, session: DbSession, user: OptionalUser
) -> list[SubtitleTrackRead]:
    return await service.list_subtitles(session, movie_id, include_drafts=is_staff(user))


@router.post("/movies/{movie_id}/subtitles", status_code=status.HTTP_201_CREATED)
async def add_subtitles(
    movie_id: IdPath,
    file: Annotated[UploadFile, File(description="SRT or WebVTT, in any common encoding")],
    language: Annotated[str, Form(min_length=2, max_length=16)],
    session: DbSession,
    storage: MediaStorage,
    _staff: StaffUser,
    label: Annotated[str | None, Form(min_length=1, max_length=100)] = None,
) -> SubtitleTrackRead:
    raw = await file.read(MAX_SUBTITLE_BYTES + 1)
    if len(raw) > MAX_SUBTITLE_BYTES:
        raise SubtitlesTooLarge(
            f"Subtitle files are limited to {MAX_SUBTITLE_BYTES // (1024 * 1024)} MiB."
        )
    return await service.add_subtitles(
        session, storage, movie_id, language=language, label=label, raw=raw
    )


@router.delete("/movies/{movie_id}/subtitles/{language}", status_code=204)
async def delete_subtitles(
    movie_id: IdPath,
    language: str,
    session: DbSession,
    storage: MediaStorage,
    _staff: StaffUser,
) -> Response:
    await service.delete_subtitles(session, storage, movie_id, language)
    return Response(status_code=204)
