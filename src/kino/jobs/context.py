"""What a job body gets (``JobContext``) and how it says a job cannot go on."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from kino.core.db import Database
from kino.jobs import lifecycle
from kino.jobs.lifecycle import Claim
from kino.settings import Settings


class JobFailed(Exception):
    """A permanent failure: the message is shown to managers in ``job.error``; no retry."""


class TransientJobError(Exception):
    """A failure worth another try (a network blip, a busy service): retried with exponential
    backoff while attempts remain."""


class JobCancelled(Exception):
    """Raised by a body that noticed ``ctx.cancelled`` and stopped its work."""


class JobContext:
    """One attempt at one job, as its body sees it.

    ``cancelled`` is set soon after a cancel is requested (the heartbeat reads the row), or
    when this process lost the job to another; the body stops its work (ffmpeg included) and
    raises ``JobCancelled``.
    """

    def __init__(self, claim: Claim, *, settings: Settings, db: Database) -> None:
        self.job_id = claim.job_id
        self.kind = claim.kind
        self.payload: dict[str, Any] = claim.payload
        self.attempt = claim.attempt
        self.settings = settings
        self.db = db
        self.cancelled = asyncio.Event()
        self._claim = claim
        self._lock = asyncio.Lock()
        self._pending: tuple[str, float, int | None] | None = None
        self._written: tuple[str, float, int | None] | None = None
        self._written_at = -math.inf
        self._started_at = time.monotonic()
        self._start_progress: float | None = None

    async def report(self, stage: str, progress: float, eta_seconds: float | None = None) -> None:
        """The whole job's progress, 0 to 100, in ``stage``. Without ``eta_seconds`` the time left
        is estimated from the pace so far. Written at most about once per
        ``job_report_interval_seconds`` (a new stage or 100 at once); the last report is always
        written, by the heartbeat or when the job ends."""
        progress = 0.0 if math.isnan(progress) else min(max(progress, 0.0), 100.0)
        if self._start_progress is None:
            self._start_progress = progress
        eta = self._estimate(progress) if eta_seconds is None else eta_seconds
        self._pending = (stage[:32], round(progress, 2), _whole_seconds(eta))
        interval = self.settings.job_report_interval_seconds
        stage_changed = self._written is None or self._written[0] != self._pending[0]
        if stage_changed or progress >= 100 or time.monotonic() - self._written_at >= interval:
            await self.flush()

    def raise_if_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise JobCancelled(f"job {self.job_id} was cancelled")

    async def flush(self) -> None:
        """Write the latest report if it is not written yet."""
        async with self._lock:
            pending = self._pending
            if pending is None or pending == self._written:
                return
            stage, progress, eta = pending
            await lifecycle.write_progress(
                self.db, self._claim, stage=stage, progress=progress, eta_seconds=eta
            )
            self._written = pending
            self._written_at = time.monotonic()

    def _estimate(self, progress: float) -> float | None:
        start = self._start_progress or 0.0
        done = progress - start
        if done < 1 or progress >= 100:
            return None
        elapsed = time.monotonic() - self._started_at
        return elapsed * (100 - progress) / done


def _whole_seconds(eta: float | None) -> int | None:
    if eta is None or math.isnan(eta) or eta < 0:
        return None
    return min(round(eta), 2**31 - 1)
