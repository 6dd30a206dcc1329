"""Turns for SQLite writers within one process.

SQLite lets one transaction write at a time; the others, finding the database locked, poll
for it with growing sleeps (its busy handler: 1, 2, 5, 10 … then 100 ms). Under a burst of
holds, that polling rather than the work made the slowest answers take seconds. So hold and
release transactions of one process queue here for their turn, first come first served, and
keep it until their transaction ends; between processes SQLite's own locking still decides.
PostgreSQL locks rows, not the database, and needs none of this.
"""

from __future__ import annotations

import asyncio
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

_TURN = "boxoffice.sqlite_write_turn"
_queues: WeakKeyDictionary[Engine, asyncio.Lock] = WeakKeyDictionary()


async def take_write_turn(session: AsyncSession) -> None:
    """On SQLite, waits for this process's turn to write and keeps it until the session's
    transaction ends (commit or rollback). Anywhere else, or when the session has it already,
    returns at once."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or session.info.get(_TURN):
        return
    engine = bind.engine
    queue = _queues.setdefault(engine, asyncio.Lock())
    await queue.acquire()
    session.info[_TURN] = True

    def end_turn(_session: Session, transaction: SessionTransaction, *_: Any) -> None:
        # Stays registered (a listener cannot be removed while events are dispatched); the
        # flag makes it release the turn once.
        if transaction.parent is None and session.info.pop(_TURN, None):
            queue.release()

    event.listen(session.sync_session, "after_transaction_end", end_turn)
