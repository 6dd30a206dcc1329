"""The media domain's rules: attaching a video to a film, the versions (assets) of that video and
their one-switch publication, the master playlist, and subtitle tracks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from kino.catalog import service as catalog
from kino.catalog.models import MovieStatus
from kino.core.db import utcnow
from kino.core.errors import Conflict, NotFound
from kino.identity.models import User
from kino.jobs.models import FINISHED, Job
from kino.jobs.queue import JobQueue
from kino.media import subtitles as subtitle_files
from kino.media import uploads
from kino.media.hls import (
    AudioRendition,
    HlsPackage,
    SubtitleRendition,
    VariantStream,
    master_playlist,
)
from kino.media.models import (
    AssetKind,
    AssetState,
    MediaAsset,
    Rendition,
    RenditionKind,
    SubtitleTrack,
    asset_prefix,
)
from kino.media.schemas import MediaRead, RenditionRead, SubtitleTrackRead
from kino.media.storage import Storage

TRANSCODE_JOB = "media.transcode"
MASTER_PLAYLIST = "master.m3u8"
AUDIO_GROUP = "audio"
SUBTITLE_GROUP = "subs"


# --- attaching a video -------------------------------------------------------------------


async def attach_video(
    session: AsyncSession, queue: JobQueue, user: User, movie_id: int, upload_id: str
) -> Job:
    """Queue the processing of a finished upload as the film's new video. The film keeps
    playing its current version until the new one is published."""
    await catalog.movie_status(session, movie_id)
    upload = await uploads.completed_upload(session, user, upload_id)
    return await queue_transcode(
        session,
        queue,
        movie_id=movie_id,
        source_key=uploads.upload_source_key(upload.id),
        created_by=user,
    )


async def queue_transcode(
    session: AsyncSession,
    queue: JobQueue,
    *,
    movie_id: int,
    source_key: str,
    created_by: User | None,
) -> Job:
    running = await session.scalar(
        select(Job.id).where(
            Job.movie_id == movie_id, Job.kind == TRANSCODE_JOB, Job.status.not_in(FINISHED)
        )
    )
    if running is not None:
        raise Conflict(
            f"Film {movie_id} is already being processed by job {running}; "
            "cancel that job or wait for it to finish.",
            details={"job_id": running},
        )
    return await queue.enqueue(
        session,
        kind=TRANSCODE_JOB,
        payload={"movie_id": movie_id, "source_key": source_key},
        movie_id=movie_id,
        created_by_id=created_by.id if created_by else None,
    )


# --- reading -----------------------------------------------------------------------------


async def published_asset(session: AsyncSession, movie_id: int) -> MediaAsset | None:
    return await session.scalar(
        select(MediaAsset)
        .where(MediaAsset.movie_id == movie_id, MediaAsset.state == AssetState.PUBLISHED)
        .options(selectinload(MediaAsset.renditions))
    )


async def published_assets(
    session: AsyncSession, movie_ids: Sequence[int]
) -> dict[int, MediaAsset]:
    """The published asset of each of these films that has one, by film id (renditions not
    loaded): one query for a page of films."""
    if not movie_ids:
        return {}
    result = await session.scalars(
        select(MediaAsset).where(
            MediaAsset.movie_id.in_(movie_ids), MediaAsset.state == AssetState.PUBLISHED
        )
    )
    return {asset.movie_id: asset for asset in result}


async def get_media(session: AsyncSession, movie_id: int, *, include_drafts: bool) -> MediaRead:
    status = await catalog.movie_status(session, movie_id)
    asset = await published_asset(session, movie_id)
    if asset is None or (status is MovieStatus.DRAFT and not include_drafts):
        raise NotFound(f"Film {movie_id} has no published video.")
    tracks = await _subtitle_tracks(session, movie_id)
    storyboard = asset.images.get("storyboard") or {}
    return MediaRead(
        asset_id=asset.id,
        kind=asset.kind,
        duration_seconds=asset.duration_seconds,
        published_at=asset.published_at,
        source=asset.source,
        renditions=[_rendition_read(rendition) for rendition in asset.renditions],
        poster=asset.images.get("poster"),
        thumbnails={str(width): path for width, path in asset.images.get("thumbnails", {}).items()},
        storyboard=storyboard.get("vtt"),
        subtitles=[_track_read(track) for track in tracks],
    )


def _rendition_read(rendition: Rendition) -> RenditionRead:
    return RenditionRead(
        kind=rendition.kind,
        playlist=rendition.playlist,
        codecs=rendition.codecs,
        bandwidth=rendition.bandwidth,
        average_bandwidth=rendition.average_bandwidth,
        width=rendition.width,
        height=rendition.height,
        frame_rate=rendition.frame_rate,
        language=rendition.language,
        name=rendition.name,
        is_default=rendition.is_default,
    )


def _track_read(track: SubtitleTrack) -> SubtitleTrackRead:
    return SubtitleTrackRead(
        language=track.language, label=track.label, created_at=track.created_at
    )


# --- versions of a film's video ----------------------------------------------------------


async def create_asset(
    session: AsyncSession,
    *,
    movie_id: int,
    job_id: int,
    kind: AssetKind,
    source: dict[str, Any],
    duration_seconds: float,
) -> MediaAsset:
    asset = MediaAsset(
        movie_id=movie_id,
        job_id=job_id,
        kind=kind,
        source=source,
        duration_seconds=duration_seconds,
        images={},
    )
    session.add(asset)
    await session.flush()
    return asset


async def publish_asset(
    session: AsyncSession,
    storage: Storage,
    asset_id: int,
    package: HlsPackage,
    *,
    images: dict[str, Any] | None = None,
) -> None:
    """Record the renditions, write the master playlist, then switch the film to this asset in
    one UPDATE pair inside the caller's transaction: viewers see the old version or the new
    one, never a mixture."""
    asset = await _asset(session, asset_id)
    asset.renditions = _renditions(package)
    if images is not None:
        asset.images = images
    await session.flush()
    await write_master(session, storage, asset)
    now = utcnow()
    await session.execute(
        update(MediaAsset)
        .where(MediaAsset.movie_id == asset.movie_id, MediaAsset.state == AssetState.PUBLISHED)
        .values(state=AssetState.RETIRED, retired_at=now)
    )
    asset.state = AssetState.PUBLISHED
    asset.published_at = now
    await session.flush()


async def _asset(session: AsyncSession, asset_id: int) -> MediaAsset:
    asset = await session.scalar(
        select(MediaAsset)
        .where(MediaAsset.id == asset_id)
        .options(selectinload(MediaAsset.renditions))
        .with_for_update()
    )
    if asset is None:
        raise NotFound(f"There is no media asset {asset_id}.")
    return asset


def _renditions(package: HlsPackage) -> list[Rendition]:
    videos = [
        Rendition(
            kind=RenditionKind.VIDEO,
            position=position,
            playlist=variant.playlist,
            codecs=variant.codecs,
            bandwidth=variant.bandwidth,
            average_bandwidth=variant.average_bandwidth,
            width=variant.width,
            height=variant.height,
            frame_rate=variant.frame_rate,
        )
        for position, variant in enumerate(package.variants)
    ]
    audio = [
        Rendition(
            kind=RenditionKind.AUDIO,
            position=position,
            playlist=rendition.playlist,
            codecs=rendition.codecs,
            bandwidth=rendition.bandwidth,
            average_bandwidth=rendition.average_bandwidth,
            language=rendition.language,
            name=rendition.name,
            is_default=rendition.default,
        )
        for position, rendition in enumerate(package.audio)
    ]
    return videos + audio


async def discard_job_assets(session: AsyncSession, storage: Storage, job_id: int) -> None:
    """Remove what an unfinished run of a job left: assets still building, and their objects."""
    asset_ids = (
        await session.scalars(
            select(MediaAsset.id).where(
                MediaAsset.job_id == job_id,
                MediaAsset.state.in_((AssetState.BUILDING, AssetState.FAILED)),
            )
        )
    ).all()
    await _delete_assets(session, storage, asset_ids)


async def purge_retired_assets(
    session: AsyncSession, storage: Storage, *, retention: timedelta
) -> int:
    """Delete versions retired longer ago than ``retention`` (the playback URL lifetime, so no
    signed URL still points at them)."""
    asset_ids = (
        await session.scalars(
            select(MediaAsset.id).where(
                MediaAsset.state == AssetState.RETIRED,
                MediaAsset.retired_at < utcnow() - retention,
            )
        )
    ).all()
    await _delete_assets(session, storage, asset_ids)
    return len(asset_ids)


async def _delete_assets(session: AsyncSession, storage: Storage, asset_ids: Sequence[int]) -> None:
    for asset_id in asset_ids:
        await storage.delete_prefix(asset_prefix(asset_id))
    if asset_ids:
        await session.execute(delete(MediaAsset).where(MediaAsset.id.in_(asset_ids)))


# --- the master playlist -----------------------------------------------------------------


async def write_master(session: AsyncSession, storage: Storage, asset: MediaAsset) -> None:
    """(Re)write the asset's master playlist from its renditions and the film's subtitle
    tracks, copying each track into the asset so one playback token covers it."""
    tracks = await _subtitle_tracks(session, asset.movie_id)
    subtitles = [await _copy_track(storage, asset, track) for track in tracks]
    package = _package(asset)
    body = master_playlist(package, subtitles)
    await storage.put_bytes(
        asset.prefix + MASTER_PLAYLIST, body.encode(), content_type="application/vnd.apple.mpegurl"
    )


def _package(asset: MediaAsset) -> HlsPackage:
    audio = [r for r in asset.renditions if r.kind is RenditionKind.AUDIO]
    videos = [r for r in asset.renditions if r.kind is RenditionKind.VIDEO]
    return HlsPackage(
        variants=[
            VariantStream(
                playlist=r.playlist,
                width=r.width or 0,
                height=r.height or 0,
                frame_rate=r.frame_rate or 0.0,
                codecs=r.codecs,
                bandwidth=r.bandwidth,
                average_bandwidth=r.average_bandwidth,
                audio_group=AUDIO_GROUP if audio else None,
            )
            for r in videos
        ],
        audio=[
            AudioRendition(
                playlist=r.playlist,
                group_id=AUDIO_GROUP,
                language=r.language,
                name=r.name or f"Audio {r.position + 1}",
                default=r.is_default,
                codecs=r.codecs,
                bandwidth=r.bandwidth,
                average_bandwidth=r.average_bandwidth,
            )
            for r in audio
        ],
        duration=asset.duration_seconds or 0.0,
    )


async def _copy_track(
    storage: Storage, asset: MediaAsset, track: SubtitleTrack
) -> SubtitleRendition:
    vtt_name = f"{track.language}.vtt"
    playlist = f"subs/{track.language}.m3u8"
    await storage.put_bytes(
        f"{asset.prefix}subs/{vtt_name}",
        await storage.get_bytes(track.storage_key),
        content_type="text/vtt; charset=utf-8",
    )
    body = subtitle_files.subtitle_playlist(vtt_name, asset.duration_seconds or 0.0)
    await storage.put_bytes(
        asset.prefix + playlist, body.encode(), content_type="application/vnd.apple.mpegurl"
    )
    return SubtitleRendition(playlist=playlist, language=track.language, name=track.label)


# --- subtitles ---------------------------------------------------------------------------


async def _subtitle_tracks(session: AsyncSession, movie_id: int) -> list[SubtitleTrack]:
    result = await session.scalars(
        select(SubtitleTrack)
        .where(SubtitleTrack.movie_id == movie_id)
        .order_by(SubtitleTrack.language)
    )
    return list(result)


async def list_subtitles(
    session: AsyncSession, movie_id: int, *, include_drafts: bool
) -> list[SubtitleTrackRead]:
    status = await catalog.movie_status(session, movie_id)
    if status is MovieStatus.DRAFT and not include_drafts:
        raise NotFound(f"There is no film with id {movie_id}.")
    return [_track_read(track) for track in await _subtitle_tracks(session, movie_id)]


async def add_subtitles(
    session: AsyncSession,
    storage: Storage,
    movie_id: int,
    *,
    language: str,
    label: str | None,
    raw: bytes,
) -> SubtitleTrackRead:
    """Store a film's subtitles in one language (replacing that language's track) as UTF-8
    WebVTT, and add them to the published version's master playlist."""
    await catalog.movie_status(session, movie_id)
    language = subtitle_files.check_language(language)
    text = subtitle_files.to_webvtt(raw)
    key = f"subtitles/{movie_id}/{language}.vtt"
    await storage.put_bytes(key, text.encode(), content_type="text/vtt; charset=utf-8")
    track = await session.scalar(
        select(SubtitleTrack).where(
            SubtitleTrack.movie_id == movie_id, SubtitleTrack.language == language
        )
    )
    if track is None:
        track = SubtitleTrack(movie_id=movie_id, language=language, storage_key=key)
        session.add(track)
    track.label = label or subtitle_files.language_label(language)
    track.created_at = utcnow()
    await session.flush()
    await _refresh_published_master(session, storage, movie_id)
    return _track_read(track)


async def delete_subtitles(
    session: AsyncSession, storage: Storage, movie_id: int, language: str
) -> None:
    track = await session.scalar(
        select(SubtitleTrack).where(
            SubtitleTrack.movie_id == movie_id, SubtitleTrack.language == language
        )
    )
    if track is None:
        raise NotFound(f"Film {movie_id} has no subtitles in {language!r}.")
    await session.delete(track)
    await session.flush()
    await _refresh_published_master(session, storage, movie_id)
    await storage.delete(track.storage_key)


async def _refresh_published_master(session: AsyncSession, storage: Storage, movie_id: int) -> None:
    asset = await published_asset(session, movie_id)
    if asset is not None:
        await write_master(session, storage, asset)
