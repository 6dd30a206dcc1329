"""Box office figures for staff: tickets sold, revenue and occupancy per showtime, film and day.

Days are the showtimes' local dates (in each cinema's time zone), ``from`` and ``to`` both
included. Scheduled showtimes only: a cancelled one sold nothing that was kept. Sold means a
valid ticket (refunded and cancelled ones are not counted), revenue is what those tickets
cost, per currency, and occupancy is tickets sold over the hall's capacity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kino.boxoffice.models import Hall, Showtime, ShowtimeStatus
from kino.boxoffice.sales_errors import BadDateRange
from kino.boxoffice.sales_models import CheckIn, Ticket, TicketStatus
from kino.boxoffice.sales_schemas import (
    BoxOfficeStats,
    DayFigures,
    FilmFigures,
    SalesFigures,
    ShowtimeFigures,
)
from kino.catalog.models import Movie
from kino.core.db import utcnow

DEFAULT_DAYS = 30
MAX_DAYS = 366


def date_range(
    date_from: date | None, date_to: date | None, *, today: date | None = None
) -> tuple[date, date]:
    """The days asked for: by default the 30 days before and after today; at most 366 days."""
    today = today or utcnow().date()
    if date_from is None and date_to is None:
        date_from, date_to = (
            today - timedelta(days=DEFAULT_DAYS),
            today + timedelta(days=DEFAULT_DAYS),
        )
    elif date_from is None:
        assert date_to is not None
        date_from = date_to - timedelta(days=DEFAULT_DAYS)
    elif date_to is None:
        date_to = date_from + timedelta(days=DEFAULT_DAYS)
    if date_to < date_from:
        raise BadDateRange("from must not be after to")
    if (date_to - date_from).days + 1 > MAX_DAYS:
        raise BadDateRange(f"the range covers at most {MAX_DAYS} days")
    return date_from, date_to


@dataclass
class _Tally:
    showtimes: int = 0
    capacity: int = 0
    tickets_sold: int = 0
    checked_in: int = 0
    revenue: dict[str, int] = field(default_factory=dict)

    def add(self, row: Any) -> None:
        self.showtimes += 1
        self.capacity += row.capacity
        self.tickets_sold += int(row.sold or 0)
        self.checked_in += int(row.checked_in or 0)
        if row.revenue:
            self.revenue[row.currency] = self.revenue.get(row.currency, 0) + int(row.revenue)

    def figures(self) -> dict[str, Any]:
        occupancy = self.tickets_sold / self.capacity if self.capacity else 0.0
        return {
            "showtimes": self.showtimes,
            "capacity": self.capacity,
            "tickets_sold": self.tickets_sold,
            "checked_in": self.checked_in,
            "revenue": dict(sorted(self.revenue.items())),
            "occupancy": round(occupancy, 4),
        }


async def box_office_stats(
    session: AsyncSession,
    *,
    cinema_id: int | None,
    date_from: date | None,
    date_to: date | None,
) -> BoxOfficeStats:
    first, last = date_range(date_from, date_to)
    rows = list(await session.execute(_per_showtime(cinema_id, first, last)))
    totals = _Tally()
    for row in rows:
        totals.add(row)
    return BoxOfficeStats(
        cinema_id=cinema_id,
        date_from=first,
        date_to=last,
        totals=SalesFigures(**totals.figures()),
        by_day=[
            DayFigures(date=day, **tally.figures())
            for (day,), tally in _grouped(rows, lambda row: (row.local_date,))
        ],
        by_film=[
            FilmFigures(movie_id=movie_id, movie_title=title, **tally.figures())
            for (title, movie_id), tally in _grouped(rows, lambda row: (row.title, row.movie_id))
        ],
        by_showtime=[_showtime_figures(row) for row in rows],
    )


def _per_showtime(cinema_id: int | None, first: date, last: date) -> Any:
    query = (
        select(
            Showtime.id,
            Showtime.starts_at,
            Showtime.local_date,
            Showtime.currency,
            Showtime.movie_id,
            Movie.title,
            Hall.id.label("hall_id"),
            Hall.name.label("hall_name"),
            Hall.capacity,
            func.count(Ticket.id).label("sold"),
            func.coalesce(func.sum(Ticket.price), 0).label("revenue"),
            func.count(CheckIn.id).label("checked_in"),
        )
        .join(Hall, Hall.id == Showtime.hall_id)
        .join(Movie, Movie.id == Showtime.movie_id)
        .outerjoin(
            Ticket, and_(Ticket.showtime_id == Showtime.id, Ticket.status == TicketStatus.VALID)
        )
        .outerjoin(CheckIn, CheckIn.ticket_id == Ticket.id)
        .where(
            Showtime.status == ShowtimeStatus.SCHEDULED,
            Showtime.local_date >= first,
            Showtime.local_date <= last,
        )
        .group_by(Showtime.id, Movie.id, Hall.id)
        .order_by(Showtime.starts_at, Showtime.id)
    )
    if cinema_id is not None:
        query = query.where(Hall.cinema_id == cinema_id)
    return query


def _grouped(
    rows: Iterable[Any], key: Callable[[Any], tuple[Hashable, ...]]
) -> list[tuple[tuple[Any, ...], _Tally]]:
    tallies: dict[tuple[Any, ...], _Tally] = defaultdict(_Tally)
    for row in rows:
        tallies[key(row)].add(row)
    return sorted(tallies.items(), key=lambda item: item[0])


def _showtime_figures(row: Any) -> ShowtimeFigures:
    tally = _Tally()
    tally.add(row)
    return ShowtimeFigures(
        showtime_id=row.id,
        starts_at=row.starts_at,
        local_date=row.local_date,
        movie_id=row.movie_id,
        movie_title=row.title,
        hall_id=row.hall_id,
        hall_name=row.hall_name,
        **tally.figures(),
    )
