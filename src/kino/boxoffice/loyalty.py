"""Loyalty points: one point per whole currency unit paid for a ticket, given back when the
ticket is refunded. The ledger holds one entry per ticket and reason (a unique constraint), so
points are earned and given back at most once; the balance is the sum of a user's entries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kino.boxoffice.sales_models import LoyaltyEntry, LoyaltyReason, Ticket
from kino.boxoffice.sales_schemas import LoyaltyEntryRead, LoyaltyRead
from kino.core.db import utcnow
from kino.core.money import whole_units
from kino.core.pagination import Page, PageParams


def points_for(price: int, currency: str) -> int:
    return whole_units(price, currency)


async def award_points(session: AsyncSession, tickets: Sequence[Ticket]) -> int:
    """Each ticket's points, in the transaction that sells it; returns the points awarded."""
    now = utcnow()
    entries = [
        LoyaltyEntry(
            user_id=ticket.user_id,
            ticket_id=ticket.id,
            reason=LoyaltyReason.PURCHASE,
            points=points_for(ticket.price, ticket.currency),
            created_at=now,
        )
        for ticket in tickets
        if points_for(ticket.price, ticket.currency) > 0
    ]
    session.add_all(entries)
    await session.flush()
    return sum(entry.points for entry in entries)


async def take_back_points(session: AsyncSession, ticket_ids: Sequence[int]) -> int:
    """What these tickets earned, taken back, in the transaction that refunds them; returns
    the points taken back."""
    if not ticket_ids:
        return 0
    earned = await session.execute(
        select(LoyaltyEntry.user_id, LoyaltyEntry.ticket_id, LoyaltyEntry.points).where(
            LoyaltyEntry.ticket_id.in_(ticket_ids),
            LoyaltyEntry.reason == LoyaltyReason.PURCHASE,
        )
    )
    now = utcnow()
    entries = [
        LoyaltyEntry(
            user_id=row.user_id,
            ticket_id=row.ticket_id,
            reason=LoyaltyReason.REFUND,
            points=-row.points,
            created_at=now,
        )
        for row in earned
    ]
    session.add_all(entries)
    await session.flush()
    return -sum(entry.points for entry in entries)


async def balance(session: AsyncSession, user_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(LoyaltyEntry.points), 0)).where(
            LoyaltyEntry.user_id == user_id
        )
    )
    return int(total or 0)


async def points_of_tickets(session: AsyncSession, ticket_ids: Sequence[int]) -> int:
    """What these tickets earned, net of what was given back."""
    if not ticket_ids:
        return 0
    total = await session.scalar(
        select(func.coalesce(func.sum(LoyaltyEntry.points), 0)).where(
            LoyaltyEntry.ticket_id.in_(ticket_ids)
        )
    )
    return int(total or 0)


async def loyalty_account(
    session: AsyncSession, user_id: uuid.UUID, *, paging: PageParams
) -> LoyaltyRead:
    """The balance and the entries behind it, newest first."""
    total = await session.scalar(
        select(func.count()).select_from(LoyaltyEntry).where(LoyaltyEntry.user_id == user_id)
    )
    rows = await session.execute(
        select(LoyaltyEntry, Ticket.reference)
        .join(Ticket, Ticket.id == LoyaltyEntry.ticket_id)
        .where(LoyaltyEntry.user_id == user_id)
        .order_by(LoyaltyEntry.id.desc())
        .offset(paging.offset)
        .limit(paging.page_size)
    )
    items = [
        LoyaltyEntryRead(
            id=entry.id,
            points=entry.points,
            reason=entry.reason,
            ticket_reference=reference,
            created_at=entry.created_at,
        )
        for entry, reference in rows
    ]
    return LoyaltyRead(
        points=await balance(session, user_id),
        entries=Page(
            items=items, total=int(total or 0), page=paging.page, page_size=paging.page_size
        ),
    )
