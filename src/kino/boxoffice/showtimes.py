"""Showtimes: a film in a hall at a time, its prices per seat type, and the live seat map.

A showtime ends at its start plus the film's runtime plus the hall's cleaning time (a setting),
and two scheduled showtimes of one hall never overlap. On PostgreSQL an exclusion constraint
holds that rule whatever happens; on SQLite the check below runs after the INSERT, inside the
write transaction that the INSERT opened, and SQLite's single writer makes it final. The check
before the INSERT only finds the other showtime to name in the message.

Showtimes of draft films are shown to staff only, like the films themselves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kino.boxoffice.cinemas import hall_cinema_zone
from kino.boxoffice.errors import (
    FormatNotSupported,
    RuntimeUnknown,
    ShowtimeNotFound,
    ShowtimeOverlap,
    StartsInThePast,
)
from kino.boxoffice.models import (
    Cinema,
    Hall,
    ScreenType,
    Seat,
    SeatClaim,
    SeatHold,
    SeatType,
    Showtime,
    ShowtimeFormat,
    ShowtimeStatus,
)
from kino.boxoffice.schemas import (
    Prices,
    SeatCounts,
    ShowtimeCinema,
    ShowtimeCreate,
    ShowtimeHall,
    ShowtimeMovie,
    ShowtimeRead,
    ShowtimeSeat,
    ShowtimeSeatMap,
    ShowtimeSeatRow,
)
from kino.catalog.models import Movie, MovieStatus
from kino.core.db import utcnow
from kino.core.errors import NotFound
from kino.core.pagination import Page, PageParams

# Which formats each kind of screen can show.
SCREEN_FORMATS = {
    ScreenType.TWO_D: {ShowtimeFormat.TWO_D},
    ScreenType.THREE_D: {ShowtimeFormat.TWO_D, ShowtimeFormat.THREE_D},
    ScreenType.IMAX: {ShowtimeFormat.TWO_D, ShowtimeFormat.THREE_D, ShowtimeFormat.IMAX},
}
# The PostgreSQL exclusion constraint of migration 0007.
OVERLAP_CONSTRAINT = "ex_showtimes_hall_id_period"


@dataclass(frozen=True)
class ShowtimeFilters:
    movie_id: int | None = None
    cinema_id: int | None = None
    hall_id: int | None = None
    # A day in each cinema's own time zone; without one, showtimes that have not ended yet.
    day: date | None = None
    format: ShowtimeFormat | None = None
    status: ShowtimeStatus | None = ShowtimeStatus.SCHEDULED


@dataclass(frozen=True)
class Cancellation:
    """What cancelling left to do for orders and tickets: ``ticket_ids`` are the showtime's
    sold tickets, to be refunded and told."""

    showtime: ShowtimeRead
    released_holds: int
    ticket_ids: list[int]


# ---------------------------------------------------------------------------- scheduling


async def create_showtime(
    session: AsyncSession,
    body: ShowtimeCreate,
    *,
    cleaning_minutes: int,
    now: datetime | None = None,
) -> ShowtimeRead:
    now = now or utcnow()
    runtime = await _runtime(session, body.movie_id)
    hall, zone = await hall_cinema_zone(session, body.hall_id)
    if body.format not in SCREEN_FORMATS[hall.screen]:
        raise FormatNotSupported(body.format.value, hall.screen.value)
    starts_at = body.starts_at.astimezone(now.tzinfo)
    if starts_at <= now:
        raise StartsInThePast()
    ends_at = starts_at + timedelta(minutes=runtime + cleaning_minutes)
    other = await _overlapping(session, hall.id, starts_at, ends_at)
    if other is not None:
        raise ShowtimeOverlap(other)
    showtime = Showtime(
        movie_id=body.movie_id,
        hall_id=hall.id,
        starts_at=starts_at,
        ends_at=ends_at,
        local_date=starts_at.astimezone(zone).date(),
        language=body.language,
        subtitles=body.subtitles,
        format=body.format,
        price_standard=body.prices.standard,
        price_premium=body.prices.premium,
        price_vip=body.prices.vip,
        price_wheelchair=body.prices.wheelchair,
        currency=body.currency,
    )
    session.add(showtime)
    await _insert(session, body)
    other = await _overlapping(session, hall.id, starts_at, ends_at, besides=showtime.id)
    if other is not None:  # SQLite: committed by another writer between the check and now
        raise ShowtimeOverlap(other)
    return await get_showtime(session, showtime.id, include_drafts=True)


async def _runtime(session: AsyncSession, movie_id: int) -> int:
    row = (
        await session.execute(select(Movie.runtime_minutes).where(Movie.id == movie_id))
    ).one_or_none()
    if row is None:
        raise NotFound(f"There is no film with id {movie_id}.")
    if row.runtime_minutes is None:
        raise RuntimeUnknown(movie_id)
    return int(row.runtime_minutes)


async def _insert(session: AsyncSession, body: ShowtimeCreate) -> None:
    try:
        await session.flush()
    except IntegrityError as error:
        if OVERLAP_CONSTRAINT in str(error.orig):  # PostgreSQL: lost a race to another showtime
            raise ShowtimeOverlap(None) from None
        # The film or hall was deleted since it was read.
        raise NotFound(f"Film {body.movie_id} or hall {body.hall_id} no longer exists.") from None


async def _overlapping(
    session: AsyncSession,
    hall_id: int,
    starts_at: datetime,
    ends_at: datetime,
    *,
    besides: int | None = None,
) -> int | None:
    """A scheduled showtime of the hall that shares some time with [starts_at, ends_at)."""
    query = select(Showtime.id).where(
        Showtime.hall_id == hall_id,
        Showtime.status == ShowtimeStatus.SCHEDULED,
        Showtime.starts_at < ends_at,
        Showtime.ends_at > starts_at,
    )
    if besides is not None:
        query = query.where(Showtime.id != besides)
    return await session.scalar(query.order_by(Showtime.starts_at).limit(1))


async def cancel_showtime(
    session: AsyncSession, showtime_id: int, *, now: datetime | None = None
) -> Cancellation:
    """Cancels the showtime and releases its holds. Cancelling again changes nothing. Sold
    seats stay sold: ``Cancellation.ticket_ids`` are for refunds and notices."""
    now = now or utcnow()
    cancelled = await session.scalar(
        update(Showtime)
        .where(Showtime.id == showtime_id, Showtime.status == ShowtimeStatus.SCHEDULED)
        .values(status=ShowtimeStatus.CANCELLED, cancelled_at=now, updated_at=now)
        .returning(Showtime.id)
        .execution_options(synchronize_session=False)
    )
    released = 0
    if cancelled is not None:
        released = await _release_all_holds(session, showtime_id)
    ticket_ids = await session.scalars(
        select(SeatClaim.ticket_id)
        .where(SeatClaim.showtime_id == showtime_id, SeatClaim.ticket_id.is_not(None))
        .order_by(SeatClaim.ticket_id)
    )
    showtime = await get_showtime(session, showtime_id, include_drafts=True)
    return Cancellation(
        showtime=showtime,
        released_holds=released,
        ticket_ids=[int(ticket_id) for ticket_id in ticket_ids if ticket_id is not None],
    )


async def _release_all_holds(session: AsyncSession, showtime_id: int) -> int:
    # Claims are locked in seat order first, the order every hold takes them in (holds.py).
    await session.execute(
        select(SeatClaim.seat_id)
        .where(SeatClaim.showtime_id == showtime_id)
        .order_by(SeatClaim.seat_id)
        .with_for_update()
    )
    holds = await session.scalars(
        delete(SeatHold).where(SeatHold.showtime_id == showtime_id).returning(SeatHold.id)
    )
    return len(holds.all())


# ---------------------------------------------------------------------------- reading


async def get_showtime(
    session: AsyncSession, showtime_id: int, *, include_drafts: bool
) -> ShowtimeRead:
    query = _read_query(include_drafts=include_drafts).where(Showtime.id == showtime_id)
    row = (await session.execute(query)).one_or_none()
    if row is None:
        raise ShowtimeNotFound(showtime_id)
    [showtime] = await _reads(session, [row])
    return showtime


async def list_showtimes(
    session: AsyncSession,
    filters: ShowtimeFilters,
    *,
    paging: PageParams,
    include_drafts: bool,
    now: datetime | None = None,
) -> Page[ShowtimeRead]:
    """Earliest first."""
    query = _filtered(_read_query(include_drafts=include_drafts), filters, now or utcnow())
    total = await session.scalar(
        select(func.count()).select_from(query.with_only_columns(Showtime.id).subquery())
    )
    rows = (
        await session.execute(
            query.order_by(Showtime.starts_at, Showtime.id)
            .offset(paging.offset)
            .limit(paging.page_size)
        )
    ).all()
    items = await _reads(session, rows)
    return Page(items=items, total=int(total or 0), page=paging.page, page_size=paging.page_size)


def _filtered(
    query: Select[*tuple[Any, ...]], filters: ShowtimeFilters, now: datetime
) -> Select[*tuple[Any, ...]]:
    if filters.movie_id is not None:
        query = query.where(Showtime.movie_id == filters.movie_id)
    if filters.cinema_id is not None:
        query = query.where(Hall.cinema_id == filters.cinema_id)
    if filters.hall_id is not None:
        query = query.where(Showtime.hall_id == filters.hall_id)
    if filters.format is not None:
        query = query.where(Showtime.format == filters.format)
    if filters.status is not None:
        query = query.where(Showtime.status == filters.status)
    if filters.day is not None:
        return query.where(Showtime.local_date == filters.day)
    return query.where(Showtime.ends_at > now)


def _read_query(*, include_drafts: bool) -> Select[*tuple[Any, ...]]:
    query = (
        select(
            Showtime,
            Hall.name.label("hall_name"),
            Hall.screen,
            Hall.capacity,
            Cinema.id.label("cinema_id"),
            Cinema.name.label("cinema_name"),
            Cinema.city,
            Cinema.time_zone,
            Movie.title,
            Movie.runtime_minutes,
            Movie.age_rating,
        )
        .join(Hall, Hall.id == Showtime.hall_id)
        .join(Cinema, Cinema.id == Hall.cinema_id)
        .join(Movie, Movie.id == Showtime.movie_id)
    )
    if not include_drafts:
        query = query.where(Movie.status == MovieStatus.PUBLISHED)
    return query


async def _reads(session: AsyncSession, rows: Any) -> list[ShowtimeRead]:
    taken = await _seats_taken(session, [row.Showtime for row in rows], utcnow())
    return [_read(row, row.capacity - taken.get(row.Showtime.id, 0)) for row in rows]


async def _seats_taken(
    session: AsyncSession, showtimes: list[Showtime], now: datetime
) -> dict[int, int]:
    """Per showtime, its seats that are blocked, held or sold."""
    if not showtimes:
        return {}
    ids = [showtime.id for showtime in showtimes]
    claimed = await session.execute(
        select(SeatClaim.showtime_id, func.count())
        .join(Seat, Seat.id == SeatClaim.seat_id)
        .where(
            SeatClaim.showtime_id.in_(ids),
            Seat.blocked.is_(False),
            (SeatClaim.expires_at.is_(None)) | (SeatClaim.expires_at > now),
        )
        .group_by(SeatClaim.showtime_id)
    )
    taken = {showtime_id: int(count) for showtime_id, count in claimed}
    hall_ids = {showtime.hall_id for showtime in showtimes}
    blocked = await session.execute(
        select(Seat.hall_id, func.count())
        .where(Seat.hall_id.in_(hall_ids), Seat.blocked.is_(True))
        .group_by(Seat.hall_id)
    )
    blocked_in = {hall_id: int(count) for hall_id, count in blocked}
    return {
        showtime.id: taken.get(showtime.id, 0) + blocked_in.get(showtime.hall_id, 0)
        for showtime in showtimes
    }


def _read(row: Any, seats_available: int) -> ShowtimeRead:
    showtime: Showtime = row.Showtime
    return ShowtimeRead(
        id=showtime.id,
        movie=ShowtimeMovie(
            id=showtime.movie_id,
            title=row.title,
            runtime_minutes=row.runtime_minutes,
            age_rating=row.age_rating,
        ),
        cinema=ShowtimeCinema(
            id=row.cinema_id, name=row.cinema_name, city=row.city, time_zone=row.time_zone
        ),
        hall=ShowtimeHall(id=showtime.hall_id, name=row.hall_name, screen=row.screen),
        starts_at=showtime.starts_at,
        ends_at=showtime.ends_at,
        local_starts_at=showtime.starts_at.astimezone(ZoneInfo(row.time_zone)),
        local_date=showtime.local_date,
        language=showtime.language,
        subtitles=showtime.subtitles,
        format=showtime.format,
        prices=_prices(showtime),
        currency=showtime.currency,
        status=showtime.status,
        cancelled_at=showtime.cancelled_at,
        capacity=row.capacity,
        seats_available=max(0, seats_available),
    )


def _prices(showtime: Showtime) -> Prices:
    return Prices(
        standard=showtime.price_standard,
        premium=showtime.price_premium,
        vip=showtime.price_vip,
        wheelchair=showtime.price_wheelchair,
    )


async def ensure_movie_visible(
    session: AsyncSession, movie_id: int, *, include_drafts: bool
) -> None:
    status = await session.scalar(select(Movie.status).where(Movie.id == movie_id))
    if status is None or (status is MovieStatus.DRAFT and not include_drafts):
        raise NotFound(f"There is no film with id {movie_id}.")


# ---------------------------------------------------------------------------- the seat map


async def seat_map(
    session: AsyncSession,
    showtime_id: int,
    *,
    viewer_id: uuid.UUID | None,
    include_drafts: bool,
    now: datetime | None = None,
) -> ShowtimeSeatMap:
    """Every seat of the showtime's hall with its type, price and state: sold, held (by a hold
    that has not expired), blocked, or free. ``mine`` marks the viewer's own held seats."""
    now = now or utcnow()
    query = select(Showtime).join(Movie, Movie.id == Showtime.movie_id)
    if not include_drafts:
        query = query.where(Movie.status == MovieStatus.PUBLISHED)
    showtime = await session.scalar(query.where(Showtime.id == showtime_id))
    if showtime is None:
        raise ShowtimeNotFound(showtime_id)
    seats = await session.execute(
        select(Seat.id, Seat.name, Seat.row_label, Seat.number, Seat.position)
        .add_columns(Seat.seat_type, Seat.blocked)
        .where(Seat.hall_id == showtime.hall_id)
        .order_by(Seat.row_index, Seat.position)
    )
    claims = await _claims_by_seat(session, showtime_id, now)
    rows: dict[str, list[ShowtimeSeat]] = {}
    counts = {"free": 0, "held": 0, "sold": 0, "blocked": 0}
    my_hold_id: int | None = None
    for seat in seats:
        claim = claims.get(seat.id)
        state = _state(claim, blocked=seat.blocked)
        counts[state] += 1
        mine = state == "held" and claim is not None and claim[1] == viewer_id
        if mine and claim is not None:
            my_hold_id = claim[2]
        rows.setdefault(seat.row_label, []).append(
            ShowtimeSeat(
                name=seat.name,
                number=seat.number,
                position=seat.position,
                type=seat.seat_type,
                price=showtime.price_of(SeatType(seat.seat_type)),
                state=state,
                mine=mine,
            )
        )
    return ShowtimeSeatMap(
        showtime_id=showtime.id,
        status=showtime.status,
        currency=showtime.currency,
        rows=[ShowtimeSeatRow(label=label, seats=row) for label, row in rows.items()],
        counts=SeatCounts(**counts),
        my_hold_id=my_hold_id,
    )


async def _claims_by_seat(
    session: AsyncSession, showtime_id: int, now: datetime
) -> dict[int, tuple[bool, uuid.UUID | None, int | None]]:
    """The live claims: seat id → (sold, holder, hold)."""
    rows = await session.execute(
        select(SeatClaim.seat_id, SeatClaim.ticket_id, SeatHold.user_id, SeatClaim.hold_id)
        .outerjoin(SeatHold, SeatHold.id == SeatClaim.hold_id)
        .where(
            SeatClaim.showtime_id == showtime_id,
            (SeatClaim.expires_at.is_(None)) | (SeatClaim.expires_at > now),
        )
    )
    return {row.seat_id: (row.ticket_id is not None, row.user_id, row.hold_id) for row in rows}


def _state(claim: tuple[bool, uuid.UUID | None, int | None] | None, *, blocked: bool) -> Any:
    if claim is not None:
        return "sold" if claim[0] else "held"
    return "blocked" if blocked else "free"
