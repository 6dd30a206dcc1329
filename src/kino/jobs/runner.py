"""``run_job``: claim one job, run its body with a heartbeat beside it, record what happened.

The same function runs jobs in the embedded pool and in Celery workers; the row is the truth
in both, so a job that two messages or two pools point at still runs once at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from kino.core.db import Database
from kino.jobs import lifecycle
from kino.jobs.context import JobCancelled, JobContext, JobFailed, TransientJobError
from kino.jobs.lifecycle import Claim
from kino.jobs.models import JobStatus
from kino.jobs.registry import JobHandler, handler_for
from kino.settings import Settings

__all__ = [
    "JobCancelled",
    "JobContext",
    "JobFailed",
    "TransientJobError",
    "retry_delay",
    "run_job",
    "set_within",
]

log = structlog.get_logger("kino.jobs")


async def run_job(settings: Settings, db: Database, job_id: int, *, worker: str) -> None:
    """Run the job if it is ours to run: due and queued, or abandoned by a process that died.
    Returns quietly when another process holds it, or it is finished, cancelled or not due."""
    claim = await lifecycle.claim(
        db, job_id, worker=worker, stale_seconds=settings.job_stale_seconds
    )
    if claim is None:
        stale = settings.job_stale_seconds
        if await lifecycle.fail_exhausted(db, stale_seconds=stale, job_id=job_id):
            log.warning("jobs.job.abandoned", job_id=job_id)
        return
    await _run_claimed(settings, db, claim)


def retry_delay(settings: Settings, attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: the base delay, doubled per attempt, capped."""
    delay = settings.job_retry_base_seconds * 2 ** max(attempt - 1, 0)
    return float(min(delay, settings.job_retry_max_seconds))


async def _run_claimed(settings: Settings, db: Database, claim: Claim) -> None:
    bound = log.bind(job_id=claim.job_id, kind=claim.kind, attempt=claim.attempt)
    handler = handler_for(claim.kind)
    if handler is None:
        bound.error("jobs.job.unknown_kind")
        await lifecycle.finish(
            db, claim, JobStatus.FAILED, error=f"No handler for jobs of kind {claim.kind!r}."
        )
        return
    ctx = JobContext(claim, settings=settings, db=db)
    lost = asyncio.Event()
    done = asyncio.Event()
    bound.info("jobs.job.started")
    started = time.monotonic()
    body = asyncio.create_task(_call(handler, ctx), name=f"job-{claim.job_id}")
    beat = asyncio.create_task(_keep_alive(settings, db, ctx, claim, lost, done))
    try:
        outcome = await _wait_for_body(body, ctx, grace=settings.job_cancel_grace_seconds)
    except asyncio.CancelledError:
        await _give_back(settings, db, claim, body, bound)
        raise
    finally:
        # Told to stop rather than cancelled: a task cancelled inside a database commit can
        # leave its connection waiting for ever, and the job's last write behind it.
        done.set()
        await beat
    if lost.is_set():
        bound.warning("jobs.job.lost", seconds=round(time.monotonic() - started, 3))
        return
    await _flush_quietly(ctx, bound)
    await _record(settings, db, claim, ctx, outcome, bound.bind(seconds=_since(started)))


async def _wait_for_body(
    body: asyncio.Task[None], ctx: JobContext, *, grace: float
) -> BaseException | None:
    """The body's exception (None on success). Once cancelled, the body has ``grace`` seconds
    to stop by itself before its task is cancelled."""
    cancel_seen = asyncio.create_task(ctx.cancelled.wait())
    try:
        await asyncio.wait({body, cancel_seen}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        cancel_seen.cancel()
    if not body.done():
        await asyncio.wait({body}, timeout=grace)
    if not body.done():
        body.cancel()
        await asyncio.wait({body})
    if body.cancelled():
        return JobCancelled("the job was cancelled and did not stop in time")
    return body.exception()


async def _keep_alive(
    settings: Settings,
    db: Database,
    ctx: JobContext,
    claim: Claim,
    lost: asyncio.Event,
    done: asyncio.Event,
) -> None:
    """Every heartbeat interval until ``done``: write the pending progress and the heartbeat,
    and notice a cancel request, or that the job is no longer ours."""
    while not await set_within(done, settings.job_heartbeat_seconds):
        try:
            await ctx.flush()
            cancel_requested = await lifecycle.heartbeat(db, claim)
        except Exception as error:  # the database may be briefly away; try at the next beat
            log.warning("jobs.heartbeat.failed", job_id=claim.job_id, error=repr(error))
            continue
        if cancel_requested is None:
            lost.set()
            ctx.cancelled.set()
            return
        if cancel_requested:
            ctx.cancelled.set()


async def set_within(event: asyncio.Event, seconds: float) -> bool:
    """Waits up to ``seconds`` for ``event``; whether it is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
    return event.is_set()


async def _record(
    settings: Settings,
    db: Database,
    claim: Claim,
    ctx: JobContext,
    outcome: BaseException | None,
    bound: structlog.typing.FilteringBoundLogger,
) -> None:
    if outcome is None:
        await lifecycle.finish(db, claim, JobStatus.SUCCEEDED)
        bound.info("jobs.job.succeeded")
    elif ctx.cancelled.is_set() or isinstance(outcome, JobCancelled):
        await lifecycle.finish(db, claim, JobStatus.CANCELLED)
        bound.info("jobs.job.cancelled")
    elif isinstance(outcome, JobFailed):
        await lifecycle.finish(db, claim, JobStatus.FAILED, error=str(outcome) or "failed")
        bound.info("jobs.job.failed", error=str(outcome))
    else:
        await _retry_or_fail(settings, db, claim, outcome, bound)


async def _retry_or_fail(
    settings: Settings,
    db: Database,
    claim: Claim,
    error: BaseException,
    bound: structlog.typing.FilteringBoundLogger,
) -> None:
    message = _describe(error)
    if isinstance(error, TransientJobError):
        bound.warning("jobs.job.transient_error", error=message)
    else:
        bound.error("jobs.job.crashed", error=message, exc_info=error)
    if claim.attempt < claim.max_attempts:
        delay = retry_delay(settings, claim.attempt)
        if await lifecycle.requeue(db, claim, error=message, delay_seconds=delay):
            bound.info("jobs.job.retry_scheduled", delay_seconds=delay)
            return
        # Not requeued: a cancel was requested while the attempt ran.
        await lifecycle.finish(db, claim, JobStatus.CANCELLED)
        bound.info("jobs.job.cancelled")
        return
    await lifecycle.finish(db, claim, JobStatus.FAILED, error=message)
    bound.info("jobs.job.failed", error=message, attempts=claim.attempt)


async def _give_back(
    settings: Settings,
    db: Database,
    claim: Claim,
    body: asyncio.Task[None],
    bound: structlog.typing.FilteringBoundLogger,
) -> None:
    """This process is stopping: stop the body and queue the job again for whoever is next."""
    body.cancel()
    await asyncio.wait({body}, timeout=settings.job_cancel_grace_seconds)
    try:
        await lifecycle.release(db, claim)
    except Exception as error:  # it goes stale and is taken over instead
        bound.warning("jobs.job.release_failed", error=repr(error))
    else:
        bound.info("jobs.job.released")


async def _flush_quietly(ctx: JobContext, bound: structlog.typing.FilteringBoundLogger) -> None:
    try:
        await ctx.flush()
    except Exception as error:
        bound.warning("jobs.progress.write_failed", error=repr(error))


async def _call(handler: JobHandler, ctx: JobContext) -> None:
    await handler(ctx)


def _describe(error: BaseException) -> str:
    if isinstance(error, TransientJobError):
        return str(error) or "a transient error"
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)
