"""Check-in: staff scan a ticket's QR code at the door.

The answer's ``result`` is one of

- ``ok``: admitted now (or this very scan, named by its ``scan_id``, was admitted before);
- ``already_used``: the ticket was admitted before, at ``checked_in_at``;
- ``wrong_showtime``: the scan names a showtime and the ticket is for another;
- ``cancelled``: the ticket was refunded or its showtime cancelled;
- ``not_yet``: earlier than ``KINO_CHECKIN_OPENS_MINUTES`` before the start;
- ``ended``: the showtime is over;
- ``invalid``: not a genuine Kino code (forged, damaged, garbage) or not a ticket of ours.

A ticket is admitted once: ``check_ins.nonce`` is unique, and the row is written with
``ON CONFLICT DO NOTHING``, so two doors scanning one ticket at the same moment admit it once.
The ticket's row is locked first (PostgreSQL), the order in which a refund takes it too.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from kino.boxoffice.models import Hall, Seat, Showtime, ShowtimeStatus
from kino.boxoffice.sales_models import CheckIn, Ticket, TicketStatus
from kino.boxoffice.sales_schemas import CheckInCreate, CheckInRead, CheckInResult, CheckInTicket
from kino.boxoffice.tickets import TicketPolicy
from kino.catalog.models import Movie
from kino.core.db import utcnow
from kino.identity.models import User

MESSAGES: dict[CheckInResult, str] = {
    "ok": "Admitted.",
    "already_used": "This ticket has already been used.",
    "wrong_showtime": "This ticket is for another showtime.",
    "cancelled": "This ticket was cancelled and refunded.",
    "not_yet": "Too early: check-in for this showtime has not opened yet.",
    "ended": "This showtime is over.",
    "invalid": "This is not a valid Kino ticket.",
}


async def check_in(
    session: AsyncSession,
    staff: User,
    body: CheckInCreate,
    policy: TicketPolicy,
    *,
    now: datetime | None = None,
) -> CheckInRead:
    now = now or utcnow()
    code = policy.signer.verify(body.code)
    if code is None:
        return _answer("invalid")
    await session.execute(select(Ticket.id).where(Ticket.id == code.ticket_id).with_for_update())
    row = (await session.execute(_ticket_query(code.ticket_id))).one_or_none()
    if row is None or not _matches(row, code.nonce, code.showtime_id):
        return _answer("invalid")
    ticket = _ticket(row)
    result = _refusal(row, body, policy, now)
    if result is not None:
        return _answer(result, ticket, row.checked_in_at)
    return await _admit(session, staff, row, body.scan_id, ticket, now)


def _ticket_query(ticket_id: int) -> Any:
    return (
        select(
            Ticket.id,
            Ticket.reference,
            Ticket.nonce,
            Ticket.status,
            Ticket.showtime_id,
            Seat.name.label("seat_name"),
            Showtime.status.label("showtime_status"),
            Showtime.starts_at,
            Showtime.ends_at,
            Movie.title.label("movie_title"),
            Hall.name.label("hall_name"),
            CheckIn.checked_in_at,
            CheckIn.scan_id,
        )
        .join(Seat, Seat.id == Ticket.seat_id)
        .join(Showtime, Showtime.id == Ticket.showtime_id)
        .join(Hall, Hall.id == Showtime.hall_id)
        .join(Movie, Movie.id == Showtime.movie_id)
        .outerjoin(CheckIn, CheckIn.ticket_id == Ticket.id)
        .where(Ticket.id == ticket_id)
    )


def _matches(row: Any, nonce: str, showtime_id: int) -> bool:
    """A signed code of a ticket whose seat was refunded and sold again carries the old
    ticket's id with its own nonce: only the nonce tells them apart."""
    return hmac.compare_digest(row.nonce, nonce) and row.showtime_id == showtime_id


def _ticket(row: Any) -> CheckInTicket:
    return CheckInTicket(
        reference=row.reference,
        status=row.status,
        seat=row.seat_name,
        showtime_id=row.showtime_id,
        starts_at=row.starts_at,
        movie_title=row.movie_title,
        hall_name=row.hall_name,
    )


def _refusal(
    row: Any, body: CheckInCreate, policy: TicketPolicy, now: datetime
) -> CheckInResult | None:
    if body.showtime_id is not None and body.showtime_id != row.showtime_id:
        return "wrong_showtime"
    if row.status is not TicketStatus.VALID or row.showtime_status is not ShowtimeStatus.SCHEDULED:
        return "cancelled"
    if row.checked_in_at is not None:
        return "ok" if _same_scan(row.scan_id, body.scan_id) else "already_used"
    if now < row.starts_at - policy.checkin_opens:
        return "not_yet"
    if now >= row.ends_at:
        return "ended"
    return None


def _same_scan(stored: str | None, scanned: str | None) -> bool:
    return stored is not None and scanned is not None and hmac.compare_digest(stored, scanned)


async def _admit(
    session: AsyncSession,
    staff: User,
    row: Any,
    scan_id: str | None,
    ticket: CheckInTicket,
    now: datetime,
) -> CheckInRead:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    admitted = await session.scalar(
        insert(CheckIn)
        .values(
            ticket_id=row.id,
            nonce=row.nonce,
            showtime_id=row.showtime_id,
            scanned_by_id=staff.id,
            scan_id=scan_id,
            checked_in_at=now,
        )
        .on_conflict_do_nothing()
        .returning(CheckIn.id)
    )
    if admitted is None:  # another door admitted it a moment ago
        first = (await session.execute(_ticket_query(row.id))).one()
        result: CheckInResult = "ok" if _same_scan(first.scan_id, scan_id) else "already_used"
        return _answer(result, ticket, first.checked_in_at)
    status = await session.scalar(select(Ticket.status).where(Ticket.id == row.id))
    if status is not TicketStatus.VALID:  # SQLite: refunded between the read and the insert
        await session.execute(delete(CheckIn).where(CheckIn.id == admitted))
        return _answer("cancelled", ticket)
    return _answer("ok", ticket, now)


def _answer(
    result: CheckInResult,
    ticket: CheckInTicket | None = None,
    checked_in_at: datetime | None = None,
) -> CheckInRead:
    return CheckInRead(
        result=result, message=MESSAGES[result], ticket=ticket, checked_in_at=checked_in_at
    )
