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
   ``hold_with_claims``), and the hold endpoint runs without a transaction around its
   statements (``statements_commit_alone``): the caller's lookup, the first query and that
   statement each commit on their own, three round trips in all, where BEGIN and COMMIT made
   five or six. Nothing is lost by it: the first query only decides refusals, and the
   statement takes its seats on its own terms.

The statements of holds and releases are built once per dialect in ``hold_statements.py``.

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
from contextlib import nullcontext
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
from kino.boxoffice.hold_statements import (
    ANOTHER_LIVE_HOLD,
    SEATS_TAKEN,
    hold_statements,
    lock_timeout_column,
    seat_id_set,
)
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
from kino.core.db import commits_each_statement, utcnow
from kino.identity.models import User

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock timeout


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
    include_drafts: bool = False,
    now: datetime | None = None,
) -> HoldRead:
    """Holds all of ``seat_names`` for ``hold_seconds``, or none of them (409 naming the taken
    ones). Replaces the user's previous hold for the showtime."""
    now = now or utcnow()
    showtime, seats = await _showtime_and_seats(
        session, showtime_id, user.id, seat_names, now, include_drafts=include_drafts
    )
    blocked = [seat.name for seat in seats if seat.blocked]
    if blocked:
        raise SeatsUnavailable(blocked)
    taken = [seat.name for seat in seats if _claimed_by_another(seat, showtime.live_hold_id, now)]
    if taken:  # refused before writing anything: no insert to roll back
        raise SeatsUnavailable(taken)
    wanted = {seat.seat_id for seat in seats}
    await take_write_turn(session)
    try:
        hold_id, old_hold_id, got = await _new_hold(
            session,
            _NewHold(user.id, showtime_id, now, now + timedelta(seconds=hold_seconds), wanted),
            showtime,
        )
    except _SeatsTaken as refusal:
        taken = [seat.name for seat in seats if seat.seat_id in refusal.seat_ids]
        raise SeatsUnavailable(taken) from None
    except DBAPIError as error:
        raise _busy(error, [seat.name for seat in seats]) from None
    taken = [seat.name for seat in seats if seat.seat_id not in got]
    if taken:
        raise SeatsUnavailable(taken)
    if old_hold_id is not None:
        await _drop_old_hold(session, showtime_id, hold_id, old_hold_id, got - wanted)
    return HoldRead(
        id=hold_id,
        showtime_id=showtime_id,
        user_id=user.id,
        seats=[seat.name for seat in seats],
        amount=sum(showtime.prices[seat.seat_type] for seat in seats),
        currency=showtime.currency,
        expires_at=now + timedelta(seconds=hold_seconds),
    )


async def _showtime_and_seats(
    session: AsyncSession,
    showtime_id: int,
    user_id: uuid.UUID,
    names: Sequence[str],
    now: datetime,
    *,
    include_drafts: bool,
) -> tuple[_ShowtimeForSale, list[Any]]:
    """The showtime, checked to be on sale, and the seats of its hall with these names, in seat
    order (422 for a name the hall lacks), with the user's live hold for it. One query: a hold
    is a handful of statements, and each saved round trip shows under load."""
    statements = hold_statements(_dialect(session))
    parameters = {"showtime_id": showtime_id, "user_id": user_id, "names": list(names)}
    rows: Sequence[Any]
    if statements.showtime_and_seats_read is not None:
        rows = await statements.showtime_and_seats_read.records(session, **parameters)
    else:
        rows = (await session.execute(statements.showtime_and_seats, parameters)).all()
    if not rows or (rows[0].movie_status is not MovieStatus.PUBLISHED and not include_drafts):
        raise ShowtimeNotFound(showtime_id)
    first = rows[0]
    _check_on_sale(showtime_id, first.status, first.starts_at, now)
    seats = [row for row in rows if row.seat_id is not None]
    unknown = sorted(set(names) - {seat.name for seat in seats})
    if unknown:
        raise UnknownSeats(unknown)
    prices = {seat_type: getattr(first, f"price_{seat_type.value}") for seat_type in SeatType}
    showtime = _ShowtimeForSale(
        showtime_id,
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
        return SeatsUnavailable(
            list(names), message="Some of these seats are being sold right now; try again."
        )
    return error


@dataclass(frozen=True)
class _NewHold:
    user_id: uuid.UUID
    showtime_id: int
    now: datetime
    expires_at: datetime
    seat_ids: set[int]


async def _new_hold(
    session: AsyncSession, hold: _NewHold, showtime: _ShowtimeForSale
) -> tuple[int, int | None, set[int]]:
    """Inserts the hold and takes its seats (rules 3 and 6); returns its id, the id of the
    user's previous hold that it replaces, and the seats it got. The previous hold is the one
    the first query found; when another one turns up meanwhile (the user's own concurrent
    request), that one is replaced instead."""
    replacing, old_seats = showtime.live_hold_id, showtime.live_hold_seats
    for attempt in range(2):
        seat_ids = sorted(hold.seat_ids | old_seats)
        hold_id, replaced, got = await _insert_hold(session, hold, seat_ids, replacing)
        if hold_id is not None:
            return hold_id, replaced, got
        if replaced is not None or attempt:
            break
        statement = hold_statements(_dialect(session)).live_hold
        parameters = {"showtime_id": hold.showtime_id, "user_id": hold.user_id}
        live = (await session.execute(statement, parameters)).one()
        replacing, old_seats = live.live_hold_id, seat_id_set(live.live_hold_seat_ids)
    raise HoldInProgress()


async def _insert_hold(
    session: AsyncSession, hold: _NewHold, seat_ids: Sequence[int], replacing: int | None
) -> tuple[int | None, int | None, set[int]]:
    """Marks the hold ``replacing`` replaced (if it is still live; that locks it), inserts the
    new hold and takes the seats of ``seat_ids`` (ascending) that are free for it (rule 3).
    Returns the new hold's id (None when the user has another live hold for the showtime), the
    id of the hold it replaces, and its seats: one statement on PostgreSQL, up to three
    elsewhere."""
    statements = hold_statements(_dialect(session))
    if statements.hold_with_claims is not None:
        return await _hold_in_one_statement(session, hold, seat_ids, replacing)
    replaced = None
    if replacing is not None:
        marking = {"hold_id": replacing}
        replaced = (await session.execute(statements.mark_replaced, marking)).scalar()
    parameters = {
        "showtime_id": hold.showtime_id,
        "user_id": hold.user_id,
        "created_at": hold.now,
        "expires_at": hold.expires_at,
    }
    hold_id = (await session.execute(statements.insert_hold, parameters)).scalar()
    if hold_id is None:
        return None, replaced, set()
    got = await _take_claims(session, hold, hold_id, seat_ids, replaced)
    return hold_id, replaced, got


class _SeatsTaken(Exception):
    """The one-statement hold was refused (and undone) for these seats."""

    def __init__(self, seat_ids: set[int]) -> None:
        super().__init__(seat_ids)
        self.seat_ids = seat_ids


async def _hold_in_one_statement(
    session: AsyncSession, hold: _NewHold, seat_ids: Sequence[int], replacing: int | None
) -> tuple[int | None, int | None, set[int]]:
    """PostgreSQL: ``_insert_hold`` as one statement, all or nothing, which takes the seats and
    also deletes the replaced hold with its claims not wanted any more. Raises ``_SeatsTaken``
    when a wanted seat is not free; returns no hold id when the user has another live hold. In
    a transaction (not the endpoint's own statements), that refusal is kept to a savepoint."""
    parameters = {
        "showtime_id": hold.showtime_id,
        "user_id": hold.user_id,
        "now": hold.now,
        "expires_at": hold.expires_at,
        "seat_ids": list(seat_ids),
        "wanted": sorted(hold.seat_ids),
        "replacing": replacing,
    }
    statement = hold_statements(_dialect(session)).hold_with_claims
    assert statement is not None
    # Alone, a refused statement undoes only itself; in a caller's transaction, a savepoint.
    scope: Any = nullcontext() if commits_each_statement(session) else session.begin_nested()
    try:
        async with scope:
            row = (await session.execute(statement, parameters)).one()
    except DBAPIError as error:
        code = getattr(error.orig, "sqlstate", None)
        if code == ANOTHER_LIVE_HOLD:
            return None, None, set()
        if code == SEATS_TAKEN:
            detail = getattr(error.orig and error.orig.__cause__, "detail", None) or ""
            raise _SeatsTaken({int(part) for part in detail.split(",") if part}) from None
        raise
    return row.hold_id, row.replaced, set(row.seat_ids)


async def _take_claims(
    session: AsyncSession,
    hold: _NewHold,
    hold_id: int,
    seat_ids: Sequence[int],
    replacing: int | None,
) -> set[int]:
    """Rule 3: the seats of ``seat_ids`` (ascending) that are now the hold's. One parameter set
    per seat, sent as one multi-row INSERT in that order."""
    statements = hold_statements(_dialect(session))
    row = {
        "showtime_id": hold.showtime_id,
        "hold_id": hold_id,
        "ticket_id": None,
        "expires_at": hold.expires_at,
        "claimed_at": hold.now,
        "now": hold.now,
    }
    if replacing is None:
        statement = statements.take_claims
    else:
        statement, row = statements.take_claims_replacing, {**row, "replacing": replacing}
    rows = [{**row, "seat_id": seat_id} for seat_id in seat_ids]
    return set((await session.execute(statement, rows)).scalars())


async def _drop_old_hold(
    session: AsyncSession, showtime_id: int, hold_id: int, old_hold_id: int, unwanted: set[int]
) -> None:
    """The old hold's seats that the new one did not ask for (locked by us already), then the
    old hold itself, which has no claims left."""
    statements = hold_statements(_dialect(session))
    seats = {"showtime_id": showtime_id, "hold_id": hold_id, "seat_ids": sorted(unwanted)}
    if unwanted:
        await session.execute(statements.drop_claims, seats)
    if statements.hold_with_claims is None:  # that statement deleted the old hold already
        await session.execute(statements.delete_hold, {"hold_id": old_hold_id})


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
