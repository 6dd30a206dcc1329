from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kino.media.models import AssetKind, RenditionKind


class AttachVideo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upload_id: str = Field(min_length=1, max_length=64)


class JobAccepted(BaseModel):
    job_id: int


class RenditionRead(BaseModel):
    kind: RenditionKind
    playlist: str
    codecs: str
    bandwidth: int
    average_bandwidth: int
    width: int | None
    height: int | None
    frame_rate: float | None
    language: str | None
    name: str | None
    is_default: bool


class SubtitleTrackRead(BaseModel):
    language: str
    label: str
    created_at: datetime


class MediaRead(BaseModel):
    """The published version of a film's video. Paths are relative to the asset's playback
    root (``master.m3u8`` sits there)."""

    asset_id: int
    kind: AssetKind
    duration_seconds: float | None
    published_at: datetime | None
    source: dict[str, Any]
    renditions: list[RenditionRead]
    poster: str | None
    thumbnails: dict[str, str]
    storyboard: str | None
    subtitles: list[SubtitleTrackRead]
