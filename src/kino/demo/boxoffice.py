"""The demo's box office: three cinemas (Berlin, London, Paris) with halls and seat maps, and
showtimes of a handful of demo films for the next seven days, made through the box office
services as a manager's requests would make them.

Safe to repeat: a cinema or hall already there (by name) is kept, and a hall gets showtimes
only for the days it has none yet, so every run rolls the programme forward to seven days
without touching what is scheduled (or sold).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from kino.boxoffice import cinemas as cinema_service
from kino.boxoffice import showtimes as showtime_service
from kino.boxoffice.models import ScreenType, ShowtimeFormat
from kino.boxoffice.schemas import (
    CinemaCreate,
    CinemaDetail,
    HallCreate,
    HallSummary,
    OpeningHours,
    OpeningInterval,
    Prices,
    SeatRow,
    ShowtimeCreate,
)
from kino.catalog.schemas import MovieSummary
from kino.catalog.search import search_index_for
from kino.core.db import Database, utcnow
from kino.core.pagination import PageParams
from kino.demo.films import FilmName, pick_films
from kino.demo.videos import SAMPLE_CLIPS

PROGRAMME_DAYS = 7
FIRST_SHOW = time(13, 0)
LAST_START = time(22, 30)
START_STEP_MINUTES = 15  # showtimes start on the quarter hour
SHOWTIME_FILMS = (
    *(clip.film for clip in SAMPLE_CLIPS),
    FilmName("The Intouchables", 2011),
    FilmName("Despicable Me", 2010),
)


def _rows(*rows: str) -> list[SeatRow]:
    """Rows front to back, labelled A, B, C … (I skipped, as cinemas do: it reads as 1)."""
    labels = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
    return [SeatRow(label=label, seats=seats) for label, seats in zip(labels, rows, strict=False)]


# Aisles left and right; premium rows at the back of the stalls, VIP pairs behind them, and
# wheelchair spaces at the ends of a row reached without steps.
BIG_HALL = _rows(
    "SSSS_SSSSSS_SSSS",
    "SSSS_SSSSSS_SSSS",
    "SSSS_SSSSSS_SSSS",
    "SSSS_SSSSSS_SSSS",
    "WWSS_SSSSSS_SSWW",
    "SSSS_SSSSSS_SSSS",
    "SSSS_PPPPPP_SSSS",
    "PPPP_PPPPPP_PPPP",
    "PPPP_PPPPPP_PPPP",
    "_VV_VV_VV_VV_VV_",
)
SMALL_HALL = _rows(
    "SSSSSSSS",
    "SSSSSSSS",
    "WSSSSSSW",
    "SSSSSSSS",
    "PPPPPPPP",
    "VV_VV_VV",
)


def _week(opens: str, closes: str, *, late_closes: str | None = None) -> OpeningHours:
    """Open every day; later on Friday and Saturday when ``late_closes`` says so."""
    usual = [OpeningInterval(opens=opens, closes=closes)]
    late = [OpeningInterval(opens=opens, closes=late_closes or closes)]
    return {
        "mon": usual, "tue": usual, "wed": usual, "thu": usual,
        "fri": late, "sat": late, "sun": usual,
    }  # fmt: skip


@dataclass(frozen=True)
class DemoHall:
    hall: HallCreate
    prices: Prices  # in minor units of the cinema's currency
    format: ShowtimeFormat


@dataclass(frozen=True)
class DemoCinema:
    cinema: CinemaCreate
    halls: tuple[DemoHall, ...]
    currency: str
    language: str
    subtitles: str | None


# Made-up cinemas at plausible addresses; phone numbers from the ranges kept for fiction where
# a country has one (Ofcom's 020 7946 0xxx, ARCEP's 01 99 00 xx xx), mail at .example.
DEMO_CINEMAS = (
    DemoCinema(
        cinema=CinemaCreate(
            name="Kanal Kino",
            address="Paul-Lincke-Ufer 42, 10999",
            city="Berlin",
            phone="+49 30 5550 1942",
            email="kasse@kanal-kino.example",
            latitude=52.4955,
            longitude=13.4233,
            time_zone="Europe/Berlin",
            opening_hours=_week("12:30", "23:30", late_closes="01:00"),
        ),
        halls=(
            DemoHall(
                HallCreate(
                    name="Saal 1", screen=ScreenType.THREE_D, sound="Dolby Atmos", rows=BIG_HALL
                ),
                Prices(standard=1150, premium=1350, vip=1850, wheelchair=950),
                ShowtimeFormat.TWO_D,
            ),
            DemoHall(
                HallCreate(name="Studio", screen=ScreenType.TWO_D, sound="5.1", rows=SMALL_HALL),
                Prices(standard=990, premium=1190, vip=1590, wheelchair=790),
                ShowtimeFormat.TWO_D,
            ),
        ),
        currency="EUR",
        language="en",
        subtitles="de",
    ),
    DemoCinema(
        cinema=CinemaCreate(
            name="Regent Picturehouse",
            address="48 Charlotte Road, EC2A 3PD",
            city="London",
            phone="+44 20 7946 0321",
            email="boxoffice@regent-picturehouse.example",
            latitude=51.5262,
            longitude=-0.0806,
            time_zone="Europe/London",
            opening_hours=_week("12:00", "23:30"),
        ),
        halls=(
            DemoHall(
                HallCreate(
                    name="Screen 1", screen=ScreenType.IMAX, sound="IMAX 12-channel", rows=BIG_HALL
                ),
                Prices(standard=1695, premium=1995, vip=2495, wheelchair=1295),
                ShowtimeFormat.IMAX,
            ),
            DemoHall(
                HallCreate(name="Screen 2", screen=ScreenType.TWO_D, sound="7.1", rows=SMALL_HALL),
                Prices(standard=1295, premium=1495, vip=1895, wheelchair=995),
                ShowtimeFormat.TWO_D,
            ),
        ),
        currency="GBP",
        language="en",
        subtitles=None,
    ),
    DemoCinema(
        cinema=CinemaCreate(
            name="Cinéma des Écluses",
            address="102 Quai de Jemmapes, 75010",
            city="Paris",
            phone="+33 1 99 00 27 14",
            email="contact@cinema-des-ecluses.example",
            latitude=48.8722,
            longitude=2.3649,
            time_zone="Europe/Paris",
            opening_hours=_week("13:00", "23:45"),
        ),
        halls=(
            DemoHall(
                HallCreate(
                    name="Salle 1", screen=ScreenType.TWO_D, sound="Dolby 7.1", rows=BIG_HALL
                ),
                Prices(standard=1090, premium=1290, vip=1690, wheelchair=890),
                ShowtimeFormat.TWO_D,
            ),
        ),
        currency="EUR",
        language="en",
        subtitles="fr",
    ),
)


@dataclass(frozen=True)
class BoxOfficeReport:
    cinemas_added: int
    halls_added: int
    showtimes_added: int
    cinemas: int
    halls: int

    def summary(self) -> str:
        return (
            f"{self.cinemas} cinemas with {self.halls} halls; added {self.cinemas_added} "
            f"cinemas, {self.halls_added} halls and {self.showtimes_added} showtimes "
            f"(programme for the next {PROGRAMME_DAYS} days)"
        )


async def prepare_box_office(
    db: Database,
    *,
    cleaning_minutes: int,
    cinemas: Sequence[DemoCinema] = DEMO_CINEMAS,
    now: datetime | None = None,
) -> BoxOfficeReport:
    """The demo cinemas and halls, and showtimes for every day of the coming week a hall has
    none on. ``cleaning_minutes``: the setting the showtime service adds after each film."""
    now = now or utcnow()
    search = search_index_for(db.dialect)
    added = _Added()
    async with db.transaction() as session:
        picked = await pick_films(session, search, SHOWTIME_FILMS, with_runtime=True)
        films = [film for film in picked if film is not None]
        for demo in cinemas:
            cinema = await _cinema(session, demo, added)
            for index, demo_hall in enumerate(demo.halls):
                hall = await _hall(session, cinema, demo_hall, added)
                schedule = _Schedule(demo, demo_hall, hall, films, cleaning_minutes, index)
                added.showtimes += await schedule.fill(session, now)
    halls = sum(len(demo.halls) for demo in cinemas)
    return BoxOfficeReport(
        added.cinemas, added.halls, added.showtimes, cinemas=len(cinemas), halls=halls
    )


@dataclass
class _Added:
    cinemas: int = 0
    halls: int = 0
    showtimes: int = 0


async def _cinema(session: AsyncSession, demo: DemoCinema, added: _Added) -> CinemaDetail:
    in_city = await cinema_service.list_cinemas(
        session, paging=PageParams(page_size=100), city=demo.cinema.city
    )
    for cinema in in_city.items:
        if cinema.name == demo.cinema.name:
            return await cinema_service.get_cinema(session, cinema.id)
    added.cinemas += 1
    return await cinema_service.create_cinema(session, demo.cinema)


async def _hall(
    session: AsyncSession, cinema: CinemaDetail, demo: DemoHall, added: _Added
) -> HallSummary:
    for hall in cinema.halls:
        if hall.name == demo.hall.name:
            return hall
    added.halls += 1
    made = await cinema_service.create_hall(session, cinema.id, demo.hall)
    return HallSummary(
        id=made.id, name=made.name, screen=made.screen, sound=made.sound, capacity=made.capacity
    )


@dataclass(frozen=True)
class _Schedule:
    """One hall's programme: from ``FIRST_SHOW`` (later for each further hall of a cinema, so
    that films do not all start at once) one film after another, each starting on the next
    quarter hour after the last one and its cleaning, until ``LAST_START``. Which film plays
    follows from the date, so a day's programme is the same whichever run made it."""

    demo: DemoCinema
    demo_hall: DemoHall
    hall: HallSummary
    films: Sequence[MovieSummary]
    cleaning_minutes: int
    hall_index: int

    async def fill(self, session: AsyncSession, now: datetime) -> int:
        if not self.films:
            return 0
        zone = ZoneInfo(self.demo.cinema.time_zone)
        today = now.astimezone(zone).date()
        added = 0
        for day in (today + timedelta(days=offset) for offset in range(PROGRAMME_DAYS)):
            if not await self._has_showtimes(session, day):
                added += await self._fill_day(session, day, zone, now)
        return added

    async def _has_showtimes(self, session: AsyncSession, day: date) -> bool:
        filters = showtime_service.ShowtimeFilters(hall_id=self.hall.id, day=day, status=None)
        found = await showtime_service.list_showtimes(
            session, filters, paging=PageParams(page_size=1), include_drafts=True
        )
        return found.total > 0

    async def _fill_day(
        self, session: AsyncSession, day: date, zone: ZoneInfo, now: datetime
    ) -> int:
        starts_at = datetime.combine(day, FIRST_SHOW, zone) + timedelta(
            minutes=30 * self.hall_index
        )
        last_start = datetime.combine(day, LAST_START, zone)
        added = 0
        for slot in itertools.count():
            if starts_at > last_start:
                break
            film = self.films[(day.toordinal() + self.hall_index + slot) % len(self.films)]
            if starts_at > now:
                await self._add(session, film, starts_at, now)
                added += 1
            starts_at = _next_quarter(
                starts_at + timedelta(minutes=(film.runtime_minutes or 0) + self.cleaning_minutes)
            )
        return added

    async def _add(
        self, session: AsyncSession, film: MovieSummary, starts_at: datetime, now: datetime
    ) -> None:
        body = ShowtimeCreate(
            movie_id=film.id,
            hall_id=self.hall.id,
            starts_at=starts_at,
            language=self.demo.language,
            subtitles=self.demo.subtitles,
            format=self.demo_hall.format,
            prices=self.demo_hall.prices,
            currency=self.demo.currency,
        )
        await showtime_service.create_showtime(
            session, body, cleaning_minutes=self.cleaning_minutes, now=now
        )


def _next_quarter(moment: datetime) -> datetime:
    """``moment`` rounded up to the next start step (wall time in its own zone)."""
    past = (moment.minute % START_STEP_MINUTES) * 60 + moment.second
    if past == 0 and moment.microsecond == 0:
        return moment
    return (moment + timedelta(seconds=START_STEP_MINUTES * 60 - past)).replace(microsecond=0)
