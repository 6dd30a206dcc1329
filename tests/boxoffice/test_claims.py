"""The seat-claim rules the database keeps by itself, whatever code writes to it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kino.boxoffice.models import Seat, SeatClaim, SeatHold
from kino.core.db import utcnow
from tests.factories import SignedIn


async def seat_id(app: FastAPI, hall_id: int, name: str) -> int:
    async with app.state.db.transaction() as session:
        found = await session.scalar(
            select(Seat.id).where(Seat.hall_id == hall_id, Seat.name == name)
        )
    assert found is not None
    return int(found)


async def new_hold(app: FastAPI, who: SignedIn, showtime_id: int) -> int:
    async with app.state.db.transaction() as session:
        hold = SeatHold(
            showtime_id=showtime_id, user_id=who.user.id, expires_at=utcnow() + timedelta(hours=1)
        )
        session.add(hold)
        await session.flush()
        return hold.id


async def test_one_seat_of_one_showtime_is_claimed_once(
    app: FastAPI, viewer: SignedIn, other: SignedIn, showtime: Any, hall: Any
) -> None:
    seat = await seat_id(app, hall["id"], "A1")
    first, second = (
        await new_hold(app, viewer, showtime["id"]),
        await new_hold(app, other, showtime["id"]),
    )
    expires_at = utcnow() + timedelta(hours=1)
    async with app.state.db.transaction() as session:
        session.add(
            SeatClaim(
                showtime_id=showtime["id"], seat_id=seat, hold_id=first, expires_at=expires_at
            )
        )
    with pytest.raises(IntegrityError):
        async with app.state.db.transaction() as session:
            session.add(
                SeatClaim(
                    showtime_id=showtime["id"], seat_id=seat, hold_id=second, expires_at=expires_at
                )
            )


@pytest.mark.parametrize(
    "fields",
    [
        {},  # neither held nor sold
        {"hold": True},  # held without an expiry
        {"expires": True},  # an expiry without a hold
    ],
)
async def test_a_claim_is_held_or_sold(
    app: FastAPI, viewer: SignedIn, showtime: Any, hall: Any, fields: dict[str, bool]
) -> None:
    seat = await seat_id(app, hall["id"], "B1")
    hold_id = await new_hold(app, viewer, showtime["id"]) if fields.get("hold") else None
    expires_at = utcnow() + timedelta(hours=1) if fields.get("expires") else None
    with pytest.raises(IntegrityError):
        async with app.state.db.transaction() as session:
            session.add(
                SeatClaim(
                    showtime_id=showtime["id"], seat_id=seat, hold_id=hold_id, expires_at=expires_at
                )
            )


async def test_a_user_has_one_live_hold_per_showtime(
    app: FastAPI, viewer: SignedIn, showtime: Any
) -> None:
    await new_hold(app, viewer, showtime["id"])
    with pytest.raises(IntegrityError):
        await new_hold(app, viewer, showtime["id"])
