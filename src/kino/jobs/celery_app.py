"""Distributed mode: Celery carries job ids from the API to `kino worker` processes.

The message is only a wake-up; the row says what to do. Messages are acknowledged late (after
the job's attempt ends) and rejected when the worker process is lost, so a job is not dropped
when a worker dies. With the Redis broker an unacknowledged message returns only after the
visibility timeout, so every worker also sweeps: at start and every ``job_sweep_seconds`` it
queues again the jobs whose holder stopped writing heartbeats and re-dispatches queued jobs
whose message was lost.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Coroutine, Sequence
from typing import Any

import structlog
from celery import Celery
from celery.signals import worker_ready, worker_shutting_down

from kino.core.db import Database, utcnow
from kino.jobs import lifecycle
from kino.jobs.models import Job, JobStatus
from kino.jobs.registry import load_handlers
from kino.jobs.runner import run_job
from kino.models import load_all_models
from kino.settings import Settings

log = structlog.get_logger("kino.jobs")

TASK_NAME = "kino.jobs.run"
QUEUE = "kino.jobs"
# How many forgotten queued jobs one sweep re-dispatches.
SWEEP_BATCH = 500


def create_celery_app(settings: Settings) -> Celery:
    if not settings.broker_url:
        raise ValueError("Celery needs KINO_BROKER_URL")
    celery = Celery("kino", broker=settings.broker_url, set_as_current=False)
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        broker_transport_options={"visibility_timeout": settings.broker_visibility_timeout_seconds},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        enable_utc=True,
    )
    runtime = _ProcessRuntime(settings)

    @celery.task(name=TASK_NAME, ignore_result=True)
    def run(job_id: int) -> None:
        runtime.run(_run_and_follow_up(settings, runtime.db, celery, job_id))

    return celery


def send_job(celery: Celery, job_id: int, *, delay_seconds: float = 0) -> None:
    """Publish the job's id; ``delay_seconds`` holds it back (a retry's backoff)."""
    countdown = delay_seconds if delay_seconds > 0 else None
    celery.send_task(TASK_NAME, args=[job_id], queue=QUEUE, countdown=countdown)


class _ProcessRuntime:
    """One event loop and one database pool per worker process, made after the fork."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        self._ensure()
        assert self._db is not None
        return self._db

    def run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        self._ensure()
        assert self._loop is not None
        self._loop.run_until_complete(coroutine)

    def _ensure(self) -> None:
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._loop = asyncio.new_event_loop()
            self._db = Database(self.settings.sqlalchemy_url)


async def _run_and_follow_up(settings: Settings, db: Database, celery: Celery, job_id: int) -> None:
    await run_job(settings, db, job_id, worker=f"{socket.gethostname()}:{os.getpid()}:celery")
    # A retry (or a message that came before the job was due) is sent again, held back until
    # the job's run_after.
    async with db.transaction() as session:
        job = await session.get(Job, job_id)
        if job is None or job.status != JobStatus.QUEUED:
            return
        wait = (job.run_after - utcnow()).total_seconds() if job.run_after else 0.0
    send_job(celery, job_id, delay_seconds=wait)


async def sweep(settings: Settings, celery: Celery) -> list[int]:
    """Queue again jobs abandoned by dead workers, fail those on their last attempt, and
    re-dispatch queued jobs nobody took. Returns the ids dispatched."""
    db = Database(settings.sqlalchemy_url)
    try:
        stale = settings.job_stale_seconds
        failed = await lifecycle.fail_exhausted(db, stale_seconds=stale)
        if failed:
            log.warning("jobs.sweep.failed_abandoned", job_ids=failed)
        requeued = await lifecycle.requeue_abandoned(db, stale_seconds=stale)
        forgotten: list[int] = []
        if await asyncio.to_thread(_broker_queue_is_empty, celery):
            async with db.transaction() as session:
                forgotten = await lifecycle.forgotten_ids(
                    session, quiet_seconds=stale, limit=SWEEP_BATCH
                )
    finally:
        await db.dispose()
    dispatch = sorted(set(requeued) | set(forgotten))
    for job_id in dispatch:
        await asyncio.to_thread(send_job, celery, job_id)
    if dispatch:
        log.info("jobs.sweep.dispatched", job_ids=dispatch, reclaimed=requeued)
    return dispatch


def _broker_queue_is_empty(celery: Celery) -> bool:
    """Whether no message waits in the job queue. While messages wait, a quiet queued job is
    only waiting its turn, and sending it again would only grow the backlog."""
    with celery.connection_for_write() as connection:
        try:
            declared = connection.default_channel.queue_declare(queue=QUEUE, passive=True)
        except connection.channel_errors:  # no such queue (Redis: an empty one) holds nothing
            return True
    return int(declared.message_count) == 0


class _Sweeper:
    """Sweeps in a thread of the worker's main process, from ``worker_ready`` until shutdown."""

    def __init__(self, settings: Settings, celery: Celery) -> None:
        self.settings = settings
        self.celery = celery
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kino-jobs-sweeper", daemon=True)

    def start(self, **_signal: Any) -> None:
        self._thread.start()

    def stop(self, **_signal: Any) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                asyncio.run(sweep(self.settings, self.celery))
            except Exception as error:  # the database or broker may be briefly away
                log.warning("jobs.sweep.failed", error=repr(error))
            self._stop.wait(self.settings.job_sweep_seconds)


def run_worker(settings: Settings, *, include: Sequence[str] = (), concurrency: int = 1) -> None:
    """Run the Celery worker (blocks until it is stopped)."""
    load_all_models()
    load_handlers(include)
    celery = create_celery_app(settings)
    sweeper = _Sweeper(settings, celery)
    worker_ready.connect(sweeper.start, weak=False)
    worker_shutting_down.connect(sweeper.stop, weak=False)
    celery.worker_main(
        [
            "worker",
            f"--concurrency={max(concurrency, 1)}",
            "--pool=prefork",
            f"--queues={QUEUE}",
            f"--hostname=kino-{os.getpid()}@{socket.gethostname()}",
            f"--loglevel={settings.log_level.upper()}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )
