"""A real tus client (tuspy) against ``kino serve`` (Granian) over HTTP: an upload that is
stopped, then cut off in the middle of a request, is resumed by a new client from the URL it
stored, and ends byte-identical in storage (a local directory embedded, S3 distributed)."""

from __future__ import annotations

import asyncio
import io
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI
from tusclient.client import TusClient
from tusclient.storage.filestorage import FileStorage

from kino.identity.models import Role
from kino.settings import Settings
from tests.factories import SignedIn, make_user
from tests.live_server import running_kino
from tests.media.uploads import TUS, random_bytes, stored_bytes

CHUNK_SIZE = 512 * 1024


class _UnclosableFile(io.FileIO):
    """tuspy leaves files open when given a path, and closes a stream it is given after
    fingerprinting it; this one ignores that, and ``kept_open`` closes it at the end."""

    def close(self) -> None:
        return None

    def close_now(self) -> None:
        super().close()


@contextmanager
def kept_open(path: Path) -> Iterator[io.FileIO]:
    stream = _UnclosableFile(path, "rb")
    try:
        yield stream
    finally:
        stream.close_now()


def upload_part(endpoint: str, account: SignedIn, source: Path, urls: Path, stop_at: int) -> str:
    """tuspy: create the upload and send its first ``stop_at`` bytes, storing the URL."""
    url_storage = FileStorage(str(urls))
    with kept_open(source) as stream:
        client = TusClient(endpoint, headers=account.headers)
        uploader = client.uploader(
            file_stream=stream,
            chunk_size=CHUNK_SIZE,
            metadata={"filename": source.name},
            store_url=True,
            url_storage=url_storage,
            upload_checksum=True,
        )
        uploader.upload(stop_at=stop_at)
        assert uploader.offset == stop_at
    url_storage._db.close()
    return str(uploader.url)


def resume(endpoint: str, account: SignedIn, source: Path, urls: Path) -> tuple[str, int]:
    """A new tuspy client: finds the URL it stored, asks for the offset, sends the rest."""
    url_storage = FileStorage(str(urls))
    with kept_open(source) as stream:
        client = TusClient(endpoint, headers=account.headers)
        uploader = client.uploader(
            file_stream=stream,
            chunk_size=CHUNK_SIZE,
            store_url=True,
            url_storage=url_storage,
            upload_checksum=True,
        )
        resumed_from = uploader.offset
        uploader.upload()
    url_storage._db.close()
    return str(uploader.url), resumed_from


def cut_off_patch(url: str, account: SignedIn, offset: int, body: bytes, *, sent: int) -> None:
    """A PATCH that announces all of ``body`` and dies after ``sent`` bytes of it."""
    parts = urlsplit(url)
    head = (
        f"PATCH {parts.path} HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        f"Authorization: {account.headers['Authorization']}\r\n"
        "Tus-Resumable: 1.0.0\r\n"
        "Content-Type: application/offset+octet-stream\r\n"
        f"Upload-Offset: {offset}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port)) as connection:
        connection.sendall(head + body[:sent])
        time.sleep(0.2)  # let the server read what was sent before the connection drops


def wait_for_offset(url: str, account: SignedIn, expected: int) -> int:
    """The offset, once the server has recorded the cut-off request (or after 30 s)."""
    deadline = time.monotonic() + 30
    offset = -1
    while time.monotonic() < deadline:
        response = httpx.head(url, headers={**TUS, **account.headers})
        offset = int(response.headers["Upload-Offset"])
        if offset == expected:
            break
        time.sleep(0.05)
    return offset


async def test_tuspy_resumes_an_interrupted_upload(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    manager = await make_user(app, role=Role.MANAGER)
    content = random_bytes(3 * CHUNK_SIZE + 12_345, seed=5)
    source = tmp_path / "film.mp4"
    source.write_bytes(content)
    urls = tmp_path / "tus-urls.json"
    stopped_at = 2 * CHUNK_SIZE
    with running_kino(settings) as base_url:
        endpoint = f"{base_url}/api/v1/uploads"
        url = await asyncio.to_thread(upload_part, endpoint, manager, source, urls, stopped_at)
        body = content[stopped_at:]
        await asyncio.to_thread(cut_off_patch, url, manager, stopped_at, body, sent=200_000)
        recorded = await asyncio.to_thread(wait_for_offset, url, manager, stopped_at + 200_000)
        assert recorded == stopped_at + 200_000  # what arrived before the cut was kept
        resumed_url, resumed_from = await asyncio.to_thread(resume, endpoint, manager, source, urls)
    assert resumed_url == url
    assert resumed_from == stopped_at + 200_000
    assert await stored_bytes(app, url) == content
