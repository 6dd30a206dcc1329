from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from kino.boxoffice import holds
from kino.boxoffice.errors import HoldExpired, HoldNotFound, SeatsUnavailable, ShowtimeStarted
from kino.boxoffice.models import SeatClaim, SeatHold
from kino.identity import service as identity
from kino.identity.models import User
from tests.boxoffice.conftest import (
    client_for,
    create_movie,
    create_showtime,
    error_code,
    hold,
    ok,
    seat_states,
    tomorrow_at,
)
from tests.boxoffice.sales import issue_tickets
from tests.conftest import Backend
from tests.factories import SignedIn


async def stored_holds(app: FastAPI, showtime_id: int) -> dict[int, list[int]]:
    """hold id → its claimed seat ids, as the database has them."""
    async with app.state.db.transaction() as session:
        hold_ids = await session.scalars(
            select(SeatHold.id).where(SeatHold.showtime_id == showtime_id)
        )
        found: dict[int, list[int]] = {hold_id: [] for hold_id in hold_ids}
        claims = await session.execute(
            select(SeatClaim.hold_id, SeatClaim.seat_id)
            .where(SeatClaim.showtime_id == showtime_id)
            .order_by(SeatClaim.seat_id)
        )
        for hold_id, seat_id in claims:
            found.setdefault(hold_id, []).append(seat_id)
        return found


async def test_a_hold_takes_its_seats_for_the_hold_time(
    client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, showtime: Any
) -> None:
    before = datetime.now().astimezone()
    held = ok(await hold(client, viewer, showtime["id"], ["A2", "A1", "C2"]), 201)
    after = datetime.now().astimezone()
    assert held["seats"] == ["A1", "A2", "C2"]  # in seat-map order
    assert (held["showtime_id"], held["user_id"]) == (showtime["id"], str(viewer.user.id))
    assert (held["amount"], held["currency"]) == (1200 + 1200 + 2500, "EUR")
    expires_at = datetime.fromisoformat(held["expires_at"])
    hold_time = timedelta(seconds=600)  # KINO_SEAT_HOLD_SECONDS' default
    assert before + hold_time <= expires_at <= after + hold_time

    seen_by_other = await seat_states(client, showtime["id"], other)
    assert [seen_by_other[name] for name in ("A1", "A2", "C2", "A3")] == [
        "held",
        "held",
        "held",
        "free",
    ]
    seat_map = ok(
        await client.get(f"/api/v1/showtimes/{showtime['id']}/seats", headers=viewer.headers)
    )
    mine = [seat["name"] for row in seat_map["rows"] for seat in row["seats"] if seat["mine"]]
    assert mine == ["A1", "A2", "C2"]
    assert seat_map["counts"] == {"free": 15, "held": 3, "sold": 0, "blocked": 0}
    assert seat_map["my_hold_id"] == held["id"]
    others_map = ok(
        await client.get(f"/api/v1/showtimes/{showtime['id']}/seats", headers=other.headers)
    )
    assert others_map["my_hold_id"] is None
    assert ok(await client.get(f"/api/v1/holds/{held['id']}", headers=viewer.headers)) == held
    listed = ok(await client.get(f"/api/v1/showtimes/{showtime['id']}"))
    assert listed["seats_available"] == 15


async def test_a_hold_with_a_taken_seat_takes_none_and_names_the_taken_ones(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, showtime: Any
) -> None:
    first = ok(await hold(client, viewer, showtime["id"], ["A2", "A3"]), 201)
    refused = await hold(client, other, showtime["id"], ["A1", "A2", "A3", "A4"])
    assert error_code(refused, 409) == "seats_unavailable"
    assert refused.json()["error"]["details"] == {"seats": ["A2", "A3"]}
    states = await seat_states(client, showtime["id"])
    assert (states["A1"], states["A4"]) == ("free", "free")
    assert list((await stored_holds(app, showtime["id"])).keys()) == [first["id"]]
    ok(await hold(client, other, showtime["id"], ["A1", "A4"]), 201)


async def test_a_new_hold_replaces_the_users_previous_one(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    first = ok(await hold(client, viewer, showtime["id"], ["A1", "A2"]), 201)
    second = ok(await hold(client, viewer, showtime["id"], ["A2", "A3"]), 201)
    assert second["id"] != first["id"]
    states = await seat_states(client, showtime["id"])
    assert [states[name] for name in ("A1", "A2", "A3")] == ["free", "held", "held"]
    stored = await stored_holds(app, showtime["id"])
    assert list(stored) == [second["id"]]
    assert len(stored[second["id"]]) == 2
    gone = await client.get(f"/api/v1/holds/{first['id']}", headers=viewer.headers)
    assert error_code(gone, 404) == "hold_not_found"


async def test_a_refused_replacement_keeps_the_previous_hold(
    client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, showtime: Any
) -> None:
    kept = ok(await hold(client, viewer, showtime["id"], ["A1"]), 201)
    ok(await hold(client, other, showtime["id"], ["A5"]), 201)
    refused = await hold(client, viewer, showtime["id"], ["A1", "A5"])
    assert error_code(refused, 409) == "seats_unavailable"
    assert refused.json()["error"]["details"]["seats"] == ["A5"]
    assert ok(await client.get(f"/api/v1/holds/{kept['id']}", headers=viewer.headers)) == kept


async def test_a_seat_taken_after_the_first_look_refuses_the_whole_replacement(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer: SignedIn,
    other: SignedIn,
    showtime: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The write itself is all or nothing, not only the look before it: here that look is made
    blind to the rival's seat, as when the rival takes it between the two."""
    kept = ok(await hold(client, viewer, showtime["id"], ["A1", "A2"]), 201)
    ok(await hold(client, other, showtime["id"], ["A5"]), 201)
    before = await stored_holds(app, showtime["id"])
    monkeypatch.setattr(holds, "_claimed_by_another", lambda *_: False)

    refused = await hold(client, viewer, showtime["id"], ["A2", "A3", "A5"])

    assert error_code(refused, 409) == "seats_unavailable"
    assert refused.json()["error"]["details"]["seats"] == ["A5"]
    assert await stored_holds(app, showtime["id"]) == before
    assert ok(await client.get(f"/api/v1/holds/{kept['id']}", headers=viewer.headers)) == kept
    states = await seat_states(client, showtime["id"])
    assert [states[name] for name in ("A1", "A2", "A3", "A5")] == ["held", "held", "free", "held"]


async def test_a_released_holds_id_is_never_given_to_another_hold(
    client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    released = ok(await hold(client, viewer, showtime["id"], ["B1"]), 201)
    path = f"/api/v1/holds/{released['id']}"
    assert (await client.delete(path, headers=viewer.headers)).status_code == 204
    newer = ok(await hold(client, viewer, showtime["id"], ["B2"]), 201)
    assert newer["id"] > released["id"]
    # A client still holding the old id releases nothing of the new hold's.
    assert error_code(await client.delete(path, headers=viewer.headers), 404) == "hold_not_found"
    assert (await seat_states(client, showtime["id"]))["B2"] == "held"


async def test_only_the_holder_releases_a_hold(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, showtime: Any
) -> None:
    held = ok(await hold(client, viewer, showtime["id"], ["B1", "B2"]), 201)
    path = f"/api/v1/holds/{held['id']}"
    assert error_code(await client.delete(path, headers=other.headers), 404) == "hold_not_found"
    assert error_code(await client.get(path, headers=other.headers), 404) == "hold_not_found"
    assert (await seat_states(client, showtime["id"]))["B1"] == "held"

    assert (await client.delete(path, headers=viewer.headers)).status_code == 204
    states = await seat_states(client, showtime["id"])
    assert (states["B1"], states["B2"]) == ("free", "free")
    assert await stored_holds(app, showtime["id"]) == {}
    assert error_code(await client.delete(path, headers=viewer.headers), 404) == "hold_not_found"
    ok(await hold(client, other, showtime["id"], ["B1", "B2"]), 201)


async def test_holds_need_a_signed_in_user(client: httpx.AsyncClient, showtime: Any) -> None:
    response = await client.post(
        f"/api/v1/showtimes/{showtime['id']}/holds", json={"seats": ["A1"]}
    )
    assert error_code(response, 401) == "unauthenticated"
    assert error_code(await client.delete("/api/v1/holds/1"), 401) == "unauthenticated"


async def _deactivate(app: FastAPI, who: SignedIn) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(update(User).where(User.id == who.user.id).values(is_active=False))


async def _sign_out_everywhere(app: FastAPI, who: SignedIn) -> None:
    async with app.state.db.transaction() as session:
        user = await session.get_one(User, who.user.id)
        await identity.end_all_sessions(session, user)


@pytest.mark.parametrize(
    "spoil", ["deactivated", "signed out everywhere", "no such user", "forged signature"]
)
async def test_a_hold_checks_the_callers_account_before_writing_anything(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any, spoil: str
) -> None:
    """The API's hold reads the caller's user row in its own first query: a token that is
    well signed but no longer good is a 401, as on every other endpoint."""
    settings = app.state.settings
    if spoil == "deactivated":
        await _deactivate(app, viewer)
    elif spoil == "signed out everywhere":
        await _sign_out_everywhere(app, viewer)
    elif spoil == "no such user":
        stranger = User(id=uuid.uuid4(), token_version=viewer.user.token_version)
        viewer = replace(viewer, token=identity.issue_access_token(settings, stranger))
    else:
        header, claims, _signature = viewer.token.split(".")
        viewer = replace(viewer, token=f"{header}.{claims}.{'A' * 43}")
    response = await hold(client, viewer, showtime["id"], ["A1"])
    assert error_code(response, 401) == "unauthenticated"
    assert await stored_holds(app, showtime["id"]) == {}


async def test_a_hold_with_an_api_key_is_the_keys_owners(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    keys = "/api/v1/api-keys"
    created = ok(await client.post(keys, headers=viewer.headers, json={"name": "k"}), 201)
    key = {"X-API-Key": created["key"]}
    path = f"/api/v1/showtimes/{showtime['id']}/holds"
    held = ok(await client.post(path, json={"seats": ["B3"]}, headers=key), 201)
    assert (held["user_id"], held["seats"]) == (str(viewer.user.id), ["B3"])
    await _deactivate(app, viewer)
    response = await client.post(path, json={"seats": ["B4"]}, headers=key)
    assert error_code(response, 401) == "unauthenticated"


async def test_the_api_documents_both_credentials_a_hold_takes(client: httpx.AsyncClient) -> None:
    """The hold's caller dependency reads a bearer token or an API key without declaring them as
    dependencies of its own; the OpenAPI document still names both, as it does for the others."""
    schema = (await client.get("/openapi.json")).json()
    hold_operation = schema["paths"]["/api/v1/showtimes/{showtime_id}/holds"]["post"]
    release_operation = schema["paths"]["/api/v1/holds/{hold_id}"]["delete"]
    assert sorted(map(str, hold_operation["security"])) == sorted(
        map(str, release_operation["security"])
    )
    schemes = schema["components"]["securitySchemes"]
    assert {name for requirement in hold_operation["security"] for name in requirement} == {
        name for name, scheme in schemes.items() if scheme["type"] in {"oauth2", "apiKey"}
    }


async def test_an_expired_hold_frees_its_seats_for_someone_else(
    app_with: Any, viewer: SignedIn, other: SignedIn, showtime: Any
) -> None:
    # Only the viewer's holds are quick to expire; the other buyer's last as usual.
    quick = app_with(seat_hold_seconds=1)
    async with client_for(quick) as client, client_for(app_with()) as other_client:
        await seat_states(other_client, showtime["id"])  # that app's first request, done
        first = ok(await hold(client, viewer, showtime["id"], ["A1", "A2"]), 201)
        refused = await hold(other_client, other, showtime["id"], ["A2", "A3"])
        assert error_code(refused, 409) == "seats_unavailable"
        await _sleep_past(first["expires_at"])

        assert (await seat_states(client, showtime["id"]))["A1"] == "free"
        taken = ok(await hold(other_client, other, showtime["id"], ["A2", "A3"]), 201)
        assert taken["seats"] == ["A2", "A3"]
        # The first hold kept only the seat nobody took; it has expired all the same.
        left = ok(await client.get(f"/api/v1/holds/{first['id']}", headers=viewer.headers))
        assert left["seats"] == ["A1"]
        # Holding again replaces the expired hold; the seat someone else took is refused.
        again = await hold(client, viewer, showtime["id"], ["A1", "A2"])
        assert again.json()["error"]["details"]["seats"] == ["A2"]
        ok(await hold(client, viewer, showtime["id"], ["A1"]), 201)


async def test_a_seat_another_transaction_is_writing_waits_or_is_refused_as_busy(
    app_with: Any, backend: Backend, viewer: SignedIn, other: SignedIn, showtime: Any
) -> None:
    """A hold that meets a seat's claim locked by a transaction that takes its time (a sale
    in progress): on PostgreSQL it waits for the lock timeout, then is a 409 saying the seat is
    being sold; on SQLite, where a writer locks the whole database, it waits its turn and then
    gets the seat."""
    quick = app_with(seat_hold_seconds=0.2)
    async with client_for(quick) as client:
        expired = ok(await hold(client, viewer, showtime["id"], ["C1"]), 201)
        await _sleep_past(expired["expires_at"])  # the first query now sees C1 free
        async with quick.state.db.transaction() as session:
            await session.execute(
                update(SeatClaim)
                .where(SeatClaim.showtime_id == showtime["id"], SeatClaim.hold_id == expired["id"])
                .values(claimed_at=SeatClaim.claimed_at)
            )
            pending = asyncio.create_task(hold(client, other, showtime["id"], ["C1"]))
            if not backend.is_sqlite:
                busy = await pending
                assert error_code(busy, 409) == "seats_unavailable"
                assert "being sold right now" in busy.json()["error"]["message"]
            else:
                await asyncio.sleep(0.3)
                assert not pending.done()
        if backend.is_sqlite:
            assert ok(await pending, 201)["seats"] == ["C1"]


async def test_a_seat_taken_while_the_hold_waited_for_it_is_refused_by_name(
    app_with: Any, viewer: SignedIn, other: SignedIn, showtime: Any
) -> None:
    """The hold's first look finds the seat free (an expired claim), but a transaction that
    is writing the claim makes it live again and commits while the hold waits: the hold is a
    409 naming that seat, and nothing of it is stored. On PostgreSQL the one statement that
    looked and held is undone and the seats are read again."""
    quick = app_with(seat_hold_seconds=0.2)
    async with client_for(quick) as client:
        expired = ok(await hold(client, viewer, showtime["id"], ["C1"]), 201)
        await _sleep_past(expired["expires_at"])
        async with quick.state.db.transaction() as session:
            await session.execute(
                update(SeatClaim)
                .where(SeatClaim.showtime_id == showtime["id"], SeatClaim.hold_id == expired["id"])
                .values(expires_at=datetime.now().astimezone() + timedelta(minutes=10))
            )
            pending = asyncio.create_task(hold(client, other, showtime["id"], ["C2", "C1"]))
            await asyncio.sleep(0.3)
            assert not pending.done()  # waiting for the claim
        refused = await pending
        assert error_code(refused, 409) == "seats_unavailable"
        assert refused.json()["error"]["details"] == {"seats": ["C1"]}
        stored = await stored_holds(quick, showtime["id"])
        assert list(stored) == [expired["id"]]
        assert len(stored[expired["id"]]) == 1


async def test_a_hold_that_meets_the_users_own_new_hold_replaces_it(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    """The user's other request made a hold for the showtime while this one was under way (it
    committed after this hold's first look): this hold replaces that one, as it would have had
    it come first."""
    now = datetime.now().astimezone()
    async with app.state.db.transaction() as session:
        session.add(
            concurrent := SeatHold(
                showtime_id=showtime["id"],
                user_id=viewer.user.id,
                created_at=now,
                expires_at=now + timedelta(minutes=10),
            )
        )
        await session.flush()
        pending = asyncio.create_task(hold(client, viewer, showtime["id"], ["A5"]))
        await asyncio.sleep(0.3)
        assert not pending.done()  # waiting for the other hold's row
    made = ok(await pending, 201)
    assert made["seats"] == ["A5"]
    stored = await stored_holds(app, showtime["id"])  # the concurrent hold is gone
    assert list(stored) == [made["id"]] != [concurrent.id]
    assert len(stored[made["id"]]) == 1


async def _sleep_past(expires_at: str) -> None:
    remaining = datetime.fromisoformat(expires_at) - datetime.now().astimezone()
    await asyncio.sleep(max(0.0, remaining.total_seconds()) + 0.05)


async def test_blocked_seats_cannot_be_held(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn, showtime: Any, hall: Any
) -> None:
    blocked = ok(
        await client.post(
            f"/api/v1/halls/{hall['id']}/blocked-seats",
            json={"seats": ["A1", "C1"], "reason": "broken armrest"},
            headers=manager.headers,
        )
    )
    assert [seat["name"] for seat in blocked["blocked_seats"]] == ["A1", "C1"]
    refused = await hold(client, viewer, showtime["id"], ["A1", "A2"])
    assert error_code(refused, 409) == "seats_unavailable"
    assert refused.json()["error"]["details"] == {"seats": ["A1"]}
    states = await seat_states(client, showtime["id"])
    assert (states["A1"], states["C1"], states["A2"]) == ("blocked", "blocked", "free")
    listed = ok(await client.get(f"/api/v1/showtimes/{showtime['id']}"))
    assert listed["seats_available"] == 16

    ok(await client.delete(f"/api/v1/halls/{hall['id']}/blocked-seats/A1", headers=manager.headers))
    ok(await hold(client, viewer, showtime["id"], ["A1", "A2"]), 201)


@pytest.mark.parametrize(
    ("seats", "field"),
    [
        ([], "seats"),
        (["A1", "A1"], "seats"),
        ([f"A{n}" for n in range(1, 12)], "seats"),
        (["a1"], "seats.0"),
        (["A0"], "seats.0"),
        (["1A"], "seats.0"),
        ("A1", "seats"),
    ],
)
async def test_bad_seat_lists_are_422s(
    client: httpx.AsyncClient, viewer: SignedIn, showtime: Any, seats: Any, field: str
) -> None:
    response = await client.post(
        f"/api/v1/showtimes/{showtime['id']}/holds", json={"seats": seats}, headers=viewer.headers
    )
    assert error_code(response, 422) == "validation_error"
    assert response.json()["error"]["details"][0]["field"] == field


async def test_seats_the_hall_lacks_are_a_422_naming_them(
    client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    response = await hold(client, viewer, showtime["id"], ["A1", "A9", "Z1"])
    assert error_code(response, 422) == "unknown_seats"
    assert [item["message"] for item in response.json()["error"]["details"]] == [
        "no such seat: A9",
        "no such seat: Z1",
    ]


async def test_holds_on_a_missing_or_hidden_showtime_are_404s(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn, hall: Any
) -> None:
    assert error_code(await hold(client, viewer, 999_999, ["A1"]), 404) == "showtime_not_found"
    draft = await create_movie(client, manager, title="Unfinished", status="draft")
    hidden = await create_showtime(client, manager, draft, hall["id"], tomorrow_at(10))
    response = await hold(client, viewer, hidden["id"], ["A1"])
    assert error_code(response, 404) == "showtime_not_found"
    ok(await hold(client, manager, hidden["id"], ["A1"]), 201)


async def test_cancelling_a_showtime_releases_its_holds_and_stops_new_ones(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn, showtime: Any
) -> None:
    ok(await hold(client, viewer, showtime["id"], ["A1"]), 201)
    path = f"/api/v1/showtimes/{showtime['id']}/cancel"
    assert error_code(await client.post(path, headers=viewer.headers), 403) == "forbidden"
    cancelled = ok(await client.post(path, headers=manager.headers))
    assert (cancelled["showtime"]["status"], cancelled["released_holds"]) == ("cancelled", 1)
    assert cancelled["ticket_ids"] == []
    assert await stored_holds(app, showtime["id"]) == {}
    refused = await hold(client, viewer, showtime["id"], ["A1"])
    assert error_code(refused, 409) == "showtime_cancelled"
    again = ok(await client.post(path, headers=manager.headers))
    assert (again["showtime"]["status"], again["released_holds"]) == ("cancelled", 0)


# --- what orders and tickets build on ----------------------------------------------------------


async def test_a_sold_hold_keeps_its_seats_for_good(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn, other: SignedIn,
    showtime: Any,
) -> None:  # fmt: skip
    held = ok(await hold(client, viewer, showtime["id"], ["A1", "C2"]), 201)
    async with app.state.db.transaction() as session:
        with pytest.raises(HoldNotFound):
            await holds.claims_of_hold(session, held["id"], other.user)
    async with app.state.db.transaction() as session:
        seats = await holds.claims_of_hold(session, held["id"], viewer.user)
        assert [seat.name for seat in seats.seats] == ["A1", "C2"]
        assert (seats.amount, seats.currency) == (1200 + 2500, "EUR")
        tickets = await issue_tickets(session, seats)
        await holds.sell_claims(session, seats, tickets)

    states = await seat_states(client, showtime["id"])
    assert (states["A1"], states["C2"]) == ("sold", "sold")
    assert await stored_holds(app, showtime["id"]) == {None: list(tickets)}  # type: ignore[dict-item]
    refused = await hold(client, other, showtime["id"], ["A1"])
    assert refused.json()["error"]["details"] == {"seats": ["A1"]}

    a1, c2 = (tickets[seat.seat_id] for seat in seats.seats)
    async with app.state.db.transaction() as session:
        assert await holds.release_sold_claims(session, [a1]) == 1
    states = await seat_states(client, showtime["id"])
    assert (states["A1"], states["C2"]) == ("free", "sold")

    cancelled = ok(
        await client.post(f"/api/v1/showtimes/{showtime['id']}/cancel", headers=manager.headers)
    )
    assert cancelled["ticket_ids"] == [c2]


async def test_an_expired_hold_cannot_be_sold(
    app_with: Any, viewer: SignedIn, showtime: Any
) -> None:
    quick = app_with(seat_hold_seconds=0.2)
    async with client_for(quick) as client:
        held = ok(await hold(client, viewer, showtime["id"], ["A1"]), 201)
    await _sleep_past(held["expires_at"])
    async with quick.state.db.transaction() as session:
        with pytest.raises(HoldExpired):
            await holds.claims_of_hold(session, held["id"], viewer.user)


async def test_no_hold_once_the_showtime_has_started(
    app: FastAPI, viewer: SignedIn, showtime: Any
) -> None:
    after_start = datetime.fromisoformat(showtime["starts_at"]) + timedelta(minutes=1)
    async with app.state.db.transaction() as session:
        with pytest.raises(ShowtimeStarted):
            await holds.hold_seats(
                session, viewer.user, showtime["id"], ["A1"], hold_seconds=60, now=after_start
            )


async def test_a_refused_hold_leaves_nothing_behind(
    app: FastAPI, viewer: SignedIn, other: SignedIn, showtime: Any
) -> None:
    """The service stops at the first sign of a taken seat; the transaction it ran in is rolled
    back (as every request's is on an error), taking the new hold and its free seat with it."""
    async with app.state.db.transaction() as session:
        await holds.hold_seats(session, viewer.user, showtime["id"], ["B1"], hold_seconds=60)
    with pytest.raises(SeatsUnavailable) as refused:
        async with app.state.db.transaction() as session:
            await holds.hold_seats(
                session, other.user, showtime["id"], ["B1", "B2"], hold_seconds=60
            )
    assert refused.value.details == {"seats": ["B1"]}
    async with app.state.db.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(SeatHold).where(SeatHold.user_id == other.user.id)
        )
        claims = await session.scalar(select(func.count()).select_from(SeatClaim))
    assert (count, claims) == (0, 1)
