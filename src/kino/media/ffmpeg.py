"""Running ffmpeg: progress from ``-progress pipe:1``, cancellation, and a short error message.

Every media stage that shells out to ffmpeg goes through ``run_ffmpeg`` so that progress,
cancellation and errors behave the same everywhere. Only the tail of stderr is kept, so a
long encode that logs a warning per frame does not grow the worker's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

# (fraction done 0..1, estimated seconds left or None while unknown)
ProgressCallback = Callable[[float, float | None], Awaitable[None]]

STDERR_TAIL_LINES = 40
# How long ffmpeg gets to stop after SIGTERM before it is killed.
TERMINATE_GRACE_SECONDS = 5.0
# No estimate of the time left before this much of the work and time have passed.
ESTIMATE_AFTER_FRACTION = 0.02
ESTIMATE_AFTER_SECONDS = 1.0

_NOISE = re.compile(r"^(Conversion failed!|Error opening output files?:?.*|Exiting normally.*)$")


class FfmpegError(Exception):
    """ffmpeg exited with an error. ``message`` is one short line for people; ``stderr_tail``
    holds ffmpeg's last lines for logs."""

    def __init__(self, message: str, *, stderr_tail: str = "", returncode: int | None = None):
        super().__init__(message)
        self.message = message
        self.stderr_tail = stderr_tail
        self.returncode = returncode


class FfmpegCancelled(Exception):
    """The caller's cancel event was set; ffmpeg was stopped."""


async def run_ffmpeg(
    ffmpeg: str,
    args: list[str],
    *,
    duration: float | None,
    on_progress: ProgressCallback | None = None,
    cancel: asyncio.Event | None = None,
    cwd: Path | None = None,
) -> None:
    """Run ``ffmpeg args`` to completion.

    ``duration`` (seconds of output expected) turns ffmpeg's ``out_time`` into a fraction;
    ``on_progress`` is awaited on every progress report and once with 1.0 at the end. Setting
    ``cancel`` stops ffmpeg (SIGTERM, then SIGKILL) and raises ``FfmpegCancelled``; so does
    cancelling the awaiting task (which then sees ``CancelledError``).
    """
    command = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-progress", "pipe:1"]
    if not any(arg in ("-loglevel", "-v") for arg in args):
        command += ["-loglevel", "error"]
    process = await asyncio.create_subprocess_exec(
        *command,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
    )
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    assert process.stdout is not None
    assert process.stderr is not None
    progress = _Progress(duration, on_progress)
    readers = asyncio.gather(
        _read_progress(process.stdout, progress), _read_stderr(process.stderr, tail)
    )
    try:
        cancelled = await _wait(process, readers, cancel)
    except BaseException:
        await _stop(process)
        readers.cancel()
        with contextlib.suppress(BaseException):
            await readers
        raise
    if cancelled:
        raise FfmpegCancelled("the ffmpeg run was cancelled")
    if process.returncode != 0:
        raise FfmpegError(
            _summarize(tail, process.returncode),
            stderr_tail="\n".join(tail),
            returncode=process.returncode,
        )
    await progress.finish()


async def _wait(
    process: asyncio.subprocess.Process,
    readers: asyncio.Future[tuple[None, None]],
    cancel: asyncio.Event | None,
) -> bool:
    """Wait for ffmpeg to finish (True when it was stopped because ``cancel`` was set)."""
    if cancel is None:
        await readers
        await process.wait()
        return False
    cancel_wait = asyncio.ensure_future(cancel.wait())
    try:
        waiting: set[asyncio.Future[Any]] = {readers, cancel_wait}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        cancel_wait.cancel()
    if readers.done() and not cancel.is_set():
        await readers  # re-raises a reader's error (a progress callback that failed)
        await process.wait()
        return False
    await _stop(process)
    readers.cancel()
    with contextlib.suppress(BaseException):
        await readers
    return True


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.shield(process.wait()), TERMINATE_GRACE_SECONDS)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


class _Progress:
    def __init__(self, duration: float | None, callback: ProgressCallback | None) -> None:
        self.duration = duration if duration and duration > 0 else None
        self.callback = callback
        self.fraction = 0.0
        self.started = time.monotonic()

    async def report(self, out_time_us: int) -> None:
        if self.callback is None or self.duration is None:
            return
        # Monotonic: ffmpeg's out_time can step back when outputs advance unevenly.
        self.fraction = max(self.fraction, min(1.0, out_time_us / 1e6 / self.duration))
        await self.callback(self.fraction, self._seconds_left())

    def _seconds_left(self) -> float | None:
        elapsed = time.monotonic() - self.started
        if self.fraction < ESTIMATE_AFTER_FRACTION or elapsed < ESTIMATE_AFTER_SECONDS:
            return None
        return elapsed / self.fraction * (1.0 - self.fraction)

    async def finish(self) -> None:
        if self.callback is not None:
            self.fraction = 1.0
            await self.callback(1.0, 0.0)


async def _read_progress(stream: asyncio.StreamReader, progress: _Progress) -> None:
    async for raw in stream:
        key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
        # out_time_us is "N/A" until the first frame is written.
        if key == "out_time_us" and value.lstrip("-").isdigit():
            await progress.report(max(0, int(value)))


async def _read_stderr(stream: asyncio.StreamReader, tail: deque[str]) -> None:
    # Chunks rather than lines: one enormous line must not be buffered whole.
    pending = b""
    while chunk := await stream.read(65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            _keep(tail, line)
        pending = pending[-4096:]
    _keep(tail, pending)


def _keep(tail: deque[str], line: bytes) -> None:
    text = line.decode("utf-8", "replace").rstrip("\r").strip()
    if text:
        tail.append(text[:1000])


def _summarize(tail: deque[str], returncode: int | None) -> str:
    for line in reversed(tail):
        if not _NOISE.match(line):
            return f"ffmpeg failed: {line}"[:300]
    return f"ffmpeg failed with exit status {returncode}"
