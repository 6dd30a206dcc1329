"""Helpers of the upload tests: tus requests through the app, and what ended up where."""

from __future__ import annotations

import base64
import hashlib
import random
from typing import Any

import httpx
from fastapi import FastAPI

from kino.media.uploads import upload_source_key
from tests.factories import SignedIn

UPLOADS = "/api/v1/uploads"
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {**TUS, "Content-Type": "application/offset+octet-stream"}


def random_bytes(size: int, *, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def tus(account: SignedIn, **headers: str) -> dict[str, str]:
    return {**TUS, **account.headers, **headers}


def chunk_headers(account: SignedIn, offset: int, **headers: str) -> dict[str, str]:
    return {**CHUNK, **account.headers, "Upload-Offset": str(offset), **headers}


def sha1_header(data: bytes) -> str:
    return "sha1 " + base64.b64encode(hashlib.sha1(data).digest()).decode()


def metadata_header(**values: str) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items()
    )


async def create_upload(
    client: httpx.AsyncClient, account: SignedIn, length: int, **headers: str
) -> str:
    """A new upload's URL path."""
    response = await client.post(
        UPLOADS, headers=tus(account, **{"Upload-Length": str(length)}, **headers)
    )
    assert response.status_code == 201, response.text
    location = response.headers["Location"]
    assert location.startswith(f"{UPLOADS}/")
    return location


async def patch(
    client: httpx.AsyncClient, account: SignedIn, url: str, offset: int, data: Any, **headers: str
) -> httpx.Response:
    return await client.patch(url, content=data, headers=chunk_headers(account, offset, **headers))


async def offset_of(client: httpx.AsyncClient, account: SignedIn, url: str) -> int:
    response = await client.head(url, headers=tus(account))
    assert response.status_code == 200, response.status_code
    return int(response.headers["Upload-Offset"])


async def stored_bytes(app: FastAPI, url: str) -> bytes:
    upload_id = url.rsplit("/", 1)[1]
    data: bytes = await app.state.storage.get_bytes(upload_source_key(upload_id))
    return data


def upload_id_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code
