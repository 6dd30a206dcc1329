"""``kino ingest PATH --title TITLE``, run as an operator runs it: a subprocess."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import select

from kino.catalog.models import Movie, MovieStatus
from kino.media.models import AssetKind, AssetState, MediaAsset
from kino.settings import Settings
from tests.media.clips import make_clip
from tests.test_cli import kino, kino_environment


def environment(settings: Settings) -> dict[str, str]:
    values = {"data_dir": str(settings.data_dir), "database_url": settings.sqlalchemy_url}
    if settings.storage_url:
        values["storage_url"] = settings.storage_url
    return kino_environment(**values)


async def test_ingest_publishes_a_film_from_a_local_file(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    source = make_clip(tmp_path, seconds=2, width=320, height=240, audio_streams=1)

    code, output = await kino(environment(settings), "ingest", str(source), "--title", "Lumière")

    assert code == 0, output
    async with app.state.db.transaction() as session:
        movie = await session.scalar(select(Movie).where(Movie.title == "Lumière"))
        assert movie is not None
        assert movie.status is MovieStatus.PUBLISHED
        assets = (
            await session.scalars(select(MediaAsset).where(MediaAsset.movie_id == movie.id))
        ).all()
    published = [asset for asset in assets if asset.state is AssetState.PUBLISHED]
    assert [asset.kind for asset in published] == [AssetKind.LADDER]
    assert f"/movies/{movie.id}" in output
    assert source.exists()  # the operator's file is copied, not moved
    master = await app.state.storage.get_bytes(f"assets/{published[0].id}/master.m3u8")
    assert b"#EXT-X-STREAM-INF" in master


async def test_ingest_of_a_file_that_is_not_a_video_fails_with_the_reason(
    settings: Settings, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all " * 100)

    code, output = await kino(environment(settings), "ingest", str(junk), "--title", "Junk")

    assert code == 1
    assert "video" in output.lower()


async def test_ingest_of_a_missing_file_is_refused(settings: Settings, tmp_path: Path) -> None:
    code, output = await kino(
        environment(settings), "ingest", str(tmp_path / "nowhere.mp4"), "--title", "Nothing"
    )
    assert code != 0
    assert "nowhere.mp4" in output
