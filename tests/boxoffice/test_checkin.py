"""Check-in at the door: each answer of the scanner, a ticket admitted once however often and
however many doors scan it, and staff only."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from kino.boxoffice import checkin
from kino.boxoffice.sales_models import CheckIn
from kino.boxoffice.sales_schemas import CheckInCreate
from kino.boxoffice.ticket_codes import TicketCode, TicketSigner, new_nonce
from kino.boxoffice.tickets import TicketPolicy
from tests.boxoffice.conftest import client_for, create_showtime, error_code, ok
from tests.boxoffice.sales import buy
from tests.factories import SignedIn

SCAN = "/api/v1/checkin"


@pytest.fixture
async def soon(client: httpx.AsyncClient, manager: SignedIn, movie_id: int, hall: Any) -> Any:
    """A showtime starting in half an hour: its check-in is open."""
    starts_at = datetime.now(UTC) + timedelta(minutes=30)
    return await create_showtime(client, manager, movie_id, hall["id"], starts_at)


async def scan(
    client: httpx.AsyncClient, staff: SignedIn, code: str, **fields: Any
) -> dict[str, Any]:
    answer: dict[str, Any] = ok(
        await client.post(SCAN, json={"code": code, **fields}, headers=staff.headers)
    )
    return answer


async def check_ins(app: FastAPI) -> int:
    async with app.state.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(CheckIn)) or 0)


async def test_a_ticket_is_admitted_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer: SignedIn,
    manager: SignedIn,
    soon: Any,
) -> None:
    [ticket] = (await buy(client, viewer, soon["id"], ["B2"]))["tickets"]
    first = await scan(client, manager, ticket["code"], showtime_id=soon["id"])
    assert (first["result"], first["message"]) == ("ok", "Admitted.")
    assert first["ticket"]["reference"] == ticket["reference"]
    assert (first["ticket"]["seat"], first["ticket"]["movie_title"]) == ("B2", "Stalker")
    again = await scan(client, manager, ticket["code"], showtime_id=soon["id"])
    assert again["result"] == "already_used"
    assert again["checked_in_at"] == first["checked_in_at"]
    assert await check_ins(app) == 1
    read = ok(await client.get(f"/api/v1/tickets/{ticket['reference']}", headers=viewer.headers))
    assert read["checked_in_at"] == first["checked_in_at"]


async def test_the_same_scan_sent_again_is_ok_again(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, manager: SignedIn, soon: Any
) -> None:
    [ticket] = (await buy(client, viewer, soon["id"], ["A1"]))["tickets"]
    assert (await scan(client, manager, ticket["code"], scan_id="door-1:0001"))["result"] == "ok"
    assert (await scan(client, manager, ticket["code"], scan_id="door-1:0001"))["result"] == "ok"
    other_scan = await scan(client, manager, ticket["code"], scan_id="door-2:0042")
    assert other_scan["result"] == "already_used"
    assert (await scan(client, manager, ticket["code"]))["result"] == "already_used"
    assert await check_ins(app) == 1


async def test_a_ticket_for_another_showtime_is_refused(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer: SignedIn,
    manager: SignedIn,
    soon: Any,
    showtime: Any,
) -> None:
    [ticket] = (await buy(client, viewer, showtime["id"], ["A1"]))["tickets"]
    answer = await scan(client, manager, ticket["code"], showtime_id=soon["id"])
    assert answer["result"] == "wrong_showtime"
    assert answer["ticket"]["showtime_id"] == showtime["id"]
    assert await check_ins(app) == 0


async def test_tickets_of_a_cancelled_showtime_are_cancelled(
    client: httpx.AsyncClient, viewer: SignedIn, manager: SignedIn, soon: Any
) -> None:
    [ticket] = (await buy(client, viewer, soon["id"], ["A2"]))["tickets"]
    ok(await client.post(f"/api/v1/showtimes/{soon['id']}/cancel", headers=manager.headers))
    answer = await scan(client, manager, ticket["code"])
    assert (answer["result"], answer["ticket"]["status"]) == ("cancelled", "cancelled")


async def test_a_refunded_ticket_is_cancelled_and_a_used_one_is_not_refunded(
    app_with: Any, viewer: SignedIn, other: SignedIn, manager: SignedIn, soon: Any
) -> None:
    lenient = app_with(refund_cutoff_hours=0)
    async with client_for(lenient) as client:
        refunded, used = (await buy(client, viewer, soon["id"], ["A3", "A4"]))["tickets"]
        ok(
            await client.post(
                f"/api/v1/tickets/{refunded['reference']}/cancel", headers=viewer.headers
            )
        )
        assert (await scan(client, manager, refunded["code"]))["result"] == "cancelled"
        assert (await scan(client, manager, used["code"]))["result"] == "ok"
        refused = await client.post(
            f"/api/v1/tickets/{used['reference']}/cancel", headers=viewer.headers
        )
        assert error_code(refused, 409) == "ticket_used"
        # The refunded seat, sold again, has a new code; the old one stays cancelled.
        [resold] = (await buy(client, other, soon["id"], ["A3"]))["tickets"]
        assert resold["code"] != refunded["code"]
        assert (await scan(client, manager, refunded["code"]))["result"] == "cancelled"
        assert (await scan(client, manager, resold["code"]))["result"] == "ok"


async def test_before_check_in_opens_it_is_not_yet(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, manager: SignedIn, showtime: Any
) -> None:
    [ticket] = (await buy(client, viewer, showtime["id"], ["C1"]))["tickets"]
    answer = await scan(client, manager, ticket["code"], showtime_id=showtime["id"])
    assert answer["result"] == "not_yet"
    assert answer["checked_in_at"] is None
    assert await check_ins(app) == 0


async def test_the_check_in_window_follows_the_start_and_the_end(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, manager: SignedIn, showtime: Any
) -> None:
    [ticket] = (await buy(client, viewer, showtime["id"], ["C2"]))["tickets"]
    policy = TicketPolicy.from_settings(app.state.settings)
    starts_at = datetime.fromisoformat(showtime["starts_at"])
    ends_at = datetime.fromisoformat(showtime["ends_at"])
    body = CheckInCreate(code=ticket["code"])
    moments = {
        starts_at - timedelta(minutes=61): "not_yet",
        ends_at: "ended",
        ends_at + timedelta(days=1): "ended",
        starts_at - timedelta(minutes=59): "ok",
    }
    for now, expected in moments.items():
        async with app.state.db.transaction() as session:
            answer = await checkin.check_in(session, manager.user, body, policy, now=now)
        assert answer.result == expected, now


def _codes_that_are_not_tickets(ticket: Any, signer: TicketSigner) -> list[str]:
    prefix, payload, signature = ticket["code"].split(".")
    foreign = TicketSigner("another-installation-with-its-own-secret-key")
    genuine_seat = TicketCode(1, ticket["showtime"]["id"], "A1", new_nonce())
    return [
        "hello",
        "KINO1.",
        ticket["reference"],
        f"{prefix}.{payload}.{signature[:-4]}AAAA",
        f"{prefix}.{payload[:-2]}{signature}",
        foreign.sign(genuine_seat),
        signer.sign(TicketCode(987654, ticket["showtime"]["id"], "A1", new_nonce())),
        signer.sign(genuine_seat),  # a real ticket's id with a nonce it never had
        signer.sign(TicketCode(1, ticket["showtime"]["id"] + 1, "A1", ticket_nonce(ticket))),
    ]


def ticket_nonce(ticket: Any) -> str:
    """The nonce a ticket's code carries (its payload is plain base64url JSON)."""
    payload = ticket["code"].split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["n"])


async def test_anything_but_a_genuine_ticket_is_invalid(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, manager: SignedIn, soon: Any
) -> None:
    [ticket] = (await buy(client, viewer, soon["id"], ["A1"]))["tickets"]
    signer = TicketPolicy.from_settings(app.state.settings).signer
    for code in _codes_that_are_not_tickets(ticket, signer):
        answer = await scan(client, manager, code)
        assert (answer["result"], answer["ticket"]) == ("invalid", None), code
    assert await check_ins(app) == 0
    assert (await scan(client, manager, ticket["code"]))["result"] == "ok"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"code": ""},
        {"code": "K" * 513},
        {"code": 42},
        {"code": "x", "showtime_id": 0},
        {"code": "x", "scan_id": "has space"},
        {"code": "x", "scan_id": "s" * 65},
        {"code": "x", "extra": True},
    ],
)
async def test_malformed_scans_are_422s(
    client: httpx.AsyncClient, manager: SignedIn, body: Any
) -> None:
    response = await client.post(SCAN, json=body, headers=manager.headers)
    assert error_code(response, 422) == "validation_error"


async def test_only_staff_check_tickets_in(
    client: httpx.AsyncClient, viewer: SignedIn, soon: Any
) -> None:
    [ticket] = (await buy(client, viewer, soon["id"], ["A2"]))["tickets"]
    mine = await client.post(SCAN, json={"code": ticket["code"]}, headers=viewer.headers)
    assert error_code(mine, 403) == "forbidden"
    assert error_code(await client.post(SCAN, json={"code": ticket["code"]}), 401)


async def test_many_doors_scanning_one_ticket_at_once_admit_it_once(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, manager: SignedIn, soon: Any
) -> None:
    [ticket] = (await buy(client, viewer, soon["id"], ["C1"]))["tickets"]
    answers = await asyncio.gather(
        *(scan(client, manager, ticket["code"], scan_id=f"door-{door}") for door in range(6))
    )
    results = sorted(answer["result"] for answer in answers)
    assert results == ["already_used"] * 5 + ["ok"]
    assert len({answer["checked_in_at"] for answer in answers}) == 1
    assert await check_ins(app) == 1
