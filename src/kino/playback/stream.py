"""``/stream/{token}/{expires}/{asset_id}/{file}``: an asset's playlists, segments, images and
subtitles, for whoever holds a valid signed path.

No database work: the token alone says which asset may be read and until when, exactly as
nginx's ``secure_link`` decides it in distributed mode (deploy/nginx), and a replaced asset's
files outlive it by the token lifetime. Playlists and WebVTT are small, so they are read whole
and gzipped when the player asks; segments and images are handed to the server as files
(Granian sends them with pathsend) from a local directory, or streamed from S3 with ranged
reads. Both honour a single byte range.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from starlette.types import Receive, Scope, Send

from kino.core.http import AppSettings
from kino.media.dependencies import MediaStorage
from kino.media.errors import InvalidStorageKey, ObjectNotFound
from kino.media.models import asset_prefix
from kino.media.storage import Storage, check_key
from kino.playback.errors import (
    STREAM_CORS_HEADERS,
    RangeNotSatisfiable,
    StreamFileNotFound,
    StreamForbidden,
)
from kino.playback.signing import STREAM_ROOT, stream_secret, verify_stream_path

router = APIRouter(tags=["playback"], include_in_schema=False)

STREAM_PATH = STREAM_ROOT + "/{token}/{expires}/{asset_id}/{path:path}"
# Segments, init segments and images never change inside an asset (a new version is a new
# asset). Playlists may: adding subtitles rewrites the master playlist.
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT_LIVED = "public, max-age=60"
PREFLIGHT_HEADERS = {
    **STREAM_CORS_HEADERS,
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Range, If-Range",
    "Access-Control-Max-Age": "86400",
}


@dataclass(frozen=True)
class FileKind:
    content_type: str
    cache_control: str
    small_text: bool  # read whole, gzipped when asked


FILE_KINDS = {
    ".m3u8": FileKind("application/vnd.apple.mpegurl", SHORT_LIVED, small_text=True),
    ".vtt": FileKind("text/vtt; charset=utf-8", SHORT_LIVED, small_text=True),
    ".m4s": FileKind("video/iso.segment", IMMUTABLE, small_text=False),
    ".mp4": FileKind("video/mp4", IMMUTABLE, small_text=False),
    ".m4a": FileKind("audio/mp4", IMMUTABLE, small_text=False),
    ".jpg": FileKind("image/jpeg", IMMUTABLE, small_text=False),
}


@router.api_route(STREAM_PATH, methods=["GET", "HEAD"])
async def stream_file(
    token: str,
    expires: str,
    asset_id: str,
    path: str,
    request: Request,
    storage: MediaStorage,
    settings: AppSettings,
) -> Response:
    if not verify_stream_path(stream_secret(settings), token, expires, asset_id, now=time.time()):
        raise StreamForbidden()
    kind = file_kind(path)
    key = asset_prefix(int(asset_id)) + path
    if kind.small_text:
        return await _small_text(storage, key, kind, request)
    local = storage.local_path(key)
    if local is not None:
        return await _local_file(local, kind, request)
    return await _stored_object(storage, key, kind, request)


@router.options(STREAM_PATH)
async def stream_preflight(token: str, expires: str, asset_id: str, path: str) -> Response:
    """CORS preflight: a player on another origin asks before sending a Range header."""
    return Response(status_code=204, headers=PREFLIGHT_HEADERS)


def file_kind(path: str) -> FileKind:
    """What the file inside the asset is; StreamFileNotFound for a path that is not a plain
    relative path (``..``, empty segments, an absolute path, control characters) or not a kind
    of file a player fetches."""
    try:
        check_key(path)
    except InvalidStorageKey:
        raise StreamFileNotFound() from None
    kind = FILE_KINDS.get(os.path.splitext(path)[1].lower())
    if kind is None:
        raise StreamFileNotFound()
    return kind


async def _small_text(storage: Storage, key: str, kind: FileKind, request: Request) -> Response:
    try:
        body = await storage.get_bytes(key)
    except ObjectNotFound:
        raise StreamFileNotFound() from None
    headers = {
        **STREAM_CORS_HEADERS,
        "Cache-Control": kind.cache_control,
        "Vary": "Accept-Encoding",
    }
    if accepts_gzip(request.headers.get("accept-encoding", "")):
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers["Content-Encoding"] = "gzip"
    headers["Content-Length"] = str(len(body))
    content = b"" if request.method == "HEAD" else body
    return Response(content, media_type=kind.content_type, headers=headers)


def accepts_gzip(accept_encoding: str) -> bool:
    for item in accept_encoding.split(","):
        coding, _, parameters = item.partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip"):
            continue
        quality = re.search(r"q=([0-9.]+)", parameters)
        try:
            return quality is None or float(quality.group(1)) > 0
        except ValueError:
            return False
    return False


async def _local_file(path: Path, kind: FileKind, request: Request) -> Response:
    try:
        stat_result = await asyncio.to_thread(os.stat, path)
    except (FileNotFoundError, NotADirectoryError):
        raise StreamFileNotFound() from None
    if not stat.S_ISREG(stat_result.st_mode):
        raise StreamFileNotFound()
    byte_range = requested_range(request.headers.get("range"), stat_result.st_size)
    return _LocalFile(
        path,
        stat_result=stat_result,
        media_type=kind.content_type,
        headers={**STREAM_CORS_HEADERS, "Cache-Control": kind.cache_control},
        honour_range=byte_range is not None,
    )


class _LocalFile(FileResponse):
    """Starlette's FileResponse (pathsend for whole files, 206 for one range) with the Range
    decision already taken by ``requested_range``: when the range is to be ignored (several
    ranges, a malformed one) the file goes out whole instead of as a 400 or a multipart answer,
    as it does from S3."""

    def __init__(
        self,
        path: Path,
        *,
        stat_result: os.stat_result,
        media_type: str,
        headers: dict[str, str],
        honour_range: bool,
    ) -> None:
        super().__init__(path, stat_result=stat_result, media_type=media_type, headers=headers)
        self.honour_range = honour_range

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.honour_range:
            ignored = (b"range", b"if-range")
            scope = {**scope, "headers": [h for h in scope["headers"] if h[0] not in ignored]}
        await super().__call__(scope, receive, send)


async def _stored_object(storage: Storage, key: str, kind: FileKind, request: Request) -> Response:
    size = await storage.size(key)
    if size is None:
        raise StreamFileNotFound()
    # Without the object's validator at hand, an If-Range cannot be checked: the whole object
    # is the safe answer (RFC 9110, 13.1.5).
    range_header = None if "if-range" in request.headers else request.headers.get("range")
    byte_range = requested_range(range_header, size)
    headers = {
        **STREAM_CORS_HEADERS,
        "Cache-Control": kind.cache_control,
        "Accept-Ranges": "bytes",
    }
    status = 200
    start, end = 0, None
    length = size
    if byte_range is not None:
        status = 206
        start, end = byte_range
        length = end - start + 1
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(length)
    if request.method == "HEAD" or length == 0:
        return Response(status_code=status, media_type=kind.content_type, headers=headers)
    return StreamingResponse(
        storage.read(key, start=start, end=end),
        status_code=status,
        media_type=kind.content_type,
        headers=headers,
    )


_SINGLE_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.IGNORECASE)


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte (inclusive) of a single ``Range: bytes=…`` request on a file of
    ``size`` bytes; None to send the whole file: no header, several ranges, or one that does
    not parse (RFC 9110 lets a server ignore those). RangeNotSatisfiable when it starts past
    the end."""
    match = _SINGLE_RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if not first:  # the last N bytes
        if int(last) == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return max(0, size - int(last)), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable(size)
    end = min(int(last), size - 1) if last else size - 1
    return start, end
