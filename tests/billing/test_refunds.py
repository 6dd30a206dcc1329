"""Refunds: decided in the transaction that cancels a sale, carried out by a job that asks the
provider once, whatever happens to the job."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from kino.billing import service as billing
from kino.billing.errors import PaymentProviderError
from kino.billing.models import Payment, Refund, RefundStatus
from kino.billing.providers import SandboxProvider
from kino.jobs.queue import JobQueue
from tests.boxoffice.sales import buy, run_jobs
from tests.factories import SignedIn


class CountingSandbox(SandboxProvider):
    def __init__(self, *, failures: int = 0) -> None:
        super().__init__()
        self.calls = 0
        self.failures = failures

    async def refund(
        self, *, payment_reference: str, amount: int, currency: str, idempotency_key: str
    ) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise PaymentProviderError("The provider is busy.")
        return await super().refund(
            payment_reference=payment_reference,
            amount=amount,
            currency=currency,
            idempotency_key=idempotency_key,
        )


async def _refund_of_a_cancelled_ticket(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> int:
    [ticket] = (await buy(client, viewer, showtime["id"], ["A1"]))["tickets"]
    response = await client.post(
        f"/api/v1/tickets/{ticket['reference']}/cancel", headers=viewer.headers
    )
    assert response.status_code == 200, response.text
    async with app.state.db.transaction() as session:
        refund_id = await session.scalar(select(Refund.id))
    assert refund_id is not None
    return int(refund_id)


async def _refund(app: FastAPI, refund_id: int) -> Refund:
    async with app.state.db.transaction() as session:
        refund = await session.get(Refund, refund_id)
        assert refund is not None
        return refund


async def test_a_refund_is_asked_of_the_provider_once(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    refund_id = await _refund_of_a_cancelled_ticket(app, client, viewer, showtime)
    provider = CountingSandbox()
    assert await billing.settle_refund(app.state.db, provider, refund_id)
    settled = await _refund(app, refund_id)
    assert settled.status is RefundStatus.SUCCEEDED
    assert settled.settled_at is not None
    assert not await billing.settle_refund(app.state.db, provider, refund_id)
    assert not await billing.settle_refund(app.state.db, provider, 424242)
    assert provider.calls == 1
    assert [refund.amount for refund in provider.refunds.values()] == [1200]


async def test_a_provider_that_fails_leaves_the_refund_pending_for_the_next_attempt(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    refund_id = await _refund_of_a_cancelled_ticket(app, client, viewer, showtime)
    provider = CountingSandbox(failures=1)
    with pytest.raises(PaymentProviderError):
        await billing.settle_refund(app.state.db, provider, refund_id)
    assert (await _refund(app, refund_id)).status is RefundStatus.PENDING
    assert await billing.settle_refund(app.state.db, provider, refund_id)
    assert (await _refund(app, refund_id)).status is RefundStatus.SUCCEEDED


async def test_the_refund_job_settles_the_refund(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    refund_id = await _refund_of_a_cancelled_ticket(app, client, viewer, showtime)
    kinds = [job.kind for job in await run_jobs(app)]
    assert billing.REFUND_JOB in kinds
    assert (await _refund(app, refund_id)).status is RefundStatus.SUCCEEDED


async def test_a_payment_is_never_refunded_beyond_its_amount(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    await buy(client, viewer, showtime["id"], ["A2"])
    queue: JobQueue = app.state.jobs
    async with app.state.db.transaction() as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None
        await billing.reserve_refund(session, queue, payment.id, 1000, reason="test")
    with pytest.raises(Exception, match=r"refund_within_amount|CHECK constraint failed"):
        async with app.state.db.transaction() as session:
            await billing.reserve_refund(session, queue, payment.id, 201, reason="test")
    async with app.state.db.transaction() as session:
        await billing.reserve_refund(session, queue, payment.id, 200, reason="test")
        stored = await session.get(Payment, payment.id, populate_existing=True)
        assert stored is not None
        assert (stored.refunded_amount, stored.status.value) == (1200, "refunded")
