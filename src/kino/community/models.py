"""What viewers say about films: favorites, likes, ratings, reviews with helpfulness votes, and
comments with one level of replies. The database holds the "one per user and film" rules."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kino.core.db import Base, BigIntId, TimestampMixin, UTCDateTime, str_enum, utcnow


class ReviewStatus(enum.StrEnum):
    VISIBLE = "visible"
    # Hidden by a moderator: only the author and moderators still see it.
    HIDDEN = "hidden"


class CommentStatus(enum.StrEnum):
    VISIBLE = "visible"
    # Deleted by its author while it had replies: kept, without its text, so the thread stands.
    DELETED = "deleted"
    # Removed by a moderator: shown to others as "removed by a moderator"; the text is kept for
    # moderators.
    REMOVED = "removed"


class Favorite(Base):
    __tablename__ = "favorites"
    __table_args__ = (
        Index("ix_favorites_user_id_created_at", "user_id", "created_at"),
        Index("ix_favorites_movie_id", "movie_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    movie_id: Mapped[int] = mapped_column(
        ForeignKey("movies.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MovieLike(Base):
    """One like per viewer and film; ``movies.like_count`` counts them in the same transaction."""

    __tablename__ = "movie_likes"
    __table_args__ = (Index("ix_movie_likes_user_id", "user_id"),)

    movie_id: Mapped[int] = mapped_column(
        ForeignKey("movies.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Rating(TimestampMixin, Base):
    """One score (1 to 10) per viewer and film; ``movies.rating_avg`` and ``rating_count`` are
    recomputed from this table in the same transaction."""

    __tablename__ = "ratings"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 10", name="score_range"),
        Index("ix_ratings_user_id", "user_id"),
    )

    movie_id: Mapped[int] = mapped_column(
        ForeignKey("movies.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    score: Mapped[int] = mapped_column(SmallInteger)


class Review(TimestampMixin, Base):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("movie_id", "user_id"),
        CheckConstraint("score IS NULL OR score BETWEEN 1 AND 10", name="score_range"),
        Index("ix_reviews_movie_id_created_at", "movie_id", "created_at"),
        Index("ix_reviews_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    movie_id: Mapped[int] = mapped_column(ForeignKey("movies.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # What the author scored the film with this review; the film's average counts ratings only.
    score: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    spoiler: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[ReviewStatus] = mapped_column(
        str_enum(ReviewStatus, "review_status"), default=ReviewStatus.VISIBLE
    )
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    hidden_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Recomputed from review_votes whenever a vote changes, under a lock on this row.
    helpful_count: Mapped[int] = mapped_column(Integer, default=0)
    unhelpful_count: Mapped[int] = mapped_column(Integer, default=0)


class ReviewVote(Base):
    __tablename__ = "review_votes"
    __table_args__ = (Index("ix_review_votes_user_id", "user_id"),)

    review_id: Mapped[int] = mapped_column(
        ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Comment(TimestampMixin, Base):
    """A comment on a film, or a reply to one (``parent_id``): replies are one level deep."""

    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_movie_id_parent_id_created_at", "movie_id", "parent_id", "created_at"),
        Index("ix_comments_parent_id_created_at", "parent_id", "created_at"),
        Index("ix_comments_user_id", "user_id"),
        Index("ix_comments_report_count", "report_count"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    movie_id: Mapped[int] = mapped_column(ForeignKey("movies.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), default=None
    )
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[CommentStatus] = mapped_column(
        str_enum(CommentStatus, "comment_status"), default=CommentStatus.VISIBLE
    )
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    removed_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Counted in the transaction that stores the report (comment_reports holds one per user).
    report_count: Mapped[int] = mapped_column(Integer, default=0)


class CommentReport(Base):
    __tablename__ = "comment_reports"

    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
