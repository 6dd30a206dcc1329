"""The job queue of the app, for endpoints that start jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from kino.jobs.queue import JobQueue


async def _job_queue(request: Request) -> JobQueue:
    queue: JobQueue = request.app.state.jobs
    return queue


AppJobQueue = Annotated[JobQueue, Depends(_job_queue)]
