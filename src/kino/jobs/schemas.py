"""Job shapes in and out of the API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from kino.jobs.models import JobStatus


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    status: JobStatus
    stage: str | None
    progress: float
    eta_seconds: int | None
    attempts: int
    max_attempts: int
    error: str | None
    cancel_requested: bool
    movie_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
