"""The statements that holds and releases run, built once per database dialect.

Holding and releasing seats is the box office's busiest path: a popular sale is hundreds of
them a second. Built on every call from ORM attributes, each of these statements cost about a
millisecond of CPU before it reached the database (building, cache-key generation, the ORM's
execution path); built once from the tables with bind parameters, about a quarter of that
(bench/boxoffice.py). Their rules are in ``holds.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Delete, Select, Table, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from kino.boxoffice.models import Seat, SeatClaim, SeatHold, Showtime
from kino.catalog.models import Movie

LOCK_TIMEOUT_MS = 2000


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


SHOWTIMES = _table(Showtime)
SEATS = _table(Seat)
HOLDS = _table(SeatHold)
CLAIMS = _table(SeatClaim)
MOVIES = _table(Movie)


@dataclass(frozen=True)
class HoldStatements:
    # showtime_id, names → the showtime (one row per seat found, or one row without a seat)
    showtime_and_seats: Select[Any]
    # showtime_id, user_id, created_at, expires_at → the new hold's id, or no row
    insert_hold: Any
    # one parameter set per seat (showtime_id, seat_id, hold_id, expires_at, claimed_at, now)
    # → the seat ids now the hold's; ``take_claims_replacing`` also takes ``replacing``
    take_claims: Any
    take_claims_replacing: Any
    # hold_id → (user_id, seat_id) per claim of the hold, locked
    lock_hold: Select[Any]
    # hold_id
    delete_hold: Delete


@cache
def hold_statements(dialect: str) -> HoldStatements:
    return HoldStatements(
        showtime_and_seats=_showtime_and_seats(dialect),
        insert_hold=_insert(dialect, HOLDS)
        .values(
            showtime_id=bindparam("showtime_id"),
            user_id=bindparam("user_id"),
            created_at=bindparam("created_at"),
            expires_at=bindparam("expires_at"),
            replaced=False,
        )
        .on_conflict_do_nothing()
        .returning(HOLDS.c.id),
        take_claims=_take_claims(dialect, replacing=False),
        take_claims_replacing=_take_claims(dialect, replacing=True),
        lock_hold=select(HOLDS.c.user_id, CLAIMS.c.seat_id, *lock_timeout_column(dialect))
        .select_from(HOLDS.join(CLAIMS, CLAIMS.c.hold_id == HOLDS.c.id))
        .where(HOLDS.c.id == bindparam("hold_id"))
        .order_by(CLAIMS.c.seat_id)
        .with_for_update(),
        delete_hold=delete(HOLDS).where(HOLDS.c.id == bindparam("hold_id")),
    )


def lock_timeout_column(dialect: str) -> list[Any]:
    """On PostgreSQL, a column that sets the transaction's lock timeout as it is read: added to
    a query the transaction makes anyway, it costs no round trip of its own."""
    if dialect != "postgresql":
        return []
    setting = func.set_config("lock_timeout", f"{LOCK_TIMEOUT_MS}ms", True)
    return [setting.label("lock_timeout")]


def _showtime_and_seats(dialect: str) -> Select[Any]:
    seats_asked_for = (SEATS.c.hall_id == SHOWTIMES.c.hall_id) & SEATS.c.name.in_(
        bindparam("names", expanding=True)
    )
    return (
        select(
            SHOWTIMES.c.hall_id,
            SHOWTIMES.c.status,
            SHOWTIMES.c.starts_at,
            SHOWTIMES.c.currency,
            SHOWTIMES.c.price_standard,
            SHOWTIMES.c.price_premium,
            SHOWTIMES.c.price_vip,
            SHOWTIMES.c.price_wheelchair,
            MOVIES.c.status.label("movie_status"),
            SEATS.c.id.label("seat_id"),
            SEATS.c.name,
            SEATS.c.seat_type,
            SEATS.c.blocked,
            *lock_timeout_column(dialect),
        )
        .select_from(
            SHOWTIMES.join(MOVIES, MOVIES.c.id == SHOWTIMES.c.movie_id).outerjoin(
                SEATS, seats_asked_for
            )
        )
        .where(SHOWTIMES.c.id == bindparam("showtime_id"))
        .order_by(SEATS.c.id)
    )


def _take_claims(dialect: str, *, replacing: bool) -> Any:
    """``INSERT … ON CONFLICT DO UPDATE … WHERE <expired, or the replaced hold's> RETURNING``
    (rule 3 of holds.py). Executed with one parameter set per seat, SQLAlchemy sends it as one
    multi-row INSERT with the rows in the order given."""
    statement = _insert(dialect, CLAIMS)
    # In ON CONFLICT's WHERE, the table's columns are the claim already there.
    free_to_take = CLAIMS.c.expires_at <= bindparam("now")
    if replacing:
        free_to_take = free_to_take | (CLAIMS.c.hold_id == bindparam("replacing"))
    return statement.on_conflict_do_update(
        index_elements=[CLAIMS.c.showtime_id, CLAIMS.c.seat_id],
        set_={
            "hold_id": statement.excluded.hold_id,
            "expires_at": statement.excluded.expires_at,
            "claimed_at": statement.excluded.claimed_at,
        },
        where=free_to_take,
    ).returning(CLAIMS.c.seat_id)


def _insert(dialect: str, table: Table) -> Any:
    """``INSERT`` with ``ON CONFLICT`` for the dialect (spelled the same way by both)."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
