"""/stream/{token}/{expires}/{asset_id}/…: what a player fetches with the signed URL, from a local
folder (embedded) or S3 (distributed)."""

from __future__ import annotations

import gzip
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message, Scope

from kino.core.db import utcnow
from kino.playback.signing import sign_stream, stream_secret
from tests.factories import SignedIn
from tests.playback.support import (
    INIT,
    MASTER,
    MEDIA_PLAYLIST,
    POSTER,
    SEGMENT,
    STORYBOARD,
    make_movie,
    playback,
    publish_tiny_asset,
    stream_prefix,
)

SEGMENT_PATH = "360p/seg-00000.m4s"


@pytest.fixture
async def prefix(app: FastAPI, client: httpx.AsyncClient, manager: SignedIn) -> str:
    """The signed prefix of a free film's tiny asset, as POST /playback returned it."""
    movie_id = await make_movie(client, manager)
    await publish_tiny_asset(app, movie_id)
    return stream_prefix((await playback(client, movie_id))["master_url"])


def _signed_prefix(app: FastAPI, asset_id: int, *, expires_in: timedelta) -> str:
    secret = stream_secret(app.state.settings)
    return sign_stream(secret, asset_id, utcnow() + expires_in).prefix


async def test_the_master_url_leads_to_playlists_segments_and_images(
    client: httpx.AsyncClient, prefix: str
) -> None:
    master = await client.get(prefix + "master.m3u8")
    variant = await client.get(prefix + "360p/index.m3u8")
    init = await client.get(prefix + "360p/init.mp4")
    segment = await client.get(prefix + SEGMENT_PATH)
    poster = await client.get(prefix + "images/poster.jpg")
    storyboard = await client.get(prefix + "storyboard/storyboard.vtt")

    assert (master.status_code, master.text) == (200, MASTER)
    assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert (variant.status_code, variant.text) == (200, MEDIA_PLAYLIST)
    assert (init.content, init.headers["content-type"]) == (INIT, "video/mp4")
    assert (segment.content, segment.headers["content-type"]) == (SEGMENT, "video/iso.segment")
    assert segment.headers["content-length"] == str(len(SEGMENT))
    assert (poster.content, poster.headers["content-type"]) == (POSTER, "image/jpeg")
    assert storyboard.text == STORYBOARD
    assert storyboard.headers["content-type"].startswith("text/vtt")


async def test_cache_and_cors_headers(client: httpx.AsyncClient, prefix: str) -> None:
    playlist = await client.get(prefix + "master.m3u8")
    segment = await client.get(prefix + SEGMENT_PATH)
    poster = await client.get(prefix + "images/poster.jpg")

    assert playlist.headers["cache-control"] == "public, max-age=60"
    for immutable in (segment, poster):
        assert immutable.headers["cache-control"] == "public, max-age=31536000, immutable"
    for response in (playlist, segment, poster):
        assert response.headers["access-control-allow-origin"] == "*"
        assert "Content-Range" in response.headers["access-control-expose-headers"]


async def test_a_cors_preflight_allows_range_requests(
    client: httpx.AsyncClient, prefix: str
) -> None:
    response = await client.options(
        prefix + SEGMENT_PATH,
        headers={
            "Origin": "https://player.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range",
        },
    )

    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "Range" in response.headers["access-control-allow-headers"]
    assert "GET" in response.headers["access-control-allow-methods"]


async def test_playlists_are_gzipped_when_asked(client: httpx.AsyncClient, prefix: str) -> None:
    # httpx would decode the body by itself: read the raw bytes of the stream.
    async with client.stream(
        "GET", prefix + "master.m3u8", headers={"Accept-Encoding": "gzip"}
    ) as zipped:
        raw = b"".join([chunk async for chunk in zipped.aiter_raw()])
    plain = await client.get(prefix + "master.m3u8", headers={"Accept-Encoding": "identity"})
    refused = await client.get(prefix + "master.m3u8", headers={"Accept-Encoding": "br, gzip;q=0"})

    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["content-length"] == str(len(raw))
    assert gzip.decompress(raw).decode() == MASTER
    assert "accept-encoding" in zipped.headers["vary"].lower()
    assert "content-encoding" not in plain.headers
    assert plain.text == MASTER
    assert "content-encoding" not in refused.headers


async def test_segments_answer_byte_ranges(client: httpx.AsyncClient, prefix: str) -> None:
    middle = await client.get(prefix + SEGMENT_PATH, headers={"Range": "bytes=100-355"})
    tail = await client.get(prefix + SEGMENT_PATH, headers={"Range": "bytes=-10"})
    open_ended = await client.get(prefix + SEGMENT_PATH, headers={"Range": "bytes=10000-"})
    past_end = await client.get(prefix + SEGMENT_PATH, headers={"Range": "bytes=999999-"})
    nonsense = await client.get(prefix + SEGMENT_PATH, headers={"Range": "bytes=9-3"})

    size = len(SEGMENT)
    assert middle.status_code == 206
    assert middle.content == SEGMENT[100:356]
    assert middle.headers["content-range"] == f"bytes 100-355/{size}"
    assert middle.headers["content-length"] == "256"
    assert (tail.status_code, tail.content) == (206, SEGMENT[-10:])
    assert open_ended.content == SEGMENT[10000:]
    assert past_end.status_code == 416
    assert past_end.headers["content-range"] == f"bytes */{size}"
    assert past_end.json()["error"]["code"] == "range_not_satisfiable"
    assert (nonsense.status_code, nonsense.content) == (200, SEGMENT)  # ignored, as RFC 9110 lets


async def test_head_answers_headers_only(client: httpx.AsyncClient, prefix: str) -> None:
    segment = await client.head(prefix + SEGMENT_PATH)
    playlist = await client.head(prefix + "master.m3u8")

    assert (segment.status_code, segment.content) == (200, b"")
    assert segment.headers["content-length"] == str(len(SEGMENT))
    assert segment.headers["accept-ranges"] == "bytes"
    assert (playlist.status_code, playlist.content) == (200, b"")


async def test_an_expired_token_is_forbidden(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    movie_id = await make_movie(client, manager)
    asset_id = await publish_tiny_asset(app, movie_id)
    expired = _signed_prefix(app, asset_id, expires_in=timedelta(seconds=-2))
    valid = _signed_prefix(app, asset_id, expires_in=timedelta(seconds=60))

    response = await client.get(expired + SEGMENT_PATH)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "stream_forbidden"
    assert response.headers["access-control-allow-origin"] == "*"
    assert (await client.get(valid + SEGMENT_PATH)).status_code == 200


async def test_forged_and_altered_tokens_are_forbidden(
    app: FastAPI, client: httpx.AsyncClient, prefix: str
) -> None:
    token, expires, asset_id = prefix.strip("/").split("/")[1:]
    flipped = ("A" if token[0] != "A" else "B") + token[1:]
    later = str(int(expires) + 3600)
    other_key = sign_stream("not-the-secret", int(asset_id), utcnow() + timedelta(hours=1))
    attempts = [
        f"/stream/{flipped}/{expires}/{asset_id}/",
        f"/stream/{token}/{later}/{asset_id}/",  # the expiry stretched
        f"/stream/{token}/{expires}/{asset_id}0/",
        other_key.prefix,
        f"/stream/{token[:-1]}/{expires}/{asset_id}/",
        f"/stream/{token}/0{expires}/{asset_id}/",
        f"/stream/{token}/{expires}/0{asset_id}/",
    ]

    for attempt in attempts:
        response = await client.get(attempt + "master.m3u8")
        assert response.status_code == 403, attempt


async def test_a_token_for_one_asset_opens_no_other(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, prefix: str
) -> None:
    other_movie = await make_movie(client, manager, title="Other")
    other_asset = await publish_tiny_asset(app, other_movie)
    token, expires, _asset_id = prefix.strip("/").split("/")[1:]

    response = await client.get(f"/stream/{token}/{expires}/{other_asset}/{SEGMENT_PATH}")

    assert response.status_code == 403


@pytest.mark.parametrize(
    "trick",
    [
        "%2E%2E/%2E%2E/master.m3u8",
        "360p/%2E%2E/%2E%2E/1/master.m3u8",
        "..%2F..%2Fsecret_key.m3u8",
        "360p%2F..%2F..%2F..%2Fkino.db",
        "%2Fetc/passwd.m3u8",
        "360p//index.m3u8",
        "360p/index.m3u8%00.jpg",
        "360p\\index.m3u8",
        "",
    ],
)
async def test_path_tricks_find_nothing_outside_the_asset(
    client: httpx.AsyncClient, prefix: str, trick: str
) -> None:
    response = await client.get(prefix + trick)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/json")


async def test_dot_segments_sent_raw_find_nothing_outside_the_asset(
    app: FastAPI, prefix: str
) -> None:
    """httpx would resolve ``..`` itself; send the raw path straight to the app."""
    for path in (prefix + "../../master.m3u8", prefix + "360p/../../../etc/passwd.jpg"):
        status, body = await _raw_get(app, path)
        assert status == 404, path
        assert b'"error"' in body


async def _raw_get(app: FastAPI, path: str) -> tuple[int, bytes]:
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"kino.test")],
        "client": ("203.0.113.7", 50000),
        "server": ("kino.test", 80),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(status), body


@pytest.mark.parametrize("name", ["360p/missing.m4s", "notes.txt", "360p", "360p/index.m3u8/x.jpg"])
async def test_missing_files_and_other_kinds_are_not_found(
    client: httpx.AsyncClient, prefix: str, name: str
) -> None:
    response = await client.get(prefix + name)
    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == "*"
