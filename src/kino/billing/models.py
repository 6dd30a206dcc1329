"""Billing's tables: payments taken through a provider, and refunds of them.

What the database guarantees: a provider's reference names one payment (and one refund); a
payment is never refunded beyond its amount (``refunded_amount`` is raised in the transaction
that creates the refund, under the CHECK ``refund_within_amount``). Amounts are integers of
minor units of ``currency`` (ISO 4217).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kino.core.db import Base, BigIntId, TimestampMixin, UTCDateTime, str_enum, utcnow


class PaymentStatus(enum.StrEnum):
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class RefundStatus(enum.StrEnum):
    # Decided and stored; the job that asks the provider has not succeeded yet (a job that
    # ran out of attempts shows as failed in the jobs list, for staff to look into).
    PENDING = "pending"
    SUCCEEDED = "succeeded"


class Payment(TimestampMixin, Base):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "provider_reference"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount", name="refund_within_amount"
        ),
        Index("ix_payments_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    provider: Mapped[str] = mapped_column(String(32))
    provider_reference: Mapped[str] = mapped_column(String(255))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(
        str_enum(PaymentStatus, "payment_status"), default=PaymentStatus.CAPTURED
    )
    refunded_amount: Mapped[int] = mapped_column(Integer, default=0)
    # What a receipt shows; the card number itself is never stored.
    card_brand: Mapped[str | None] = mapped_column(String(20), default=None)
    card_last4: Mapped[str | None] = mapped_column(String(4), default=None)


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("provider_reference"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_refunds_payment_id", "payment_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    # Why: "requested_by_customer", "showtime_cancelled".
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[RefundStatus] = mapped_column(
        str_enum(RefundStatus, "refund_status"), default=RefundStatus.PENDING
    )
    provider_reference: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
