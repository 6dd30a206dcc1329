"""Tickets: reading them (their holder and staff only), their QR codes, and cancelling them.

A holder cancels a ticket for a full refund until ``KINO_REFUND_CUTOFF_HOURS`` before the
start; a cancelled showtime cancels all its tickets (``cancel_showtime_tickets``, called by the
showtime's cancel). Either way, in one transaction: the ticket's seat claim is released (the
seat is free again), the ticket is marked, its loyalty points are taken back, a pending refund
is written with the job that asks the provider for it, and a job mails the holder.

Lock order (see ``holds.py``): seat claims before tickets, everywhere.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from kino.billing import service as billing
from kino.boxoffice import holds, loyalty
from kino.boxoffice.models import Cinema, Hall, Seat, Showtime
from kino.boxoffice.sales_errors import (
    NotTicketHolder,
    RefundWindowClosed,
    TicketBusy,
    TicketNotFound,
    TicketNotValid,
    TicketUsed,
    is_lock_conflict,
)
from kino.boxoffice.sales_models import CheckIn, Order, OrderStatus, Ticket, TicketStatus
from kino.boxoffice.sales_schemas import (
    TicketCinema,
    TicketHall,
    TicketMovie,
    TicketRead,
    TicketSeat,
    TicketShowtime,
)
from kino.boxoffice.ticket_codes import TicketCode, TicketSigner, qr_png, qr_svg, ticket_signer
from kino.catalog.models import Movie
from kino.core.db import utcnow
from kino.core.pagination import Page, PageParams
from kino.identity.models import STAFF_ROLES, User
from kino.jobs.queue import JobQueue
from kino.settings import Settings

MAIL_CANCELLATION_JOB = "boxoffice.mail_cancellation"
CUSTOMER_REFUND = "requested_by_customer"
SHOWTIME_CANCELLED = "showtime_cancelled"
API_ROOT = "/api/v1"


@dataclass(frozen=True)
class TicketPolicy:
    """The settings tickets follow, and the key that signs their codes."""

    signer: TicketSigner
    refund_cutoff: timedelta
    checkin_opens: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> TicketPolicy:
        return cls(
            signer=ticket_signer(settings.signing_key),
            refund_cutoff=timedelta(hours=settings.refund_cutoff_hours),
            checkin_opens=timedelta(minutes=settings.checkin_opens_minutes),
        )


# ---------------------------------------------------------------------------- reading


def ticket_query() -> Select[*tuple[Any, ...]]:
    """A ticket with everything its reading shows, in one row."""
    return (
        select(
            Ticket,
            Seat.name.label("seat_name"),
            Seat.row_label,
            Seat.number.label("seat_number"),
            Seat.seat_type,
            Showtime.status.label("showtime_status"),
            Showtime.starts_at,
            Showtime.ends_at,
            Movie.id.label("movie_id"),
            Movie.title.label("movie_title"),
            Cinema.id.label("cinema_id"),
            Cinema.name.label("cinema_name"),
            Cinema.city,
            Cinema.time_zone,
            Hall.id.label("hall_id"),
            Hall.name.label("hall_name"),
            CheckIn.checked_in_at,
        )
        .join(Seat, Seat.id == Ticket.seat_id)
        .join(Showtime, Showtime.id == Ticket.showtime_id)
        .join(Hall, Hall.id == Showtime.hall_id)
        .join(Cinema, Cinema.id == Hall.cinema_id)
        .join(Movie, Movie.id == Showtime.movie_id)
        .outerjoin(CheckIn, CheckIn.ticket_id == Ticket.id)
        # Bulk updates (cancelling) leave the session's copies as they were: read afresh.
        .execution_options(populate_existing=True)
    )


def ticket_read(row: Any, policy: TicketPolicy) -> TicketRead:
    ticket: Ticket = row.Ticket
    code = TicketCode(ticket.id, ticket.showtime_id, row.seat_name, ticket.nonce)
    base = f"{API_ROOT}/tickets/{ticket.reference}"
    return TicketRead(
        reference=ticket.reference,
        code=policy.signer.sign(code),
        status=ticket.status,
        order_id=ticket.order_id,
        showtime=TicketShowtime(
            id=ticket.showtime_id,
            status=row.showtime_status,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            local_starts_at=row.starts_at.astimezone(ZoneInfo(row.time_zone)),
            movie=TicketMovie(id=row.movie_id, title=row.movie_title),
            cinema=TicketCinema(
                id=row.cinema_id, name=row.cinema_name, city=row.city, time_zone=row.time_zone
            ),
            hall=TicketHall(id=row.hall_id, name=row.hall_name),
        ),
        seat=TicketSeat(
            name=row.seat_name, row=row.row_label, number=row.seat_number, type=row.seat_type
        ),
        price=ticket.price,
        currency=ticket.currency,
        refundable_until=row.starts_at - policy.refund_cutoff,
        checked_in_at=row.checked_in_at,
        cancelled_at=ticket.cancelled_at,
        created_at=ticket.created_at,
        qr_svg_url=f"{base}/qr.svg",
        qr_png_url=f"{base}/qr.png",
    )


async def tickets_of_order(
    session: AsyncSession, order_id: int, policy: TicketPolicy
) -> list[TicketRead]:
    rows = await session.execute(
        ticket_query().where(Ticket.order_id == order_id).order_by(Ticket.seat_id)
    )
    return [ticket_read(row, policy) for row in rows]


async def get_ticket(
    session: AsyncSession, user: User, reference: str, policy: TicketPolicy
) -> TicketRead:
    """The ticket, for its holder and for staff; anyone else gets 404."""
    return ticket_read(await _visible_row(session, user, reference), policy)


async def _visible_row(session: AsyncSession, user: User, reference: str) -> Any:
    row = (await session.execute(ticket_query().where(Ticket.reference == reference))).one_or_none()
    if row is None or (row.Ticket.user_id != user.id and user.role not in STAFF_ROLES):
        raise TicketNotFound(reference)
    return row


async def list_tickets_of(
    session: AsyncSession,
    user_id: uuid.UUID,
    policy: TicketPolicy,
    *,
    paging: PageParams,
    status: TicketStatus | None = None,
) -> Page[TicketRead]:
    """The user's tickets, the latest showtime first."""
    conditions = [Ticket.user_id == user_id]
    if status is not None:
        conditions.append(Ticket.status == status)
    total = await session.scalar(select(func.count()).select_from(Ticket).where(*conditions))
    rows = await session.execute(
        ticket_query()
        .where(*conditions)
        .order_by(Showtime.starts_at.desc(), Ticket.id)
        .offset(paging.offset)
        .limit(paging.page_size)
    )
    items = [ticket_read(row, policy) for row in rows]
    return Page(items=items, total=int(total or 0), page=paging.page, page_size=paging.page_size)


async def ticket_qr(
    session: AsyncSession,
    user: User,
    reference: str,
    policy: TicketPolicy,
    kind: Literal["svg", "png"],
) -> bytes:
    ticket = await get_ticket(session, user, reference, policy)
    return qr_svg(ticket.code) if kind == "svg" else qr_png(ticket.code)


# ---------------------------------------------------------------------------- cancelling


@dataclass(frozen=True)
class _Cancelled:
    ticket_id: int
    reference: str
    order_id: int
    user_id: uuid.UUID
    price: int


async def cancel_ticket(
    session: AsyncSession,
    jobs: JobQueue,
    user: User,
    reference: str,
    policy: TicketPolicy,
    *,
    now: datetime | None = None,
) -> TicketRead:
    """The holder cancels their ticket for a full refund, until the cut-off before the start.
    Staff see the ticket but do not cancel it for its holder (403); anyone else gets 404."""
    now = now or utcnow()
    row = await _visible_row(session, user, reference)
    ticket: Ticket = row.Ticket
    if ticket.user_id != user.id:
        raise NotTicketHolder()
    _check_cancellable(ticket, row.checked_in_at, row.starts_at - policy.refund_cutoff, now)
    try:
        await holds.release_sold_claims(session, [ticket.id])
        cancelled = await _mark(
            session, TicketStatus.REFUNDED, now, Ticket.id == ticket.id, Ticket.user_id == user.id
        )
    except DBAPIError as error:  # its showtime is being cancelled, holding the seats' locks
        if is_lock_conflict(error):
            raise TicketBusy(reference) from None
        raise
    if not cancelled:  # cancelled at the same moment by its showtime's cancel
        status = await session.scalar(select(Ticket.status).where(Ticket.id == ticket.id))
        raise TicketNotValid(reference, str(status))
    if await session.scalar(select(CheckIn.id).where(CheckIn.ticket_id == ticket.id)):
        raise TicketUsed(reference)  # admitted at the same moment: rolled back
    await _settle(session, jobs, cancelled, reason=CUSTOMER_REFUND, actor_id=user.id)
    return await get_ticket(session, user, reference, policy)


def _check_cancellable(
    ticket: Ticket, checked_in_at: datetime | None, refundable_until: datetime, now: datetime
) -> None:
    if ticket.status is not TicketStatus.VALID:
        raise TicketNotValid(ticket.reference, ticket.status.value)
    if checked_in_at is not None:
        raise TicketUsed(ticket.reference)
    if now >= refundable_until:
        raise RefundWindowClosed(ticket.reference, refundable_until)


async def cancel_showtime_tickets(
    session: AsyncSession,
    jobs: JobQueue,
    showtime_id: int,
    *,
    actor_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Cancels the valid tickets of a cancelled showtime, in the transaction that cancels it:
    each is refunded in full and its holder mailed (by jobs, after the commit). Returns the
    ids of the tickets cancelled now; calling it again finds none."""
    now = now or utcnow()
    ticket_ids = list(
        await session.scalars(
            select(Ticket.id)
            .where(Ticket.showtime_id == showtime_id, Ticket.status == TicketStatus.VALID)
            .order_by(Ticket.id)
        )
    )
    if not ticket_ids:
        return []
    await holds.release_sold_claims(session, ticket_ids)
    cancelled = await _mark(session, TicketStatus.CANCELLED, now, Ticket.id.in_(ticket_ids))
    await _settle(session, jobs, cancelled, reason=SHOWTIME_CANCELLED, actor_id=actor_id)
    return sorted(row.ticket_id for row in cancelled)


async def _mark(
    session: AsyncSession, status: TicketStatus, now: datetime, *conditions: Any
) -> list[_Cancelled]:
    """Valid tickets matching ``conditions`` take ``status``; returns those that did."""
    rows = await session.execute(
        update(Ticket)
        .where(*conditions, Ticket.status == TicketStatus.VALID)
        .values(status=status, cancelled_at=now, updated_at=now)
        .returning(Ticket.id, Ticket.reference, Ticket.order_id, Ticket.user_id, Ticket.price)
        .execution_options(synchronize_session=False)
    )
    return [_Cancelled(row.id, row.reference, row.order_id, row.user_id, row.price) for row in rows]


async def _settle(
    session: AsyncSession,
    jobs: JobQueue,
    cancelled: Sequence[_Cancelled],
    *,
    reason: str,
    actor_id: uuid.UUID | None,
) -> None:
    """Refunds (one per order), the orders' statuses, loyalty points and the holders' mail."""
    by_order: dict[int, list[_Cancelled]] = defaultdict(list)
    for row in cancelled:
        by_order[row.order_id].append(row)
    for order_id, rows in sorted(by_order.items()):
        references = sorted(row.reference for row in rows)
        await _refund(session, jobs, order_id, rows, reason=reason, actor_id=actor_id)
        await _update_order_status(session, order_id)
        await jobs.enqueue(
            session,
            kind=MAIL_CANCELLATION_JOB,
            payload={"order_id": order_id, "references": references, "reason": reason},
            created_by_id=actor_id,
        )
    await loyalty.take_back_points(session, [row.ticket_id for row in cancelled])


async def _refund(
    session: AsyncSession,
    jobs: JobQueue,
    order_id: int,
    rows: Sequence[_Cancelled],
    *,
    reason: str,
    actor_id: uuid.UUID | None,
) -> None:
    amount = sum(row.price for row in rows)
    payment_id = await session.scalar(select(Order.payment_id).where(Order.id == order_id))
    if payment_id is None or amount == 0:
        return  # a free ticket has nothing to give back
    refund = await billing.reserve_refund(
        session, jobs, payment_id, amount, reason=reason, user_id=actor_id
    )
    await session.execute(
        update(Ticket)
        .where(Ticket.id.in_([row.ticket_id for row in rows]))
        .values(refund_id=refund.id)
        .execution_options(synchronize_session=False)
    )


async def _update_order_status(session: AsyncSession, order_id: int) -> None:
    valid = await session.scalar(
        select(func.count()).where(Ticket.order_id == order_id, Ticket.status == TicketStatus.VALID)
    )
    status = OrderStatus.PARTIALLY_REFUNDED if valid else OrderStatus.REFUNDED
    await session.execute(
        update(Order)
        .where(Order.id == order_id)
        .values(status=status, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
