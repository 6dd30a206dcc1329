"""Films, tiny published assets and viewers for the playback tests.

``publish_tiny_asset`` writes an asset's files straight into storage (a local folder embedded,
S3 distributed) and records it as the film's published version, so most tests need no ffmpeg;
test_pipeline.py plays what the real transcode job publishes.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI

from kino.core.db import utcnow
from kino.media.models import AssetKind, AssetState, MediaAsset
from tests.factories import SignedIn

MASTER = (
    "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
    '#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="avc1.64001e",RESOLUTION=640x360\n'
    "360p/index.m3u8\n"
)
MEDIA_PLAYLIST = (
    "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:6\n#EXT-X-PLAYLIST-TYPE:VOD\n"
    '#EXT-X-MAP:URI="init.mp4"\n#EXTINF:6.000,\nseg-00000.m4s\n#EXT-X-ENDLIST\n'
)
# Distinct bytes at every offset, so a wrong range shows.
SEGMENT = bytes(range(256)) * 40
INIT = b"\x00\x00\x00\x18ftypiso6" + b"\x01" * 100
POSTER = b"\xff\xd8\xff\xe0 a poster \xff\xd9"
STORYBOARD = "WEBVTT\n\n00:00:00.000 --> 00:00:10.000\nsprite-1.jpg#xywh=0,0,160,90\n"
IMAGES: dict[str, Any] = {
    "poster": "images/poster.jpg",
    "thumbnails": {},
    "storyboard": {
        "vtt": "storyboard/storyboard.vtt",
        "sprites": ["storyboard/sprite-1.jpg"],
        "tile_width": 160,
        "tile_height": 90,
        "columns": 1,
        "rows": 1,
        "interval": 10.0,
    },
}
FILES: dict[str, bytes] = {
    "master.m3u8": MASTER.encode(),
    "360p/index.m3u8": MEDIA_PLAYLIST.encode(),
    "360p/init.mp4": INIT,
    "360p/seg-00000.m4s": SEGMENT,
    "images/poster.jpg": POSTER,
    "storyboard/storyboard.vtt": STORYBOARD.encode(),
    "storyboard/sprite-1.jpg": POSTER,
}


async def make_movie(client: httpx.AsyncClient, manager: SignedIn, **fields: object) -> int:
    body = {"title": "Clip", "status": "published", **fields}
    response = await client.post("/api/v1/movies", json=body, headers=manager.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def publish_tiny_asset(
    app: FastAPI,
    movie_id: int,
    *,
    duration: float | None = 100.0,
    images: dict[str, Any] | None = IMAGES,
) -> int:
    """A published asset of ``movie_id`` with a master, one variant, an init segment, one
    segment, a poster and a storyboard in storage; returns its id."""
    async with app.state.db.transaction() as session:
        asset = MediaAsset(
            movie_id=movie_id,
            kind=AssetKind.LADDER,
            state=AssetState.PUBLISHED,
            duration_seconds=duration,
            source={},
            images=images or {},
            published_at=utcnow(),
        )
        session.add(asset)
        await session.flush()
        asset_id = int(asset.id)
    for path, content in FILES.items():
        await app.state.storage.put_bytes(f"assets/{asset_id}/{path}", content)
    return asset_id


async def set_birth_date(client: httpx.AsyncClient, viewer: SignedIn, born: date) -> None:
    response = await client.patch(
        "/api/v1/auth/me", json={"birth_date": born.isoformat()}, headers=viewer.headers
    )
    assert response.status_code == 200, response.text


async def start(
    client: httpx.AsyncClient, movie_id: int, viewer: SignedIn | None = None
) -> httpx.Response:
    headers = viewer.headers if viewer else {}
    return await client.post(f"/api/v1/movies/{movie_id}/playback", headers=headers)


async def playback(
    client: httpx.AsyncClient, movie_id: int, viewer: SignedIn | None = None
) -> dict[str, Any]:
    response = await start(client, movie_id, viewer)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def path_of(url: str) -> str:
    """The path of a URL the API returned (its host is KINO_PUBLIC_URL's, not the test
    client's)."""
    return urlsplit(url).path


def stream_prefix(master_url: str) -> str:
    return path_of(master_url).removesuffix("master.m3u8")
