"""Seat holds under concurrency, on both databases: many buyers at once for one showtime never
hold one seat twice, and each gets all its seats or a 409 that names seats really taken."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from kino.boxoffice.models import Seat, SeatClaim, SeatHold
from kino.core.db import utcnow
from tests.boxoffice.conftest import SMALL_MAP, client_for, hold, ok
from tests.factories import SignedIn, make_user

SEAT_NAMES = [
    f"{row['label']}{number}"
    for row in SMALL_MAP
    for number in range(1, len(row["seats"].replace("_", "")) + 1)
]


async def buyers(app: FastAPI, count: int) -> list[SignedIn]:
    return [await make_user(app) for _ in range(count)]


async def live_claims(app: FastAPI, showtime_id: int) -> dict[str, int]:
    """Seat name → the hold that has it, for the claims that have not expired."""
    async with app.state.db.transaction() as session:
        rows = await session.execute(
            select(Seat.name, SeatClaim.hold_id)
            .join(Seat, Seat.id == SeatClaim.seat_id)
            .where(SeatClaim.showtime_id == showtime_id, SeatClaim.expires_at > utcnow())
        )
        return {name: hold_id for name, hold_id in rows}


def check_outcomes(
    asked: list[list[str]], responses: list[httpx.Response], claims: dict[str, int]
) -> dict[str, int]:
    """Every client got all its seats (and the database says so) or a 409 naming only seats
    that other clients hold. Returns seat → winning hold."""
    won: dict[str, int] = {}
    for seats, response in zip(asked, responses, strict=True):
        if response.status_code == 201:
            held = response.json()
            assert sorted(held["seats"]) == sorted(seats)
            for seat in seats:
                assert seat not in won, f"{seat} was given to two holds"
                won[seat] = held["id"]
    assert claims == won  # what the database holds is exactly what the winners were told
    for seats, response in zip(asked, responses, strict=True):
        if response.status_code != 201:
            assert response.status_code == 409, response.text
            error = response.json()["error"]
            assert error["code"] == "seats_unavailable"
            named = error["details"]["seats"]
            assert named, "a refusal names the taken seats"
            assert set(named) <= set(seats)
            assert all(seat in won for seat in named), (named, seats)
    return won


async def test_fifty_buyers_at_once_never_share_a_seat(
    app: FastAPI, client: httpx.AsyncClient, showtime: Any
) -> None:
    people = await buyers(app, 50)
    rng = random.Random(50)
    asked = [rng.sample(SEAT_NAMES, rng.randint(1, 4)) for _ in people]

    responses = await asyncio.gather(
        *(
            hold(client, who, showtime["id"], seats)
            for who, seats in zip(people, asked, strict=True)
        )
    )

    won = check_outcomes(asked, responses, await live_claims(app, showtime["id"]))
    statuses = {response.status_code for response in responses}
    assert statuses == {201, 409}  # 50 buyers asking for 1 to 4 of 18 seats: some must lose
    seat_map = ok(await client.get(f"/api/v1/showtimes/{showtime['id']}/seats"))
    assert seat_map["counts"]["held"] == len(won)


async def test_buyers_replacing_and_releasing_at_once_leave_nothing_behind(
    app: FastAPI, client: httpx.AsyncClient, showtime: Any
) -> None:
    """Each buyer holds, holds again (replacing its hold), and releases, all at the same time:
    every answer is a 201, a 409 or a 204 (a deadlock would be a 500), every 201 has all its
    seats, and once everyone has released nothing is held."""
    people = await buyers(app, 30)

    async def shop(who: SignedIn, rng: random.Random) -> list[int]:
        statuses = []
        current: int | None = None
        for _ in range(3):
            for _attempt in range(2):  # a hold, then one that replaces it
                seats = rng.sample(SEAT_NAMES, rng.randint(1, 4))
                response = await hold(client, who, showtime["id"], seats)
                statuses.append(response.status_code)
                if response.status_code == 201:
                    assert sorted(response.json()["seats"]) == sorted(seats)
                    current = response.json()["id"]
            if current is not None:
                release = await client.delete(f"/api/v1/holds/{current}", headers=who.headers)
                statuses.append(release.status_code)
                current = None
        return statuses

    results = await asyncio.gather(
        *(shop(who, random.Random(number)) for number, who in enumerate(people))
    )

    assert {status for statuses in results for status in statuses} <= {201, 204, 409}
    assert sum(statuses.count(201) for statuses in results) > 0
    async with app.state.db.transaction() as session:
        assert (await session.scalars(select(SeatClaim.seat_id))).all() == []
        assert (await session.scalars(select(SeatHold.id))).all() == []


async def test_expired_seats_go_to_exactly_one_of_many_buyers(
    app: FastAPI, client: httpx.AsyncClient, app_with: Any, viewer: SignedIn, showtime: Any
) -> None:
    """A hold made with a tiny hold time lapses; twenty buyers (holding for the usual time)
    then race for its seats."""
    people = await buyers(app, 20)
    rng = random.Random(20)
    first_seats = ["A1", "A2", "A3", "A4"]
    asked = [rng.sample(first_seats, rng.randint(1, 3)) for _ in people]
    async with client_for(app_with(seat_hold_seconds=0.3)) as quick:
        expired = ok(await hold(quick, viewer, showtime["id"], first_seats), 201)
    remaining = datetime.fromisoformat(expired["expires_at"]) - datetime.now().astimezone()
    await asyncio.sleep(max(0.0, remaining.total_seconds()) + 0.05)

    responses = await asyncio.gather(
        *(
            hold(client, who, showtime["id"], seats)
            for who, seats in zip(people, asked, strict=True)
        )
    )

    won = check_outcomes(asked, responses, await live_claims(app, showtime["id"]))
    assert won, "someone takes the seats of the expired hold"
    assert expired["id"] not in won.values()
