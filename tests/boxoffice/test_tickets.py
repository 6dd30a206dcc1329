"""Tickets: read by their holder and staff only, their QR codes, and cancelling them for a
refund (by the holder before the cut-off, or all at once with their showtime)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI
from sqlalchemy import select

from kino.billing.models import Refund
from kino.boxoffice.ticket_codes import qr_png, qr_svg
from kino.settings import Settings
from tests.boxoffice.conftest import (
    client_for,
    create_hall,
    create_showtime,
    error_code,
    ok,
    seat_states,
)
from tests.boxoffice.sales import buy, outbox, run_jobs, text_of
from tests.factories import SignedIn


def ticket_path(ticket: Any, suffix: str = "") -> str:
    return f"/api/v1/tickets/{ticket['reference']}{suffix}"


async def refunds(app: FastAPI) -> list[Refund]:
    async with app.state.db.transaction() as session:
        return list(await session.scalars(select(Refund).order_by(Refund.id)))


async def loyalty_points(client: httpx.AsyncClient, who: SignedIn) -> int:
    return int(ok(await client.get("/api/v1/me/loyalty", headers=who.headers))["points"])


# --- reading -----------------------------------------------------------------------------------


async def test_a_ticket_is_read_by_its_holder_and_staff_only(
    client: httpx.AsyncClient,
    viewer: SignedIn,
    other: SignedIn,
    manager: SignedIn,
    showtime: Any,
) -> None:
    order = await buy(client, viewer, showtime["id"], ["A1"])
    [ticket] = order["tickets"]
    assert ok(await client.get(ticket_path(ticket), headers=viewer.headers)) == ticket
    assert ok(await client.get(ticket_path(ticket), headers=manager.headers)) == ticket
    lower = f"/api/v1/tickets/{ticket['reference'].lower()}"
    assert ok(await client.get(lower, headers=viewer.headers)) == ticket
    for suffix in ("", "/qr.svg", "/qr.png"):
        response = await client.get(ticket_path(ticket, suffix), headers=other.headers)
        assert error_code(response, 404) == "ticket_not_found"
        assert error_code(await client.get(ticket_path(ticket, suffix)), 401)


@pytest.mark.parametrize("reference", ["SHORT", "ABCDEFGHI", "ABCDEF0I", "ABCD-EFG", "ÄBCDEFGH"])
async def test_references_that_cannot_be_ones_are_422s(
    client: httpx.AsyncClient, viewer: SignedIn, reference: str
) -> None:
    response = await client.get(f"/api/v1/tickets/{reference}", headers=viewer.headers)
    assert error_code(response, 422) == "validation_error"


async def test_an_unknown_reference_is_a_404(client: httpx.AsyncClient, viewer: SignedIn) -> None:
    response = await client.get("/api/v1/tickets/ABCDEFGH", headers=viewer.headers)
    assert error_code(response, 404) == "ticket_not_found"


async def test_the_qr_code_draws_the_tickets_code(
    client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    [ticket] = (await buy(client, viewer, showtime["id"], ["A2"]))["tickets"]
    svg = await client.get(ticket_path(ticket, "/qr.svg"), headers=viewer.headers)
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.headers["cache-control"] == "private, no-store"
    assert svg.content == qr_svg(ticket["code"])
    png = await client.get(ticket_path(ticket, "/qr.png"), headers=viewer.headers)
    assert png.headers["content-type"] == "image/png"
    assert png.content == qr_png(ticket["code"])


async def test_a_scanner_verifies_a_ticket_with_the_published_key(
    client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    [ticket] = (await buy(client, viewer, showtime["id"], ["A3"]))["tickets"]
    key = ok(await client.get("/api/v1/tickets/signing-key"))
    assert (key["algorithm"], key["code_prefix"]) == ("Ed25519", "KINO1")
    raw_key = base64.urlsafe_b64decode(key["public_key"] + "=")
    prefix, payload, signature = ticket["code"].split(".")
    public_key = Ed25519PublicKey.from_public_bytes(raw_key)
    public_key.verify(base64.urlsafe_b64decode(signature + "=="), f"{prefix}.{payload}".encode())
    vouched = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert b'"seat":"A3"' in vouched
    assert f'"s":{ticket["showtime"]["id"]}'.encode() in vouched


async def test_my_tickets_lists_only_mine(
    client: httpx.AsyncClient,
    viewer: SignedIn,
    other: SignedIn,
    manager: SignedIn,
    movie_id: int,
    hall: Any,
    showtime: Any,
) -> None:
    later_start = datetime.fromisoformat(showtime["starts_at"]) + timedelta(days=1)
    later = await create_showtime(client, manager, movie_id, hall["id"], later_start)
    first = await buy(client, viewer, showtime["id"], ["A1", "A2"])
    second = await buy(client, viewer, later["id"], ["B1"])
    await buy(client, other, showtime["id"], ["A3"])
    ok(await client.post(ticket_path(first["tickets"][1], "/cancel"), headers=viewer.headers))

    listed = ok(await client.get("/api/v1/me/tickets", headers=viewer.headers))
    assert listed["total"] == 3
    # The latest showtime first.
    assert [t["reference"] for t in listed["items"]] == [
        second["tickets"][0]["reference"],
        first["tickets"][0]["reference"],
        first["tickets"][1]["reference"],
    ]
    valid = ok(await client.get("/api/v1/me/tickets?status=valid", headers=viewer.headers))
    assert valid["total"] == 2
    paged = ok(await client.get("/api/v1/me/tickets?page=2&page_size=2", headers=viewer.headers))
    assert [t["reference"] for t in paged["items"]] == [first["tickets"][1]["reference"]]
    theirs = ok(await client.get("/api/v1/me/tickets", headers=other.headers))
    assert theirs["total"] == 1
    bad = await client.get("/api/v1/me/tickets?status=lost", headers=viewer.headers)
    assert error_code(bad, 422) == "validation_error"
    assert error_code(await client.get("/api/v1/me/tickets"), 401) == "unauthenticated"


# --- cancelling by the holder ------------------------------------------------------------------


async def test_the_holder_cancels_a_ticket_for_a_full_refund_and_the_seat_is_free(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    viewer: SignedIn,
    other: SignedIn,
    showtime: Any,
) -> None:
    order = await buy(client, viewer, showtime["id"], ["A1", "B1"])
    a1, b1 = order["tickets"]
    assert await loyalty_points(client, viewer) == 12 + 15
    await run_jobs(app)  # the confirmation

    cancelled = ok(await client.post(ticket_path(b1, "/cancel"), headers=viewer.headers))
    assert cancelled["status"] == "refunded"
    assert cancelled["cancelled_at"] is not None
    states = await seat_states(client, showtime["id"], other)
    assert (states["A1"], states["B1"]) == ("sold", "free")
    ok(await client.post(f"/api/v1/showtimes/{showtime['id']}/holds", json={"seats": ["B1"]},
                         headers=other.headers), 201)  # fmt: skip
    assert await loyalty_points(client, viewer) == 12
    now = ok(await client.get(f"/api/v1/orders/{order['id']}", headers=viewer.headers))
    assert now["status"] == "partially_refunded"
    assert (now["payment"]["status"], now["payment"]["refunded_amount"]) == (
        "partially_refunded",
        1500,
    )
    assert now["loyalty_points"] == 12
    [refund] = await refunds(app)
    assert (refund.amount, refund.status.value, refund.reason) == (
        1500,
        "pending",
        "requested_by_customer",
    )

    await run_jobs(app)  # the refund and the mail
    [refund] = await refunds(app)
    assert refund.status.value == "succeeded"
    assert refund.provider_reference is not None
    assert refund.provider_reference.startswith("sbx_re_")
    confirmation, notice = outbox(settings)
    assert confirmation["Subject"].startswith("Your tickets")
    assert notice["To"] == viewer.user.email
    assert notice["Subject"].startswith("Tickets cancelled")
    assert b1["reference"] in text_of(notice)
    assert a1["reference"] not in text_of(notice)
    assert "15.00 EUR will be refunded" in text_of(notice)
    assert await run_jobs(app) == []  # nothing runs twice

    ok(await client.post(ticket_path(a1, "/cancel"), headers=viewer.headers))
    final = ok(await client.get(f"/api/v1/orders/{order['id']}", headers=viewer.headers))
    assert (final["status"], final["payment"]["status"]) == ("refunded", "refunded")
    assert final["payment"]["refunded_amount"] == 2700
    assert await loyalty_points(client, viewer) == 0


async def test_a_ticket_is_cancelled_once(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    [ticket] = (await buy(client, viewer, showtime["id"], ["C1"]))["tickets"]
    ok(await client.post(ticket_path(ticket, "/cancel"), headers=viewer.headers))
    again = await client.post(ticket_path(ticket, "/cancel"), headers=viewer.headers)
    assert error_code(again, 409) == "ticket_not_valid"
    assert len(await refunds(app)) == 1


async def test_only_the_holder_cancels_a_ticket(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer: SignedIn,
    other: SignedIn,
    manager: SignedIn,
    showtime: Any,
) -> None:
    [ticket] = (await buy(client, viewer, showtime["id"], ["C2"]))["tickets"]
    path = ticket_path(ticket, "/cancel")
    assert error_code(await client.post(path, headers=other.headers), 404) == "ticket_not_found"
    assert error_code(await client.post(path, headers=manager.headers), 403) == "not_ticket_holder"
    assert error_code(await client.post(path), 401) == "unauthenticated"
    assert ok(await client.get(ticket_path(ticket), headers=viewer.headers))["status"] == "valid"
    assert await refunds(app) == []


async def test_after_the_cut_off_a_ticket_is_not_refunded(
    app_with: Any, viewer: SignedIn, showtime: Any
) -> None:
    strict = app_with(refund_cutoff_hours=72)  # the showtime is tomorrow: inside the cut-off
    async with client_for(strict) as client:
        [ticket] = (await buy(client, viewer, showtime["id"], ["A4"]))["tickets"]
        starts_at = datetime.fromisoformat(showtime["starts_at"])
        assert datetime.fromisoformat(ticket["refundable_until"]) == starts_at - timedelta(hours=72)
        refused = await client.post(ticket_path(ticket, "/cancel"), headers=viewer.headers)
        assert error_code(refused, 409) == "refund_window_closed"
        assert ok(await client.get(ticket_path(ticket), headers=viewer.headers))["status"] == (
            "valid"
        )
        assert (await seat_states(client, showtime["id"]))["A4"] == "sold"
    assert await refunds(strict) == []


# --- cancelling the showtime -------------------------------------------------------------------


async def test_a_cancelled_showtime_refunds_and_tells_every_holder(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    viewer: SignedIn,
    other: SignedIn,
    manager: SignedIn,
    showtime: Any,
) -> None:
    mine = await buy(client, viewer, showtime["id"], ["A1", "A2"])
    theirs = await buy(client, other, showtime["id"], ["C2"])
    ok(await client.post(ticket_path(mine["tickets"][1], "/cancel"), headers=viewer.headers))
    await run_jobs(app)
    mailed_before = len(outbox(settings))

    cancel = f"/api/v1/showtimes/{showtime['id']}/cancel"
    cancelled = ok(await client.post(cancel, headers=manager.headers))
    assert cancelled["ticket_ids"] == [1, 3]  # the valid ones
    for who, order, status in ((viewer, mine, "refunded"), (other, theirs, "refunded")):
        now = ok(await client.get(f"/api/v1/orders/{order['id']}", headers=who.headers))
        assert now["status"] == status
        assert now["payment"]["status"] == "refunded"
    first = ok(await client.get(ticket_path(mine["tickets"][0]), headers=viewer.headers))
    assert first["status"] == "cancelled"
    assert first["showtime"]["status"] == "cancelled"
    assert await loyalty_points(client, viewer) == 0
    assert await loyalty_points(client, other) == 0
    assert sorted(refund.amount for refund in await refunds(app)) == [1200, 1200, 2500]

    await run_jobs(app)
    assert all(refund.status.value == "succeeded" for refund in await refunds(app))
    notices = outbox(settings)[mailed_before:]
    assert sorted(notice["To"] for notice in notices) == sorted(
        [viewer.user.email, other.user.email]
    )
    for notice in notices:
        assert notice["Subject"].startswith("Cancelled: Stalker")
    [to_viewer] = [notice for notice in notices if notice["To"] == viewer.user.email]
    assert mine["tickets"][0]["reference"] in text_of(to_viewer)
    assert mine["tickets"][1]["reference"] not in text_of(to_viewer)  # refunded before

    again = ok(await client.post(cancel, headers=manager.headers))
    assert again["ticket_ids"] == []
    assert len(await refunds(app)) == 3
    assert await run_jobs(app) == []


async def test_cancelling_one_showtime_leaves_the_others_tickets(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer: SignedIn,
    manager: SignedIn,
    movie_id: int,
    cinema: Any,
    showtime: Any,
) -> None:
    hall = await create_hall(client, manager, cinema["id"], name="Saal 2")
    starts_at = datetime.fromisoformat(showtime["starts_at"]).astimezone(UTC)
    elsewhere = await create_showtime(client, manager, movie_id, hall["id"], starts_at)
    kept = await buy(client, viewer, elsewhere["id"], ["A1"])
    await buy(client, viewer, showtime["id"], ["A1"])
    ok(await client.post(f"/api/v1/showtimes/{showtime['id']}/cancel", headers=manager.headers))
    ticket = ok(await client.get(ticket_path(kept["tickets"][0]), headers=viewer.headers))
    assert ticket["status"] == "valid"
    assert await loyalty_points(client, viewer) == 12
