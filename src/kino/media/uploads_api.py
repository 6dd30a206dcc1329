"""tus 1.0 resumable uploads at ``/api/v1/uploads`` (https://tus.io/protocols/resumable-upload)
with the creation, creation-with-upload, termination, expiration and checksum extensions.

This module speaks the protocol (headers in, headers out); ``uploads`` holds the rules. Only
managers and admins upload films, and each sees only their own uploads.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect

from kino.core.errors import KinoError
from kino.core.http import AppSettings, DbSession, error_response
from kino.identity.dependencies import AppDatabase, StaffUser
from kino.identity.models import User
from kino.media import uploads
from kino.media.dependencies import MediaStorage
from kino.media.errors import (
    InvalidUploadRequest,
    UnsupportedTusVersion,
    UnsupportedUploadContent,
)
from kino.media.models import Upload

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum"
CHUNK_CONTENT_TYPE = "application/offset+octet-stream"
MAX_METADATA_BYTES = 4096
_METADATA_KEY = re.compile(r"[!-+\--~]+")  # visible ASCII without the comma


class TusRoute(APIRoute):
    """Every answer of the tus endpoints, errors included, carries ``Tus-Resumable``; an error
    answer to HEAD has no body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_tus(request: Request) -> Response:
            try:
                response = await handle(request)
            except KinoError as error:
                response = error_response(
                    error.status, error.code, error.message, error.details, error.headers
                )
                if request.method == "HEAD":
                    response = Response(status_code=error.status, headers=error.headers)
            response.headers["Tus-Resumable"] = TUS_VERSION
            return response

        return handle_tus


async def _tus_resumable(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise UnsupportedTusVersion(TUS_VERSION)


async def _uploader(user: StaffUser, session: DbSession) -> User:
    # A body may take hours to arrive: end the transaction the credentials were checked in, so
    # its connection goes back to the pool (and SQLite's log can be checkpointed) meanwhile.
    await session.commit()
    return user


Uploader = Annotated[User, Depends(_uploader)]


tus = APIRouter(
    prefix="/uploads",
    tags=["uploads"],
    route_class=TusRoute,
    dependencies=[Depends(_tus_resumable)],
)
discovery = APIRouter(prefix="/uploads", tags=["uploads"], route_class=TusRoute)


@discovery.options("", status_code=204)
@discovery.options("/{upload_id}", status_code=204, include_in_schema=False)
async def tus_options(settings: AppSettings) -> Response:
    """What this tus server supports (no credentials needed)."""
    return Response(
        status_code=204,
        headers={
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Max-Size": str(settings.max_upload_bytes),
            "Tus-Checksum-Algorithm": ",".join(uploads.CHECKSUM_ALGORITHMS),
        },
    )


@tus.post("", status_code=201)
async def create_upload(
    request: Request,
    user: Uploader,
    db: AppDatabase,
    settings: AppSettings,
    storage: MediaStorage,
) -> Response:
    """Start an upload (``Upload-Length``, optional ``Upload-Metadata``); a body of
    ``application/offset+octet-stream`` is its first bytes."""
    length = _upload_length(request)
    metadata = parse_metadata(request.headers.get("upload-metadata"))
    body = _chunk_body(request, required=False)
    checksum = parse_checksum(request.headers.get("upload-checksum"))
    upload = await uploads.create_upload(
        db, settings, storage, user, length=length, metadata=metadata
    )
    headers = {"Location": _location(request, upload.id)}
    if body is not None:
        upload = await uploads.receive_chunk(
            db,
            settings,
            storage,
            user,
            upload.id,
            offset=0,
            body=body,
            body_length=_content_length(request),
            checksum=checksum,
        )
        headers["Upload-Offset"] = str(upload.offset)
    return Response(status_code=201, headers={**headers, **_expiry_headers(upload)})


@tus.head("/{upload_id}")
async def upload_status(
    upload_id: str, user: Uploader, db: AppDatabase, settings: AppSettings, storage: MediaStorage
) -> Response:
    """How many bytes the upload has: resume from ``Upload-Offset``."""
    upload = await uploads.find_upload(db, settings, storage, user, upload_id)
    headers = {
        "Upload-Offset": str(upload.offset),
        "Upload-Length": str(upload.length),
        "Cache-Control": "no-store",
        **_expiry_headers(upload),
    }
    if upload.metadata_:
        headers["Upload-Metadata"] = encode_metadata(upload.metadata_)
    return Response(status_code=200, headers=headers)


@tus.patch("/{upload_id}", status_code=204)
async def append_to_upload(
    upload_id: str,
    request: Request,
    user: Uploader,
    db: AppDatabase,
    settings: AppSettings,
    storage: MediaStorage,
) -> Response:
    """Append the body at ``Upload-Offset``, which must be the upload's current offset."""
    body = _chunk_body(request, required=True)
    assert body is not None
    offset = _non_negative_header(request, "Upload-Offset", required=True)
    assert offset is not None
    upload = await uploads.receive_chunk(
        db,
        settings,
        storage,
        user,
        upload_id,
        offset=offset,
        body=body,
        body_length=_content_length(request),
        checksum=parse_checksum(request.headers.get("upload-checksum")),
    )
    headers = {"Upload-Offset": str(upload.offset), **_expiry_headers(upload)}
    return Response(status_code=204, headers=headers)


@tus.delete("/{upload_id}", status_code=204)
async def terminate_upload(
    upload_id: str, user: Uploader, db: AppDatabase, settings: AppSettings, storage: MediaStorage
) -> Response:
    """Abandon the upload; its bytes are removed."""
    await uploads.delete_upload(db, settings, storage, user, upload_id)
    return Response(status_code=204)


router = APIRouter()
router.include_router(discovery)
router.include_router(tus)


# --- the protocol's headers -------------------------------------------------------------


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata``: ``key base64value`` pairs separated by commas; a key may stand
    alone. Values must be UTF-8 text without control characters."""
    if not header or not header.strip():
        return {}
    if len(header) > MAX_METADATA_BYTES:
        raise InvalidUploadRequest(f"Upload-Metadata is longer than {MAX_METADATA_BYTES} bytes.")
    metadata: dict[str, str] = {}
    for pair in header.split(","):
        key, _, encoded = pair.strip().partition(" ")
        if not _METADATA_KEY.fullmatch(key) or key in metadata:
            raise InvalidUploadRequest(
                f"Upload-Metadata has an empty, malformed or repeated key: {key!r}."
            )
        metadata[key] = _metadata_value(key, encoded.strip())
    return metadata


def _metadata_value(key: str, encoded: str) -> str:
    try:
        value = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidUploadRequest(
            f"Upload-Metadata {key!r} is not base64 of UTF-8 text."
        ) from None
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise InvalidUploadRequest(f"Upload-Metadata {key!r} holds control characters.")
    return value


def encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode('ascii')}".rstrip()
        for key, value in metadata.items()
    )


def parse_checksum(header: str | None) -> uploads.Checksum | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``."""
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    checksum_algorithm = algorithm.lower()
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        digest = b""
    checksum = uploads.Checksum(checksum_algorithm, digest)  # refuses unknown algorithms
    if len(digest) != hashlib.new(checksum_algorithm).digest_size:
        raise InvalidUploadRequest(
            f"Upload-Checksum must be '{checksum_algorithm} <base64 digest>'."
        )
    return checksum


def _upload_length(request: Request) -> int:
    if "upload-defer-length" in request.headers:
        raise InvalidUploadRequest(
            "Upload-Defer-Length is not supported: send Upload-Length.",
            details={"extensions": TUS_EXTENSIONS.split(",")},
        )
    length = _non_negative_header(request, "Upload-Length", required=True)
    assert length is not None
    return length


def _non_negative_header(request: Request, name: str, *, required: bool) -> int | None:
    value = request.headers.get(name)
    if value is None:
        if required:
            raise InvalidUploadRequest(f"The {name} header is required.")
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 20:
        raise InvalidUploadRequest(f"{name} must be a whole number of bytes, not {value!r}.")
    return int(value)


def _content_length(request: Request) -> int | None:
    return _non_negative_header(request, "Content-Length", required=False)


def _chunk_body(request: Request, *, required: bool) -> AsyncIterator[bytes] | None:
    """The body as it arrives, when it is ``application/offset+octet-stream``."""
    content_type = request.headers.get("content-type")
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type == CHUNK_CONTENT_TYPE:
        return _stream(request)
    if required or content_type is not None or _content_length(request):
        raise UnsupportedUploadContent(
            f"Upload bytes are sent as Content-Type: {CHUNK_CONTENT_TYPE}.",
            details={"content_type": content_type},
        )
    return None


async def _stream(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise uploads.BodyInterrupted() from None


def _location(request: Request, upload_id: str) -> str:
    return request.url_for("upload_status", upload_id=upload_id).path


def _expiry_headers(upload: Upload) -> dict[str, str]:
    if upload.completed_at is not None:
        return {}
    return {"Upload-Expires": format_datetime(upload.expires_at, usegmt=True)}
