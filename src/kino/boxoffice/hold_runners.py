"""Where a seat hold's statements run: in a session (``InSession``: the caller's transaction,
or SQLite's), or on PostgreSQL straight through the driver with no session at all (``OnDriver``:
the API's holds, the box office's busiest path, where the session's and the ORM's work cost more
than the two statements themselves). ``holds.py`` decides; the rules are in its docstring."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from kino.boxoffice.hold_statements import (
    ANOTHER_LIVE_HOLD,
    SEATS_TAKEN,
    hold_statements,
    seat_id_set,
)
from kino.boxoffice.write_turns import take_write_turn
from kino.core.db import DriverConnection
from kino.core.reads import DriverError

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock timeout


class HoldRunner(Protocol):
    """Runs a hold's statements: in a session (``InSession``), or on PostgreSQL straight
    through the driver, each statement on its own (``OnDriver``)."""

    async def showtime_and_seats(
        self, showtime_id: int, user_id: uuid.UUID, names: Sequence[str]
    ) -> Sequence[Any]: ...

    async def insert_hold(
        self, hold: NewHold, seat_ids: Sequence[int], replacing: int | None
    ) -> tuple[int | None, int | None, set[int]]:
        """Marks the hold ``replacing`` replaced (if it is still live; that locks it), inserts
        the new hold and takes the seats of ``seat_ids`` (ascending) that are free for it (rule
        3). Returns the new hold's id (None when the user has another live hold for the
        showtime), the id of the hold it replaces, and its seats. Raises ``SeatsTaken`` or
        ``SeatsBusy`` where the statement itself refused."""
        ...

    async def live_hold(self, showtime_id: int, user_id: uuid.UUID) -> tuple[int | None, set[int]]:
        """The user's live hold for the showtime, if any, and its seats."""
        ...

    async def drop_old_hold(
        self, showtime_id: int, hold_id: int, old_hold_id: int, unwanted: set[int]
    ) -> None:
        """The old hold's seats that the new one did not ask for (locked by us already), then
        the old hold itself, which has no claims left."""
        ...


@dataclass(frozen=True)
class NewHold:
    user_id: uuid.UUID
    showtime_id: int
    now: datetime
    expires_at: datetime
    seat_ids: set[int]

    def in_one_statement(self, seat_ids: Sequence[int], replacing: int | None) -> dict[str, Any]:
        """The parameters of ``hold_with_claims``."""
        return {
            "showtime_id": self.showtime_id,
            "user_id": self.user_id,
            "now": self.now,
            "expires_at": self.expires_at,
            "seat_ids": list(seat_ids),
            "wanted": sorted(self.seat_ids),
            "replacing": replacing,
        }


class SeatsTaken(Exception):
    """The one-statement hold was refused (and undone) for these seats."""

    def __init__(self, seat_ids: set[int]) -> None:
        super().__init__(seat_ids)
        self.seat_ids = seat_ids


class SeatsBusy(Exception):
    """A seat stayed locked past the lock timeout (rule 5)."""


def _refusal(sqlstate: str | None, detail: str) -> tuple[None, None, set[int]] | None:
    """What a failed one-statement hold means: another live hold of the user (no hold id);
    ``SeatsTaken`` or ``SeatsBusy`` raised; None for an error that is none of these."""
    if sqlstate == ANOTHER_LIVE_HOLD:
        return None, None, set()
    if sqlstate == SEATS_TAKEN:
        raise SeatsTaken({int(part) for part in detail.split(",") if part})
    if sqlstate == LOCK_NOT_AVAILABLE:
        raise SeatsBusy()
    return None


class InSession:
    """A hold in the caller's session and transaction. On PostgreSQL the one statement is kept
    to a savepoint there, so a refusal undoes only itself; elsewhere, several statements."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.statements = hold_statements(session.get_bind().dialect.name)

    async def showtime_and_seats(
        self, showtime_id: int, user_id: uuid.UUID, names: Sequence[str]
    ) -> Sequence[Any]:
        parameters = {"showtime_id": showtime_id, "user_id": user_id, "names": list(names)}
        if self.statements.showtime_and_seats_read is not None:
            return await self.statements.showtime_and_seats_read.records(self.session, **parameters)
        return (await self.session.execute(self.statements.showtime_and_seats, parameters)).all()

    async def insert_hold(
        self, hold: NewHold, seat_ids: Sequence[int], replacing: int | None
    ) -> tuple[int | None, int | None, set[int]]:
        await take_write_turn(self.session)
        if self.statements.hold_with_claims is not None:
            # PostgreSQL: a lock timeout is one of the refusals this maps (``_refusal``)
            return await self._hold_in_one_statement(hold, seat_ids, replacing)
        return await self._hold_in_steps(hold, seat_ids, replacing)

    async def _hold_in_one_statement(
        self, hold: NewHold, seat_ids: Sequence[int], replacing: int | None
    ) -> tuple[int | None, int | None, set[int]]:
        session, statement = self.session, self.statements.hold_with_claims
        assert statement is not None
        # A refusal undoes the statement, and the savepoint keeps the transaction going.
        try:
            async with session.begin_nested():
                parameters = hold.in_one_statement(seat_ids, replacing)
                row = (await session.execute(statement, parameters)).one()
        except DBAPIError as error:
            detail = getattr(error.orig and error.orig.__cause__, "detail", None) or ""
            refused = _refusal(getattr(error.orig, "sqlstate", None), detail)
            if refused is None:
                raise
            return refused
        return row.hold_id, row.replaced, set(row.seat_ids)

    async def _hold_in_steps(
        self, hold: NewHold, seat_ids: Sequence[int], replacing: int | None
    ) -> tuple[int | None, int | None, set[int]]:
        """Up to three statements, in the session's transaction (SQLite)."""
        session, statements = self.session, self.statements
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
        got = await self._take_claims(hold, hold_id, seat_ids, replaced)
        return hold_id, replaced, got

    async def _take_claims(
        self, hold: NewHold, hold_id: int, seat_ids: Sequence[int], replacing: int | None
    ) -> set[int]:
        """Rule 3: the seats of ``seat_ids`` (ascending) that are now the hold's. One parameter
        set per seat, sent as one multi-row INSERT in that order."""
        row = {
            "showtime_id": hold.showtime_id,
            "hold_id": hold_id,
            "ticket_id": None,
            "expires_at": hold.expires_at,
            "claimed_at": hold.now,
            "now": hold.now,
        }
        if replacing is None:
            statement = self.statements.take_claims
        else:
            statement = self.statements.take_claims_replacing
            row = {**row, "replacing": replacing}
        rows = [{**row, "seat_id": seat_id} for seat_id in seat_ids]
        return set((await self.session.execute(statement, rows)).scalars())

    async def live_hold(self, showtime_id: int, user_id: uuid.UUID) -> tuple[int | None, set[int]]:
        parameters = {"showtime_id": showtime_id, "user_id": user_id}
        live = (await self.session.execute(self.statements.live_hold, parameters)).one()
        return live.live_hold_id, seat_id_set(live.live_hold_seat_ids)

    async def drop_old_hold(
        self, showtime_id: int, hold_id: int, old_hold_id: int, unwanted: set[int]
    ) -> None:
        if self.statements.hold_with_claims is not None:
            return  # that one statement deleted the old hold and its claims already
        seats = {"showtime_id": showtime_id, "hold_id": hold_id, "seat_ids": sorted(unwanted)}
        if unwanted:
            await self.session.execute(self.statements.drop_claims, seats)
        await self.session.execute(self.statements.delete_hold, {"hold_id": old_hold_id})


class OnDriver:
    """PostgreSQL, through the driver with no session: the first query and the one statement
    each commit on their own (rule 7)."""

    def __init__(self, connection: DriverConnection) -> None:
        self.connection = connection
        self.statements = hold_statements("postgresql")

    async def showtime_and_seats(
        self, showtime_id: int, user_id: uuid.UUID, names: Sequence[str]
    ) -> Sequence[Any]:
        read = self.statements.showtime_and_seats_read
        assert read is not None
        return await read.records(
            self.connection, showtime_id=showtime_id, user_id=user_id, names=list(names)
        )

    async def insert_hold(
        self, hold: NewHold, seat_ids: Sequence[int], replacing: int | None
    ) -> tuple[int | None, int | None, set[int]]:
        read = self.statements.hold_with_claims_read
        assert read is not None
        parameters = hold.in_one_statement(seat_ids, replacing)
        try:
            [row] = await read.records(self.connection, **parameters)
        except DriverError as error:
            refused = _refusal(error.sqlstate, error.detail)
            if refused is None:
                raise
            return refused
        return row.hold_id, row.replaced, set(row.seat_ids)

    async def live_hold(self, showtime_id: int, user_id: uuid.UUID) -> tuple[int | None, set[int]]:
        read = self.statements.live_hold_read
        assert read is not None
        [live] = await read.records(self.connection, showtime_id=showtime_id, user_id=user_id)
        return live.live_hold_id, seat_id_set(live.live_hold_seat_ids)

    async def drop_old_hold(
        self, showtime_id: int, hold_id: int, old_hold_id: int, unwanted: set[int]
    ) -> None:
        return  # the one statement deleted the old hold and its claims already
