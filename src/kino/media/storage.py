"""The ``Storage`` port: where media objects live. A local directory in embedded mode, any S3
API in distributed mode (``KINO_STORAGE_URL``).

Keys are built by Kino (``assets/{id}/…``, ``sources/…``, ``subtitles/…``), never taken from a
client; ``check_key`` still refuses anything that could step outside the root.
"""

from __future__ import annotations

import asyncio
import builtins
import errno
import functools
import os
import secrets
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.exceptions import ClientError

from kino.media.errors import InvalidStorageKey, ObjectNotFound
from kino.settings import Settings

__all__ = [
    "LocalStorage",
    "ObjectNotFound",
    "S3Storage",
    "Storage",
    "check_key",
    "check_prefix",
    "create_storage",
]

CHUNK_BYTES = 1024 * 1024
MAX_KEY_LENGTH = 1024  # S3's limit, in UTF-8 bytes


class Storage(Protocol):
    async def put_file(
        self, key: str, path: Path, *, content_type: str | None = None, move: bool = False
    ) -> None:
        """Store the file at ``path`` under ``key`` (S3: multipart when large), replacing any
        object there; readers see the old object or the new one, never a partial one.

        ``move=True``: the caller gives the file away. A local directory on the same file system
        renames it instead of copying (a 50 GiB upload is not copied); S3 removes it once
        uploaded."""

    async def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        """Store small content (playlists, subtitles) under ``key``."""

    async def put_directory(self, prefix: str, directory: Path) -> list[str]:
        """Store every file under ``directory`` at ``prefix`` + its relative path; returns keys."""

    async def get_bytes(self, key: str) -> bytes:
        """The whole object; raises ``ObjectNotFound``."""

    async def download(self, key: str, path: Path) -> None:
        """Copy the object to a local file, streaming; raises ``ObjectNotFound``."""

    def read(self, key: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The object's bytes from ``start`` to ``end`` inclusive, in chunks; raises
        ``ObjectNotFound`` on the first iteration."""

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


def check_key(key: str) -> str:
    """``key`` when it is a relative path of plain segments; raises ``InvalidStorageKey``."""
    if not key:
        raise InvalidStorageKey(key, "it is empty")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_LENGTH:
        raise InvalidStorageKey(key, f"it is longer than {MAX_KEY_LENGTH} bytes")
    if any(ord(char) < 32 or ord(char) == 127 for char in key):
        raise InvalidStorageKey(key, "it holds a control character")
    if "\\" in key:
        raise InvalidStorageKey(key, "it holds a backslash")
    if key.startswith("/"):
        raise InvalidStorageKey(key, "it is absolute")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidStorageKey(key, "it has an empty, '.' or '..' segment")
    return key


def check_prefix(prefix: str) -> str:
    """A key prefix: empty (everything), or a key that may end with one ``/``."""
    if prefix:
        check_key(prefix.removesuffix("/"))
    return prefix


def create_storage(settings: Settings) -> Storage:
    """The adapter ``KINO_STORAGE_URL`` names: unset → ``{data_dir}/media``; ``file:///path``;
    ``s3://[key:secret@]bucket[/prefix][?endpoint_url=…&region=…&addressing_style=…]``."""
    url = settings.storage_url
    if not url:
        return LocalStorage(settings.media_dir)
    scheme = url.split(":", 1)[0].lower()
    if scheme == "file":
        return LocalStorage(_file_url_path(url))
    if scheme == "s3":
        return S3Storage.from_url(url)
    raise ValueError(f"KINO_STORAGE_URL must start with file:// or s3://, not {url!r}")


def _file_url_path(url: str) -> Path:
    parts = urlsplit(url)
    path = Path(unquote(parts.path))
    if parts.netloc not in ("", "localhost") or not path.is_absolute():
        raise ValueError(f"KINO_STORAGE_URL must look like file:///absolute/path, not {url!r}")
    return path


# A local directory


TEMP_MARK = ".kino-partial-"


class LocalStorage:
    """Objects are files under ``root``. Every write goes to a temporary file in the target's
    directory first and is renamed into place, so a reader never sees half an object."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def local_path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put_file(
        self, key: str, path: Path, *, content_type: str | None = None, move: bool = False
    ) -> None:
        await asyncio.to_thread(self._put_file, self.local_path(key), path, move)

    def _put_file(self, target: Path, source: Path, move: bool) -> None:
        if move:
            self._make_parent(target)
            try:
                os.replace(source, target)
                return
            except OSError as error:
                if error.errno != errno.EXDEV:  # another file system: copy below
                    raise
        self._write_atomically(target, lambda handle: _copy_file_into(source, handle))
        if move:
            source.unlink()

    async def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        target = self.local_path(key)
        await asyncio.to_thread(self._write_atomically, target, lambda handle: handle.write(data))

    async def put_directory(self, prefix: str, directory: Path) -> list[str]:
        check_prefix(prefix)
        keys = []
        for path in sorted(_files_under(directory)):
            key = prefix + path.relative_to(directory).as_posix()
            await self.put_file(key, path)
            keys.append(key)
        return keys

    async def get_bytes(self, key: str) -> bytes:
        path = self.local_path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    async def download(self, key: str, path: Path) -> None:
        source = self.local_path(key)
        if not source.is_file():
            raise ObjectNotFound(key)
        try:
            await asyncio.to_thread(
                _write_atomically_at, path, lambda handle: _copy_file_into(source, handle)
            )
        except FileNotFoundError:
            if not source.is_file():  # deleted while being copied
                raise ObjectNotFound(key) from None
            raise

    async def read(
        self, key: str, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        path = self.local_path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        try:
            remaining = None if end is None else end - start + 1
            await asyncio.to_thread(handle.seek, start)
            while remaining is None or remaining > 0:
                wanted = CHUNK_BYTES if remaining is None else min(CHUNK_BYTES, remaining)
                chunk = await asyncio.to_thread(handle.read, wanted)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def size(self, key: str) -> int | None:
        path = self.local_path(key)
        try:
            stat = await asyncio.to_thread(path.stat)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return stat.st_size if path.is_file() else None

    async def list(self, prefix: str) -> list[str]:
        return await asyncio.to_thread(self._list, check_prefix(prefix))

    def _list(self, prefix: str) -> builtins.list[str]:
        # Walk only the deepest directory the prefix names: "assets/12/" and "assets/1" both
        # start at assets/ (like S3, a prefix need not end at a "/").
        directory = self.root / prefix.rpartition("/")[0]
        return sorted(
            key
            for key in (path.relative_to(self.root).as_posix() for path in _files_under(directory))
            if key.startswith(prefix)
        )

    async def delete(self, key: str) -> None:
        path = self.local_path(key)
        await asyncio.to_thread(self._delete, path)

    def _delete(self, path: Path) -> bool:
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return False
        self._prune_empty_parents(path.parent)
        return True

    async def delete_prefix(self, prefix: str) -> int:
        keys = await self.list(prefix)
        removed = [await asyncio.to_thread(self._delete, self.root / key) for key in keys]
        return sum(removed)

    async def close(self) -> None:
        return None

    def _write_atomically(self, target: Path, write: Any) -> None:
        self._make_parent(target)
        _write_atomically_at(target, write)

    def _make_parent(self, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)

    def _prune_empty_parents(self, directory: Path) -> None:
        """Directories emptied by a delete go too, so deleted assets leave no trail of folders."""
        while directory != self.root and self.root in directory.parents:
            try:
                directory.rmdir()
            except OSError:  # not empty (or already gone, or a writer just made it)
                return
            directory = directory.parent


def _write_atomically_at(target: Path, write: Any) -> None:
    """Write through ``write(handle)`` into a temporary file beside ``target``, then rename it.
    A concurrent delete may prune the directory just made; making it again once is enough."""
    for attempt in range(2):
        temp = target.with_name(f"{TEMP_MARK}{secrets.token_hex(8)}-{target.name}")
        try:
            handle = temp.open("xb")
        except FileNotFoundError:
            if attempt:
                raise
            target.parent.mkdir(parents=True, exist_ok=True)
            continue
        try:
            with handle:
                write(handle)
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return


def _copy_file_into(source: Path, handle: IO[bytes]) -> None:
    with source.open("rb") as reader:
        shutil.copyfileobj(reader, handle, CHUNK_BYTES)


def _files_under(directory: Path) -> Iterator[Path]:
    for folder, _dirs, names in os.walk(directory):
        for name in names:
            if not name.startswith(TEMP_MARK):
                yield Path(folder, name)


# Any S3 API

S3_PART_BYTES = 16 * 1024 * 1024
S3_MAX_PARTS = 10_000
S3_CONCURRENCY = 4
S3_DELETE_BATCH = 1000  # the most one DeleteObjects request takes
S3_LIST_PAGE = 1000
S3_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


class S3Storage:
    """Objects in a bucket (under an optional key prefix). boto3 is synchronous, so every call
    runs in a worker thread; its client is thread-safe and pools connections."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        addressing_style: str | None = None,
    ) -> None:
        from botocore.config import Config

        if prefix:
            check_key(prefix.strip("/"))
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        config = Config(
            max_pool_connections=4 * S3_CONCURRENCY,
            retries={"max_attempts": 5, "mode": "standard"},
            s3={"addressing_style": addressing_style or ("path" if endpoint_url else "auto")},
        )
        with _BOTO3_LOCK:  # a boto3 session is not thread-safe; its clients are
            self.client: Any = _boto3_session().client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                config=config,
            )

    @classmethod
    def from_url(cls, url: str) -> S3Storage:
        """``s3://[key:secret@]bucket[/prefix][?endpoint_url=…&region=…&addressing_style=…]``;
        without key and secret, boto3's own chain (AWS_* environment, ~/.aws, instance role)."""
        parts = urlsplit(url)
        bucket = parts.netloc.rpartition("@")[2]
        if not bucket:
            raise ValueError(f"KINO_STORAGE_URL names no bucket: {_redacted(url)!r}")
        options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        unknown = set(options) - {"endpoint_url", "region", "addressing_style"}
        if unknown:
            raise ValueError(f"KINO_STORAGE_URL has unknown options: {', '.join(sorted(unknown))}")
        if (parts.username is None) != (parts.password is None):
            raise ValueError("KINO_STORAGE_URL must give both an access key and a secret, or none")
        return cls(
            bucket,
            prefix=unquote(parts.path),
            endpoint_url=options.get("endpoint_url"),
            region=options.get("region"),
            access_key=unquote(parts.username) if parts.username else None,
            secret_key=unquote(parts.password) if parts.password else None,
            addressing_style=options.get("addressing_style"),
        )

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def local_path(self, key: str) -> None:
        return None

    async def put_file(
        self, key: str, path: Path, *, content_type: str | None = None, move: bool = False
    ) -> None:
        extra = {"ContentType": content_type} if content_type else None
        config = _transfer_config(path.stat().st_size)
        await asyncio.to_thread(
            self.client.upload_file, str(path), self.bucket, self._key(key), extra, None, config
        )
        if move:
            path.unlink()

    async def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        options = {"ContentType": content_type} if content_type else {}
        await asyncio.to_thread(
            self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data, **options
        )

    async def put_directory(self, prefix: str, directory: Path) -> list[str]:
        check_prefix(prefix)
        limit = asyncio.Semaphore(S3_CONCURRENCY)
        files = sorted(_files_under(directory))
        keys = [prefix + path.relative_to(directory).as_posix() for path in files]

        async def put(key: str, path: Path) -> None:
            async with limit:
                await self.put_file(key, path)

        await asyncio.gather(*(put(key, path) for key, path in zip(keys, files, strict=True)))
        return keys

    async def get_bytes(self, key: str) -> bytes:
        full_key = self._key(key)

        def fetch() -> bytes:
            response = self.client.get_object(Bucket=self.bucket, Key=full_key)
            with response["Body"] as body:
                data: bytes = body.read()
                return data

        try:
            return await asyncio.to_thread(fetch)
        except ClientError as error:
            raise _missing_or(error, key) from None

    async def download(self, key: str, path: Path) -> None:
        full_key = self._key(key)

        def fetch(handle: IO[bytes]) -> None:
            config = _transfer_config(0)
            self.client.download_fileobj(self.bucket, full_key, handle, None, None, config)

        try:
            await asyncio.to_thread(_write_atomically_at, path, fetch)
        except ClientError as error:
            raise _missing_or(error, key) from None

    async def read(
        self, key: str, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        options = {}
        if start or end is not None:
            options["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            response = await asyncio.to_thread(
                self.client.get_object, Bucket=self.bucket, Key=self._key(key), **options
            )
        except ClientError as error:
            if _error_code(error) == "InvalidRange":  # start is past the end: no bytes
                return
            raise _missing_or(error, key) from None
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK_BYTES):
                yield chunk
        finally:
            body.close()

    async def size(self, key: str) -> int | None:
        try:
            head = await asyncio.to_thread(
                self.client.head_object, Bucket=self.bucket, Key=self._key(key)
            )
        except ClientError as error:
            if _error_code(error) in S3_MISSING_CODES:
                return None
            raise
        return int(head["ContentLength"])

    async def list(self, prefix: str) -> list[str]:
        full_prefix = self.prefix + check_prefix(prefix)
        keys = await asyncio.to_thread(self._list_keys, full_prefix)
        return sorted(key.removeprefix(self.prefix) for key in keys)

    def _list_keys(self, full_prefix: str) -> builtins.list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(
                Bucket=self.bucket, Prefix=full_prefix, PaginationConfig={"PageSize": S3_LIST_PAGE}
            )
            for item in page.get("Contents", ())
        ]

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    async def delete_prefix(self, prefix: str) -> int:
        full_prefix = self.prefix + check_prefix(prefix)
        return await asyncio.to_thread(self._delete_prefix, full_prefix)

    def _delete_prefix(self, full_prefix: str) -> int:
        removed = 0
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket, Prefix=full_prefix, PaginationConfig={"PageSize": S3_DELETE_BATCH}
        )
        for page in pages:
            objects = [{"Key": item["Key"]} for item in page.get("Contents", ())]
            if not objects:
                continue
            answer = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}
            )
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise OSError(f"S3 refused to delete {first['Key']}: {first.get('Message')}")
            removed += len(objects)
        return removed

    async def close(self) -> None:
        with suppress(Exception):
            self.client.close()


_BOTO3_LOCK = threading.Lock()


@functools.cache
def _boto3_session() -> Any:
    """One boto3 session for the process: it loads the service models once, so making a client
    (one per app, one per job) costs milliseconds instead of a tenth of a second."""
    import boto3

    return boto3.session.Session()


def _transfer_config(size: int) -> Any:
    """Multipart transfers in 16 MiB parts, 4 at a time: memory stays near 64 MiB whatever the
    file's size. Parts grow past 16 MiB only where S3's 10 000-part limit needs it."""
    from boto3.s3.transfer import TransferConfig

    part = max(S3_PART_BYTES, -(-size // (S3_MAX_PARTS - 1)))
    return TransferConfig(
        multipart_threshold=S3_PART_BYTES,
        multipart_chunksize=part,
        max_concurrency=S3_CONCURRENCY,
        io_chunksize=256 * 1024,
        max_io_queue=64,
    )


def _error_code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _missing_or(error: Exception, key: str) -> Exception:
    return ObjectNotFound(key) if _error_code(error) in S3_MISSING_CODES else error


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
