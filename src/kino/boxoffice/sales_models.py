"""The box office's sales tables: orders, their tickets, check-ins and the loyalty ledger.

What the database guarantees here, whatever the application does:

- an ``Idempotency-Key`` makes at most one order per user (``uq_orders_user_id_idempotency_key``);
- a ticket's booking reference and its QR nonce are unique; one seat of one showtime has at
  most one valid ticket (a partial unique index, besides the seat claim the ticket holds);
- a ticket is checked in at most once (``check_ins.nonce`` is unique);
- a ticket earns its loyalty points once and gives them back once
  (``uq_loyalty_entries_ticket_id_reason``).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from kino.core.db import Base, BigIntId, TimestampMixin, UTCDateTime, str_enum, utcnow


class OrderStatus(enum.StrEnum):
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class TicketStatus(enum.StrEnum):
    VALID = "valid"
    # The holder cancelled it before the refund cut-off and got the money back.
    REFUNDED = "refunded"
    # Its showtime was cancelled; the money went back too.
    CANCELLED = "cancelled"


class LoyaltyReason(enum.StrEnum):
    PURCHASE = "purchase"
    REFUND = "refund"


class Order(TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        Index("ix_orders_user_id_created_at", "user_id", "created_at"),
        Index("ix_orders_showtime_id", "showtime_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    showtime_id: Mapped[int] = mapped_column(ForeignKey("showtimes.id", ondelete="RESTRICT"))
    # The hold it was bought from (deleted by the sale): tells a second order for the same
    # hold what became of it.
    hold_id: Mapped[int | None] = mapped_column(BigIntId, default=None)
    status: Mapped[OrderStatus] = mapped_column(
        str_enum(OrderStatus, "order_status"), default=OrderStatus.PAID
    )
    total: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    # None for a free order (a total of 0 takes no payment).
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT"), default=None, unique=True
    )
    idempotency_key: Mapped[str] = mapped_column(String(255))
    # HMAC of the request that made the order: the same key with another request is refused.
    request_fingerprint: Mapped[str] = mapped_column(String(64))


class Ticket(TimestampMixin, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        Index(
            "uq_tickets_showtime_id_seat_id",
            "showtime_id",
            "seat_id",
            unique=True,
            postgresql_where=text("status = 'valid'"),
            sqlite_where=text("status = 'valid'"),
        ),
        Index("ix_tickets_user_id", "user_id"),
        Index("ix_tickets_order_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    showtime_id: Mapped[int] = mapped_column(ForeignKey("showtimes.id", ondelete="RESTRICT"))
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id", ondelete="RESTRICT"))
    # The booking reference a customer reads out: 8 of "ABCDEFGHJKLMNPQRSTUVWXYZ23456789".
    reference: Mapped[str] = mapped_column(String(8), unique=True)
    # Random, in the signed QR code: a copy of an old code for a resold seat is not this one.
    nonce: Mapped[str] = mapped_column(String(32), unique=True)
    price: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[TicketStatus] = mapped_column(
        str_enum(TicketStatus, "ticket_status"), default=TicketStatus.VALID
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    refund_id: Mapped[int | None] = mapped_column(
        ForeignKey("refunds.id", ondelete="RESTRICT"), default=None
    )


class CheckIn(Base):
    __tablename__ = "check_ins"
    __table_args__ = (UniqueConstraint("nonce"), UniqueConstraint("ticket_id"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    nonce: Mapped[str] = mapped_column(String(32))
    showtime_id: Mapped[int] = mapped_column(ForeignKey("showtimes.id", ondelete="RESTRICT"))
    scanned_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # The scanner's own id for the scan: its retry of the same scan is answered "ok" again.
    scan_id: Mapped[str | None] = mapped_column(String(64), default=None)
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoyaltyEntry(Base):
    """Points earned (positive) or given back (negative); a user's balance is their sum."""

    __tablename__ = "loyalty_entries"
    __table_args__ = (
        UniqueConstraint("ticket_id", "reason"),
        CheckConstraint("points <> 0", name="points_not_zero"),
        Index("ix_loyalty_entries_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    reason: Mapped[LoyaltyReason] = mapped_column(str_enum(LoyaltyReason, "loyalty_reason"))
    points: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
