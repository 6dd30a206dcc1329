"""The demo's sample videos: three short clips made with ffmpeg's test sources (a 1080p one, a
4:3 one and a vertical one), each run through the real pipeline (the transcode job an upload
gets) as the video of a well-known demo film, free to watch, so a newcomer can press play.

Safe to repeat: a film that already plays, or whose video is still being processed, is left as
it is; only a film with neither gets a clip made and queued again.
"""

from __future__ import annotations

import asyncio
import enum
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog import service as catalog
from kino.catalog.models import Access
from kino.catalog.schemas import MovieSummary, MovieUpdate
from kino.catalog.search import SearchIndex, search_index_for
from kino.core.db import Database
from kino.core.pagination import PageParams
from kino.demo.films import FilmName, pick_films
from kino.jobs import service as jobs
from kino.jobs.models import JobStatus
from kino.jobs.queue import create_job_queue
from kino.media import service as media
from kino.media.ffmpeg import run_ffmpeg
from kino.media.ingest import finish_job, store_source
from kino.media.storage import create_storage
from kino.settings import Settings

SAMPLE_SECONDS = 20.0
FRAME_RATE = 25
TONE_SAMPLE_RATE = 48_000


@dataclass(frozen=True)
class SampleClip:
    """A clip to make with one of ffmpeg's test sources (``pattern``) and a sine tone, as the
    video of the film ``film``."""

    film: FilmName
    shape: str  # for people: "16:9, 1080p", "4:3", "vertical"
    width: int
    height: int
    pattern: str
    tone_hz: int


SAMPLE_CLIPS = (
    SampleClip(FilmName("Skyfall", 2012), "16:9, 1080p", 1920, 1080, "testsrc2", 440),
    SampleClip(FilmName("12 Angry Men", 1957), "4:3", 1440, 1080, "testsrc", 330),
    SampleClip(
        FilmName("E.T. the Extra-Terrestrial", 1982), "vertical", 1080, 1920, "testsrc2", 550
    ),
)


class SampleState(enum.StrEnum):
    PLAYS = "plays"  # a published video, from this run or an earlier one
    PROCESSING = "processing"  # its job is queued or running
    FAILED = "failed"  # its job failed (waited for only)


@dataclass(frozen=True)
class SampleFilm:
    movie_id: int
    title: str
    shape: str
    state: SampleState
    job_id: int | None = None  # the job processing the video, while there is one
    error: str | None = None


async def prepare_sample_films(
    settings: Settings,
    db: Database,
    *,
    clips: Sequence[SampleClip] = SAMPLE_CLIPS,
    seconds: float = SAMPLE_SECONDS,
    wait: bool = False,
    say: Callable[[str], None] = lambda _message: None,
) -> list[SampleFilm]:
    """Give each clip's film a video: make the clips that are missing and queue them for
    processing. With ``wait``, run (or wait for) the jobs until they finish; otherwise the worker
    pool of ``kino serve`` runs them."""
    search = search_index_for(db.dialect)
    async with db.transaction() as session:
        films = await pick_films(session, search, [clip.film for clip in clips])
        chosen = [(clip, film) for clip, film in zip(clips, films, strict=True) if film]
        samples = [await _sample(session, search, clip, film) for clip, film in chosen]
    needed = [pair for pair, sample in zip(chosen, samples, strict=True) if sample is None]
    if needed:
        say(f"Making {len(needed)} sample videos from ffmpeg's test patterns (half a minute)…")
        queued = iter(await _make_and_queue(settings, db, needed, seconds=seconds))
        samples = [sample or next(queued) for sample in samples]
    ready = [sample for sample in samples if sample is not None]
    if wait:
        ready = [await _finished(settings, db, sample) for sample in ready]
    return ready


async def _sample(
    session: AsyncSession, search: SearchIndex, clip: SampleClip, film: MovieSummary
) -> SampleFilm | None:
    """Make the film free to watch, and say how its video stands: published, being processed,
    or None for neither."""
    if film.access is not Access.FREE:
        await catalog.update_movie(session, search, film.id, MovieUpdate(access=Access.FREE))
    if film.id in await media.published_assets(session, [film.id]):
        return SampleFilm(film.id, film.title, clip.shape, SampleState.PLAYS)
    job_id = await _unfinished_transcode(session, film.id)
    if job_id is not None:
        return SampleFilm(film.id, film.title, clip.shape, SampleState.PROCESSING, job_id)
    return None


async def _unfinished_transcode(session: AsyncSession, movie_id: int) -> int | None:
    for status in (JobStatus.RUNNING, JobStatus.QUEUED):
        filters = jobs.JobFilters(status=status, movie_id=movie_id, kind=media.TRANSCODE_JOB)
        page = await jobs.list_jobs(session, filters=filters, paging=PageParams(page_size=1))
        if page.items:
            return page.items[0].id
    return None


async def _make_and_queue(
    settings: Settings,
    db: Database,
    needed: Sequence[tuple[SampleClip, MovieSummary]],
    *,
    seconds: float,
) -> list[SampleFilm]:
    """Make the clips side by side (a test pattern is drawn on one core), move them into
    storage and queue each as its film's new video."""
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    storage = create_storage(settings)
    queue = create_job_queue(settings, db)
    try:
        with tempfile.TemporaryDirectory(prefix="demo-", dir=settings.work_dir) as scratch:
            paths = await asyncio.gather(
                *(
                    make_sample_clip(settings, clip, Path(scratch) / f"{film.id}.mp4", seconds)
                    for clip, film in needed
                )
            )
            queued = []
            for (clip, film), path in zip(needed, paths, strict=True):
                source_key = await store_source(storage, path, move=True)
                async with db.transaction() as session:
                    job = await media.queue_transcode(
                        session, queue, movie_id=film.id, source_key=source_key, created_by=None
                    )
                queued.append(
                    SampleFilm(film.id, film.title, clip.shape, SampleState.PROCESSING, job.id)
                )
            return queued
    finally:
        await queue.close()
        await storage.close()


async def make_sample_clip(
    settings: Settings, clip: SampleClip, path: Path, seconds: float
) -> Path:
    """``seconds`` of the clip's test pattern with a tone: H.264 (x264 ultrafast, a keyframe
    every 2 s so that the instant remux cuts even segments) and AAC stereo, in MP4."""
    pattern = f"{clip.pattern}=size={clip.width}x{clip.height}:rate={FRAME_RATE}"
    tone = f"sine=frequency={clip.tone_hz}:sample_rate={TONE_SAMPLE_RATE}"
    args = [
        "-f", "lavfi", "-i", f"{pattern}:duration={seconds}",
        "-f", "lavfi", "-i", f"{tone}:duration={seconds}",
        "-map", "0:v", "-map", "1:a",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "28", "-pix_fmt", "yuv420p",
        "-g", str(2 * FRAME_RATE),
        "-c:a", "aac", "-b:a", "128k", "-ac", "2",
        "-movflags", "+faststart", "-y", str(path),
    ]  # fmt: skip
    await run_ffmpeg(settings.ffmpeg_path, args, duration=seconds)
    return path


async def _finished(settings: Settings, db: Database, sample: SampleFilm) -> SampleFilm:
    if sample.job_id is None:
        return sample
    job = await finish_job(settings, db, sample.job_id)
    if job.status is JobStatus.SUCCEEDED:
        return SampleFilm(sample.movie_id, sample.title, sample.shape, SampleState.PLAYS)
    return SampleFilm(
        sample.movie_id, sample.title, sample.shape, SampleState.FAILED, job.id, job.error
    )
