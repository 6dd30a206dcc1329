"""The box office's tables: cinemas, halls and their seats, showtimes, seat holds and seat claims.

What the database guarantees here, whatever the application does:

- one seat of one showtime is claimed at most once: ``seat_claims`` has the primary key
  (showtime_id, seat_id), and a claim is either held (``hold_id`` and ``expires_at``) or sold
  (``ticket_id``), never both nor neither (``held_or_sold``);
- a ticket claims one seat (``ticket_id`` is unique);
- a user has one live hold per showtime (a partial unique index on ``seat_holds``);
- two scheduled showtimes of one hall never overlap: on PostgreSQL an exclusion constraint
  (migration 0007, ``ex_showtimes_hall_id_period``); SQLite has one writer at a time, and the
  showtime service checks for overlaps inside its write transaction.

The rules for taking, moving and releasing claims are in ``holds.py``.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kino.core.db import Base, BigIntId, TimestampMixin, UTCDateTime, str_enum, utcnow


class ScreenType(enum.StrEnum):
    """What a hall's screen and projector can show."""

    TWO_D = "2D"
    THREE_D = "3D"
    IMAX = "IMAX"


class ShowtimeFormat(enum.StrEnum):
    TWO_D = "2D"
    THREE_D = "3D"
    IMAX = "IMAX"


class SeatType(enum.StrEnum):
    STANDARD = "standard"
    PREMIUM = "premium"
    VIP = "vip"
    WHEELCHAIR = "wheelchair"


class ShowtimeStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Cinema(TimestampMixin, Base):
    __tablename__ = "cinemas"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        Index("ix_cinemas_city_key", "city_key"),
        # The bounding box that prefilters "near" searches.
        Index("ix_cinemas_latitude_longitude", "latitude", "longitude"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    city: Mapped[str] = mapped_column(String(100))
    # The city case-folded: what ``city=`` matches, the same on both databases (SQLite's
    # lower() folds ASCII only).
    city_key: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    # An IANA zone ("Europe/Berlin"): a showtime's local date and time are reckoned in it.
    time_zone: Mapped[str] = mapped_column(String(64))
    # {"mon": [{"opens": "10:00", "closes": "23:30"}], ...}; a day left out is closed, and a
    # "closes" at or before "opens" is past midnight.
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Hall(TimestampMixin, Base):
    __tablename__ = "halls"
    __table_args__ = (
        UniqueConstraint("cinema_id", "name"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    cinema_id: Mapped[int] = mapped_column(ForeignKey("cinemas.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(100))
    screen: Mapped[ScreenType] = mapped_column(str_enum(ScreenType, "screen_type"))
    sound: Mapped[str | None] = mapped_column(String(100), default=None)
    # The seat map as it was given: [{"label": "A", "seats": "SSSS_SSSS"}, ...], front row
    # first. ``seats`` holds one row per seat drawn from it; it never changes after creation,
    # since claims and tickets point at those rows.
    layout: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    capacity: Mapped[int] = mapped_column(Integer)


class Seat(Base):
    __tablename__ = "seats"
    __table_args__ = (
        UniqueConstraint("hall_id", "name"),
        UniqueConstraint("hall_id", "row_index", "position"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"))
    # Row label + number within the row, gaps not counted: "A1", "A2", ...
    name: Mapped[str] = mapped_column(String(8))
    row_label: Mapped[str] = mapped_column(String(4))
    number: Mapped[int] = mapped_column(SmallInteger)
    # Where it is drawn: the row (0 = front) and the place in it, gaps counted (1-based).
    row_index: Mapped[int] = mapped_column(SmallInteger)
    position: Mapped[int] = mapped_column(SmallInteger)
    seat_type: Mapped[SeatType] = mapped_column(str_enum(SeatType, "seat_type"))
    # Out of use (maintenance): not offered to new holds in any showtime; claims already made
    # stay until staff move their buyers.
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_reason: Mapped[str | None] = mapped_column(String(200), default=None)


class Showtime(TimestampMixin, Base):
    __tablename__ = "showtimes"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(
            "price_standard >= 0 AND price_premium >= 0 AND price_vip >= 0 "
            "AND price_wheelchair >= 0",
            name="prices_not_negative",
        ),
        Index("ix_showtimes_hall_id_starts_at", "hall_id", "starts_at"),
        Index("ix_showtimes_movie_id_starts_at", "movie_id", "starts_at"),
        Index("ix_showtimes_local_date", "local_date"),
        Index("ix_showtimes_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    # RESTRICT: a film or hall with showtimes is not deleted from under their tickets.
    movie_id: Mapped[int] = mapped_column(ForeignKey("movies.id", ondelete="RESTRICT"))
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id", ondelete="RESTRICT"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The film's runtime plus the cleaning buffer after it: the hall is busy until then.
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The day it starts on in its cinema's time zone (what ``date=`` filters on); rewritten
    # when the cinema's time zone changes.
    local_date: Mapped[date] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(35))
    subtitles: Mapped[str | None] = mapped_column(String(35), default=None)
    format: Mapped[ShowtimeFormat] = mapped_column(str_enum(ShowtimeFormat, "showtime_format"))
    # Prices per seat type in minor units of ``currency`` (ISO 4217).
    price_standard: Mapped[int] = mapped_column(Integer)
    price_premium: Mapped[int] = mapped_column(Integer)
    price_vip: Mapped[int] = mapped_column(Integer)
    price_wheelchair: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[ShowtimeStatus] = mapped_column(
        str_enum(ShowtimeStatus, "showtime_status"), default=ShowtimeStatus.SCHEDULED
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    def price_of(self, seat_type: SeatType) -> int:
        return int(getattr(self, f"price_{seat_type.value}"))


class SeatHold(Base):
    """Seats a user keeps for a while before paying. Its seats are the ``seat_claims`` rows
    that point at it; they lapse at ``expires_at`` without anything having to run."""

    __tablename__ = "seat_holds"
    __table_args__ = (
        # One live hold per user and showtime. ``replaced`` is set only inside the transaction
        # that replaces a hold by a new one (and deletes it): it lets both rows exist for that
        # moment, so the claims move from the old hold to the new in one sorted pass.
        Index(
            "uq_seat_holds_showtime_id_user_id",
            "showtime_id",
            "user_id",
            unique=True,
            postgresql_where=text("NOT replaced"),
            sqlite_where=text("NOT replaced"),
        ),
        Index("ix_seat_holds_user_id", "user_id"),
        # SQLite otherwise gives a new row the highest id + 1: a released hold's id would be
        # given again to the next hold, and a stale client's DELETE could release it.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    showtime_id: Mapped[int] = mapped_column(ForeignKey("showtimes.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced: Mapped[bool] = mapped_column(Boolean, default=False)


class SeatClaim(Base):
    """One seat of one showtime, taken by a hold (until ``expires_at``) or by a sold ticket.

    The primary key is the "one seat, one sale" rule. A held claim whose ``expires_at`` has
    passed counts as free: the next hold of that seat takes the row over in its own
    transaction. ``ticket_id`` got its foreign key with the tickets table (migration 0008).
    """

    __tablename__ = "seat_claims"
    __table_args__ = (
        CheckConstraint(
            "(hold_id IS NOT NULL AND expires_at IS NOT NULL AND ticket_id IS NULL) OR "
            "(hold_id IS NULL AND expires_at IS NULL AND ticket_id IS NOT NULL)",
            name="held_or_sold",
        ),
        Index("ix_seat_claims_hold_id_seat_id", "hold_id", "seat_id"),
        UniqueConstraint("ticket_id"),
    )

    showtime_id: Mapped[int] = mapped_column(
        ForeignKey("showtimes.id", ondelete="CASCADE"), primary_key=True
    )
    seat_id: Mapped[int] = mapped_column(
        ForeignKey("seats.id", ondelete="RESTRICT"), primary_key=True
    )
    hold_id: Mapped[int | None] = mapped_column(
        ForeignKey("seat_holds.id", ondelete="CASCADE"), default=None
    )
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="RESTRICT"), default=None
    )
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
