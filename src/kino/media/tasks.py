"""Job bodies of the media domain: an uploaded source becomes a published, streamable film.

Stages: probe → remux (sources that are already H.264/AAC play within seconds) → encode (the
whole ladder in one ffmpeg process) → images (poster, thumbnails, storyboard, read from the top
rung) → publish. Each
version is written under its own ``assets/{id}/`` prefix and switched in with one transaction;
whatever an interrupted or failed run leaves is removed, and a run that finds its work already
published returns at once.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import structlog
from sqlalchemy import select

from kino.jobs.registry import job_handler
from kino.jobs.runner import JobCancelled, JobContext, JobFailed
from kino.media import service
from kino.media.errors import ObjectNotFound, UnsupportedMedia
from kino.media.ffmpeg import FfmpegCancelled, FfmpegError, ProgressCallback
from kino.media.hls import HlsPackage
from kino.media.images import ImageSet, make_images
from kino.media.ladder import can_remux, encode_ladder, plan_ladder, remux_to_hls
from kino.media.models import AssetKind, AssetState, MediaAsset
from kino.media.probe import SourceInfo, probe
from kino.media.storage import Storage, create_storage

log = structlog.get_logger("kino.media")
T = TypeVar("T")


@dataclass(frozen=True)
class _Span:
    """The share of the job's progress (0 to 100) one stage covers."""

    start: float
    end: float

    def at(self, fraction: float) -> float:
        return self.start + (self.end - self.start) * min(max(fraction, 0.0), 1.0)


PROBE = _Span(0, 3)
REMUX = _Span(3, 10)
IMAGES_SHARE = 3.0
PUBLISH_SHARE = 3.0


@job_handler(service.TRANSCODE_JOB)
async def transcode(ctx: JobContext) -> None:
    movie_id = int(ctx.payload["movie_id"])
    source_key = str(ctx.payload["source_key"])
    storage = create_storage(ctx.settings)
    work_dir = ctx.settings.work_dir / f"job-{ctx.job_id}"
    try:
        if await _ladder_done(ctx):
            return
        await _discard_leftovers(ctx, storage)
        shutil.rmtree(work_dir, ignore_errors=True)
        work_dir.mkdir(parents=True)
        run = _TranscodeRun(ctx, storage, movie_id, work_dir)
        await run.execute(source_key)
    except BaseException:
        await asyncio.shield(_discard_leftovers(ctx, storage))
        raise
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
        await storage.close()


async def _ladder_done(ctx: JobContext) -> bool:
    async with ctx.db.transaction() as session:
        done = await session.scalar(
            select(MediaAsset.id).where(
                MediaAsset.job_id == ctx.job_id,
                MediaAsset.kind == AssetKind.LADDER,
                MediaAsset.state.in_((AssetState.PUBLISHED, AssetState.RETIRED)),
            )
        )
    return done is not None


async def _discard_leftovers(ctx: JobContext, storage: Storage) -> None:
    async with ctx.db.transaction() as session:
        await service.discard_job_assets(session, storage, ctx.job_id)


class _TranscodeRun:
    def __init__(self, ctx: JobContext, storage: Storage, movie_id: int, work_dir: Path) -> None:
        self.ctx = ctx
        self.storage = storage
        self.movie_id = movie_id
        self.work_dir = work_dir
        self.ffmpeg = ctx.settings.ffmpeg_path

    async def execute(self, source_key: str) -> None:
        await self.ctx.report("probe", PROBE.start)
        source = await self._fetch(source_key)
        info = await self._probe(source)
        encode_start = PROBE.end
        if can_remux(info) and not await self._remux_published():
            await self._remux(source, info)
            encode_start = REMUX.end
        await self._ladder(source, info, encode_start)

    async def _fetch(self, key: str) -> Path:
        local = self.storage.local_path(key)
        if local is not None:
            if not local.exists():
                raise JobFailed("The uploaded file is gone; upload the video again.")
            return local
        path = self.work_dir / "source"
        try:
            await self.storage.download(key, path)
        except ObjectNotFound as exc:
            raise JobFailed("The uploaded file is gone; upload the video again.") from exc
        return path

    async def _probe(self, source: Path) -> SourceInfo:
        try:
            info = await asyncio.to_thread(probe, source)
        except UnsupportedMedia as exc:
            raise JobFailed(exc.message) from exc
        await self.ctx.report("probe", PROBE.end)
        log.info("media.probe", job_id=self.ctx.job_id, movie_id=self.movie_id, **info.to_json())
        return info

    async def _remux_published(self) -> bool:
        async with self.ctx.db.transaction() as session:
            found = await session.scalar(
                select(MediaAsset.id).where(
                    MediaAsset.job_id == self.ctx.job_id,
                    MediaAsset.kind == AssetKind.REMUX,
                    MediaAsset.state.in_((AssetState.PUBLISHED, AssetState.RETIRED)),
                )
            )
        return found is not None

    async def _remux(self, source: Path, info: SourceInfo) -> None:
        out_dir = self.work_dir / "remux"
        package = await self._ffmpeg_stage(
            "remux",
            REMUX,
            remux_to_hls(
                self.ffmpeg,
                source,
                info,
                out_dir,
                on_progress=self._progress("remux", REMUX),
                cancel=self.ctx.cancelled,
            ),
        )
        await self._publish(AssetKind.REMUX, info, out_dir, package, images=None)
        log.info("media.remux.published", job_id=self.ctx.job_id, movie_id=self.movie_id)

    async def _ladder(self, source: Path, info: SourceInfo, start: float) -> None:
        encode = _Span(start, 100 - PUBLISH_SHARE - IMAGES_SHARE)
        out_dir = self.work_dir / "ladder"
        rungs = plan_ladder(info)
        package = await self._ffmpeg_stage(
            "encode",
            encode,
            encode_ladder(
                self.ffmpeg,
                source,
                info,
                rungs,
                out_dir,
                on_progress=self._progress("encode", encode),
                cancel=self.ctx.cancelled,
                preset=self.ctx.settings.x264_preset,
            ),
        )
        images = await self._images(package, out_dir, _Span(encode.end, encode.end + IMAGES_SHARE))
        await self._publish(AssetKind.LADDER, info, out_dir, package, images=images.to_json())
        log.info(
            "media.transcode.published",
            job_id=self.ctx.job_id,
            movie_id=self.movie_id,
            rungs=len(rungs),
        )

    async def _images(self, package: HlsPackage, out_dir: Path, span: _Span) -> ImageSet:
        """Poster, thumbnails and storyboard, read from the top rung just encoded rather than
        the source: already upright, SDR and at most 1080p…2160p, with a keyframe every 2 s,
        so decoding keyframes alone gives a storyboard tile every 2 s for a fraction of a
        full decode."""
        top = max(package.variants, key=lambda variant: variant.height)
        await self.ctx.report("images", span.start)
        return await self._ffmpeg_stage(
            "images",
            span,
            make_images(
                self.ffmpeg,
                out_dir / top.playlist,
                duration=package.duration,
                display_width=top.width,
                display_height=top.height,
                out_dir=out_dir,
                cancel=self.ctx.cancelled,
                on_progress=self._progress("images", span),
                prefer_keyframes=True,
            ),
        )

    async def _ffmpeg_stage(self, stage: str, span: _Span | None, work: Awaitable[T]) -> T:
        try:
            result = await work
        except FfmpegCancelled as exc:
            raise JobCancelled(f"cancelled during {stage}") from exc
        except FfmpegError as exc:
            raise JobFailed(f"The video could not be processed ({stage}): {exc.message}") from exc
        if span is not None:
            await self.ctx.report(stage, span.end)
        return result

    def _progress(self, stage: str, span: _Span) -> ProgressCallback:
        async def report(fraction: float, seconds_left: float | None) -> None:
            await self.ctx.report(stage, span.at(fraction), seconds_left)

        return report

    async def _publish(
        self,
        kind: AssetKind,
        info: SourceInfo,
        out_dir: Path,
        package: HlsPackage,
        *,
        images: dict[str, object] | None,
    ) -> None:
        async with self.ctx.db.transaction() as session:
            asset = await service.create_asset(
                session,
                movie_id=self.movie_id,
                job_id=self.ctx.job_id,
                kind=kind,
                source=info.to_json(),
                duration_seconds=info.duration,
            )
        await self.storage.put_directory(asset.prefix, out_dir)
        if self.ctx.cancelled.is_set():
            raise JobCancelled("cancelled before publishing")
        async with self.ctx.db.transaction() as session:
            await service.publish_asset(session, self.storage, asset.id, package, images=images)
            await service.purge_retired_assets(
                session,
                self.storage,
                retention=timedelta(seconds=self.ctx.settings.playback_ttl_seconds),
            )
        if kind is AssetKind.LADDER:
            await self.ctx.report("publish", 100)
