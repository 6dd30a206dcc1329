"""The job row's transitions while it runs. Each is one conditional UPDATE, so two processes
never both believe they hold a job: a claim succeeds only on a due queued job (or a running one
whose heartbeat went stale), and every later write names the claim's token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Update, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kino.core.db import Database, utcnow
from kino.jobs.models import Job, JobStatus

MAX_ERROR_LENGTH = 500
LOST_ON_LAST_ATTEMPT = "The worker running this job stopped on its last attempt."


@dataclass(frozen=True)
class Claim:
    """A job this process holds: ``token`` is written to ``jobs.worker`` and names the holder."""

    job_id: int
    token: str
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int


def is_due(now: datetime) -> ColumnElement[bool]:
    return and_(Job.status == JobStatus.QUEUED, or_(Job.run_after.is_(None), Job.run_after <= now))


def is_abandoned(stale_before: datetime) -> ColumnElement[bool]:
    """Running, but its holder has not written a heartbeat since ``stale_before``."""
    return and_(
        Job.status == JobStatus.RUNNING,
        or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < stale_before),
    )


def holder_token(worker: str) -> str:
    return f"{worker[:180]}#{secrets.token_hex(6)}"


async def claim(db: Database, job_id: int, *, worker: str, stale_seconds: float) -> Claim | None:
    """Take the job if it is due, or abandoned with attempts left; None when it is not ours."""
    now = utcnow()
    token = holder_token(worker)
    runnable = or_(
        is_due(now),
        and_(
            is_abandoned(now - timedelta(seconds=stale_seconds)),
            Job.attempts < Job.max_attempts,
        ),
    )
    statement = (
        _update()
        .where(Job.id == job_id, runnable)
        .values(
            status=JobStatus.RUNNING,
            worker=token,
            heartbeat_at=now,
            started_at=now,
            finished_at=None,
            run_after=None,
            eta_seconds=None,
            attempts=Job.attempts + 1,
        )
        .returning(Job.kind, Job.payload, Job.attempts, Job.max_attempts)
    )
    async with db.transaction() as session:
        row = (await session.execute(statement)).one_or_none()
    if row is None:
        return None
    return Claim(job_id, token, row.kind, dict(row.payload or {}), row.attempts, row.max_attempts)


async def fail_exhausted(
    db: Database, *, stale_seconds: float, job_id: int | None = None
) -> list[int]:
    """Abandoned jobs on their last attempt fail: their holder died every time it ran them."""
    now = utcnow()
    statement = (
        _update()
        .where(
            is_abandoned(now - timedelta(seconds=stale_seconds)),
            Job.attempts >= Job.max_attempts,
            *([Job.id == job_id] if job_id is not None else []),
        )
        .values(
            status=JobStatus.FAILED,
            error=LOST_ON_LAST_ATTEMPT,
            worker=None,
            eta_seconds=None,
            finished_at=now,
        )
        .returning(Job.id)
    )
    async with db.transaction() as session:
        return list((await session.scalars(statement)).all())


async def requeue_abandoned(db: Database, *, stale_seconds: float) -> list[int]:
    """Queue again the abandoned jobs that have attempts left (the dead attempt counts);
    returns their ids, for a worker to dispatch."""
    now = utcnow()
    statement = (
        _update()
        .where(
            is_abandoned(now - timedelta(seconds=stale_seconds)),
            Job.attempts < Job.max_attempts,
        )
        .values(status=JobStatus.QUEUED, worker=None, heartbeat_at=None, eta_seconds=None)
        .returning(Job.id)
    )
    async with db.transaction() as session:
        return list((await session.scalars(statement)).all())


async def forgotten_ids(session: AsyncSession, *, quiet_seconds: float, limit: int) -> list[int]:
    """Due queued jobs untouched for ``quiet_seconds``: their dispatch may have been lost."""
    now = utcnow()
    statement = (
        select(Job.id)
        .where(is_due(now), Job.updated_at < now - timedelta(seconds=quiet_seconds))
        .order_by(Job.id)
        .limit(limit)
    )
    return list((await session.scalars(statement)).all())


async def heartbeat(db: Database, claim: Claim) -> bool | None:
    """Say the job is still held. Returns whether a cancel was requested, or None when the job
    is no longer ours (another process took it over, or it was changed behind our back)."""
    statement = (
        _update().where(*_held(claim)).values(heartbeat_at=utcnow()).returning(Job.cancel_requested)
    )
    async with db.transaction() as session:
        cancel_requested = (await session.execute(statement)).scalar_one_or_none()
    return cancel_requested


async def write_progress(
    db: Database, claim: Claim, *, stage: str, progress: float, eta_seconds: int | None
) -> None:
    statement = (
        _update()
        .where(*_held(claim))
        .values(stage=stage, progress=progress, eta_seconds=eta_seconds, heartbeat_at=utcnow())
    )
    async with db.transaction() as session:
        await session.execute(statement)


async def finish(
    db: Database, claim: Claim, status: JobStatus, *, error: str | None = None
) -> bool:
    """Record the outcome of the attempt: succeeded, failed or cancelled."""
    values: dict[str, Any] = {
        "status": status,
        "error": _short(error),
        "worker": None,
        "eta_seconds": None,
        "finished_at": utcnow(),
    }
    if status == JobStatus.SUCCEEDED:
        values["progress"] = 100.0
    async with db.transaction() as session:
        return _changed(await session.execute(_update().where(*_held(claim)).values(values)))


async def requeue(db: Database, claim: Claim, *, error: str, delay_seconds: float) -> bool:
    """Queue the job again after ``delay_seconds``, unless a cancel was requested meanwhile."""
    now = utcnow()
    statement = (
        _update()
        .where(*_held(claim), Job.cancel_requested.is_(False))
        .values(
            status=JobStatus.QUEUED,
            error=_short(error),
            worker=None,
            heartbeat_at=None,
            eta_seconds=None,
            run_after=now + timedelta(seconds=delay_seconds),
        )
    )
    async with db.transaction() as session:
        return _changed(await session.execute(statement))


async def release(db: Database, claim: Claim) -> bool:
    """Give the job back untouched (this process is stopping): queued at once, the attempt not
    counted, so the next pool or worker starts it again without waiting for it to go stale."""
    statement = (
        _update()
        .where(*_held(claim))
        .values(
            status=JobStatus.QUEUED,
            worker=None,
            heartbeat_at=None,
            eta_seconds=None,
            run_after=None,
            attempts=Job.attempts - 1,
        )
    )
    async with db.transaction() as session:
        return _changed(await session.execute(statement))


async def runnable_ids(
    session: AsyncSession, now: datetime, *, stale_seconds: float, limit: int, exclude: set[int]
) -> list[int]:
    """Jobs a pool could start ``now``, oldest first: due queued jobs and abandoned running
    ones."""
    statement = (
        select(Job.id)
        .where(or_(is_due(now), is_abandoned(now - timedelta(seconds=stale_seconds))))
        .order_by(Job.id)
        .limit(limit + len(exclude))
    )
    ids = (await session.scalars(statement)).all()
    return [job_id for job_id in ids if job_id not in exclude][:limit]


async def seconds_until_next_due(session: AsyncSession, now: datetime) -> float | None:
    """How long after ``now`` the earliest queued job that waits for its ``run_after`` is due."""
    statement = select(func.min(Job.run_after)).where(
        Job.status == JobStatus.QUEUED, Job.run_after > now
    )
    earliest = await session.scalar(statement)
    if earliest is None:
        return None
    return max((earliest - now).total_seconds(), 0.0)


def _update() -> Update:
    # The rows are not loaded in these short sessions: nothing to synchronise.
    return update(Job).execution_options(synchronize_session=False)


def _held(claim: Claim) -> tuple[ColumnElement[bool], ...]:
    return (Job.id == claim.job_id, Job.worker == claim.token, Job.status == JobStatus.RUNNING)


def _changed(result: Any) -> bool:
    return bool(result.rowcount)


def _short(error: str | None) -> str | None:
    if error is None:
        return None
    error = error.strip() or "failed"
    return error if len(error) <= MAX_ERROR_LENGTH else error[: MAX_ERROR_LENGTH - 1] + "…"
