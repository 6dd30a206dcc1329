"""The statements that holds and releases run, built once per database dialect.

Holding and releasing seats is the box office's busiest path: a popular sale is hundreds of
them a second. Built on every call from ORM attributes, each of these statements cost about a
millisecond of CPU before it reached the database (building, cache-key generation, the ORM's
execution path); built once from the tables with bind parameters, about a quarter of that
(bench/boxoffice.py). Their rules are in ``holds.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Delete,
    Select,
    String,
    Table,
    TextualSelect,
    Uuid,
    any_,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from kino.boxoffice.models import Seat, SeatClaim, SeatHold, Showtime
from kino.catalog.models import Movie
from kino.core.db import UTCDateTime
from kino.core.reads import DriverRead
from kino.identity.models import User

LOCK_TIMEOUT_MS = 2000
# The SQLSTATEs of ``kino_refuse_hold`` (migration 0011)
SEATS_TAKEN = "KH001"
ANOTHER_LIVE_HOLD = "KH002"


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


SHOWTIMES = _table(Showtime)
SEATS = _table(Seat)
HOLDS = _table(SeatHold)
CLAIMS = _table(SeatClaim)
MOVIES = _table(Movie)
USERS = _table(User)


@dataclass(frozen=True)
class HoldStatements:
    # showtime_id, user_id, names → no row when there is no such user; else the user's row
    # (``caller_active``, ``caller_token_version``, ``caller_role``) with the showtime (None
    # where there is no such showtime): one row per seat found, with its claim if any, or one
    # row without a seat; with the user's live hold for the showtime and that hold's seats.
    # Run through the driver on PostgreSQL (``showtime_and_seats_read``).
    showtime_and_seats: Select[Any]
    showtime_and_seats_read: DriverRead | None
    # showtime_id, user_id → one row: the user's live hold for the showtime (``live_hold_id``,
    # or None) and its seats (``live_hold_seat_ids``), as ``showtime_and_seats`` reads them
    live_hold: Select[Any]
    live_hold_read: DriverRead | None
    # hold_id → its id if it was live and is now marked replaced (and locked), or no row
    mark_replaced: Any
    # showtime_id, user_id, created_at, expires_at → the new hold's id, or no row
    insert_hold: Any
    # one parameter set per seat (showtime_id, seat_id, hold_id, expires_at, claimed_at, now)
    # → the seat ids now the hold's; ``take_claims_replacing`` also takes ``replacing``
    take_claims: Any
    take_claims_replacing: Any
    # showtime_id, hold_id, seat_ids → deletes those claims of the hold
    drop_claims: Delete
    # PostgreSQL only, the whole hold in one statement that commits on its own: showtime_id,
    # user_id, now, expires_at, seat_ids (the wanted and the replaced hold's, ascending), wanted,
    # replacing (or None) → one row (hold_id, replaced, seat_ids): the new hold's id, the id of
    # the hold it replaced (deleted, with its claims not wanted any more) if that was live, and
    # the seats it now has; or an error with SQLSTATE ``SEATS_TAKEN`` or ``ANOTHER_LIVE_HOLD``
    hold_with_claims: TextualSelect | None
    hold_with_claims_read: DriverRead | None
    # hold_id → (user_id, seat_id) per claim of the hold, locked
    lock_hold: Select[Any]
    # hold_id
    delete_hold: Delete


@cache
def hold_statements(dialect: str) -> HoldStatements:
    showtime_and_seats = _showtime_and_seats(dialect)
    live_hold = select(*_live_hold_columns(dialect))
    # PostgreSQL's hold path runs through the driver (``holds._OnDriver``)
    on_postgresql = dialect == "postgresql"
    hold_with_claims = _hold_with_claims() if on_postgresql else None
    return HoldStatements(
        showtime_and_seats=showtime_and_seats,
        showtime_and_seats_read=DriverRead(showtime_and_seats) if on_postgresql else None,
        live_hold=live_hold,
        live_hold_read=DriverRead(live_hold) if on_postgresql else None,
        mark_replaced=update(HOLDS)
        .where(HOLDS.c.id == bindparam("hold_id"), ~HOLDS.c.replaced)
        .values(replaced=True)
        .returning(HOLDS.c.id),
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
        drop_claims=delete(CLAIMS).where(
            CLAIMS.c.showtime_id == bindparam("showtime_id"),
            CLAIMS.c.hold_id == bindparam("hold_id"),
            CLAIMS.c.seat_id.in_(bindparam("seat_ids", expanding=True)),
        ),
        hold_with_claims=hold_with_claims,
        hold_with_claims_read=None if hold_with_claims is None else DriverRead(hold_with_claims),
    )


def lock_timeout_column(dialect: str) -> list[Any]:
    """On PostgreSQL, a column that sets the transaction's lock timeout as it is read: added to
    a query the transaction makes anyway, it costs no round trip of its own."""
    if dialect != "postgresql":
        return []
    setting = func.set_config("lock_timeout", f"{LOCK_TIMEOUT_MS}ms", True)
    return [setting.label("lock_timeout")]


def _live_hold_columns(dialect: str) -> list[Any]:
    live_hold = (
        select(HOLDS.c.id)
        .where(
            HOLDS.c.showtime_id == bindparam("showtime_id"),
            HOLDS.c.user_id == bindparam("user_id"),
            ~HOLDS.c.replaced,
        )
        .scalar_subquery()
    )
    return [
        live_hold.label("live_hold_id"),
        _seat_ids_of(live_hold, dialect).label("live_hold_seat_ids"),
    ]


def _showtime_and_seats(dialect: str) -> Select[Any]:
    """Also reads the user's row, to check the caller's credentials without a query of their
    own; each seat's claim, if any; and the user's live hold for the showtime and its seats: a
    new hold replaces it, and knowing it here saves the round trips of finding it out by a
    failed insert. On PostgreSQL the names are one array parameter, so the statement's text is
    the same whatever their number (``DriverRead`` runs it)."""
    if dialect == "postgresql":
        names = any_(bindparam("names", type_=postgresql.ARRAY(String)))
        named = SEATS.c.name == names
    else:
        named = SEATS.c.name.in_(bindparam("names", expanding=True))
    seats_asked_for = (SEATS.c.hall_id == SHOWTIMES.c.hall_id) & named
    return (
        select(
            USERS.c.is_active.label("caller_active"),
            USERS.c.token_version.label("caller_token_version"),
            USERS.c.role.label("caller_role"),
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
            CLAIMS.c.hold_id.label("claim_hold_id"),
            CLAIMS.c.ticket_id.label("claim_ticket_id"),
            CLAIMS.c.expires_at.label("claim_expires_at"),
            *_live_hold_columns(dialect),
        )
        .select_from(
            USERS.outerjoin(
                SHOWTIMES.join(MOVIES, MOVIES.c.id == SHOWTIMES.c.movie_id),
                SHOWTIMES.c.id == bindparam("showtime_id"),
            )
            .outerjoin(SEATS, seats_asked_for)
            .outerjoin(
                CLAIMS, (CLAIMS.c.showtime_id == SHOWTIMES.c.id) & (CLAIMS.c.seat_id == SEATS.c.id)
            )
        )
        .where(USERS.c.id == bindparam("user_id"))
        .order_by(SEATS.c.id)
    )


def _seat_ids_of(hold_id: Any, dialect: str) -> Any:
    """The seat ids of a hold's claims as one value: an array on PostgreSQL, and on SQLite a
    comma-separated text (``seat_id_set`` reads both)."""
    aggregate = func.array_agg if dialect == "postgresql" else func.group_concat
    return select(aggregate(CLAIMS.c.seat_id)).where(CLAIMS.c.hold_id == hold_id).scalar_subquery()


def seat_id_set(value: Sequence[int] | str | None) -> set[int]:
    if value is None:
        return set()
    if isinstance(value, str):
        return {int(part) for part in value.split(",")}
    return set(value)


def _hold_with_claims() -> TextualSelect:
    """The whole hold in one statement, all or nothing, so it can commit on its own: no BEGIN
    and COMMIT round trips around it.

    Each part reads the one before. The replaced hold is deleted first (its row locked before
    its claims, rule 4), so it is out of the one-live-hold index before the new hold goes in
    (rule 6). The claims are then inserted in the order of ``seat_ids``: the wanted seats and
    the replaced hold's, ascending, taken on the terms of ``_take_claims`` (free, expired, or
    the replaced hold's). A replaced hold's seat that is not wanted any more is only locked
    there, in its turn (its claim keeps the old hold), and the old hold's cascade deletes it
    when the statement ends. The lock timeout is set before any of it. Last, when a wanted seat
    was not taken, or the user has another live hold (the new one was not inserted),
    ``kino_refuse_hold`` (migration 0011) raises, which undoes the whole statement."""
    statement = text(
        """
        WITH setting AS (
            SELECT set_config('lock_timeout', :lock_timeout, true) AS lock_timeout
        ), old_hold AS (
            DELETE FROM seat_holds
            WHERE id = :replacing AND NOT replaced
            RETURNING id
        ), new_hold AS (
            INSERT INTO seat_holds (showtime_id, user_id, created_at, expires_at, replaced)
            SELECT :showtime_id, :user_id, :now, :expires_at, false
            FROM (SELECT count(*) FROM old_hold) AS dropped, setting
            ON CONFLICT DO NOTHING
            RETURNING id
        ), taken AS (
            INSERT INTO seat_claims (showtime_id, seat_id, hold_id, expires_at, claimed_at)
            SELECT :showtime_id, seat.id, new_hold.id, :expires_at, :now
            FROM new_hold, unnest(:seat_ids) WITH ORDINALITY AS seat (id, position)
            ORDER BY seat.position
            ON CONFLICT (showtime_id, seat_id) DO UPDATE
            SET hold_id = CASE WHEN excluded.seat_id = ANY(:wanted)
                    THEN excluded.hold_id ELSE seat_claims.hold_id END,
                expires_at = CASE WHEN excluded.seat_id = ANY(:wanted)
                    THEN excluded.expires_at ELSE seat_claims.expires_at END,
                claimed_at = CASE WHEN excluded.seat_id = ANY(:wanted)
                    THEN excluded.claimed_at ELSE seat_claims.claimed_at END
            WHERE seat_claims.expires_at <= :now OR seat_claims.hold_id = :replacing
            RETURNING seat_id, hold_id
        ), outcome AS (
            SELECT
                (SELECT id FROM new_hold) AS hold_id,
                (SELECT id FROM old_hold) AS replaced,
                ARRAY(
                    SELECT seat_id FROM taken WHERE hold_id = (SELECT id FROM new_hold)
                    ORDER BY seat_id
                ) AS seat_ids
        )
        SELECT hold_id, replaced, seat_ids
        FROM outcome
        WHERE CASE
            WHEN hold_id IS NULL THEN kino_refuse_hold(:another_hold, '{}')
            WHEN NOT :wanted <@ seat_ids THEN kino_refuse_hold(
                :seats_taken,
                ARRAY(SELECT unnest(CAST(:wanted AS bigint[])) EXCEPT SELECT unnest(seat_ids))
            )
            ELSE true
        END
        """
    )
    return statement.bindparams(
        bindparam("lock_timeout", f"{LOCK_TIMEOUT_MS}ms"),
        bindparam("showtime_id", type_=BigInteger),
        bindparam("user_id", type_=Uuid),
        bindparam("now", type_=UTCDateTime),
        bindparam("expires_at", type_=UTCDateTime),
        bindparam("seat_ids", type_=postgresql.ARRAY(BigInteger)),
        bindparam("wanted", type_=postgresql.ARRAY(BigInteger)),
        bindparam("replacing", type_=BigInteger),
        bindparam("another_hold", ANOTHER_LIVE_HOLD),
        bindparam("seats_taken", SEATS_TAKEN),
    ).columns(hold_id=BigInteger, replaced=BigInteger, seat_ids=postgresql.ARRAY(BigInteger))


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
