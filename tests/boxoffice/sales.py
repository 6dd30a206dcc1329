"""Helpers for the tests of orders, tickets, check-in and statistics: buying seats, running the
jobs a sale queues (mail, refunds) as a worker would, and reading the mail that went out."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kino.billing.providers import SandboxProvider
from kino.boxoffice.holds import HeldSeats
from kino.boxoffice.orders import new_reference
from kino.boxoffice.sales_models import Order, Ticket
from kino.boxoffice.ticket_codes import new_nonce
from kino.jobs.models import Job, JobStatus
from kino.jobs.registry import load_handlers
from kino.jobs.runner import run_job
from kino.settings import Settings
from tests.boxoffice.conftest import hold, ok
from tests.factories import SignedIn

GOOD_CARD = "4242 4242 4242 4242"
NO_FUNDS_CARD = "4000 0000 0000 0002"
EXPIRED_CARD = "4000 0000 0000 0069"


def order_body(hold_id: int, card: str = GOOD_CARD) -> dict[str, Any]:
    return {"hold_id": hold_id, "payment": {"provider": "sandbox", "card_number": card}}


async def place_order(
    client: httpx.AsyncClient,
    who: SignedIn,
    hold_id: int,
    *,
    card: str = GOOD_CARD,
    key: str | None = None,
) -> httpx.Response:
    headers = {**who.headers, "Idempotency-Key": key or str(uuid.uuid4())}
    return await client.post("/api/v1/orders", json=order_body(hold_id, card), headers=headers)


async def buy(client: httpx.AsyncClient, who: SignedIn, showtime_id: int, seats: list[str]) -> Any:
    """Holds the seats and pays for them; returns the order."""
    held = ok(await hold(client, who, showtime_id, seats), 201)
    return ok(await place_order(client, who, held["id"]), 201)


async def issue_tickets(session: AsyncSession, held: HeldSeats) -> dict[int, int]:
    """Ticket rows for a hold's seats, in an order without a payment: for tests of the claim
    rules that sell claims by hand. Returns seat id → ticket id."""
    order = Order(
        user_id=held.user_id,
        showtime_id=held.showtime_id,
        hold_id=held.hold_id,
        total=held.amount,
        currency=held.currency,
        idempotency_key=str(uuid.uuid4()),
        request_fingerprint="0" * 64,
    )
    session.add(order)
    await session.flush()
    tickets = [
        Ticket(
            order_id=order.id,
            user_id=held.user_id,
            showtime_id=held.showtime_id,
            seat_id=seat.seat_id,
            reference=new_reference(),
            nonce=new_nonce(),
            price=seat.price,
            currency=held.currency,
        )
        for seat in held.seats
    ]
    session.add_all(tickets)
    await session.flush()
    return {ticket.seat_id: ticket.id for ticket in tickets}


def sandbox(app: FastAPI) -> SandboxProvider:
    provider = app.state.payments
    assert isinstance(provider, SandboxProvider)
    return provider


async def run_jobs(app: FastAPI) -> list[Job]:
    """Runs every queued job (and those they queue) to its end, as a worker would; returns
    them as they ended."""
    load_handlers()
    finished: list[Job] = []
    while True:
        async with app.state.db.transaction() as session:
            job_ids = list(
                await session.scalars(
                    select(Job.id).where(Job.status == JobStatus.QUEUED).order_by(Job.id)
                )
            )
        if not job_ids:
            return finished
        for job_id in job_ids:
            await run_job(app.state.settings, app.state.db, job_id, worker="test")
            async with app.state.db.transaction() as session:
                job = await session.get(Job, job_id)
                assert job is not None
                assert job.status is JobStatus.SUCCEEDED, (job.kind, job.error)
                finished.append(job)


async def jobs_of_kind(app: FastAPI, kind: str) -> int:
    async with app.state.db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(Job).where(Job.kind == kind))
        return int(count or 0)


def outbox(settings: Settings) -> list[EmailMessage]:
    if not settings.outbox_dir.exists():
        return []
    messages = []
    for path in sorted(settings.outbox_dir.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


async def sleep_past(moment: str | datetime) -> None:
    """Waits until ``moment`` (an ISO time or a datetime) has passed."""
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    while datetime.now().astimezone() <= when:
        remaining = (when - datetime.now().astimezone()).total_seconds()
        await asyncio.sleep(max(remaining, 0.0) + 0.02)
