"""Resumable uploads (the rules behind tus 1.0 at ``/api/v1/uploads``).

An upload's bytes are appended to ``{uploads_dir}/{id}``, named by the upload's random id and
never by anything the client sent. The row's ``offset`` is the truth about how many bytes were
received: it is recorded after each request's bytes are written, and bytes past it (a request
that died half-way, a chunk whose checksum failed) are cut off before the next write. When the
last byte arrives, the file goes into storage at ``sources/uploads/{id}`` (a rename for a local
directory) and ``completed_at`` is set.

No database transaction stays open while a body arrives (that may take hours): the functions
that receive bytes take the ``Database`` and open short units of work around the transfer. One
request at a time writes to an upload, enforced by a lock on ``{id}.lock`` that holds across
processes; the second gets ``UploadBusy``.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import re
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import structlog
from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kino.core.db import Database, utcnow
from kino.identity.models import Role, User
from kino.media.errors import (
    ChecksumMismatch,
    UnsupportedChecksum,
    UploadBusy,
    UploadExpired,
    UploadIncomplete,
    UploadNotFound,
    UploadOffsetMismatch,
    UploadTooLarge,
)
from kino.media.models import Upload
from kino.media.storage import Storage
from kino.settings import Settings

log = structlog.get_logger("kino.media.uploads")

CHECKSUM_ALGORITHMS = ("sha1", "sha256", "md5")
WRITE_BATCH_BYTES = 1024 * 1024  # what a request holds in memory before it writes to disk
EXPIRED_PER_SWEEP = 100
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_UPLOAD_FILE = re.compile(r"[0-9a-f]{32}(\.lock)?")


class BodyInterrupted(Exception):
    """Raised by a body iterator when the sender went away before the end of the body."""


@dataclass(frozen=True)
class Checksum:
    """A client's checksum of one request's bytes (``Upload-Checksum``)."""

    algorithm: str
    digest: bytes

    def __post_init__(self) -> None:
        if self.algorithm not in CHECKSUM_ALGORITHMS:
            names = ", ".join(CHECKSUM_ALGORITHMS)
            raise UnsupportedChecksum(
                f"The checksum algorithm {self.algorithm!r} is not supported; use one of {names}.",
                details={"supported": list(CHECKSUM_ALGORITHMS)},
            )


def upload_source_key(upload_id: str) -> str:
    """Where a completed upload's bytes are in storage."""
    return f"sources/uploads/{upload_id}"


def upload_file(settings: Settings, upload_id: str) -> Path:
    """The file an unfinished upload is assembled in."""
    return settings.uploads_dir / _checked_id(upload_id)


# --- the integrator's view --------------------------------------------------------------


async def completed_upload(session: AsyncSession, user: User, upload_id: str) -> Upload:
    """The caller's finished upload (an admin may use anyone's): ``UploadNotFound`` when there
    is no such upload or it is someone else's, ``UploadIncomplete`` when bytes are missing."""
    upload = await session.get(Upload, upload_id) if _UPLOAD_ID.fullmatch(upload_id) else None
    if upload is None or (upload.owner_id != user.id and user.role != Role.ADMIN):
        raise UploadNotFound()
    if upload.completed_at is None:
        raise UploadIncomplete(offset=upload.offset, length=upload.length)
    return upload


async def expire_uploads(session: AsyncSession, settings: Settings, storage: Storage) -> int:
    """Remove unfinished uploads whose time ran out (rows, files); returns how many."""
    expired = (
        await session.scalars(
            select(Upload)
            .where(Upload.completed_at.is_(None), Upload.expires_at <= utcnow())
            .order_by(Upload.expires_at)
            .limit(EXPIRED_PER_SWEEP)
        )
    ).all()
    removed = 0
    for upload in expired:
        try:
            with _upload_lock(settings, upload.id, remove=True):
                await _remove(session, settings, storage, upload)
        except UploadBusy:  # bytes are arriving right now; the next sweep will see
            continue
        removed += 1
    if removed:
        log.info("media.upload.expired", count=removed)
    await _remove_orphaned_files(session, settings)
    return removed


async def _remove_orphaned_files(session: AsyncSession, settings: Settings) -> None:
    """Files of uploads whose rows went another way (their owner was deleted, a crash between
    the row and the file): once older than the expiry, nobody will resume them."""
    cutoff = time.time() - settings.upload_expiry_seconds
    stale = await asyncio.to_thread(_stale_upload_files, settings.uploads_dir, cutoff)
    if not stale:
        return
    ids = {_upload_id_of(path) for path in stale}
    known = set(await session.scalars(select(Upload.id).where(Upload.id.in_(ids))))
    for path in stale:
        if _upload_id_of(path) not in known:
            path.unlink(missing_ok=True)


def _stale_upload_files(directory: Path, cutoff: float) -> list[Path]:
    stale: list[Path] = []
    with suppress(FileNotFoundError), os.scandir(directory) as entries:
        for entry in entries:
            with suppress(FileNotFoundError):  # removed meanwhile
                if _UPLOAD_FILE.fullmatch(entry.name) and entry.stat().st_mtime < cutoff:
                    stale.append(Path(entry.path))
            if len(stale) >= EXPIRED_PER_SWEEP:
                break
    return stale


def _upload_id_of(path: Path) -> str:
    return path.name.removesuffix(".lock")


# --- tus: creation, status, termination -------------------------------------------------


async def create_upload(
    db: Database,
    settings: Settings,
    storage: Storage,
    owner: User,
    *,
    length: int,
    metadata: dict[str, str],
) -> Upload:
    """A new, empty upload of ``length`` bytes."""
    if length > settings.max_upload_bytes:
        raise UploadTooLarge(
            f"The upload is {length} bytes; the most accepted is {settings.max_upload_bytes}.",
            details={"length": length, "max": settings.max_upload_bytes},
        )
    async with db.transaction() as session:
        await expire_uploads(session, settings, storage)
        upload = Upload(
            id=secrets.token_hex(16),
            owner_id=owner.id,
            length=length,
            offset=0,
            metadata_=metadata,
            expires_at=_expiry(settings),
        )
        session.add(upload)
    log.info("media.upload.created", upload_id=upload.id, length=length, owner_id=str(owner.id))
    if length == 0:
        return await _complete(db, storage, settings, upload)
    return upload


async def find_upload(
    db: Database, settings: Settings, storage: Storage, owner: User, upload_id: str
) -> Upload:
    """The caller's upload. One that expired unfinished is removed and is ``UploadExpired``."""
    if not _UPLOAD_ID.fullmatch(upload_id):
        raise UploadNotFound()
    async with db.transaction() as session:
        upload = await session.get(Upload, upload_id)
        if upload is None or upload.owner_id != owner.id:
            raise UploadNotFound()
        expired = _is_expired(upload)
        if expired:
            with suppress(UploadBusy), _upload_lock(settings, upload_id, remove=True):
                await _remove(session, settings, storage, upload)
    if expired:
        raise UploadExpired()
    return upload


async def delete_upload(
    db: Database, settings: Settings, storage: Storage, owner: User, upload_id: str
) -> None:
    """Terminate the upload: its row, its partial file, and the stored object when complete."""
    await find_upload(db, settings, storage, owner, upload_id)
    with _upload_lock(settings, upload_id, remove=True):
        async with db.transaction() as session:
            upload = await session.get(Upload, upload_id)
            if upload is None:
                raise UploadNotFound()
            await _remove(session, settings, storage, upload)
    log.info("media.upload.deleted", upload_id=upload_id)


# --- tus: receiving bytes ---------------------------------------------------------------


async def receive_chunk(
    db: Database,
    settings: Settings,
    storage: Storage,
    owner: User,
    upload_id: str,
    *,
    offset: int,
    body: AsyncIterator[bytes],
    body_length: int | None = None,
    checksum: Checksum | None = None,
) -> Upload:
    """Append ``body`` at ``offset``. A body cut off by the client keeps what arrived (unless it
    carried a checksum, which can only vouch for the whole); a checksum mismatch or a body past
    the upload's length discards the request's bytes and raises."""
    upload = await find_upload(db, settings, storage, owner, upload_id)
    if upload.completed_at is not None:
        return await _nothing_more_to_receive(upload, offset, body)
    with _upload_lock(settings, upload_id) as lock:
        upload = await _reconcile(db, settings, storage, upload_id)
        if upload.completed_at is not None:
            lock.remove = True
            return await _nothing_more_to_receive(upload, offset, body)
        if offset != upload.offset:
            raise UploadOffsetMismatch(expected=upload.offset, received=offset)
        remaining = upload.length - upload.offset
        if body_length is not None and body_length > remaining:
            raise _past_the_end(upload)
        received = await _append(
            upload_file(settings, upload_id), upload, body, limit=remaining, checksum=checksum
        )
        upload = await _record_offset(db, settings, upload, upload.offset + received)
        if upload.offset == upload.length:
            upload = await _complete(db, storage, settings, upload)
            lock.remove = True
    return upload


async def _nothing_more_to_receive(
    upload: Upload, offset: int, body: AsyncIterator[bytes]
) -> Upload:
    """A request to a complete upload: fine when it sends nothing at the right offset."""
    if offset != upload.offset:
        raise UploadOffsetMismatch(expected=upload.offset, received=offset)
    async for chunk in body:
        if chunk:
            raise _past_the_end(upload)
    return upload


def _past_the_end(upload: Upload) -> UploadTooLarge:
    return UploadTooLarge(
        f"The upload is {upload.length} bytes and has {upload.offset}; "
        "this request sends more than the rest.",
        details={"offset": upload.offset, "length": upload.length},
    )


async def _reconcile(db: Database, settings: Settings, storage: Storage, upload_id: str) -> Upload:
    """Under the lock: make the file and the row agree. Bytes past the recorded offset were never
    acknowledged and are cut off; a file shorter than the offset (lost) lowers the offset, and
    the client, answered 409, asks for the offset again and resumes from there."""
    path = upload_file(settings, upload_id)
    async with db.transaction() as session:
        upload = await session.get(Upload, upload_id)
        if upload is None:
            raise UploadNotFound()
        if upload.completed_at is not None:
            return upload
        if upload.offset == upload.length and upload.length > 0:
            # The last request moved the file into storage but died before it was recorded.
            if await storage.size(upload_source_key(upload_id)) == upload.length:
                return upload
        size = await asyncio.to_thread(_truncate_to, path, upload.offset)
        if size < upload.offset:
            log.warning("media.upload.bytes_lost", upload_id=upload_id, had=upload.offset, has=size)
            upload.offset = size
    if upload.offset == upload.length:
        return await _complete(db, storage, settings, upload)
    return upload


def _truncate_to(path: Path, offset: int) -> int:
    """Cut the file to ``offset`` bytes when longer (creating it when missing); its new size."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size > offset:
            os.ftruncate(fd, offset)
            return offset
        return size
    finally:
        os.close(fd)


async def _append(
    path: Path,
    upload: Upload,
    body: AsyncIterator[bytes],
    *,
    limit: int,
    checksum: Checksum | None,
) -> int:
    """Write ``body`` at the upload's offset, a batch at a time (memory stays bounded whatever
    the body's size); returns how many bytes are kept. On any failure the file is cut back to
    where this request started."""
    start = upload.offset
    hasher = hashlib.new(checksum.algorithm) if checksum else None
    fd = await asyncio.to_thread(os.open, path, os.O_WRONLY | os.O_CREAT, 0o600)
    written = 0
    batch = bytearray()
    try:
        try:
            async for chunk in body:
                if written + len(batch) + len(chunk) > limit:
                    raise _past_the_end(upload)
                batch += chunk
                if len(batch) >= WRITE_BATCH_BYTES:
                    written += await asyncio.to_thread(_write, fd, start + written, batch, hasher)
                    batch.clear()
        except BodyInterrupted:
            if checksum:  # a checksum vouches for the whole body only
                raise
            written += await asyncio.to_thread(_write, fd, start + written, batch, None)
            log.info("media.upload.interrupted", upload_id=upload.id, kept=written)
            return written
        written += await asyncio.to_thread(_write, fd, start + written, batch, hasher)
        if checksum and hasher and hasher.digest() != checksum.digest:
            raise ChecksumMismatch(checksum.algorithm)
        return written
    except BaseException:
        os.ftruncate(fd, start)  # synchronous: it must happen before the descriptor closes
        raise
    finally:
        os.close(fd)


def _write(fd: int, position: int, data: bytearray, hasher: hashlib._Hash | None) -> int:
    view = memoryview(data)
    while view:
        done = os.pwrite(fd, view, position)
        view = view[done:]
        position += done
    if hasher is not None:
        hasher.update(data)
    return len(data)


async def _record_offset(db: Database, settings: Settings, upload: Upload, offset: int) -> Upload:
    """Store the new offset, on the condition that nobody else moved it meanwhile."""
    if offset == upload.offset:
        return upload
    expires_at = _expiry(settings)
    async with db.transaction() as session:
        changed = await session.execute(
            update(Upload)
            .where(Upload.id == upload.id, Upload.offset == upload.offset)
            .values(offset=offset, expires_at=expires_at)
        )
        if cast(CursorResult[tuple[()]], changed).rowcount != 1:
            raise UploadBusy()
    upload.offset, upload.expires_at = offset, expires_at
    return upload


async def _complete(db: Database, storage: Storage, settings: Settings, upload: Upload) -> Upload:
    """Every byte arrived: into storage with the file (renamed, never copied, when storage is a
    local directory on the same file system), then the upload is complete."""
    key = upload_source_key(upload.id)
    path = upload_file(settings, upload.id)
    if upload.length == 0:
        await storage.put_bytes(key, b"")
    elif path.exists():
        await storage.put_file(key, path, move=True)
    completed_at = utcnow()
    async with db.transaction() as session:
        await session.execute(
            update(Upload).where(Upload.id == upload.id).values(completed_at=completed_at)
        )
    upload.completed_at = completed_at
    log.info("media.upload.completed", upload_id=upload.id, length=upload.length)
    return upload


async def _remove(
    session: AsyncSession, settings: Settings, storage: Storage, upload: Upload
) -> None:
    await session.delete(upload)
    await session.flush()
    upload_file(settings, upload.id).unlink(missing_ok=True)
    await storage.delete(upload_source_key(upload.id))


# --- helpers ----------------------------------------------------------------------------


def _checked_id(upload_id: str) -> str:
    if not _UPLOAD_ID.fullmatch(upload_id):
        raise UploadNotFound()
    return upload_id


def _expiry(settings: Settings) -> datetime:
    return utcnow() + timedelta(seconds=settings.upload_expiry_seconds)


def _is_expired(upload: Upload) -> bool:
    return upload.completed_at is None and upload.expires_at <= utcnow()


@dataclass
class _HeldLock:
    remove: bool  # set when the upload is finished or gone: its lock file goes too


@contextmanager
def _upload_lock(
    settings: Settings, upload_id: str, *, remove: bool = False
) -> Iterator[_HeldLock]:
    """One writer per upload, across processes: an exclusive ``flock`` on ``{id}.lock``, taken
    without waiting (``UploadBusy`` when held). A separate lock file, not the data file, because
    the data file is renamed away when the upload completes.

    A lock file removed while another request waits for it leaves that request holding a lock
    nobody else can see; harmless, since by then the row is complete or gone and nothing more
    is written."""
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    path = settings.uploads_dir / f"{_checked_id(upload_id)}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UploadBusy() from None
        held = _HeldLock(remove)
        yield held
        if held.remove:
            path.unlink(missing_ok=True)
    finally:
        os.close(fd)
