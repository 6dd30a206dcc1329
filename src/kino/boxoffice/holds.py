"""Seat holds, and the rules of seat claims that holds, orders and tickets all keep.

The rules of ``seat_claims``
----------------------------
1. One row per (showtime, seat): the primary key. Whoever's row it is has the seat, and no
   code path "checks, then writes": every write goes through that key.
2. A claim is held (``hold_id`` + ``expires_at``) or sold (``ticket_id``; ``hold_id`` and
   ``expires_at`` NULL). A held claim whose ``expires_at`` has passed counts as free
   everywhere: nothing has to run for an expired hold to free its seats.
3. Taking seats is ONE statement over the seats in ascending seat id: ``INSERT … ON CONFLICT
   (showtime_id, seat_id) DO UPDATE … WHERE <the claim has expired, or belongs to the hold
   being replaced> RETURNING seat_id``. A free seat gets a new row; an expired claim is taken
   over in place (the "delete the expired claim, insert mine" of the design, in one step); any
   other claim is left alone, and its seat is missing from what the statement returns. A hold
   gets all its seats or none: when one is missing, the hold is undone (on PostgreSQL by the
   statement itself, elsewhere by rolling back the transaction) and the caller told which
   seats were taken (409 ``seats_unavailable``). A seat the hold's first
   query already sees taken is refused before anything is written (``_claimed_by_another``):
   under a rush most attempts are refusals, and each then costs no insert to roll back.
4. Lock order. PostgreSQL's ON CONFLICT DO UPDATE locks every conflicting row it meets (even
   one it leaves alone), and an INSERT waits for a conflicting row that another transaction
   has not committed yet. Rows are met in the statement's order, so every transaction that
   touches several claims must do it in ascending seat id, in one statement or after locking
   them in that order (``SELECT … ORDER BY seat_id FOR UPDATE``), and before it touches any
   other claim. A transaction that works on a hold locks the hold's row before its claims.
   Then two transactions can wait for each other only in one direction: no deadlocks.
5. Hold transactions set a lock timeout on PostgreSQL (``hold_statements.LOCK_TIMEOUT_MS``): a
   seat locked for longer than that (a sale that is taking its time) is reported as
   unavailable rather than keeping the buyer waiting.
6. One live hold per user and showtime (a partial unique index). A new hold replaces the old:
   the old row leaves that index first (deleted on PostgreSQL, marked ``replaced`` on SQLite),
   the new one is inserted, and the old hold's seats go into the same sorted statement as the
   new ones, so seats kept from the old hold are never free in between; old seats no longer
   wanted are then dropped, and the old hold deleted. On SQLite, the first write of a
   transaction takes the database's single write lock, so all of this is serialized there
   anyway.
7. On PostgreSQL all of a hold's writes are one statement (``hold_statements``'s
   ``hold_with_claims``), and ``hold_seats_alone`` (the API's and the web site's holds) runs
   without a session or a transaction (``hold_runners.OnDriver``): the first query and that
   statement each commit on their own, two round trips in all, where a session, BEGIN and
   COMMIT and a lookup of the caller made six. Nothing is lost by it: the first query only
   decides refusals, and the statement takes its seats on its own terms. The caller's user row
   (active, and still at the version their token was issued under) is read by that first
   query too, before anything is written.

The statements of holds and releases are built once per dialect in ``hold_statements.py``;
where they run, in ``hold_runners.py``.

For orders and tickets
----------------------
- ``claims_of_hold(session, hold_id, user)`` locks a hold and its claims (in seat order, and the
  showtime against a concurrent cancel), checks that it is the user's, has not expired and that
  its showtime is still on sale, and returns the seats with their prices.
- ``sell_claims(session, held, tickets_by_seat)`` turns those claims into sold ones (ticket ids)
  and deletes the hold, in the caller's transaction. A declined payment just does not call it:
  the hold stays as it was until it expires.
- ``release_sold_claims(session, ticket_ids)`` frees the seats of refunded tickets.
- ``showtimes.cancel_showtime`` returns the ticket ids of a cancelled showtime.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from kino.boxoffice.errors import (
    HoldExpired,
    HoldInProgress,
    HoldNotFound,
    SeatsUnavailable,
    ShowtimeCancelled,
    ShowtimeNotFound,
    ShowtimeStarted,
    UnknownSeats,
)
from kino.boxoffice.hold_runners import (
    LOCK_NOT_AVAILABLE,
    HoldRunner,
    InSession,
    NewHold,
    OnDriver,
    SeatsBusy,
    SeatsTaken,
)
from kino.boxoffice.hold_statements import hold_statements, lock_timeout_column, seat_id_set
from kino.boxoffice.models import (
    Seat,
    SeatClaim,
    SeatHold,
    SeatType,
    Showtime,
    ShowtimeStatus,
)
from kino.boxoffice.schemas import HoldRead
from kino.boxoffice.write_turns import take_write_turn
from kino.catalog.models import MovieStatus
from kino.core.db import Database, utcnow
from kino.core.errors import Unauthenticated
from kino.identity.errors import INVALID_CREDENTIALS
from kino.identity.models import STAFF_ROLES, User
from kino.identity.service import Caller

# The first query's column with each seat type's price
_PRICE_COLUMNS = {seat_type: f"price_{seat_type.value}" for seat_type in SeatType}
BUSY_SEATS = "Some of these seats are being sold right now; try again."


@dataclass(frozen=True)
class HoldSeat:
    seat_id: int
    name: str
    seat_type: SeatType
    price: int


@dataclass(frozen=True)
class HeldSeats:
    """A hold, locked and checked by ``claims_of_hold``: what an order is made of."""

    hold_id: int
    showtime_id: int
    user_id: uuid.UUID
    expires_at: datetime
    currency: str
    seats: list[HoldSeat]

    @property
    def amount(self) -> int:
        return sum(seat.price for seat in self.seats)


@dataclass(frozen=True)
class _ShowtimeForSale:
    id: int
    hall_id: int
    currency: str
    prices: dict[SeatType, int]
    # The user's live hold for the showtime, which a new hold replaces, and its seats
    live_hold_id: int | None
    live_hold_seats: set[int]


# ---------------------------------------------------------------------------- holding


async def hold_seats(
    session: AsyncSession,
    user: User,
    showtime_id: int,
    seat_names: Sequence[str],
    *,
    hold_seconds: float,
    now: datetime | None = None,
) -> HoldRead:
    """Holds all of ``seat_names`` for ``hold_seconds``, or none of them (409 naming the taken
    ones), in the caller's session. Replaces the user's previous hold for the showtime."""
    hold = _HoldRequest(Caller.of(user), showtime_id, seat_names, hold_seconds, now or utcnow())
    return await _hold(InSession(session), hold)


async def hold_seats_alone(
    db: Database,
    caller: Caller,
    showtime_id: int,
    seat_names: Sequence[str],
    *,
    hold_seconds: float,
    now: datetime | None = None,
) -> HoldRead:
    """``hold_seats`` as a unit of work of its own, for a caller whose user row is still to be
    checked (that is the hold's first query too). On PostgreSQL, two statements straight
    through the driver (rule 7); elsewhere in a transaction."""
    hold = _HoldRequest(caller, showtime_id, seat_names, hold_seconds, now or utcnow())
    if db.dialect == "postgresql":
        async with db.driver() as connection:
            return await _hold(OnDriver(connection), hold)
    async with db.transaction() as session:
        return await _hold(InSession(session), hold)


@dataclass(frozen=True)
class _HoldRequest:
    caller: Caller
    showtime_id: int
    seat_names: Sequence[str]
    hold_seconds: float
    now: datetime

    @property
    def expires_at(self) -> datetime:
        return self.now + timedelta(seconds=self.hold_seconds)


async def _hold(on: HoldRunner, request: _HoldRequest) -> HoldRead:
    showtime, seats = await _showtime_and_seats(on, request)
    blocked = [seat.name for seat in seats if seat.blocked]
    if blocked:
        raise SeatsUnavailable(blocked)
    now = request.now
    taken = [seat.name for seat in seats if _claimed_by_another(seat, showtime.live_hold_id, now)]
    if taken:  # refused before writing anything: no insert to roll back
        raise SeatsUnavailable(taken)
    wanted = {seat.seat_id for seat in seats}
    user_id = request.caller.user_id
    new_hold = NewHold(user_id, request.showtime_id, now, request.expires_at, wanted)
    try:
        hold_id, old_hold_id, got = await _new_hold(on, new_hold, showtime)
    except SeatsTaken as refusal:
        taken = [seat.name for seat in seats if seat.seat_id in refusal.seat_ids]
        raise SeatsUnavailable(taken) from None
    except SeatsBusy:
        raise SeatsUnavailable([seat.name for seat in seats], message=BUSY_SEATS) from None
    taken = [seat.name for seat in seats if seat.seat_id not in got]
    if taken:
        raise SeatsUnavailable(taken)
    if old_hold_id is not None:
        await on.drop_old_hold(request.showtime_id, hold_id, old_hold_id, got - wanted)
    return HoldRead(
        id=hold_id,
        showtime_id=request.showtime_id,
        user_id=user_id,
        seats=[seat.name for seat in seats],
        amount=sum(showtime.prices[seat.seat_type] for seat in seats),
        currency=showtime.currency,
        expires_at=request.expires_at,
    )


async def _showtime_and_seats(
    on: HoldRunner, request: _HoldRequest
) -> tuple[_ShowtimeForSale, list[Any]]:
    """The showtime, checked to be on sale, and the seats of its hall with these names, in seat
    order (422 for a name the hall lacks), with the user's live hold for it; the caller's user
    row is checked on the way (401). One query: a hold is a handful of statements, and each
    saved round trip shows under load."""
    names = request.seat_names
    rows = await on.showtime_and_seats(request.showtime_id, request.caller.user_id, names)
    first = rows[0] if rows else None
    if first is None or not request.caller.is_current(
        active=first.caller_active, token_version=first.caller_token_version
    ):
        raise Unauthenticated(INVALID_CREDENTIALS)
    staff = first.caller_role in STAFF_ROLES
    if first.hall_id is None or (first.movie_status is not MovieStatus.PUBLISHED and not staff):
        raise ShowtimeNotFound(request.showtime_id)
    _check_on_sale(request.showtime_id, first.status, first.starts_at, request.now)
    seats = [row for row in rows if row.seat_id is not None]
    unknown = sorted(set(names) - {seat.name for seat in seats})
    if unknown:
        raise UnknownSeats(unknown)
    prices = {seat_type: getattr(first, column) for seat_type, column in _PRICE_COLUMNS.items()}
    showtime = _ShowtimeForSale(
        request.showtime_id,
        first.hall_id,
        first.currency,
        prices,
        live_hold_id=first.live_hold_id,
        live_hold_seats=seat_id_set(first.live_hold_seat_ids),
    )
    return showtime, seats


def _claimed_by_another(seat: Any, own_hold_id: int | None, now: datetime) -> bool:
    """Whether the first query saw the seat sold, or held by a hold other than the user's own
    and not expired. Only a refusal is decided on this; a seat it saw free still has to be won
    by the claims' INSERT."""
    if seat.claim_ticket_id is not None:
        return True
    held = seat.claim_hold_id is not None and seat.claim_hold_id != own_hold_id
    return held and seat.claim_expires_at > now


def _check_on_sale(
    showtime_id: int, status: ShowtimeStatus, starts_at: datetime, now: datetime
) -> None:
    if status is not ShowtimeStatus.SCHEDULED:
        raise ShowtimeCancelled(showtime_id)
    if starts_at <= now:
        raise ShowtimeStarted(showtime_id)


async def _set_lock_timeout(session: AsyncSession) -> None:
    columns = lock_timeout_column(_dialect(session))
    if columns:
        await session.execute(select(*columns))


def _busy(error: DBAPIError, names: Sequence[str]) -> Exception:
    """A lock timeout is the seats being busy; anything else goes on as it was."""
    if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
        return SeatsUnavailable(list(names), message=BUSY_SEATS)
    return error


async def _new_hold(
    on: HoldRunner, hold: NewHold, showtime: _ShowtimeForSale
) -> tuple[int, int | None, set[int]]:
    """Inserts the hold and takes its seats (rules 3 and 6); returns its id, the id of the
    user's previous hold that it replaces, and the seats it got. The previous hold is the one
    the first query found; when another one turns up meanwhile (the user's own concurrent
    request), that one is replaced instead."""
    replacing, old_seats = showtime.live_hold_id, showtime.live_hold_seats
    for attempt in range(2):
        seat_ids = sorted(hold.seat_ids | old_seats)
        hold_id, replaced, got = await on.insert_hold(hold, seat_ids, replacing)
        if hold_id is not None:
            return hold_id, replaced, got
        if replaced is not None or attempt:
            break
        replacing, old_seats = await on.live_hold(hold.showtime_id, hold.user_id)
    raise HoldInProgress()


# ---------------------------------------------------------------------------- reading, releasing


async def get_hold(
    session: AsyncSession, user: User, hold_id: int, *, now: datetime | None = None
) -> HoldRead:
    """The caller's hold as it is now; another user's hold is not found."""
    hold = await session.get(SeatHold, hold_id)
    if hold is None or hold.user_id != user.id:
        raise HoldNotFound(hold_id)
    held = await _held_seats(session, hold, now=now or utcnow(), check=False)
    return HoldRead(
        id=held.hold_id,
        showtime_id=held.showtime_id,
        user_id=held.user_id,
        seats=[seat.name for seat in held.seats],
        amount=held.amount,
        currency=held.currency,
        expires_at=held.expires_at,
    )


async def release_hold(session: AsyncSession, user: User, hold_id: int) -> None:
    """Gives the seats back. Only the holder can; to anyone else the hold does not exist."""
    await take_write_turn(session)
    try:
        holder = await _lock_hold(session, hold_id)
    except DBAPIError as error:
        raise _busy(error, []) from None
    if holder is None or holder != user.id:
        raise HoldNotFound(hold_id)
    # The claims go with it (ON DELETE CASCADE), locked already in seat order.
    await session.execute(hold_statements(_dialect(session)).delete_hold, {"hold_id": hold_id})


async def _lock_hold(session: AsyncSession, hold_id: int) -> uuid.UUID | None:
    """Sets the lock timeout, locks the hold's row, then its claims in seat order (rule 4);
    returns its holder."""
    statement = hold_statements(_dialect(session)).lock_hold
    rows = (await session.execute(statement, {"hold_id": hold_id})).all()
    if rows:
        return uuid.UUID(str(rows[0].user_id))
    # A hold without claims: all its seats were taken by others after it expired.
    return await session.scalar(
        select(SeatHold.user_id).where(SeatHold.id == hold_id).with_for_update()
    )


# ---------------------------------------------------------------------------- for orders


async def claims_of_hold(
    session: AsyncSession, hold_id: int, user: User, *, now: datetime | None = None
) -> HeldSeats:
    """The user's hold, locked with its claims until the transaction ends, and checked: not
    expired (409 ``hold_expired``), its showtime neither cancelled nor started. Another user's
    hold is not found. Call ``sell_claims`` in the same transaction once paid."""
    now = now or utcnow()
    try:
        holder = await _lock_hold(session, hold_id)
    except DBAPIError as error:
        raise _busy(error, []) from None
    if holder is None or holder != user.id:
        raise HoldNotFound(hold_id)
    hold = await session.get(SeatHold, hold_id, populate_existing=True)
    assert hold is not None  # locked above
    if hold.expires_at <= now:
        raise HoldExpired(hold_id, hold.expires_at)
    return await _held_seats(session, hold, now=now, check=True)


async def _held_seats(
    session: AsyncSession, hold: SeatHold, *, now: datetime, check: bool
) -> HeldSeats:
    showtime_query = select(Showtime).where(Showtime.id == hold.showtime_id)
    if check:  # queues behind a cancel in progress, and a cancel behind this sale
        showtime_query = showtime_query.with_for_update(read=True)
    showtime = await session.scalar(showtime_query)
    assert showtime is not None  # a hold goes with its showtime
    if check:
        _check_on_sale(showtime.id, showtime.status, showtime.starts_at, now)
    rows = await session.execute(
        select(Seat.id, Seat.name, Seat.seat_type)
        .join(SeatClaim, SeatClaim.seat_id == Seat.id)
        .where(SeatClaim.hold_id == hold.id)
        .order_by(Seat.id)
    )
    seats = [
        HoldSeat(row.id, row.name, row.seat_type, showtime.price_of(row.seat_type)) for row in rows
    ]
    return HeldSeats(
        hold_id=hold.id,
        showtime_id=hold.showtime_id,
        user_id=hold.user_id,
        expires_at=hold.expires_at,
        currency=showtime.currency,
        seats=seats,
    )


async def sell_claims(
    session: AsyncSession, held: HeldSeats, tickets_by_seat: Mapping[int, int]
) -> None:
    """Turns the claims of a hold from ``claims_of_hold`` (same transaction) into sold ones:
    seat id → ticket id, one ticket per seat of the hold, and deletes the hold."""
    if set(tickets_by_seat) != {seat.seat_id for seat in held.seats}:
        raise ValueError("sell_claims needs exactly one ticket for each seat of the hold")
    for seat_id in sorted(tickets_by_seat):
        sold = await session.execute(
            update(SeatClaim)
            .where(
                SeatClaim.showtime_id == held.showtime_id,
                SeatClaim.seat_id == seat_id,
                SeatClaim.hold_id == held.hold_id,
            )
            .values(hold_id=None, expires_at=None, ticket_id=tickets_by_seat[seat_id])
            .execution_options(synchronize_session=False)
        )
        if sold.rowcount != 1:  # type: ignore[attr-defined]
            raise RuntimeError(f"seat {seat_id} is no longer claimed by hold {held.hold_id}")
    await session.execute(delete(SeatHold).where(SeatHold.id == held.hold_id))


async def release_sold_claims(session: AsyncSession, ticket_ids: Sequence[int]) -> int:
    """Frees the seats of these tickets (refunded, or moved by staff); returns how many."""
    if not ticket_ids:
        return 0
    await _set_lock_timeout(session)
    locked = await session.execute(
        select(SeatClaim.showtime_id, SeatClaim.seat_id)
        .where(SeatClaim.ticket_id.in_(ticket_ids))
        .order_by(SeatClaim.showtime_id, SeatClaim.seat_id)
        .with_for_update()
    )
    count = len(locked.all())
    await session.execute(delete(SeatClaim).where(SeatClaim.ticket_id.in_(ticket_ids)))
    return count


# ---------------------------------------------------------------------------- dialects


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name
