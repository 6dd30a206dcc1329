"""Box office endpoints: cinemas and halls, showtimes and their seat maps, seat holds. Parse,
authorize, call the service. Staff (managers and admins) run cinemas and schedules; anyone
reads them; a signed-in user holds seats, and only ever sees and releases their own holds."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Request, Response, status

from kino.boxoffice import cinemas, holds, showtimes, tickets
from kino.boxoffice.geo import GeoPoint
from kino.boxoffice.models import ShowtimeFormat, ShowtimeStatus
from kino.boxoffice.schemas import (
    MAX_RADIUS_KM,
    CancellationRead,
    CinemaCreate,
    CinemaDetail,
    CinemaRead,
    CinemaUpdate,
    HallCreate,
    HallRead,
    HallUpdate,
    HoldCreate,
    HoldRead,
    SeatName,
    SeatsBlock,
    ShowtimeCreate,
    ShowtimeRead,
    ShowtimeSeatMap,
)
from kino.boxoffice.showtimes import ShowtimeFilters
from kino.core.errors import InvalidInput
from kino.core.http import MAX_ID, AppSettings, DbSession, IdPath, app_database, app_settings
from kino.core.pagination import Page, Paging
from kino.core.routing import GatedRouter
from kino.identity.dependencies import (
    CALLER_SECURITY,
    CurrentUser,
    OptionalUser,
    StaffUser,
    current_caller,
    is_staff,
)
from kino.jobs.dependencies import AppJobQueue

cinemas_router = GatedRouter(tags=["cinemas"])
showtimes_router = GatedRouter(tags=["showtimes"])
holds_router = GatedRouter(tags=["seat holds"])

NO_CONTENT = status.HTTP_204_NO_CONTENT
CREATED = status.HTTP_201_CREATED
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


async def _near(
    near: Annotated[
        str | None,
        Query(
            max_length=64, description="LAT,LON in degrees: 52.52,13.405", examples=["52.52,13.405"]
        ),
    ] = None,
) -> GeoPoint | None:
    if near is None:
        return None
    parts = near.split(",")
    try:
        latitude, longitude = (float(part) for part in parts)
    except ValueError:
        raise _bad_query("near", "must be LAT,LON in degrees, such as 52.52,13.405") from None
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise _bad_query("near", "the latitude must be between -90 and 90")
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise _bad_query("near", "the longitude must be between -180 and 180")
    return GeoPoint(latitude, longitude)


def _bad_query(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", details=[{"field": field, "message": message}])


Near = Annotated[GeoPoint | None, Depends(_near)]


# --- cinemas and halls -------------------------------------------------------------------------


@cinemas_router.get("/cinemas")
async def list_cinemas(
    session: DbSession,
    paging: Paging,
    near: Near,
    radius_km: Annotated[float, Query(gt=0, le=MAX_RADIUS_KM)] = 50.0,
    city: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
) -> Page[CinemaRead]:
    """Cinemas by name; with ``near``, those within ``radius_km`` of it, nearest first, each
    with its ``distance_km``. ``city`` matches the city whatever its case."""
    return await cinemas.list_cinemas(
        session, paging=paging, near=near, radius_km=radius_km, city=city
    )


@cinemas_router.post("/cinemas", status_code=CREATED)
async def create_cinema(body: CinemaCreate, staff: StaffUser, session: DbSession) -> CinemaDetail:
    return await cinemas.create_cinema(session, body)


@cinemas_router.get("/cinemas/{cinema_id}")
async def get_cinema(cinema_id: IdPath, session: DbSession) -> CinemaDetail:
    """The cinema with its halls."""
    return await cinemas.get_cinema(session, cinema_id)


@cinemas_router.patch("/cinemas/{cinema_id}")
async def update_cinema(
    cinema_id: IdPath, body: CinemaUpdate, staff: StaffUser, session: DbSession
) -> CinemaDetail:
    return await cinemas.update_cinema(session, cinema_id, body)


@cinemas_router.post("/cinemas/{cinema_id}/halls", status_code=CREATED)
async def create_hall(
    cinema_id: IdPath, body: HallCreate, staff: StaffUser, session: DbSession
) -> HallRead:
    """A hall and its seat map: each row a label and a string of seats (S standard, P premium,
    V VIP, W wheelchair space, _ a gap). Its capacity is the number of seats."""
    return await cinemas.create_hall(session, cinema_id, body)


@cinemas_router.get("/halls/{hall_id}")
async def get_hall(hall_id: IdPath, session: DbSession) -> HallRead:
    """The hall's seat map, with the seats blocked for maintenance."""
    return await cinemas.get_hall(session, hall_id)


@cinemas_router.patch("/halls/{hall_id}")
async def update_hall(
    hall_id: IdPath, body: HallUpdate, staff: StaffUser, session: DbSession
) -> HallRead:
    return await cinemas.update_hall(session, hall_id, body)


@cinemas_router.post("/halls/{hall_id}/blocked-seats")
async def block_seats(
    hall_id: IdPath, body: SeatsBlock, staff: StaffUser, session: DbSession
) -> HallRead:
    """Takes seats out of use (maintenance) for every showtime of the hall: new holds cannot
    take them. Seats already held or sold stay so."""
    return await cinemas.block_seats(session, hall_id, body.seats, reason=body.reason)


@cinemas_router.delete("/halls/{hall_id}/blocked-seats/{seat}")
async def unblock_seat(
    hall_id: IdPath, seat: SeatName, staff: StaffUser, session: DbSession
) -> HallRead:
    return await cinemas.unblock_seat(session, hall_id, seat)


# --- showtimes ---------------------------------------------------------------------------------


@showtimes_router.post("/showtimes", status_code=CREATED)
async def create_showtime(
    body: ShowtimeCreate, staff: StaffUser, session: DbSession, settings: AppSettings
) -> ShowtimeRead:
    """Schedules a film in a hall. It ends after the film's runtime and the cleaning time; a
    showtime overlapping another in the same hall is refused with 409 ``showtime_overlap``."""
    return await showtimes.create_showtime(
        session, body, cleaning_minutes=settings.showtime_cleaning_minutes
    )


@showtimes_router.get("/showtimes")
async def list_showtimes(
    session: DbSession,
    user: OptionalUser,
    paging: Paging,
    movie_id: OptionalId = None,
    cinema_id: OptionalId = None,
    hall_id: OptionalId = None,
    day: Annotated[
        date | None, Query(alias="date", description="A day in the cinema's time zone.")
    ] = None,
    format: ShowtimeFormat | None = None,
    status: ShowtimeStatus = ShowtimeStatus.SCHEDULED,
) -> Page[ShowtimeRead]:
    """Showtimes, earliest first: those of ``date`` (in each cinema's own time zone), or
    without a date those that have not ended yet."""
    filters = ShowtimeFilters(
        movie_id=movie_id,
        cinema_id=cinema_id,
        hall_id=hall_id,
        day=day,
        format=format,
        status=status,
    )
    return await showtimes.list_showtimes(
        session, filters, paging=paging, include_drafts=is_staff(user)
    )


@showtimes_router.get("/movies/{movie_id}/showtimes")
async def list_movie_showtimes(
    movie_id: IdPath,
    session: DbSession,
    user: OptionalUser,
    paging: Paging,
    cinema_id: OptionalId = None,
    day: Annotated[date | None, Query(alias="date")] = None,
    format: ShowtimeFormat | None = None,
) -> Page[ShowtimeRead]:
    """The film's coming showtimes (or those of ``date``), earliest first. Under /movies, a
    signed-out visitor's answer comes from the catalog's response cache, so it may be up to
    KINO_CACHE_TTL_SECONDS old; /showtimes?movie_id= is always fresh."""
    await showtimes.ensure_movie_visible(session, movie_id, include_drafts=is_staff(user))
    filters = ShowtimeFilters(movie_id=movie_id, cinema_id=cinema_id, day=day, format=format)
    return await showtimes.list_showtimes(
        session, filters, paging=paging, include_drafts=is_staff(user)
    )


@showtimes_router.get("/showtimes/{showtime_id}")
async def get_showtime(showtime_id: IdPath, session: DbSession, user: OptionalUser) -> ShowtimeRead:
    return await showtimes.get_showtime(session, showtime_id, include_drafts=is_staff(user))


@showtimes_router.get("/showtimes/{showtime_id}/seats")
async def get_seat_map(
    showtime_id: IdPath, session: DbSession, user: OptionalUser
) -> ShowtimeSeatMap:
    """Every seat with its type, price and state (free, held, sold, blocked); ``mine`` marks
    the caller's own held seats."""
    return await showtimes.seat_map(
        session,
        showtime_id,
        viewer_id=user.id if user else None,
        include_drafts=is_staff(user),
    )


@showtimes_router.post("/showtimes/{showtime_id}/cancel")
async def cancel_showtime(
    showtime_id: IdPath, staff: StaffUser, session: DbSession, jobs: AppJobQueue
) -> CancellationRead:
    """Cancels the showtime and releases its holds; its sold tickets are listed, refunded in
    full and their holders mailed."""
    cancelled = await showtimes.cancel_showtime(session, showtime_id)
    await tickets.cancel_showtime_tickets(session, jobs, showtime_id, actor_id=staff.id)
    return CancellationRead(
        showtime=cancelled.showtime,
        released_holds=cancelled.released_holds,
        ticket_ids=cancelled.ticket_ids,
    )


# --- holds -------------------------------------------------------------------------------------


@holds_router.post(
    "/showtimes/{showtime_id}/holds", status_code=CREATED, openapi_extra=CALLER_SECURITY
)
async def hold_seats(showtime_id: IdPath, body: HoldCreate, request: Request) -> HoldRead:
    """Holds all the seats or none: a seat held, sold or blocked is a 409 ``seats_unavailable``
    naming the seats in ``details.seats``. The hold lasts KINO_SEAT_HOLD_SECONDS and replaces
    the caller's previous hold for the showtime."""
    # A sale's busiest path. The caller, the database and the settings come off the request
    # rather than as dependencies, each of which FastAPI solves at a cost (``app_settings``),
    # and the hold's first query checks the caller's user row.
    caller = await current_caller(request)
    hold_seconds = app_settings(request).seat_hold_seconds
    return await holds.hold_seats_alone(
        app_database(request), caller, showtime_id, body.seats, hold_seconds=hold_seconds
    )


@holds_router.get("/holds/{hold_id}")
async def get_hold(hold_id: IdPath, user: CurrentUser, session: DbSession) -> HoldRead:
    return await holds.get_hold(session, user, hold_id)


@holds_router.delete("/holds/{hold_id}", status_code=NO_CONTENT)
async def release_hold(hold_id: IdPath, user: CurrentUser, session: DbSession) -> Response:
    """Gives the seats back at once. Only the holder can."""
    await holds.release_hold(session, user, hold_id)
    return Response(status_code=NO_CONTENT)


# The app includes ``holds_router`` on its own, ahead of every other router (``kino.app``).
router = GatedRouter()
router.include_router(cinemas_router)
router.include_router(showtimes_router)
