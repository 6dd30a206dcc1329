"""The embedded worker pool: runs jobs inside `kino serve`, ``size`` at a time.

One pool per process at most. Several processes (Granian workers) may each run one against the
same database: a job goes to whichever claims it first (``run_job`` claims with a conditional
UPDATE). The pool starts jobs when woken by an enqueue in this process, when a job of its own
ends, and every ``job_poll_seconds`` (jobs enqueued by other processes, retries that became
due, and running jobs abandoned by a process that died, the first time at start).
"""

from __future__ import annotations

import asyncio
import os
import socket

import structlog

from kino.core.db import Database, utcnow
from kino.jobs import lifecycle
from kino.jobs.registry import load_handlers
from kino.jobs.runner import run_job, set_within
from kino.settings import Settings

log = structlog.get_logger("kino.jobs")

# The pool running in this process, by process id (a forked child starts with none).
_running_pools: dict[int, WorkerPool] = {}


class WorkerPool:
    def __init__(self, settings: Settings, db: Database, *, size: int) -> None:
        self.settings = settings
        self.db = db
        self.size = max(size, 1)
        self.name = f"{socket.gethostname()}:{os.getpid()}:pool"
        self._wake: asyncio.Event | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._jobs: dict[int, asyncio.Task[None]] = {}

    @property
    def running(self) -> bool:
        return self._dispatcher is not None

    async def start(self) -> bool:
        """Start the pool; False (and a warning) when this process already runs one."""
        pid = os.getpid()
        if pid in _running_pools or self.running:
            log.warning("jobs.pool.already_running", pid=pid)
            return False
        load_handlers()
        _running_pools[pid] = self
        self._wake = asyncio.Event()
        self._dispatcher = asyncio.create_task(self._dispatch(), name="kino-jobs-pool")
        log.info("jobs.pool.started", size=self.size, worker=self.name)
        return True

    def wake(self) -> None:
        """Look for jobs now (a job was enqueued in this process)."""
        if self._wake is not None:
            self._wake.set()

    async def stop(self) -> None:
        """Stop taking jobs; running jobs are stopped and queued again for the next start."""
        dispatcher, self._dispatcher = self._dispatcher, None
        if dispatcher is None:
            return
        dispatcher.cancel()
        jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()
        await asyncio.gather(dispatcher, *jobs, return_exceptions=True)
        self._jobs.clear()
        if _running_pools.get(os.getpid()) is self:
            del _running_pools[os.getpid()]
        log.info("jobs.pool.stopped", worker=self.name)

    async def _dispatch(self) -> None:
        assert self._wake is not None
        while True:
            self._wake.clear()
            wait = self.settings.job_poll_seconds
            free = self.size - len(self._jobs)
            if free > 0:
                job_ids, next_due = await self._runnable(free)
                for job_id in job_ids:
                    self._start_job(job_id)
                if next_due is not None:
                    wait = min(wait, next_due)
            await set_within(self._wake, wait)

    async def _runnable(self, limit: int) -> tuple[list[int], float | None]:
        """Jobs to start now, and how soon a waiting retry becomes due."""
        try:
            # One instant for both questions: a job is either due then or counted as waiting.
            now = utcnow()
            async with self.db.transaction() as session:
                job_ids = await lifecycle.runnable_ids(
                    session,
                    now,
                    stale_seconds=self.settings.job_stale_seconds,
                    limit=limit,
                    exclude=set(self._jobs),
                )
                return job_ids, await lifecycle.seconds_until_next_due(session, now)
        except Exception as error:  # the database may be briefly away; poll again later
            log.warning("jobs.pool.poll_failed", error=repr(error))
            return [], None

    def _start_job(self, job_id: int) -> None:
        task = asyncio.create_task(
            run_job(self.settings, self.db, job_id, worker=self.name), name=f"kino-job-{job_id}"
        )
        self._jobs[job_id] = task
        task.add_done_callback(lambda done: self._job_done(job_id, done))

    def _job_done(self, job_id: int, task: asyncio.Task[None]) -> None:
        if self._jobs.get(job_id) is task:
            del self._jobs[job_id]
        if not task.cancelled() and task.exception() is not None:
            # The database failed under the runner; the next poll tries again.
            log.error("jobs.pool.job_error", job_id=job_id, error=repr(task.exception()))
            return
        self.wake()
