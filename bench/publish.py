"""From attach to published, through the whole app, next to raw ffmpeg in the same run.

    python -m bench.publish [--seconds 60] [--remux-minutes 10]

Kino embedded (SQLite, a local media folder, the in-process worker pool) in a temporary data
directory. For the 60 s 1080p H.264/AAC source of bench/transcode.py it times:

1. raw: the same ladder as one ffmpeg command, nothing else (the baseline);
2. Kino: ``POST /movies/{id}/video`` of a finished upload until the ladder is published —
   probe, instant remux, the ladder with poster, thumbnails and storyboard, measuring, storage
   and the database switch (goal ≤ 1.05x raw).

Then, for a 10-minute H.264/AAC source, the time from attach until the film first plays (the
remux is published; goal ≤ 10 s). Results go to bench/results/ as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.transcode import (
    DATA_DIR,
    RESULTS_DIR,
    _cpu_seconds,
    make_source,
    run_raw,
    scratch,
    timed,
)
from kino.app import create_app, dispose
from kino.catalog import service as catalog
from kino.catalog.models import MovieStatus
from kino.catalog.schemas import MovieCreate
from kino.core.db import utcnow
from kino.core.migrate import upgrade
from kino.identity import service as identity
from kino.identity.models import Role, User
from kino.jobs.models import FINISHED, Job, JobStatus
from kino.media import service as media
from kino.media.models import AssetState, MediaAsset, Upload
from kino.media.probe import probe
from kino.media.uploads import upload_source_key
from kino.settings import Settings

POLL_SECONDS = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=int, default=60, help="length of the 1080p source")
    parser.add_argument("--remux-minutes", type=int, default=10, help="length of the H.264 source")
    args = parser.parse_args()
    ffmpeg = Settings().ffmpeg_path
    DATA_DIR.mkdir(exist_ok=True)
    source = make_source(ffmpeg, DATA_DIR / f"source-1080p-{args.seconds}s.mp4", args.seconds)
    minutes = args.remux_minutes
    long_source = make_source(
        ffmpeg, DATA_DIR / f"source-360p-{minutes}min.mp4", minutes * 60, size="640x360"
    )
    info = probe(source)

    with scratch() as work:
        raw = timed(lambda: run_raw(ffmpeg, source, info, work / "raw"))
    cpu_before = _cpu_seconds()
    kino = asyncio.run(attach_and_wait(source))
    kino["cpu"] = _cpu_seconds() - cpu_before
    ratio = kino["published"] / raw["wall"]
    label = f"{args.seconds} s 1080p source"
    print(f"\n{label:<46}{'wall s':>8}{'vs raw':>8}")
    print(f"{'raw: the ladder as one ffmpeg command':<46}{raw['wall']:>8.1f}{1:>7.2f}x")
    print(f"{'Kino: attach → first playable (remux)':<46}{kino['first_playable']:>8.1f}")
    print(f"{'Kino: attach → ladder published':<46}{kino['published']:>8.1f}{ratio:>7.2f}x")
    print(f"goal ≤ 1.05x: {'met' if ratio <= 1.05 else 'MISSED'}")
    print(f"CPU seconds (steadier on a shared machine): raw {raw['cpu']:.1f}, Kino "
          f"{kino['cpu']:.1f} ({kino['cpu'] / raw['cpu']:.2f}x)")  # fmt: skip

    long_run = asyncio.run(attach_and_wait(long_source, stop_at_first_playable=True))
    first = long_run["first_playable"]
    print(f"\n{minutes}-minute H.264/AAC source: attach → playable in {first:.2f} s "
          f"(goal ≤ 10 s: {'met' if first <= 10 else 'MISSED'})")  # fmt: skip

    results: dict[str, Any] = {"raw": raw, "kino": kino, "long_first_playable": first}
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"publish-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nresults: {out.relative_to(DATA_DIR.parent.parent)}")


async def attach_and_wait(
    source: Path, *, stop_at_first_playable: bool = False
) -> dict[str, float]:
    """Seconds from the attach call to the first published version and to the ladder."""
    with tempfile.TemporaryDirectory(prefix="kino-bench-", dir=DATA_DIR) as data_dir:
        settings = Settings(data_dir=Path(data_dir), environment="test", log_level="WARNING")
        await asyncio.to_thread(upgrade, settings.sqlalchemy_url)
        app = create_app(settings)
        try:
            manager, movie_id, upload_id = await _prepare(app, source)
            await app.state.jobs.start()
            started = time.perf_counter()
            async with app.state.db.transaction() as session:
                job = await media.attach_video(
                    session, app.state.jobs, manager, movie_id, upload_id
                )
            return await _watch(app, job.id, movie_id, started, stop_at_first_playable)
        finally:
            await dispose(app)


async def _prepare(app: Any, source: Path) -> tuple[User, int, str]:
    """A manager, a film and a finished upload of ``source`` (the upload is not timed)."""
    upload_id = secrets.token_hex(16)
    await app.state.storage.put_file(upload_source_key(upload_id), source)
    async with app.state.db.transaction() as session:
        manager = await identity.create_user(
            session,
            email="bench@kino.local",
            password="bench-password-42",
            display_name="Bench",
            role=Role.MANAGER,
        )
        movie = await catalog.create_movie(
            session, app.state.search, MovieCreate(title="Bench", status=MovieStatus.PUBLISHED)
        )
        size = source.stat().st_size
        session.add(
            Upload(
                id=upload_id,
                owner_id=manager.id,
                length=size,
                offset=size,
                metadata_={},
                expires_at=utcnow() + timedelta(hours=1),
                completed_at=utcnow(),
            )
        )
    return manager, movie.id, upload_id


async def _watch(
    app: Any, job_id: int, movie_id: int, started: float, stop_at_first_playable: bool
) -> dict[str, float]:
    timings: dict[str, float] = {}
    while True:
        async with app.state.db.transaction() as session:
            job = await session.get(Job, job_id)
            published = await session.scalar(
                select(MediaAsset.id).where(
                    MediaAsset.movie_id == movie_id, MediaAsset.state == AssetState.PUBLISHED
                )
            )
        now = time.perf_counter() - started
        if published is not None and "first_playable" not in timings:
            timings["first_playable"] = now
            if stop_at_first_playable:
                await app.state.jobs.close()
                return timings
        assert job is not None
        if job.status in FINISHED:
            if job.status is not JobStatus.SUCCEEDED:
                raise RuntimeError(f"job {job_id} {job.status}: {job.error}")
            timings["published"] = now
            return timings
        await asyncio.sleep(POLL_SECONDS)


if __name__ == "__main__":
    main()
