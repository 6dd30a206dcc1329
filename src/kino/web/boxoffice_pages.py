"""The box office on the site, part one: cinemas near the visitor (or in a city), a cinema's
programme by day, and a film's coming showtimes on its page. Everything is read through the
box office's services; the seat picker is in ``seat_pages``, checkout and tickets in
``ticket_pages``.

Times are shown in the cinema's own time zone (a showtime at 20:15 in Berlin is 20:15 to
everyone), money from integer minor units with its currency."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from kino.boxoffice import cinemas, showtimes
from kino.boxoffice.geo import GeoPoint
from kino.boxoffice.schemas import ShowtimeCinema, ShowtimeMovie, ShowtimeRead
from kino.boxoffice.showtimes import ShowtimeFilters
from kino.core.db import utcnow
from kino.core.errors import InvalidInput
from kino.core.http import DbSession, IdPath
from kino.core.money import format_money
from kino.core.pagination import MAX_PAGE_SIZE, PageParams
from kino.web.context import WebContext
from kino.web.errors import PageRoute
from kino.web.pages import Pages
from kino.web.security import PAGE_HEADERS
from kino.web.templating import MONTHS, templates

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CINEMAS_PER_PAGE = 20
RADII_KM = (5, 10, 25, 50, 100, 250)
DEFAULT_RADIUS_KM = 50
DAYS_AHEAD = 7
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# /cinemas asks for the visitor's position (the "near me" button); other pages never do.
GEOLOCATION_POLICY = PAGE_HEADERS["Permissions-Policy"].replace(
    "geolocation=()", "geolocation=(self)"
)
PageQuery = Annotated[int, Query(ge=1, le=10_000)]
TextQuery = Annotated[str | None, Query(max_length=100)]


# ---------------------------------------------------------------------------- formatting


def money(amount: int, currency: str) -> str:
    """``1250, "EUR"`` → ``12.50 EUR``."""
    return format_money(amount, currency)


def clock_time(value: datetime) -> str:
    """An aware time, already in the cinema's zone, as ``20:15``."""
    return f"{value.hour:02d}:{value.minute:02d}"


def short_day(value: date | datetime) -> str:
    """``Sat 5 Dec``."""
    return f"{WEEKDAYS[value.weekday()]} {value.day} {MONTHS[value.month - 1]}"


def long_day(value: date | datetime) -> str:
    """``Sat 5 Dec 2026``."""
    return f"{short_day(value)} {value.year}"


def distance(kilometres: float | None) -> str:
    if kilometres is None:
        return ""
    if kilometres < 1:
        return f"{round(kilometres * 1000, -1):.0f} m"
    return f"{kilometres:.1f} km" if kilometres < 10 else f"{kilometres:.0f} km"


templates.env.filters.update(
    money=money, clock_time=clock_time, short_day=short_day, long_day=long_day, distance=distance
)


# ---------------------------------------------------------------------------- query values


def parse_near(value: str | None) -> GeoPoint | None:
    """``"52.52,13.405"`` → a point; anything else is a 422 that says what is expected."""
    if value is None or not value.strip():
        return None
    try:
        latitude, longitude = (float(part) for part in value.split(","))
    except ValueError:
        raise _bad_query("near", "a position is LAT,LON in degrees, such as 52.52,13.405") from None
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise _bad_query("near", "the latitude must be between -90 and 90")
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise _bad_query("near", "the longitude must be between -180 and 180")
    return GeoPoint(latitude, longitude)


def parse_radius(value: str | None) -> int:
    if value is None or not value.strip():
        return DEFAULT_RADIUS_KM
    if not value.isdigit() or int(value) not in RADII_KM:
        choices = ", ".join(str(radius) for radius in RADII_KM)
        raise _bad_query("radius_km", f"the distance must be one of {choices} km")
    return int(value)


def parse_day(value: str | None, default: date) -> date:
    if value is None or not value.strip():
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _bad_query("date", "a day is written like 2026-12-24") from None


def _bad_query(field: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"This address has a bad {field}: {message}.",
        details=[{"field": field, "message": message}],
    )


# ---------------------------------------------------------------------------- cinemas


@router.get("/cinemas")
async def cinemas_page(
    web: WebContext,
    session: DbSession,
    near: TextQuery = None,
    city: TextQuery = None,
    radius_km: Annotated[str | None, Query(max_length=10)] = None,
    page: PageQuery = 1,
) -> HTMLResponse:
    point = parse_near(near)
    radius = parse_radius(radius_km)
    city = (city or "").strip() or None
    found = await cinemas.list_cinemas(
        session,
        paging=PageParams(page=page, page_size=CINEMAS_PER_PAGE),
        near=point,
        radius_km=radius,
        city=city,
    )
    params = {"near": near if point else None, "city": city, "radius_km": radius_km}
    context = {
        "cinemas": found.items,
        "total": found.total,
        "pages": Pages.of(page, found.total, CINEMAS_PER_PAGE),
        "params": params,
        "near": point,
        "city": city,
        "cities": await _cities(session),
        "radius": radius,
        "radii": RADII_KM,
    }
    response = web.render("boxoffice/cinemas.html", context)
    response.headers["Permissions-Policy"] = GEOLOCATION_POLICY
    return response


async def _cities(session: AsyncSession) -> list[str]:
    """The cities with a cinema, for the filter (a chain has tens of cinemas, not thousands)."""
    every = await cinemas.list_cinemas(session, paging=PageParams(page_size=MAX_PAGE_SIZE))
    return sorted({cinema.city for cinema in every.items}, key=str.casefold)


@dataclass(frozen=True)
class FilmShowtimes:
    movie: ShowtimeMovie
    showtimes: list[ShowtimeRead]


@router.get("/cinemas/{cinema_id}")
async def cinema_page(
    cinema_id: IdPath,
    web: WebContext,
    session: DbSession,
    day: Annotated[str | None, Query(alias="date", max_length=20)] = None,
) -> HTMLResponse:
    cinema = await cinemas.get_cinema(session, cinema_id)
    today = utcnow().astimezone(ZoneInfo(cinema.time_zone)).date()
    chosen = parse_day(day, today)
    filters = ShowtimeFilters(cinema_id=cinema_id, day=chosen)
    found = await showtimes.list_showtimes(
        session,
        filters,
        paging=PageParams(page_size=MAX_PAGE_SIZE),
        include_drafts=web.is_staff,
    )
    context = {
        "cinema": cinema,
        "day": chosen,
        "days": [today + timedelta(days=offset) for offset in range(DAYS_AHEAD)],
        "today": today,
        "films": _by_film(_bookable(found.items)),
    }
    return web.render("boxoffice/cinema.html", context)


def _bookable(items: list[ShowtimeRead]) -> list[ShowtimeRead]:
    """Those still to start: seats are sold until the film begins."""
    now = utcnow()
    return [showtime for showtime in items if showtime.starts_at > now]


def _by_film(items: list[ShowtimeRead]) -> list[FilmShowtimes]:
    films: dict[int, FilmShowtimes] = {}
    for showtime in items:
        entry = films.setdefault(showtime.movie.id, FilmShowtimes(showtime.movie, []))
        entry.showtimes.append(showtime)
    return sorted(films.values(), key=lambda film: film.movie.title.casefold())


# ---------------------------------------------------------------------------- a film's showtimes


FILM_PAGE_DAYS = 3


@dataclass(frozen=True)
class ShowtimeDay:
    day: date
    showtimes: list[ShowtimeRead]


@dataclass(frozen=True)
class CinemaProgramme:
    cinema: ShowtimeCinema
    days: list[ShowtimeDay]
    # The first day not shown on the film's page (its cinema's page has it and the rest).
    next_day: date | None = None


async def film_showtimes(
    session: AsyncSession, movie_id: int, *, include_drafts: bool
) -> list[CinemaProgramme]:
    """The film's coming showtimes by cinema, then by the cinema's local day (for its page)."""
    found = await showtimes.list_showtimes(
        session,
        ShowtimeFilters(movie_id=movie_id),
        paging=PageParams(page_size=MAX_PAGE_SIZE),
        include_drafts=include_drafts,
    )
    by_cinema: dict[int, tuple[ShowtimeCinema, dict[date, list[ShowtimeRead]]]] = {}
    for showtime in _bookable(found.items):
        _cinema, days = by_cinema.setdefault(showtime.cinema.id, (showtime.cinema, {}))
        days.setdefault(showtime.local_date, []).append(showtime)
    programmes = [_programme(cinema, days) for cinema, days in by_cinema.values()]
    return sorted(programmes, key=lambda programme: programme.cinema.name.casefold())


def _programme(cinema: ShowtimeCinema, days: dict[date, list[ShowtimeRead]]) -> CinemaProgramme:
    """A cinema's next few days of the film: a week in three cinemas would make the film's
    page very long, on a phone above all."""
    shown = [ShowtimeDay(day, items) for day, items in sorted(days.items())]
    later = shown[FILM_PAGE_DAYS:]
    return CinemaProgramme(cinema, shown[:FILM_PAGE_DAYS], later[0].day if later else None)
