from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kino.core.db import Base, BigIntId, UTCDateTime, str_enum, utcnow


class Upload(Base):
    """A tus upload: its bytes are assembled under ``Settings.uploads_dir`` until complete."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    # The client's Upload-Metadata, decoded (filename, filetype …); shown, never used as a path.
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AssetState(enum.StrEnum):
    BUILDING = "building"
    PUBLISHED = "published"
    RETIRED = "retired"
    FAILED = "failed"


class AssetKind(enum.StrEnum):
    REMUX = "remux"  # the source repackaged without re-encoding: playable within seconds
    LADDER = "ladder"  # the full adaptive ladder


class MediaAsset(Base):
    """One version of a film's video: everything under ``assets/{id}/`` in storage.

    A film plays the asset that is ``published``; publishing a new one retires the old in the
    same transaction, and a partial unique index keeps it to one.
    """

    __tablename__ = "media_assets"
    __table_args__ = (
        Index(
            "ix_media_assets_one_published",
            "movie_id",
            unique=True,
            sqlite_where=text("state = 'published'"),
            postgresql_where=text("state = 'published'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    movie_id: Mapped[int] = mapped_column(ForeignKey("movies.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    kind: Mapped[AssetKind] = mapped_column(str_enum(AssetKind, "asset_kind"))
    state: Mapped[AssetState] = mapped_column(
        str_enum(AssetState, "asset_state"), default=AssetState.BUILDING
    )
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    # What the probe found: container, video codec, size, rotation, frame rate, HDR, audio.
    source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Object keys relative to ``assets/{id}/`` (poster, thumbnails, storyboard).
    images: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a newer asset replaced it; its objects stay for the playback TTL, then are purged.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    renditions: Mapped[list[Rendition]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Rendition.position"
    )

    @property
    def prefix(self) -> str:
        return asset_prefix(self.id)


def asset_prefix(asset_id: int) -> str:
    """Storage keys of an asset start here; the stream URL's asset id maps straight onto it."""
    return f"assets/{asset_id}/"


class RenditionKind(enum.StrEnum):
    VIDEO = "video"
    AUDIO = "audio"


class Rendition(Base):
    """A variant stream (one rung of the ladder) or an audio rendition of an asset."""

    __tablename__ = "media_renditions"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("media_assets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[RenditionKind] = mapped_column(str_enum(RenditionKind, "rendition_kind"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    playlist: Mapped[str] = mapped_column(String(200))  # relative to the asset's prefix
    codecs: Mapped[str] = mapped_column(String(100))
    bandwidth: Mapped[int] = mapped_column(Integer)  # measured peak segment bitrate, bit/s
    average_bandwidth: Mapped[int] = mapped_column(Integer)  # measured average, bit/s
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    frame_rate: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class SubtitleTrack(Base):
    """A film's subtitles in one language, stored as UTF-8 WebVTT under ``subtitles/``; every
    published asset lists the film's tracks in its master playlist."""

    __tablename__ = "subtitle_tracks"
    __table_args__ = (UniqueConstraint("movie_id", "language"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    movie_id: Mapped[int] = mapped_column(ForeignKey("movies.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100))
    storage_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
