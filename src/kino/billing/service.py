"""Payments and refunds as the rest of Kino uses them.

A sale records its payment (``record_payment``) in the transaction that stores the sale. A
refund is decided in the transaction that cancels what was bought (``reserve_refund``: the
payment's refunded amount goes up under its CHECK, and a pending refund row is written, with a
job to carry it out); the job then asks the provider (``settle_refund``), with the refund's id
as the idempotency key, so a job run twice refunds once.
"""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kino.billing.models import Payment, PaymentStatus, Refund, RefundStatus
from kino.billing.providers import Authorization, PaymentProvider
from kino.core.db import Database, utcnow
from kino.jobs.queue import JobQueue

log = structlog.get_logger("kino.billing")

REFUND_JOB = "billing.refund"


async def record_payment(
    session: AsyncSession, user_id: uuid.UUID, authorization: Authorization
) -> Payment:
    """The payment row of a sale, written before the authorization is captured."""
    payment = Payment(
        user_id=user_id,
        provider=authorization.provider,
        provider_reference=authorization.reference,
        amount=authorization.amount,
        currency=authorization.currency,
        status=PaymentStatus.CAPTURED,
        refunded_amount=0,
        card_brand=authorization.card_brand,
        card_last4=authorization.card_last4,
    )
    session.add(payment)
    await session.flush()
    return payment


async def reserve_refund(
    session: AsyncSession,
    jobs: JobQueue,
    payment_id: int,
    amount: int,
    *,
    reason: str,
    user_id: uuid.UUID | None = None,
) -> Refund:
    """Decides a refund of ``amount`` in the caller's transaction, and queues the job that
    asks the provider for it once that transaction commits."""
    if amount <= 0:
        raise ValueError("a refund is of a positive amount")
    refunded = Payment.refunded_amount + amount
    row = (
        await session.execute(
            update(Payment)
            .where(Payment.id == payment_id)
            .values(
                refunded_amount=refunded,
                status=case(
                    (refunded >= Payment.amount, PaymentStatus.REFUNDED.value),
                    else_=PaymentStatus.PARTIALLY_REFUNDED.value,
                ),
                updated_at=utcnow(),
            )
            .returning(Payment.currency)
            .execution_options(synchronize_session=False)
        )
    ).one()
    refund = Refund(
        payment_id=payment_id,
        amount=amount,
        currency=row.currency,
        reason=reason,
        status=RefundStatus.PENDING,
    )
    session.add(refund)
    await session.flush()
    await jobs.enqueue(
        session, kind=REFUND_JOB, payload={"refund_id": refund.id}, created_by_id=user_id
    )
    return refund


async def settle_refund(db: Database, provider: PaymentProvider, refund_id: int) -> bool:
    """Asks the provider for a pending refund and records its answer; False when there was
    nothing to do (already settled, or gone)."""
    async with db.transaction() as session:
        row = (
            await session.execute(
                select(Refund.status, Refund.amount, Refund.currency, Payment.provider_reference)
                .join(Payment, Payment.id == Refund.payment_id)
                .where(Refund.id == refund_id)
            )
        ).one_or_none()
    if row is None or row.status is not RefundStatus.PENDING:
        return False
    reference = await provider.refund(
        payment_reference=row.provider_reference,
        amount=row.amount,
        currency=row.currency,
        idempotency_key=f"refund-{refund_id}",
    )
    async with db.transaction() as session:
        await session.execute(
            update(Refund)
            .where(Refund.id == refund_id, Refund.status == RefundStatus.PENDING)
            .values(
                status=RefundStatus.SUCCEEDED, provider_reference=reference, settled_at=utcnow()
            )
        )
    log.info("billing.refund.settled", refund_id=refund_id, amount=row.amount)
    return True
