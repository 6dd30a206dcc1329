"""End to end: a film transcoded by the real pipeline plays through the URL POST /playback
returns, the way a player walks it: master → variant → init segment and a segment (also as a
byte range), the audio rendition, the poster and the storyboard."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from posixpath import dirname, join, normpath

import httpx
import pytest
from fastapi import FastAPI

from kino.jobs.models import JobStatus
from tests.factories import SignedIn
from tests.jobs.support import wait_until_finished
from tests.media.clips import make_clip
from tests.media.test_transcode import attach, stored_upload
from tests.playback.support import make_movie, path_of, playback


@pytest.fixture
async def running_pool(app: FastAPI) -> AsyncIterator[None]:
    await app.state.jobs.start()
    yield
    await app.state.jobs.close()


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("playback-clips")


def resolve(playlist_path: str, uri: str) -> str:
    """A playlist's relative URI as the path a player fetches."""
    return normpath(join(dirname(playlist_path), uri))


def uris(playlist: str) -> list[str]:
    """The URI lines of a playlist, in order."""
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


@pytest.mark.usefixtures("running_pool")
async def test_a_transcoded_film_plays_through_its_signed_url(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn, clips: Path
) -> None:
    source = make_clip(clips, seconds=3, codec="mpeg4", container="mkv")
    movie_id = await make_movie(client, manager, title="Short")
    job_id = await attach(client, manager, movie_id, await stored_upload(app, manager, source))
    job = await wait_until_finished(app, job_id)
    assert job.status is JobStatus.SUCCEEDED, job.error

    body = await playback(client, movie_id, viewer)

    master_path = path_of(body["master_url"])
    master = await client.get(master_path)
    assert master.status_code == 200
    assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
    variant_path = resolve(master_path, uris(master.text)[0])
    (audio_uri,) = re.findall(r'TYPE=AUDIO,.*URI="([^"]+)"', master.text)
    for playlist_path in (variant_path, resolve(master_path, audio_uri)):
        playlist = await client.get(playlist_path)
        assert playlist.status_code == 200, playlist_path
        (init_uri,) = re.findall(r'#EXT-X-MAP:URI="([^"]+)"', playlist.text)
        init = await client.get(resolve(playlist_path, init_uri))
        assert init.status_code == 200
        assert init.headers["content-type"] == "video/mp4"
        assert init.content[4:8] == b"ftyp"
        segment_path = resolve(playlist_path, uris(playlist.text)[0])
        whole = await client.get(segment_path)
        head = await client.get(segment_path, headers={"Range": "bytes=0-99"})
        assert whole.status_code == 200
        assert whole.headers["content-type"] == "video/iso.segment"
        assert len(whole.content) > 100
        assert (head.status_code, head.content) == (206, whole.content[:100])
        assert head.headers["content-range"] == f"bytes 0-99/{len(whole.content)}"

    poster = await client.get(path_of(body["poster_url"]))
    assert (poster.status_code, poster.headers["content-type"]) == (200, "image/jpeg")
    assert poster.content.startswith(b"\xff\xd8")
    storyboard_path = path_of(body["storyboard_url"])
    storyboard = await client.get(storyboard_path)
    assert storyboard.text.startswith("WEBVTT")
    sprite_uri = re.findall(r"^(\S+)#xywh=", storyboard.text, re.MULTILINE)[0]
    sprite = await client.get(resolve(storyboard_path, sprite_uri))
    assert (sprite.status_code, sprite.headers["content-type"]) == (200, "image/jpeg")
