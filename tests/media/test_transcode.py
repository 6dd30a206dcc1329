"""An uploaded film becomes a published HLS ladder: the transcode job end to end, through the
API, the job pool and storage (a local folder embedded, S3 distributed)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from kino.core.db import utcnow
from kino.identity.models import Role
from kino.jobs.models import JobStatus
from kino.media.models import AssetKind, AssetState, MediaAsset, Upload
from kino.media.uploads import upload_source_key
from tests.factories import SignedIn, make_user
from tests.jobs.support import wait_for_job, wait_until_finished
from tests.media.clips import make_clip

pytestmark = pytest.mark.usefixtures("running_pool")
HELLO_RU = "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440"  # "Hello, world" in Russian


@pytest.fixture
async def running_pool(app: FastAPI) -> AsyncIterator[None]:
    await app.state.jobs.start()
    yield
    await app.state.jobs.close()


@pytest.fixture
async def manager(app: FastAPI) -> SignedIn:
    return await make_user(app, role=Role.MANAGER)


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


async def make_movie(client: httpx.AsyncClient, manager: SignedIn, **fields: object) -> int:
    body = {"title": "Clip", "status": "published", **fields}
    response = await client.post("/api/v1/movies", json=body, headers=manager.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def stored_upload(app: FastAPI, owner: SignedIn, source: Path) -> str:
    """A finished upload of ``source`` (the tus path itself is tested in test_uploads*)."""
    upload_id = secrets.token_hex(16)
    await app.state.storage.put_file(upload_source_key(upload_id), source)
    async with app.state.db.transaction() as session:
        session.add(
            Upload(
                id=upload_id,
                owner_id=owner.user.id,
                length=source.stat().st_size,
                offset=source.stat().st_size,
                metadata_={"filename": source.name},
                expires_at=utcnow() + timedelta(hours=1),
                completed_at=utcnow(),
            )
        )
    return upload_id


async def attach(
    client: httpx.AsyncClient, manager: SignedIn, movie_id: int, upload_id: str
) -> int:
    response = await client.post(
        f"/api/v1/movies/{movie_id}/video", json={"upload_id": upload_id}, headers=manager.headers
    )
    assert response.status_code == 202, response.text
    return int(response.json()["job_id"])


async def assets_of(app: FastAPI, movie_id: int) -> list[MediaAsset]:
    async with app.state.db.transaction() as session:
        result = await session.scalars(
            select(MediaAsset).where(MediaAsset.movie_id == movie_id).order_by(MediaAsset.id)
        )
        return list(result)


async def master_of(app: FastAPI, asset_id: int) -> str:
    body: bytes = await app.state.storage.get_bytes(f"assets/{asset_id}/master.m3u8")
    return body.decode()


async def test_an_h264_upload_plays_at_once_then_as_a_full_ladder(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, clips: Path
) -> None:
    source = make_clip(clips, seconds=4, width=854, height=480, audio_streams=1)
    movie_id = await make_movie(client, manager)
    job_id = await attach(client, manager, movie_id, await stored_upload(app, manager, source))

    job = await wait_until_finished(app, job_id)

    assert job.status is JobStatus.SUCCEEDED, job.error
    assert (job.stage, job.progress) == ("publish", 100)
    remux, ladder = await assets_of(app, movie_id)
    assert (remux.kind, remux.state) == (AssetKind.REMUX, AssetState.RETIRED)
    assert (ladder.kind, ladder.state) == (AssetKind.LADDER, AssetState.PUBLISHED)
    media = (await client.get(f"/api/v1/movies/{movie_id}/media")).json()
    assert media["asset_id"] == ladder.id
    assert media["kind"] == "ladder"
    assert media["duration_seconds"] == pytest.approx(4, abs=0.2)
    heights = [r["height"] for r in media["renditions"] if r["kind"] == "video"]
    assert heights == [360, 480]
    assert [r["kind"] for r in media["renditions"]].count("audio") == 1
    assert media["source"]["width"] == 854
    assert set(media["thumbnails"]) == {"1280", "320"}
    keys = await app.state.storage.list(f"assets/{ladder.id}/")
    for path in [
        media["poster"],
        media["storyboard"],
        *(r["playlist"] for r in media["renditions"]),
    ]:
        assert f"assets/{ladder.id}/{path}" in keys
    master = await master_of(app, ladder.id)
    assert master.count("#EXT-X-STREAM-INF") == 2
    assert "TYPE=AUDIO" in master


async def test_a_source_that_needs_encoding_skips_the_remux(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, clips: Path
) -> None:
    source = make_clip(clips, seconds=3, codec="mpeg4", audio_streams=0, container="mkv")
    movie_id = await make_movie(client, manager)
    job_id = await attach(client, manager, movie_id, await stored_upload(app, manager, source))

    job = await wait_until_finished(app, job_id)

    assert job.status is JobStatus.SUCCEEDED, job.error
    (ladder,) = await assets_of(app, movie_id)
    assert ladder.kind is AssetKind.LADDER
    media = (await client.get(f"/api/v1/movies/{movie_id}/media")).json()
    assert [r["kind"] for r in media["renditions"]] == ["video"]
    assert "TYPE=AUDIO" not in await master_of(app, ladder.id)


async def test_a_file_that_is_not_a_video_fails_and_the_film_keeps_its_video(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, clips: Path
) -> None:
    movie_id = await make_movie(client, manager)
    good = make_clip(clips, seconds=2, codec="mpeg4", audio_streams=0, container="mkv")
    first = await attach(client, manager, movie_id, await stored_upload(app, manager, good))
    assert (await wait_until_finished(app, first)).status is JobStatus.SUCCEEDED
    (published,) = await assets_of(app, movie_id)
    junk = clips / "notes.mp4"
    junk.write_bytes(b"These are meeting notes, not a film.\n" * 200)

    job_id = await attach(client, manager, movie_id, await stored_upload(app, manager, junk))
    job = await wait_until_finished(app, job_id)

    assert job.status is JobStatus.FAILED
    assert "video" in (job.error or "").lower()
    assert job.attempts == 1  # a bad file is not retried
    assert [a.id for a in await assets_of(app, movie_id)] == [published.id]
    media = (await client.get(f"/api/v1/movies/{movie_id}/media")).json()
    assert media["asset_id"] == published.id
    assert await asset_prefixes(app) == {published.id}


async def asset_prefixes(app: FastAPI) -> set[int]:
    keys = await app.state.storage.list("assets/")
    return {int(key.split("/")[1]) for key in keys}


async def test_cancelling_the_encode_stops_it_and_leaves_nothing_behind(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, clips: Path
) -> None:
    source = make_clip(clips, seconds=40, width=640, height=360, codec="mpeg4", container="mkv")
    movie_id = await make_movie(client, manager)
    job_id = await attach(client, manager, movie_id, await stored_upload(app, manager, source))
    await wait_for_job(app, job_id, lambda job: job.stage == "encode", what="encoding")

    response = await client.post(f"/api/v1/jobs/{job_id}/cancel", headers=manager.headers)
    assert response.status_code in (200, 202), response.text
    job = await wait_until_finished(app, job_id)

    assert job.status is JobStatus.CANCELLED
    assert await assets_of(app, movie_id) == []
    assert await asset_prefixes(app) == set()
    assert (await client.get(f"/api/v1/movies/{movie_id}/media")).status_code == 404
    assert not list(app.state.settings.work_dir.glob(f"job-{job_id}*"))


async def test_subtitles_join_the_published_master_playlist(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, clips: Path
) -> None:
    source = make_clip(clips, seconds=2, codec="mpeg4", audio_streams=0, container="mkv")
    movie_id = await make_movie(client, manager)
    job = await attach(client, manager, movie_id, await stored_upload(app, manager, source))
    assert (await wait_until_finished(app, job)).status is JobStatus.SUCCEEDED
    (asset,) = await assets_of(app, movie_id)
    srt = f"1\r\n00:00:00,500 --> 00:00:01,500\r\n{HELLO_RU}\r\n".encode("cp1251")

    response = await client.post(
        f"/api/v1/movies/{movie_id}/subtitles",
        files={"file": ("ru.srt", srt)},
        data={"language": "ru"},
        headers=manager.headers,
    )

    assert response.status_code == 201, response.text
    assert response.json()["language"] == "ru"
    master = await master_of(app, asset.id)
    assert 'TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="ru"' in master
    vtt = (await app.state.storage.get_bytes(f"assets/{asset.id}/subs/ru.vtt")).decode()
    assert f"00:00:00.500 --> 00:00:01.500\n{HELLO_RU}" in vtt
    listed = (await client.get(f"/api/v1/movies/{movie_id}/subtitles")).json()
    assert [track["language"] for track in listed] == ["ru"]

    deleted = await client.delete(
        f"/api/v1/movies/{movie_id}/subtitles/ru", headers=manager.headers
    )
    assert deleted.status_code == 204
    assert "TYPE=SUBTITLES" not in await master_of(app, asset.id)


async def test_subtitles_published_before_the_video_are_in_its_first_master(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, clips: Path
) -> None:
    movie_id = await make_movie(client, manager)
    vtt = b"WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n"
    response = await client.post(
        f"/api/v1/movies/{movie_id}/subtitles",
        files={"file": ("en.vtt", vtt)},
        data={"language": "en", "label": "English (CC)"},
        headers=manager.headers,
    )
    assert response.status_code == 201, response.text
    source = make_clip(clips, seconds=2, codec="mpeg4", audio_streams=0, container="mkv")

    job = await attach(client, manager, movie_id, await stored_upload(app, manager, source))
    assert (await wait_until_finished(app, job)).status is JobStatus.SUCCEEDED

    (asset,) = await assets_of(app, movie_id)
    assert 'NAME="English (CC)"' in await master_of(app, asset.id)


@pytest.mark.parametrize(
    ("upload", "status", "code"),
    [
        ("0" * 32, 404, "upload_not_found"),
        ("../../etc/passwd", 404, "upload_not_found"),
        ("x" * 65, 422, "validation_error"),
    ],
)
async def test_attaching_an_unknown_upload_is_refused(
    client: httpx.AsyncClient, manager: SignedIn, upload: str, status: int, code: str
) -> None:
    movie_id = await make_movie(client, manager)
    response = await client.post(
        f"/api/v1/movies/{movie_id}/video", json={"upload_id": upload}, headers=manager.headers
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


async def test_only_staff_attach_videos_and_only_their_own_uploads(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, clips: Path
) -> None:
    movie_id = await make_movie(client, manager)
    source = make_clip(clips, seconds=2, codec="mpeg4", audio_streams=0, container="mkv")
    upload_id = await stored_upload(app, manager, source)
    viewer = await make_user(app)
    other_manager = await make_user(app, role=Role.MANAGER)
    body = {"upload_id": upload_id}

    as_viewer = await client.post(
        f"/api/v1/movies/{movie_id}/video", json=body, headers=viewer.headers
    )
    as_other = await client.post(
        f"/api/v1/movies/{movie_id}/video", json=body, headers=other_manager.headers
    )
    no_film = await client.post("/api/v1/movies/999999/video", json=body, headers=manager.headers)

    assert as_viewer.status_code == 403
    assert as_other.status_code == 404
    assert no_film.status_code == 404


async def test_an_unfinished_upload_cannot_be_attached(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    movie_id = await make_movie(client, manager)
    created = await client.post(
        "/api/v1/uploads",
        headers={**manager.headers, "Tus-Resumable": "1.0.0", "Upload-Length": "1000"},
    )
    upload_id = created.headers["Location"].rsplit("/", 1)[1]

    response = await client.post(
        f"/api/v1/movies/{movie_id}/video", json={"upload_id": upload_id}, headers=manager.headers
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "upload_incomplete"


async def test_a_second_video_while_one_is_processing_is_a_conflict(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, clips: Path
) -> None:
    await app.state.jobs.close()  # nothing runs: the first job stays queued
    source = make_clip(clips, seconds=2, codec="mpeg4", audio_streams=0, container="mkv")
    movie_id = await make_movie(client, manager)
    first = await attach(client, manager, movie_id, await stored_upload(app, manager, source))

    response = await client.post(
        f"/api/v1/movies/{movie_id}/video",
        json={"upload_id": await stored_upload(app, manager, source)},
        headers=manager.headers,
    )

    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"job_id": first}


@pytest.mark.parametrize(
    ("fields", "content", "status"),
    [
        ({"language": "en"}, b"", 422),
        ({"language": "en"}, b"\x00\x01\x02garbage" * 10, 422),
        ({"language": "not a language"}, b"WEBVTT\n\n00:00.000 --> 00:01.000\nHi\n", 422),
        ({"language": "en"}, b"x" * (5 * 1024 * 1024 + 1), 413),
        ({}, b"WEBVTT\n\n00:00.000 --> 00:01.000\nHi\n", 422),
    ],
)
async def test_bad_subtitle_uploads_are_refused(
    client: httpx.AsyncClient,
    manager: SignedIn,
    fields: dict[str, str],
    content: bytes,
    status: int,
) -> None:
    movie_id = await make_movie(client, manager)
    response = await client.post(
        f"/api/v1/movies/{movie_id}/subtitles",
        files={"file": ("subs.srt", content)},
        data=fields,
        headers=manager.headers,
    )
    assert response.status_code == status, response.text
    assert (await client.get(f"/api/v1/movies/{movie_id}/subtitles")).json() == []


async def test_viewers_cannot_change_subtitles(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    movie_id = await make_movie(client, manager)
    viewer = await make_user(app)
    response = await client.post(
        f"/api/v1/movies/{movie_id}/subtitles",
        files={"file": ("en.vtt", b"WEBVTT\n\n00:00.000 --> 00:01.000\nHi\n")},
        data={"language": "en"},
        headers=viewer.headers,
    )
    assert response.status_code == 403


async def test_a_draft_films_media_is_hidden_from_viewers(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, clips: Path
) -> None:
    source = make_clip(clips, seconds=2, codec="mpeg4", audio_streams=0, container="mkv")
    movie_id = await make_movie(client, manager, status="draft")
    job = await attach(client, manager, movie_id, await stored_upload(app, manager, source))
    assert (await wait_until_finished(app, job)).status is JobStatus.SUCCEEDED

    as_viewer = await client.get(f"/api/v1/movies/{movie_id}/media")
    as_staff = await client.get(f"/api/v1/movies/{movie_id}/media", headers=manager.headers)

    assert as_viewer.status_code == 404
    assert as_staff.status_code == 200
