"""Cinemas and their halls: where they are, when they open, and each hall's seat map.

A hall's seat map is given as rows of letters ("SSSS_SSSS") and drawn into one ``seats`` row per
seat when the hall is made; it does not change afterwards, since claims and tickets point at
those rows. Seats can be blocked (maintenance) and unblocked at any time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kino.boxoffice.errors import CinemaNotFound, HallNameTaken, HallNotFound, UnknownSeats
from kino.boxoffice.geo import GeoPoint, bounding_box, distance_km
from kino.boxoffice.models import Cinema, Hall, Seat, SeatType, Showtime
from kino.boxoffice.schemas import (
    GAP,
    SEAT_LETTERS,
    BlockedSeat,
    CinemaCreate,
    CinemaDetail,
    CinemaRead,
    CinemaUpdate,
    HallCreate,
    HallRead,
    HallSummary,
    HallUpdate,
    SeatRow,
)
from kino.core.db import utcnow
from kino.core.pagination import Page, PageParams

# ---------------------------------------------------------------------------- cinemas


async def create_cinema(session: AsyncSession, body: CinemaCreate) -> CinemaDetail:
    cinema = Cinema(**_cinema_fields(body.model_dump(mode="json")))
    session.add(cinema)
    await session.flush()
    return await get_cinema(session, cinema.id)


async def update_cinema(session: AsyncSession, cinema_id: int, body: CinemaUpdate) -> CinemaDetail:
    """A new time zone moves the local date of the cinema's showtimes with it."""
    cinema = await session.get(Cinema, cinema_id, with_for_update=True)
    if cinema is None:
        raise CinemaNotFound(cinema_id)
    changes = _cinema_fields(body.model_dump(mode="json", exclude_unset=True))
    zone_changed = "time_zone" in changes and changes["time_zone"] != cinema.time_zone
    for field, value in changes.items():
        setattr(cinema, field, value)
    await session.flush()
    if zone_changed:
        await _redate_showtimes(session, cinema)
    return await get_cinema(session, cinema_id)


def _cinema_fields(fields: dict[str, Any]) -> dict[str, Any]:
    if "city" in fields:
        fields["city_key"] = city_key(fields["city"])
    return fields


def city_key(city: str) -> str:
    return " ".join(city.casefold().split())


async def _redate_showtimes(session: AsyncSession, cinema: Cinema) -> None:
    zone = ZoneInfo(cinema.time_zone)
    rows = await session.execute(
        select(Showtime.id, Showtime.starts_at)
        .join(Hall, Hall.id == Showtime.hall_id)
        .where(Hall.cinema_id == cinema.id)
    )
    for showtime_id, starts_at in rows.all():
        await session.execute(
            update(Showtime)
            .where(Showtime.id == showtime_id)
            .values(local_date=starts_at.astimezone(zone).date())
            .execution_options(synchronize_session=False)
        )


async def get_cinema(session: AsyncSession, cinema_id: int) -> CinemaDetail:
    cinema = await session.get(Cinema, cinema_id, populate_existing=True)
    if cinema is None:
        raise CinemaNotFound(cinema_id)
    halls = await session.execute(
        select(Hall.id, Hall.name, Hall.screen, Hall.sound, Hall.capacity)
        .where(Hall.cinema_id == cinema_id)
        .order_by(Hall.name, Hall.id)
    )
    summaries = [HallSummary(**row._asdict()) for row in halls]
    return CinemaDetail(**_cinema_read(cinema).model_dump(), halls=summaries)


async def list_cinemas(
    session: AsyncSession,
    *,
    paging: PageParams,
    near: GeoPoint | None = None,
    radius_km: float = 50.0,
    city: str | None = None,
) -> Page[CinemaRead]:
    """By name; with ``near``, those within ``radius_km`` of it, nearest first."""
    query = select(Cinema)
    if city is not None:
        query = query.where(Cinema.city_key == city_key(city))
    if near is None:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await session.scalars(
            query.order_by(Cinema.name, Cinema.id).offset(paging.offset).limit(paging.page_size)
        )
        items = [_cinema_read(cinema) for cinema in rows]
        return Page(
            items=items, total=int(total or 0), page=paging.page, page_size=paging.page_size
        )
    nearby = await _cinemas_near(session, _in_box(query, near, radius_km), near, radius_km)
    page = nearby[paging.offset : paging.offset + paging.page_size]
    return Page(items=page, total=len(nearby), page=paging.page, page_size=paging.page_size)


def _in_box(query: Select[Cinema], near: GeoPoint, radius_km: float) -> Select[Cinema]:
    box = bounding_box(near, radius_km)
    query = query.where(Cinema.latitude.between(box.south, box.north))
    if box.crosses_antimeridian:
        return query.where(or_(Cinema.longitude >= box.west, Cinema.longitude <= box.east))
    return query.where(and_(Cinema.longitude >= box.west, Cinema.longitude <= box.east))


async def _cinemas_near(
    session: AsyncSession, query: Select[Cinema], near: GeoPoint, radius_km: float
) -> list[CinemaRead]:
    """The exact distances, worked out here over what the box let through: the same numbers on
    every database, and cinemas are few enough for it."""
    found = []
    for cinema in await session.scalars(query):
        distance = distance_km(near, GeoPoint(cinema.latitude, cinema.longitude))
        if distance <= radius_km:
            found.append((distance, cinema.name, cinema.id, cinema))
    found.sort(key=lambda item: item[:3])
    return [
        _cinema_read(cinema).model_copy(update={"distance_km": round(distance, 3)})
        for distance, _name, _id, cinema in found
    ]


def _cinema_read(cinema: Cinema) -> CinemaRead:
    return CinemaRead(
        id=cinema.id,
        name=cinema.name,
        address=cinema.address,
        city=cinema.city,
        phone=cinema.phone,
        email=cinema.email,
        latitude=cinema.latitude,
        longitude=cinema.longitude,
        time_zone=cinema.time_zone,
        opening_hours=cinema.opening_hours,
        created_at=cinema.created_at,
        updated_at=cinema.updated_at,
    )


# ---------------------------------------------------------------------------- seat maps


@dataclass(frozen=True)
class SeatSpec:
    """One seat drawn from a seat map."""

    name: str
    row_label: str
    number: int
    row_index: int
    position: int
    seat_type: SeatType


def draw_seats(rows: Sequence[SeatRow]) -> list[SeatSpec]:
    """Every seat of the map, front row first and left to right: "A1", "A2" … numbered within
    each row, gaps not counted."""
    seats = []
    for row_index, row in enumerate(rows):
        number = 0
        for position, letter in enumerate(row.seats, start=1):
            if letter == GAP:
                continue
            number += 1
            seats.append(
                SeatSpec(
                    name=f"{row.label}{number}",
                    row_label=row.label,
                    number=number,
                    row_index=row_index,
                    position=position,
                    seat_type=SEAT_LETTERS[letter],
                )
            )
    return seats


# ---------------------------------------------------------------------------- halls


async def create_hall(session: AsyncSession, cinema_id: int, body: HallCreate) -> HallRead:
    if await session.get(Cinema, cinema_id) is None:
        raise CinemaNotFound(cinema_id)
    await _check_hall_name_free(session, cinema_id, body.name)
    seats = draw_seats(body.rows)
    hall = Hall(
        cinema_id=cinema_id,
        name=body.name,
        screen=body.screen,
        sound=body.sound,
        layout=[row.model_dump() for row in body.rows],
        capacity=len(seats),
    )
    session.add(hall)
    try:
        await session.flush()
    except IntegrityError:  # made by someone else since the check above
        raise HallNameTaken(body.name) from None
    await session.execute(
        insert(Seat),
        [
            {
                "hall_id": hall.id,
                "name": seat.name,
                "row_label": seat.row_label,
                "number": seat.number,
                "row_index": seat.row_index,
                "position": seat.position,
                "seat_type": seat.seat_type,
                "blocked": False,
            }
            for seat in seats
        ],
    )
    return await get_hall(session, hall.id)


async def _check_hall_name_free(
    session: AsyncSession, cinema_id: int, name: str, *, hall_id: int | None = None
) -> None:
    query = select(Hall.id).where(Hall.cinema_id == cinema_id, Hall.name == name)
    if hall_id is not None:
        query = query.where(Hall.id != hall_id)
    if await session.scalar(query) is not None:
        raise HallNameTaken(name)


async def update_hall(session: AsyncSession, hall_id: int, body: HallUpdate) -> HallRead:
    hall = await session.get(Hall, hall_id, with_for_update=True)
    if hall is None:
        raise HallNotFound(hall_id)
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes:
        await _check_hall_name_free(session, hall.cinema_id, changes["name"], hall_id=hall_id)
    for field, value in changes.items():
        setattr(hall, field, value)
    try:
        await session.flush()
    except IntegrityError:
        raise HallNameTaken(changes["name"]) from None
    return await get_hall(session, hall_id)


async def get_hall(session: AsyncSession, hall_id: int) -> HallRead:
    hall = await session.get(Hall, hall_id, populate_existing=True)
    if hall is None:
        raise HallNotFound(hall_id)
    blocked = await session.execute(
        select(Seat.name, Seat.blocked_reason)
        .where(Seat.hall_id == hall_id, Seat.blocked.is_(True))
        .order_by(Seat.row_index, Seat.position)
    )
    return HallRead(
        id=hall.id,
        cinema_id=hall.cinema_id,
        name=hall.name,
        screen=hall.screen,
        sound=hall.sound,
        capacity=hall.capacity,
        rows=[SeatRow.model_validate(row) for row in hall.layout],
        blocked_seats=[BlockedSeat(name=name, reason=reason) for name, reason in blocked],
        created_at=hall.created_at,
        updated_at=hall.updated_at,
    )


async def hall_cinema_zone(session: AsyncSession, hall_id: int) -> tuple[Hall, ZoneInfo]:
    """The hall and its cinema's time zone (for scheduling)."""
    row = (
        await session.execute(
            select(Hall, Cinema.time_zone)
            .join(Cinema, Cinema.id == Hall.cinema_id)
            .where(Hall.id == hall_id)
        )
    ).one_or_none()
    if row is None:
        raise HallNotFound(hall_id)
    return row[0], ZoneInfo(row[1])


async def block_seats(
    session: AsyncSession, hall_id: int, names: Sequence[str], *, reason: str | None
) -> HallRead:
    """Takes the seats out of use for every showtime: new holds cannot take them. Claims
    already made on them stay (a sold seat is for staff to move)."""
    await _set_blocked(session, hall_id, names, blocked=True, reason=reason)
    return await get_hall(session, hall_id)


async def unblock_seat(session: AsyncSession, hall_id: int, name: str) -> HallRead:
    await _set_blocked(session, hall_id, [name], blocked=False, reason=None)
    return await get_hall(session, hall_id)


async def _set_blocked(
    session: AsyncSession,
    hall_id: int,
    names: Sequence[str],
    *,
    blocked: bool,
    reason: str | None,
) -> None:
    if await session.get(Hall, hall_id) is None:
        raise HallNotFound(hall_id)
    changed = await session.scalars(
        update(Seat)
        .where(Seat.hall_id == hall_id, Seat.name.in_(names))
        .values(blocked=blocked, blocked_reason=reason)
        .returning(Seat.name)
        .execution_options(synchronize_session=False)
    )
    unknown = sorted(set(names) - set(changed.all()))
    if unknown:
        raise UnknownSeats(unknown)
    await session.execute(
        update(Hall)
        .where(Hall.id == hall_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
