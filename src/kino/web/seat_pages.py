"""The seat picker: a showtime's seat map as a form of seat checkboxes (each labelled "Row A
seat 5, premium, 12.00 EUR"), kept live by static/js/seats.js, which polls the seat map of the
API and changes the seats in place, so the visitor's choice and focus stay. Holding the seats
leads to checkout; seats someone else took meanwhile are named and the map drawn afresh."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kino.boxoffice import holds, showtimes
from kino.boxoffice.errors import (
    HoldInProgress,
    SeatsUnavailable,
    ShowtimeCancelled,
    ShowtimeStarted,
    UnknownSeats,
)
from kino.boxoffice.models import SeatType, ShowtimeStatus
from kino.boxoffice.schemas import MAX_SEATS_PER_HOLD, HoldCreate, ShowtimeRead, ShowtimeSeat
from kino.core.db import utcnow
from kino.core.errors import KinoError
from kino.core.http import DbSession, IdPath
from kino.core.money import currency_exponent
from kino.identity.dependencies import AppDatabase
from kino.identity.service import Caller
from kino.web.boxoffice_pages import money
from kino.web.context import Web, WebContext
from kino.web.errors import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MAX_FITTED_COLUMNS = 40  # wider halls scroll sideways on a phone
SEAT_NAME = re.compile(r"^[A-Z]{1,3}[1-9][0-9]{0,2}$")
TYPE_NAMES = {
    SeatType.STANDARD: "standard",
    SeatType.PREMIUM: "premium",
    SeatType.VIP: "VIP",
    SeatType.WHEELCHAIR: "wheelchair space",
}
STATE_NAMES = {"held": "held by someone else", "sold": "sold", "blocked": "not in use"}
NOTICES = {
    "expired": "Your hold expired and its seats were given back. Choose your seats again.",
}
SeatsQuery = Annotated[str | None, Query(max_length=200)]
NoticeQuery = Annotated[str | None, Query(max_length=20)]


@dataclass(frozen=True)
class SeatCell:
    """One seat of the map as the page draws it."""

    seat: ShowtimeSeat
    row: str
    name: str  # "Row A seat 5, premium, 12.00 EUR"
    label: str  # the name and, unless it is free, its state
    free: bool  # the visitor may tick it: free, or held by them
    checked: bool


@dataclass(frozen=True)
class MapRow:
    label: str
    cells: list[SeatCell | None]  # None: a gap in the row


@dataclass(frozen=True)
class Failure:
    message: str
    taken: list[str]
    status: int


def seat_name(row: str, seat: ShowtimeSeat, currency: str) -> str:
    """What a screen reader says for a seat: ``Row A seat 5, premium, 12.00 EUR``."""
    return f"Row {row} seat {seat.number}, {TYPE_NAMES[seat.type]}, {money(seat.price, currency)}"


def _seat_names(text: str | None) -> list[str]:
    """Seat names from a ``?seats=A1,A2`` link (after signing in), well formed ones only."""
    names = (name.strip().upper() for name in (text or "").split(","))
    return [name for name in names if SEAT_NAME.match(name)][:MAX_SEATS_PER_HOLD]


# ---------------------------------------------------------------------------- the picker


@router.get("/showtimes/{showtime_id}")
async def seat_picker(
    showtime_id: IdPath,
    web: WebContext,
    session: DbSession,
    seats: SeatsQuery = None,
    notice: NoticeQuery = None,
) -> HTMLResponse:
    context = await _picker_context(session, web, showtime_id, wanted=_seat_names(seats))
    context["notice"] = NOTICES.get(notice or "")
    return web.render("boxoffice/showtime.html", context)


async def _picker_context(
    session: AsyncSession,
    web: Web,
    showtime_id: int,
    *,
    wanted: list[str],
    failure: Failure | None = None,
) -> dict[str, Any]:
    showtime = await showtimes.get_showtime(session, showtime_id, include_drafts=web.is_staff)
    seat_map = await showtimes.seat_map(
        session,
        showtime_id,
        viewer_id=web.user.id if web.user else None,
        include_drafts=web.is_staff,
    )
    chosen = set(wanted)
    # Every row as wide as the widest, so seats at one position stand in one column.
    width = max((seat.position for row in seat_map.rows for seat in row.seats), default=0)
    rows = [
        MapRow(row.label, _cells(row.label, row.seats, chosen, showtime.currency, width))
        for row in seat_map.rows
    ]
    selected = [cell for row in rows for cell in row.cells if cell and cell.checked]
    return {
        "showtime": showtime,
        "seat_map": seat_map,
        "rows": rows,
        # A phone fits up to this many places in a row (boxoffice.css sizes the seats by it).
        "columns": min(MAX_FITTED_COLUMNS, width + width % 2),
        "legend": _legend(showtime, rows),
        "selected": selected,
        "holding": [cell.seat.name for cell in selected if cell.seat.mine],
        "total": sum(cell.seat.price for cell in selected),
        "exponent": currency_exponent(showtime.currency),
        "max_seats": MAX_SEATS_PER_HOLD,
        "hold_minutes": max(1, round(web.settings.seat_hold_seconds / 60)),
        "on_sale": showtime.status is ShowtimeStatus.SCHEDULED and showtime.starts_at > utcnow(),
        "failure": failure,
        "notice": None,
    }


def _cells(
    row: str, seats: list[ShowtimeSeat], chosen: set[str], currency: str, width: int
) -> list[SeatCell | None]:
    cells: list[SeatCell | None] = [None] * width
    for seat in seats:
        free = seat.state == "free" or seat.mine
        checked = seat.mine or (free and seat.name in chosen)
        name = seat_name(row, seat, currency)
        label = name if free else f"{name}, {STATE_NAMES[seat.state]}"
        cells[seat.position - 1] = SeatCell(seat, row, name, label, free, checked)
    return cells


def _legend(showtime: ShowtimeRead, rows: list[MapRow]) -> list[tuple[str, str, str]]:
    """The hall's seat types with their prices: (type, name, price)."""
    present = {cell.seat.type for row in rows for cell in row.cells if cell}
    prices = showtime.prices.model_dump()
    return [
        (kind.value, TYPE_NAMES[kind], money(prices[kind.value], showtime.currency))
        for kind in SeatType
        if kind in present
    ]


def _login_url(showtime_id: int, seats: list[str]) -> str:
    """Signing in comes back to the picker with the seats chosen so far."""
    after = f"/showtimes/{showtime_id}" + (f"?seats={','.join(seats)}" if seats else "")
    return f"/login?next={quote(after, safe='/')}"


# ---------------------------------------------------------------------------- holding


@router.post("/showtimes/{showtime_id}/hold")
async def hold_seats(
    showtime_id: IdPath, web: WebContext, session: DbSession, db: AppDatabase
) -> Response:
    await web.form()  # checks the CSRF token
    # Starlette keeps the parsed form: every ticked seat (web.form() keeps one value a name).
    wanted = [str(name) for name in (await web.request.form()).getlist("seat")]
    if web.user is None:
        return web.redirect(_login_url(showtime_id, _seat_names(",".join(wanted))))
    try:
        body = HoldCreate(seats=wanted)
    except ValidationError:
        failure = Failure(_hold_form_message(len(wanted)), [], 422)
        return await _picker_again(session, web, showtime_id, wanted, failure)
    try:
        # Its own unit of work: a refused hold is undone whole while the page, drawn again
        # with the request's session, tells why.
        hold = await holds.hold_seats_alone(
            db,
            Caller.of(web.user),
            showtime_id,
            body.seats,
            hold_seconds=web.settings.seat_hold_seconds,
        )
    except SeatsUnavailable as error:
        taken = list(error.details["seats"]) if isinstance(error.details, dict) else []
        failure = Failure(_taken_message(taken, error), taken, error.status)
        return await _picker_again(session, web, showtime_id, wanted, failure)
    except (UnknownSeats, ShowtimeStarted, ShowtimeCancelled, HoldInProgress) as error:
        failure = Failure(error.message, [], error.status)
        return await _picker_again(session, web, showtime_id, wanted, failure)
    return web.redirect(f"/checkout/{hold.id}")


def _hold_form_message(count: int) -> str:
    if count == 0:
        return "Choose at least one seat on the map."
    if count > MAX_SEATS_PER_HOLD:
        return f"You can hold at most {MAX_SEATS_PER_HOLD} seats at a time; you chose {count}."
    return "Those are not seats of this hall: choose seats on the map."


def _taken_message(taken: list[str], error: KinoError) -> str:
    if not taken or "right now" in error.message:
        return error.message
    listed = ", ".join(taken)
    verb = "was" if len(taken) == 1 else "were"
    return f"Sorry, {listed} {verb} just taken by someone else. The map shows the seats now."


async def _picker_again(
    session: AsyncSession, web: Web, showtime_id: int, wanted: list[str], failure: Failure
) -> HTMLResponse:
    keep = [name for name in wanted if name not in failure.taken]
    context = await _picker_context(session, web, showtime_id, wanted=keep, failure=failure)
    return web.render("boxoffice/showtime.html", context, status=failure.status)
