"""``kino ingest PATH --title TITLE``: a local file becomes a published film, through the same job
as an upload. Embedded, the command runs the job itself (unless a running ``kino serve`` picks
it up first); distributed, a ``kino worker`` does, and the command follows the job's row.

``store_source`` and ``finish_job`` are the two halves any local file takes (``kino demo``'s
sample films too): copied into storage as a source, then processed by the transcode job."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kino.catalog import service as catalog
from kino.catalog.models import MovieStatus
from kino.catalog.schemas import MovieCreate
from kino.catalog.search import search_index_for
from kino.core.db import Database
from kino.core.errors import InvalidInput
from kino.jobs.models import FINISHED, Job
from kino.jobs.queue import create_job_queue
from kino.jobs.registry import load_handlers
from kino.jobs.runner import run_job
from kino.media import service as media
from kino.media.storage import Storage, create_storage
from kino.settings import Settings

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Ingested:
    movie_id: int
    job: Job


async def ingest(
    settings: Settings,
    path: Path,
    *,
    title: str,
    status: MovieStatus = MovieStatus.PUBLISHED,
    on_progress: Callable[[Job], None] | None = None,
) -> Ingested:
    """Copy ``path`` into storage, create the film and process the video; returns when the job
    has finished (succeeded, failed or cancelled)."""
    if not path.is_file():
        raise InvalidInput(f"{path} is not a file.")
    db = Database(settings.sqlalchemy_url)
    storage = create_storage(settings)
    queue = create_job_queue(settings, db)
    try:
        source_key = await store_source(storage, path)
        async with db.transaction() as session:
            movie = await catalog.create_movie(
                session, search_index_for(db.dialect), MovieCreate(title=title, status=status)
            )
            job = await media.queue_transcode(
                session, queue, movie_id=movie.id, source_key=source_key, created_by=None
            )
        return Ingested(
            movie_id=movie.id, job=await finish_job(settings, db, job.id, on_progress=on_progress)
        )
    finally:
        await queue.close()
        await storage.close()
        await db.dispose()


async def store_source(storage: Storage, path: Path, *, move: bool = False) -> str:
    """Copy (or with ``move``, give away) a local video into storage, where the transcode job
    reads its source; the key."""
    source_key = f"sources/ingest/{secrets.token_hex(16)}"
    await storage.put_file(source_key, path, move=move)
    return source_key


async def finish_job(
    settings: Settings,
    db: Database,
    job_id: int,
    *,
    on_progress: Callable[[Job], None] | None = None,
) -> Job:
    """Run the queued job in this process (embedded; a ``kino serve`` may claim it first) or
    wait for a ``kino worker`` to (distributed); the job once it has finished."""
    follow = asyncio.create_task(_follow(db, job_id, on_progress))
    try:
        if not settings.broker_url:
            load_handlers()
            worker = f"ingest@{socket.gethostname()}:{os.getpid()}"
            await run_job(settings, db, job_id, worker=worker)
        return await follow
    finally:
        follow.cancel()


async def _follow(db: Database, job_id: int, on_progress: Callable[[Job], None] | None) -> Job:
    while True:
        async with db.transaction() as session:
            job = await session.get(Job, job_id)
        assert job is not None
        if on_progress is not None:
            on_progress(job)
        if job.status in FINISHED:
            return job
        await asyncio.sleep(POLL_SECONDS)
