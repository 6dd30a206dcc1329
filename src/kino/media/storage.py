"""The ``Storage`` port: where media objects live. A local directory in embedded mode, any S3
API in distributed mode (``KINO_STORAGE_URL``).

Keys are built by Kino (``assets/{id}/…``, ``sources/…``, ``subtitles/…``), never taken from a
client; ``check_key`` still refuses anything that could step outside the root.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol


class Storage(Protocol):
    async def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> None:
        """Store the file at ``path`` under ``key`` (S3: multipart when large), replacing any
        object there; readers see the old object or the new one, never a partial one."""

    async def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        """Store small content (playlists, subtitles) under ``key``."""

    async def put_directory(self, prefix: str, directory: Path) -> list[str]:
        """Store every file under ``directory`` at ``prefix`` + its relative path; returns keys."""

    async def get_bytes(self, key: str) -> bytes:
        """The whole object; raises ``ObjectNotFound``."""

    async def download(self, key: str, path: Path) -> None:
        """Copy the object to a local file, streaming; raises ``ObjectNotFound``."""

    def read(
        self, key: str, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """The object's bytes from ``start`` to ``end`` inclusive, in chunks."""

    async def size(self, key: str) -> int | None:
        """The object's size in bytes, or None when there is no such object."""

    async def list(self, prefix: str) -> list[str]:
        """Every key under ``prefix``, sorted."""

    async def delete(self, key: str) -> None:
        """Remove one object; no error when it is already gone."""

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object under ``prefix``; returns how many were removed."""

    def local_path(self, key: str) -> Path | None:
        """The object's file when storage is a local directory (ffmpeg reads it and the app
        hands it to the server's sendfile); None for remote storage."""

    async def close(self) -> None:
        """Release connections."""
