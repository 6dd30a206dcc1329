"""tus 1.0 at /api/v1/uploads, through the app: every status code of the protocol, who may
see which upload, and where the bytes end up (the local directory embedded, S3 distributed)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from kino.core.db import utcnow
from kino.identity.models import Role
from kino.media import uploads
from kino.media.errors import UploadIncomplete, UploadNotFound
from kino.media.models import Upload
from kino.settings import Settings
from tests.factories import SignedIn, make_user
from tests.media.uploads import (
    CHUNK,
    TUS,
    UPLOADS,
    create_upload,
    error_code,
    metadata_header,
    offset_of,
    patch,
    random_bytes,
    sha1_header,
    stored_bytes,
    tus,
    upload_id_of,
)


@pytest.fixture
async def manager(app: FastAPI) -> SignedIn:
    return await make_user(app, role=Role.MANAGER)


def upload_files(settings: Settings) -> list[str]:
    if not settings.uploads_dir.exists():
        return []
    return sorted(path.name for path in settings.uploads_dir.iterdir())


# --- discovery and version --------------------------------------------------------------


async def test_options_describes_the_server(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await client.options(UPLOADS)
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "termination",
        "expiration",
        "checksum",
    }
    assert response.headers["Tus-Max-Size"] == str(settings.max_upload_bytes)
    assert "sha1" in response.headers["Tus-Checksum-Algorithm"].split(",")


@pytest.mark.parametrize("version", [None, "0.2.2", "1.0", "2.0.0"])
async def test_missing_or_other_tus_version_is_412(
    client: httpx.AsyncClient, manager: SignedIn, version: str | None
) -> None:
    headers = {**manager.headers, "Upload-Length": "10"}
    if version is not None:
        headers["Tus-Resumable"] = version
    response = await client.post(UPLOADS, headers=headers)
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert error_code(response) == "unsupported_tus_version"


# --- creation, status, the whole way through -------------------------------------------


async def test_upload_in_chunks_ends_byte_identical_in_storage(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, settings: Settings
) -> None:
    content = random_bytes(2_500_000)
    metadata = metadata_header(filename="Film ü.mp4", filetype="video/mp4")
    url = await create_upload(client, manager, len(content), **{"Upload-Metadata": metadata})
    assert re.fullmatch(rf"{UPLOADS}/[0-9a-f]{{32}}", url)

    head = await client.head(url, headers=tus(manager))
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(len(content))
    assert head.headers["Cache-Control"] == "no-store"
    assert head.headers["Tus-Resumable"] == "1.0.0"
    assert head.headers["Upload-Metadata"] == metadata
    expires = parsedate_to_datetime(head.headers["Upload-Expires"])
    assert utcnow() < expires <= utcnow() + timedelta(seconds=settings.upload_expiry_seconds)

    offset = 0
    for size in (1_000_000, 1_000_000, 500_000):
        response = await patch(client, manager, url, offset, content[offset : offset + size])
        assert response.status_code == 204, response.text
        assert response.headers["Tus-Resumable"] == "1.0.0"
        offset += size
        assert response.headers["Upload-Offset"] == str(offset)

    assert await stored_bytes(app, url) == content
    assert await offset_of(client, manager, url) == len(content)
    assert upload_files(settings) == []  # moved into storage; no lock file left behind
    async with app.state.db.transaction() as session:
        upload = await uploads.completed_upload(session, manager.user, upload_id_of(url))
    assert upload.completed_at is not None
    assert upload.metadata_ == {"filename": "Film ü.mp4", "filetype": "video/mp4"}


async def test_the_finished_file_is_moved_into_storage_not_copied(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, settings: Settings
) -> None:
    url = await create_upload(client, manager, 10)
    await patch(client, manager, url, 0, b"01234")
    partial = uploads.upload_file(settings, upload_id_of(url))
    inode = partial.stat().st_ino
    await patch(client, manager, url, 5, b"56789")
    assert not partial.exists()
    stored = app.state.storage.local_path(uploads.upload_source_key(upload_id_of(url)))
    if stored is not None:  # a local directory: the very same file, renamed
        assert stored.stat().st_ino == inode
    assert await stored_bytes(app, url) == b"0123456789"


async def test_creation_with_upload(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    content = random_bytes(300_000)
    response = await client.post(
        UPLOADS,
        content=content[:100_000],
        headers=tus(manager, **{"Upload-Length": str(len(content))}, **CHUNK),
    )
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "100000"
    assert "Upload-Expires" in response.headers
    url = response.headers["Location"]
    assert (await patch(client, manager, url, 100_000, content[100_000:])).status_code == 204
    assert await stored_bytes(app, url) == content


async def test_creation_with_the_whole_upload_completes_it(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    content = random_bytes(5000)
    response = await client.post(
        UPLOADS,
        content=content,
        headers=tus(
            manager,
            **{"Upload-Length": "5000", "Upload-Checksum": sha1_header(content)},
            **CHUNK,
        ),
    )
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "5000"
    assert "Upload-Expires" not in response.headers  # finished uploads do not expire
    assert await stored_bytes(app, response.headers["Location"]) == content


async def test_an_empty_upload_is_complete_at_once(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    url = await create_upload(client, manager, 0)
    assert await offset_of(client, manager, url) == 0
    assert await stored_bytes(app, url) == b""


async def test_creation_with_a_body_of_another_type_is_415(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    response = await client.post(
        UPLOADS, json={"film": "x"}, headers=tus(manager, **{"Upload-Length": "10"})
    )
    assert response.status_code == 415
    assert error_code(response) == "unsupported_media_type"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Upload-Length": "-1"},
        {"Upload-Length": "ten"},
        {"Upload-Length": "1e3"},
        {"Upload-Length": "99999999999999999999999"},
        {"Upload-Defer-Length": "1"},
        {"Upload-Length": "10", "Upload-Metadata": "filename not-base64!"},
        {"Upload-Length": "10", "Upload-Metadata": "a YQ==,a YQ=="},
        {"Upload-Length": "10", "Upload-Metadata": "a YQ==,,b YQ=="},
        {"Upload-Length": "10", "Upload-Metadata": "name " + base64.b64encode(b"\xff").decode()},
        {"Upload-Length": "10", "Upload-Metadata": "name " + base64.b64encode(b"a\0b").decode()},
        {"Upload-Length": "10", "Upload-Metadata": "k " + "QUFB" * 1500},
    ],
)
async def test_bad_creation_headers_are_400(
    client: httpx.AsyncClient, manager: SignedIn, headers: dict[str, str]
) -> None:
    response = await client.post(UPLOADS, headers=tus(manager, **headers))
    assert response.status_code == 400, response.text
    assert error_code(response) == "invalid_upload_request"
    assert response.json()["error"]["message"]


async def test_metadata_keys_without_values_are_kept(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    url = await create_upload(client, manager, 10, **{"Upload-Metadata": "is_confidential,a YQ=="})
    head = await client.head(url, headers=tus(manager))
    assert head.headers["Upload-Metadata"] == "is_confidential,a YQ=="


async def test_upload_length_above_the_maximum_is_413(
    client: httpx.AsyncClient, manager: SignedIn, settings: Settings
) -> None:
    settings.max_upload_bytes = 1000
    response = await client.post(UPLOADS, headers=tus(manager, **{"Upload-Length": "1001"}))
    assert response.status_code == 413
    assert error_code(response) == "upload_too_large"
    assert (await client.options(UPLOADS)).headers["Tus-Max-Size"] == "1000"
    await create_upload(client, manager, 1000)


# --- PATCH: what is refused -------------------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "application/octet-stream", "text/plain"])
async def test_patch_of_another_content_type_is_415(
    client: httpx.AsyncClient, manager: SignedIn, content_type: str | None
) -> None:
    url = await create_upload(client, manager, 10)
    headers = tus(manager, **{"Upload-Offset": "0"})
    if content_type:
        headers["Content-Type"] = content_type
    response = await client.patch(url, content=b"01234", headers=headers)
    assert response.status_code == 415
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert await offset_of(client, manager, url) == 0


@pytest.mark.parametrize("offset", [None, "-5", "x", "5.0"])
async def test_patch_without_a_valid_offset_is_400(
    client: httpx.AsyncClient, manager: SignedIn, offset: str | None
) -> None:
    url = await create_upload(client, manager, 10)
    headers = {**tus(manager), **CHUNK}
    if offset is not None:
        headers["Upload-Offset"] = offset
    response = await client.patch(url, content=b"01234", headers=headers)
    assert response.status_code == 400


async def test_patch_at_another_offset_is_409(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    url = await create_upload(client, manager, 10)
    assert (await patch(client, manager, url, 0, b"01234")).status_code == 204
    for wrong in (0, 4, 6, 10):
        response = await patch(client, manager, url, wrong, b"5")
        assert response.status_code == 409
        assert error_code(response) == "upload_offset_mismatch"
        assert response.json()["error"]["details"]["offset"] == 5
    assert await offset_of(client, manager, url) == 5
    assert (await patch(client, manager, url, 5, b"56789")).status_code == 204
    assert await stored_bytes(app, url) == b"0123456789"


async def test_more_bytes_than_the_length_is_413_and_nothing_is_kept(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    url = await create_upload(client, manager, 10)
    assert (await patch(client, manager, url, 0, b"0123")).status_code == 204
    response = await patch(client, manager, url, 4, b"456789X")
    assert response.status_code == 413
    assert error_code(response) == "upload_too_large"
    assert await offset_of(client, manager, url) == 4

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: found out while reading
        for piece in (b"45", b"678", b"9XY"):
            yield piece

    response = await patch(client, manager, url, 4, chunked())
    assert response.status_code == 413
    assert await offset_of(client, manager, url) == 4
    assert (await patch(client, manager, url, 4, b"456789")).status_code == 204
    assert await stored_bytes(app, url) == b"0123456789"
    response = await patch(client, manager, url, 10, b"X")  # complete: nothing more fits
    assert response.status_code == 413

    async def one_more() -> AsyncIterator[bytes]:
        yield b"X"

    assert (await patch(client, manager, url, 10, one_more())).status_code == 413
    assert (await patch(client, manager, url, 10, b"")).status_code == 204
    assert await stored_bytes(app, url) == b"0123456789"


# --- checksums --------------------------------------------------------------------------


async def test_checksums_are_checked_and_a_mismatch_discards_the_chunk(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    url = await create_upload(client, manager, 10)
    good = await patch(
        client, manager, url, 0, b"01234", **{"Upload-Checksum": sha1_header(b"01234")}
    )
    assert good.status_code == 204
    bad = await patch(
        client, manager, url, 5, b"56789", **{"Upload-Checksum": sha1_header(b"5678X")}
    )
    assert bad.status_code == 460
    assert error_code(bad) == "checksum_mismatch"
    assert bad.headers["Tus-Resumable"] == "1.0.0"
    assert await offset_of(client, manager, url) == 5
    digest = base64.b64encode(hashlib.sha256(b"56789").digest()).decode()
    other = await patch(
        client, manager, url, 5, b"56789", **{"Upload-Checksum": f"sha256 {digest}"}
    )
    assert other.status_code == 204
    assert await stored_bytes(app, url) == b"0123456789"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("crc32 AAAAAA==", "unsupported_checksum_algorithm"),
        ("whirlpool " + base64.b64encode(b"x" * 64).decode(), "unsupported_checksum_algorithm"),
        ("sha1", "invalid_upload_request"),
        ("sha1 not*base64", "invalid_upload_request"),
        ("sha1 " + base64.b64encode(b"short").decode(), "invalid_upload_request"),
    ],
)
async def test_unknown_or_malformed_checksums_are_400(
    client: httpx.AsyncClient, manager: SignedIn, header: str, code: str
) -> None:
    url = await create_upload(client, manager, 10)
    response = await patch(client, manager, url, 0, b"01234", **{"Upload-Checksum": header})
    assert response.status_code == 400
    assert error_code(response) == code
    assert await offset_of(client, manager, url) == 0


# --- interrupted and concurrent requests ------------------------------------------------


async def send_cut_off_patch(
    app: FastAPI, account: SignedIn, url: str, offset: int, pieces: list[bytes], **headers: str
) -> None:
    """A PATCH whose client goes away after ``pieces`` (the ASGI server's http.disconnect)."""
    declared = sum(len(piece) for piece in pieces) + 1000
    all_headers = {
        **CHUNK,
        **account.headers,
        "Upload-Offset": str(offset),
        "Content-Length": str(declared),
        **headers,
    }
    messages = [{"type": "http.request", "body": piece, "more_body": True} for piece in pieces]
    messages.append({"type": "http.disconnect"})

    async def receive() -> dict[str, object]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        return None

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PATCH",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in all_headers.items()],
        "client": ("203.0.113.7", 50000),
        "server": ("kino.test", 80),
    }
    await app(scope, receive, send)


async def test_a_cut_off_patch_keeps_what_arrived(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    content = random_bytes(3_000_000)
    url = await create_upload(client, manager, len(content))
    pieces = [content[:700_000], content[700_000:1_900_000]]
    await send_cut_off_patch(app, manager, url, 0, pieces)
    assert await offset_of(client, manager, url) == 1_900_000
    response = await patch(client, manager, url, 1_900_000, content[1_900_000:])
    assert response.status_code == 204
    assert await stored_bytes(app, url) == content


async def test_a_cut_off_patch_with_a_checksum_keeps_nothing(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    url = await create_upload(client, manager, 10)
    checksum = sha1_header(b"0123456789")
    await send_cut_off_patch(app, manager, url, 0, [b"01234"], **{"Upload-Checksum": checksum})
    assert await offset_of(client, manager, url) == 0
    assert (await patch(client, manager, url, 0, b"0123456789")).status_code == 204
    assert await stored_bytes(app, url) == b"0123456789"


async def test_bytes_past_the_recorded_offset_are_dropped_before_the_next_write(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, settings: Settings
) -> None:
    url = await create_upload(client, manager, 10)
    await patch(client, manager, url, 0, b"0123")
    with uploads.upload_file(settings, upload_id_of(url)).open("ab") as partial:
        partial.write(b"garbage of a request that died")  # never acknowledged
    assert (await patch(client, manager, url, 4, b"456789")).status_code == 204
    assert await stored_bytes(app, url) == b"0123456789"


async def test_a_lost_partial_file_lowers_the_offset(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, settings: Settings
) -> None:
    url = await create_upload(client, manager, 10)
    await patch(client, manager, url, 0, b"0123")
    uploads.upload_file(settings, upload_id_of(url)).unlink()
    response = await patch(client, manager, url, 4, b"456789")
    assert response.status_code == 409
    assert response.json()["error"]["details"]["offset"] == 0
    assert await offset_of(client, manager, url) == 0
    assert (await patch(client, manager, url, 0, b"0123456789")).status_code == 204
    assert await stored_bytes(app, url) == b"0123456789"


async def test_two_patches_at_once_one_is_409(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    url = await create_upload(client, manager, 10)
    writing, release = asyncio.Event(), asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b"01234"
        writing.set()  # the server asked for more: it holds the upload
        await release.wait()
        yield b"56789"

    first = asyncio.create_task(patch(client, manager, url, 0, slow_body()))
    await writing.wait()
    second = await patch(client, manager, url, 0, b"0123456789")
    assert second.status_code == 409
    assert error_code(second) == "upload_busy"
    deleted = await client.delete(url, headers=tus(manager))
    assert deleted.status_code == 409
    release.set()
    assert (await first).status_code == 204
    assert await stored_bytes(app, url) == b"0123456789"


# --- termination and expiration ---------------------------------------------------------


async def test_delete_removes_the_bytes(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, settings: Settings
) -> None:
    url = await create_upload(client, manager, 10)
    await patch(client, manager, url, 0, b"01234")
    assert uploads.upload_file(settings, upload_id_of(url)).exists()
    response = await client.delete(url, headers=tus(manager))
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert upload_files(settings) == []
    head = await client.head(url, headers=tus(manager))
    assert head.status_code == 404
    assert head.content == b""  # a HEAD answer has no body
    assert (await patch(client, manager, url, 5, b"56789")).status_code == 404


async def test_delete_of_a_completed_upload_removes_the_stored_object(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    url = await create_upload(client, manager, 3)
    await patch(client, manager, url, 0, b"abc")
    assert (await client.delete(url, headers=tus(manager))).status_code == 204
    key = uploads.upload_source_key(upload_id_of(url))
    assert await app.state.storage.size(key) is None


async def expire(app: FastAPI, upload_id: str) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Upload)
            .where(Upload.id == upload_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def test_an_expired_upload_is_410_and_removed(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, settings: Settings
) -> None:
    url = await create_upload(client, manager, 10)
    await patch(client, manager, url, 0, b"01234")
    await expire(app, upload_id_of(url))
    response = await patch(client, manager, url, 5, b"56789")
    assert response.status_code == 410
    assert error_code(response) == "upload_expired"
    assert upload_files(settings) == []
    assert (await client.head(url, headers=tus(manager))).status_code == 404
    async with app.state.db.transaction() as session:
        assert await session.get(Upload, upload_id_of(url)) is None


async def test_each_patch_extends_the_expiry(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, settings: Settings
) -> None:
    url = await create_upload(client, manager, 10)
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Upload)
            .where(Upload.id == upload_id_of(url))
            .values(expires_at=utcnow() + timedelta(seconds=60))
        )
    response = await patch(client, manager, url, 0, b"01234")
    extended = parsedate_to_datetime(response.headers["Upload-Expires"])
    assert extended > utcnow() + timedelta(seconds=settings.upload_expiry_seconds - 60)


async def test_expire_uploads_sweeps_unfinished_uploads_only(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, settings: Settings
) -> None:
    stale = await create_upload(client, manager, 10)
    await patch(client, manager, stale, 0, b"01234")
    done = await create_upload(client, manager, 3)
    await patch(client, manager, done, 0, b"abc")
    fresh = await create_upload(client, manager, 10)
    await expire(app, upload_id_of(stale))
    await expire(app, upload_id_of(done))
    async with app.state.db.transaction() as session:
        removed = await uploads.expire_uploads(session, settings, app.state.storage)
    assert removed == 1
    assert (await client.head(stale, headers=tus(manager))).status_code == 404
    assert await offset_of(client, manager, done) == 3
    assert await stored_bytes(app, done) == b"abc"
    assert await offset_of(client, manager, fresh) == 0
    assert not uploads.upload_file(settings, upload_id_of(stale)).exists()


async def test_expire_uploads_removes_old_files_without_an_upload(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, settings: Settings
) -> None:
    live = await create_upload(client, manager, 10)
    await patch(client, manager, live, 0, b"01234")
    orphan, fresh_orphan = "a" * 32, "b" * 32
    for name in (orphan, f"{orphan}.lock", fresh_orphan, "notes.txt"):
        (settings.uploads_dir / name).write_bytes(b"left behind")
    long_ago = time.time() - settings.upload_expiry_seconds - 60
    for name in (orphan, f"{orphan}.lock", upload_id_of(live), "notes.txt"):
        os.utime(settings.uploads_dir / name, (long_ago, long_ago))
    async with app.state.db.transaction() as session:
        assert await uploads.expire_uploads(session, settings, app.state.storage) == 0
    assert upload_files(settings) == sorted(
        [upload_id_of(live), f"{upload_id_of(live)}.lock", fresh_orphan, "notes.txt"]
    )
    assert await offset_of(client, manager, live) == 5


async def test_creating_an_upload_sweeps_expired_ones(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, settings: Settings
) -> None:
    stale = await create_upload(client, manager, 10)
    await patch(client, manager, stale, 0, b"01234")
    await expire(app, upload_id_of(stale))
    await create_upload(client, manager, 10)
    async with app.state.db.transaction() as session:
        assert await session.get(Upload, upload_id_of(stale)) is None
    assert not uploads.upload_file(settings, upload_id_of(stale)).exists()


# --- who may do what --------------------------------------------------------------------


async def test_a_viewer_may_not_upload(app: FastAPI, client: httpx.AsyncClient) -> None:
    viewer = await make_user(app)
    response = await client.post(UPLOADS, headers=tus(viewer, **{"Upload-Length": "10"}))
    assert response.status_code == 403
    assert error_code(response) == "forbidden"
    assert response.headers["Tus-Resumable"] == "1.0.0"


async def test_credentials_are_required(client: httpx.AsyncClient) -> None:
    response = await client.post(UPLOADS, headers={**TUS, "Upload-Length": "10"})
    assert response.status_code == 401
    assert response.headers["Tus-Resumable"] == "1.0.0"


async def test_an_api_key_works_like_a_token(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    created = await client.post("/api/v1/api-keys", headers=manager.headers, json={"name": "ci"})
    key_headers = {**TUS, "X-API-Key": created.json()["key"]}
    response = await client.post(UPLOADS, headers={**key_headers, "Upload-Length": "3"})
    assert response.status_code == 201
    url = response.headers["Location"]
    answer = await client.patch(
        url, content=b"abc", headers={**key_headers, **CHUNK, "Upload-Offset": "0"}
    )
    assert answer.status_code == 204
    assert await stored_bytes(app, url) == b"abc"


async def test_another_users_upload_is_404(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    url = await create_upload(client, manager, 10)
    await patch(client, manager, url, 0, b"01234")
    for other in (await make_user(app, role=Role.MANAGER), await make_user(app, role=Role.ADMIN)):
        assert (await client.head(url, headers=tus(other))).status_code == 404
        assert (await patch(client, other, url, 5, b"56789")).status_code == 404
        assert (await client.delete(url, headers=tus(other))).status_code == 404
    assert await offset_of(client, manager, url) == 5


async def test_completed_upload_for_the_integrator(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    url = await create_upload(client, manager, 10)
    upload_id = upload_id_of(url)
    other = await make_user(app, role=Role.MANAGER)
    admin = await make_user(app, role=Role.ADMIN)
    async with app.state.db.transaction() as session:
        with pytest.raises(UploadIncomplete) as incomplete:
            await uploads.completed_upload(session, manager.user, upload_id)
    assert incomplete.value.code == "upload_incomplete"
    assert incomplete.value.status == 409
    await patch(client, manager, url, 0, b"0123456789")
    async with app.state.db.transaction() as session:
        assert (await uploads.completed_upload(session, manager.user, upload_id)).id == upload_id
        assert (await uploads.completed_upload(session, admin.user, upload_id)).id == upload_id
        for user, wrong_id in [
            (other.user, upload_id),
            (manager.user, "0" * 32),
            (manager.user, "../x"),
        ]:
            with pytest.raises(UploadNotFound):
                await uploads.completed_upload(session, user, wrong_id)
    assert uploads.upload_source_key(upload_id) == f"sources/uploads/{upload_id}"


@pytest.mark.parametrize(
    "upload_id",
    [
        "..%2F..%2Fkino.db",
        "%2e%2e",
        "..",
        "secret_key",
        "kino.db",
        "ABCDEF0123456789ABCDEF0123456789",
        "0123456789abcdef0123456789abcdef0",
        "0123456789abcdef0123456789abcde%00",
        "0123456789abcdef0123456789abcdef.lock",
    ],
)
async def test_path_tricks_in_the_id_are_404(
    client: httpx.AsyncClient, manager: SignedIn, settings: Settings, upload_id: str
) -> None:
    url = f"{UPLOADS}/{upload_id}"
    before = sorted(path.name for path in settings.data_dir.rglob("*"))
    for response in (
        await client.head(url, headers=tus(manager)),
        await patch(client, manager, url, 0, b"x"),
        await client.delete(url, headers=tus(manager)),
    ):
        assert response.status_code in (404, 405), response.text
    assert sorted(path.name for path in settings.data_dir.rglob("*")) == before


async def test_upload_files_are_named_by_id_never_by_metadata(
    client: httpx.AsyncClient, manager: SignedIn, settings: Settings
) -> None:
    metadata = metadata_header(filename="../../kino.db")
    url = await create_upload(client, manager, 10, **{"Upload-Metadata": metadata})
    await patch(client, manager, url, 0, b"01234")
    names = upload_files(settings)
    assert names == sorted([upload_id_of(url), f"{upload_id_of(url)}.lock"])
    assert Path(settings.uploads_dir, names[0]).read_bytes() == b"01234"
