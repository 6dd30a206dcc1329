from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from kino.core.db import Base, UTCDateTime, utcnow


class WatchProgress(Base):
    """Where a viewer is in a film: one row per viewer and film, the last write wins."""

    __tablename__ = "watch_progress"
    __table_args__ = (Index("ix_watch_progress_user_id_updated_at", "user_id", "updated_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    movie_id: Mapped[int] = mapped_column(
        ForeignKey("movies.id", ondelete="CASCADE"), primary_key=True
    )
    position_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    # Whether the last position reached 95% of the film: playback then starts from the beginning
    # and continue-watching leaves the film out. A later position before that (watching it
    # again) clears it, and the film is back in continue-watching.
    watched: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
