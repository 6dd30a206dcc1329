"""Job kinds for the tests only. Imported by the tests (embedded pool) and by
`kino worker --include tests.jobs.sample_jobs` (Celery). Each body notes what it did in the
file named by ``payload["trace"]``, one line per event, so a test in another process can see it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from kino.jobs.registry import job_handler
from kino.jobs.runner import JobCancelled, JobContext, JobFailed, TransientJobError

POLL_SECONDS = 0.01


def note(ctx: JobContext, event: str) -> None:
    trace = ctx.payload.get("trace")
    if trace:
        with Path(trace).open("a") as handle:
            handle.write(f"{event} {ctx.attempt}\n")


def traced(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def wait_for_file(path: Any) -> None:
    while not Path(path).exists():
        await asyncio.sleep(POLL_SECONDS)


@job_handler("test.steps")
async def steps(ctx: JobContext) -> None:
    """Reports ``payload["progress"]`` in stage "encode" (with ``eta``), waits for the
    ``gate`` file when there is one, then finishes."""
    note(ctx, "start")
    await ctx.report("encode", ctx.payload.get("progress", 40), ctx.payload.get("eta"))
    if ctx.payload.get("gate"):
        await wait_for_file(ctx.payload["gate"])
    await ctx.report("publish", 100)
    note(ctx, "done")


@job_handler("test.burst")
async def burst(ctx: JobContext) -> None:
    """Many reports in a row without an ETA, then waits for the gate."""
    note(ctx, "start")
    for progress in (10, 20, 30):
        await ctx.report("encode", progress)
    await wait_for_file(ctx.payload["gate"])


@job_handler("test.flaky")
async def flaky(ctx: JobContext) -> None:
    note(ctx, "start")
    if ctx.attempt < ctx.payload["succeed_on"]:
        raise TransientJobError(f"the service was busy (attempt {ctx.attempt})")
    note(ctx, "done")


@job_handler("test.crash")
async def crash(ctx: JobContext) -> None:
    note(ctx, "start")
    raise RuntimeError("boom")


@job_handler("test.needs_file")
async def needs_file(ctx: JobContext) -> None:
    note(ctx, "start")
    if not Path(ctx.payload["path"]).exists():
        raise JobFailed("The source file is missing; upload it again.")
    note(ctx, "done")


@job_handler("test.wait_for_cancel")
async def wait_for_cancel(ctx: JobContext) -> None:
    note(ctx, "start")
    await ctx.report("encode", 10)
    await ctx.cancelled.wait()
    note(ctx, "stopped")
    raise JobCancelled("stopped on request")


@job_handler("test.ignore_cancel")
async def ignore_cancel(ctx: JobContext) -> None:
    note(ctx, "start")
    await ctx.report("encode", 10)
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        note(ctx, "interrupted")
        raise


@job_handler("test.hang_first_attempt")
async def hang_first_attempt(ctx: JobContext) -> None:
    """The first attempt hangs (its worker is killed in the test); later ones finish."""
    note(ctx, "start")
    if ctx.attempt == 1:
        await ctx.report("hanging", 5)
        await asyncio.sleep(3600)
    await ctx.report("publish", 100)
    note(ctx, "done")
