from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

# Longer than any film (a catalog runtime is at most 2,000 minutes): anything larger is not a
# position in a film but a client error.
MAX_POSITION_SECONDS = 7 * 24 * 3600


class SubtitleOption(BaseModel):
    language: str
    label: str


class PlaybackRead(BaseModel):
    """Where to play a film from: a signed master playlist and what a player shows beside it."""

    movie_id: int
    asset_id: int
    master_url: str
    expires_at: datetime
    resume_position_seconds: float
    duration_seconds: float | None
    poster_url: str | None
    storyboard_url: str | None
    subtitles: list[SubtitleOption]


class ProgressWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # strict: a number, not a string or a boolean; NaN and infinities are refused.
    position_seconds: float = Field(ge=0, le=MAX_POSITION_SECONDS, allow_inf_nan=False, strict=True)


class WatchedMovie(BaseModel):
    id: int
    title: str
    slug: str
    year: int | None
    # Signed like the stream, so only for films the viewer may play; None otherwise.
    poster_url: str | None


class ProgressRead(BaseModel):
    """One film in a viewer's history or continue-watching row."""

    movie: WatchedMovie
    position_seconds: float
    duration_seconds: float | None
    watched: bool
    started_at: datetime
    updated_at: datetime
