"""Orders: paying for a hold makes tickets, through the payment provider, once per
Idempotency-Key; declines, expired holds and failed sales charge nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kino.app import create_app, dispose
from kino.billing.errors import PaymentProviderError
from kino.billing.models import Payment
from kino.billing.providers import Authorization, SandboxProvider
from kino.boxoffice.models import SeatHold
from kino.boxoffice.orders import ORDER_MAIL_JOB
from kino.boxoffice.sales_models import Order, Ticket
from kino.boxoffice.sales_schemas import REFERENCE_ALPHABET
from kino.settings import Settings
from tests.boxoffice.conftest import (
    client_for,
    create_showtime,
    error_code,
    hold,
    ok,
    seat_states,
    tomorrow_at,
)
from tests.boxoffice.sales import (
    EXPIRED_CARD,
    NO_FUNDS_CARD,
    buy,
    jobs_of_kind,
    order_body,
    outbox,
    place_order,
    run_jobs,
    sandbox,
    sleep_past,
    text_of,
)
from tests.core.smtp_server import smtp_server
from tests.factories import SignedIn


async def count(app: FastAPI, model: type[Any]) -> int:
    async with app.state.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def hold_exists(app: FastAPI, hold_id: int) -> bool:
    async with app.state.db.transaction() as session:
        return await session.get(SeatHold, hold_id) is not None


async def test_paying_for_a_hold_turns_its_seats_into_tickets(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, showtime: Any
) -> None:
    held = ok(await hold(client, viewer, showtime["id"], ["B2", "A1"]), 201)
    order = ok(await place_order(client, viewer, held["id"], card="4242424242424242"), 201)

    assert (order["status"], order["showtime_id"], order["user_id"]) == (
        "paid",
        showtime["id"],
        str(viewer.user.id),
    )
    assert (order["total"], order["currency"]) == (1200 + 1500, "EUR")
    assert order["payment"] == {
        "provider": "sandbox",
        "status": "captured",
        "amount": 2700,
        "refunded_amount": 0,
        "currency": "EUR",
        "card_brand": "visa",
        "card_last4": "4242",
    }
    assert [(t["seat"]["name"], t["price"], t["status"]) for t in order["tickets"]] == [
        ("A1", 1200, "valid"),
        ("B2", 1500, "valid"),
    ]
    first = order["tickets"][0]
    assert len(first["reference"]) == 8
    assert set(first["reference"]) <= set(REFERENCE_ALPHABET)
    assert first["code"].startswith("KINO1.")
    assert first["showtime"]["movie"]["title"] == "Stalker"
    assert first["showtime"]["local_starts_at"].endswith(("+01:00", "+02:00"))
    assert first["qr_svg_url"] == f"/api/v1/tickets/{first['reference']}/qr.svg"
    assert order["loyalty_points"] == 12 + 15

    states = await seat_states(client, showtime["id"], other)
    assert (states["A1"], states["B2"], states["A2"]) == ("sold", "sold", "free")
    assert not await hold_exists(app, held["id"])
    [charge] = sandbox(app).captured()
    assert (charge.amount, charge.currency, charge.card_last4) == (2700, "EUR", "4242")
    again = await place_order(client, viewer, held["id"])
    assert error_code(again, 409) == "hold_already_ordered"
    assert again.json()["error"]["details"] == {"hold_id": held["id"], "order_id": order["id"]}
    assert len(sandbox(app).captured()) == 1


@pytest.mark.parametrize(
    ("card", "reason"), [(NO_FUNDS_CARD, "insufficient_funds"), (EXPIRED_CARD, "expired_card")]
)
async def test_a_declined_card_is_a_402_and_the_hold_stays(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer: SignedIn,
    showtime: Any,
    card: str,
    reason: str,
) -> None:
    held = ok(await hold(client, viewer, showtime["id"], ["A3"]), 201)
    declined = await place_order(client, viewer, held["id"], card=card)
    assert error_code(declined, 402) == "payment_declined"
    assert declined.json()["error"]["details"] == {"reason": reason}
    assert ok(await client.get(f"/api/v1/holds/{held['id']}", headers=viewer.headers)) == held
    assert await count(app, Order) == 0
    assert sandbox(app).charges == {}
    # Another card, another try: the hold was kept for it.
    ok(await place_order(client, viewer, held["id"]), 201)


@pytest.mark.parametrize(
    "card",
    [
        "4242 4242 4242 4241",  # wrong check digit
        "4242-4242-4242-4242",
        "4242424242424242x",
        "4242 4242",  # too short
        "4" * 20,
        "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢",  # digits, but not ASCII ones
        "",
        " " * 41,
    ],
)
async def test_card_numbers_that_are_not_card_numbers_are_422s(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any, card: str
) -> None:
    held = ok(await hold(client, viewer, showtime["id"], ["A4"]), 201)
    refused = await place_order(client, viewer, held["id"], card=card)
    assert error_code(refused, 422) == "validation_error"
    assert refused.json()["error"]["details"][0]["field"] == "payment.card_number"
    assert sandbox(app).charges == {}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"hold_id": 1},
        {"hold_id": "1", "payment": {"provider": "sandbox", "card_number": "4242424242424242"}},
        {"hold_id": 0, "payment": {"provider": "sandbox", "card_number": "4242424242424242"}},
        {"hold_id": 2**63, "payment": {"provider": "sandbox", "card_number": "4242424242424242"}},
        {"hold_id": 1, "payment": {"provider": "Sandbox!", "card_number": "4242424242424242"}},
        {"hold_id": 1, "payment": {"card_number": "4242424242424242"}},
        {"hold_id": 1, "payment": {"provider": "sandbox", "card_number": 4242424242424242}},
        {
            "hold_id": 1,
            "payment": {"provider": "sandbox", "card_number": "4242424242424242"},
            "x": 1,
        },
        [],
    ],
)
async def test_malformed_orders_are_422s(
    client: httpx.AsyncClient, viewer: SignedIn, body: Any
) -> None:
    headers = {**viewer.headers, "Idempotency-Key": "key-1"}
    refused = await client.post("/api/v1/orders", json=body, headers=headers)
    assert error_code(refused, 422) == "validation_error"


@pytest.mark.parametrize("key", [None, "", "k" * 256, "has space", "tab\tkey", "ключ"])
async def test_an_order_needs_a_sensible_idempotency_key(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any, key: str | None
) -> None:
    held = ok(await hold(client, viewer, showtime["id"], ["A5"]), 201)
    headers = dict(viewer.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    try:
        refused = await client.post("/api/v1/orders", json=order_body(held["id"]), headers=headers)
    except UnicodeEncodeError:  # httpx refuses to send a header that is not ASCII
        return
    assert error_code(refused, 422) == "validation_error"
    assert refused.json()["error"]["details"][0]["field"] == "idempotency-key"
    assert sandbox(app).charges == {}


async def test_the_same_request_with_the_same_key_returns_the_same_order(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    held = ok(await hold(client, viewer, showtime["id"], ["A6", "A7"]), 201)
    first = await place_order(client, viewer, held["id"], key="order-2026-0001")
    again = await place_order(client, viewer, held["id"], key="order-2026-0001")
    assert ok(first, 201) == ok(again, 201)
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(sandbox(app).charges) == 1
    assert await count(app, Order) == 1
    assert await count(app, Ticket) == 2
    assert await jobs_of_kind(app, ORDER_MAIL_JOB) == 1


async def test_the_same_key_with_another_request_is_refused(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    held = ok(await hold(client, viewer, showtime["id"], ["A6"]), 201)
    ok(await place_order(client, viewer, held["id"], key="k-7"), 201)
    other_card = await place_order(client, viewer, held["id"], key="k-7", card="5555555555554444")
    assert error_code(other_card, 422) == "idempotency_key_reused"
    later = ok(await hold(client, viewer, showtime["id"], ["A8"]), 201)
    other_hold = await place_order(client, viewer, later["id"], key="k-7")
    assert error_code(other_hold, 422) == "idempotency_key_reused"
    assert len(sandbox(app).charges) == 1
    assert await hold_exists(app, later["id"])


async def test_keys_belong_to_their_user(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, showtime: Any
) -> None:
    mine = ok(await hold(client, viewer, showtime["id"], ["A1"]), 201)
    theirs = ok(await hold(client, other, showtime["id"], ["A2"]), 201)
    first = ok(await place_order(client, viewer, mine["id"], key="shared-key"), 201)
    second = ok(await place_order(client, other, theirs["id"], key="shared-key"), 201)
    assert first["id"] != second["id"]
    assert len(sandbox(app).captured()) == 2


async def test_an_expired_hold_is_a_409_and_nothing_is_charged(
    app_with: Any, viewer: SignedIn, showtime: Any
) -> None:
    quick = app_with(seat_hold_seconds=0.2)
    async with client_for(quick) as client:
        held = ok(await hold(client, viewer, showtime["id"], ["C1"]), 201)
        await sleep_past(held["expires_at"])
        refused = await place_order(client, viewer, held["id"])
    assert error_code(refused, 409) == "hold_expired"
    assert sandbox(quick).charges == {}
    assert await count(quick, Order) == 0


async def test_someone_elses_or_a_missing_hold_is_a_404(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, showtime: Any
) -> None:
    held = ok(await hold(client, viewer, showtime["id"], ["C2"]), 201)
    stolen = await place_order(client, other, held["id"])
    assert error_code(stolen, 404) == "hold_not_found"
    assert error_code(await place_order(client, other, 987654), 404) == "hold_not_found"
    assert sandbox(app).charges == {}
    assert await hold_exists(app, held["id"])


async def test_an_order_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/orders", json=order_body(1), headers={"Idempotency-Key": "anonymous"}
    )
    assert error_code(response, 401) == "unauthenticated"


async def test_a_provider_other_than_the_installations_is_a_422(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    held = ok(await hold(client, viewer, showtime["id"], ["A1"]), 201)
    body = order_body(held["id"])
    body["payment"]["provider"] = "stripe"
    headers = {**viewer.headers, "Idempotency-Key": "k"}
    refused = await client.post("/api/v1/orders", json=body, headers=headers)
    assert error_code(refused, 422) == "payment_provider_unavailable"
    assert sandbox(app).charges == {}


class FailingCapture(SandboxProvider):
    """Authorizes, then fails at the capture: the sale must not stay half-done."""

    async def capture(self, authorization: Authorization) -> None:
        raise PaymentProviderError("The provider is down.")


async def test_a_sale_that_fails_before_commit_voids_the_authorization(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    app.state.payments = FailingCapture()
    held = ok(await hold(client, viewer, showtime["id"], ["B1"]), 201)
    failed = await place_order(client, viewer, held["id"])
    assert error_code(failed, 502) == "payment_provider_error"
    [charge] = sandbox(app).charges.values()
    assert charge.status == "voided"
    assert (await count(app, Order), await count(app, Ticket), await count(app, Payment)) == (
        0,
        0,
        0,
    )
    assert await hold_exists(app, held["id"])
    assert (await seat_states(client, showtime["id"]))["B1"] == "held"
    assert await jobs_of_kind(app, ORDER_MAIL_JOB) == 0


class CommitFailsAfterCapture(SandboxProvider):
    """Captures, and the sale's COMMIT that follows fails (the database went away)."""

    fail_next_commit = False

    async def capture(self, authorization: Authorization) -> None:
        await super().capture(authorization)
        self.fail_next_commit = True


async def test_a_sale_whose_commit_fails_after_the_capture_is_refunded(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer: SignedIn,
    showtime: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = app.state.payments = CommitFailsAfterCapture()
    commit = AsyncSession.commit

    async def failing_commit(session: AsyncSession) -> None:
        if provider.fail_next_commit:
            provider.fail_next_commit = False
            raise ConnectionResetError("the database went away")
        await commit(session)

    monkeypatch.setattr(AsyncSession, "commit", failing_commit)
    held = ok(await hold(client, viewer, showtime["id"], ["B2"]), 201)
    with pytest.raises(ConnectionResetError):
        await place_order(client, viewer, held["id"])
    [charge] = provider.charges.values()
    assert (charge.status, charge.refunded) == ("captured", charge.amount)
    assert [refund.amount for refund in provider.refunds.values()] == [1500]
    assert (await count(app, Order), await count(app, Ticket)) == (0, 0)
    assert await hold_exists(app, held["id"])


async def test_free_seats_are_ordered_without_a_payment(
    app: FastAPI,
    client: httpx.AsyncClient,
    manager: SignedIn,
    viewer: SignedIn,
    movie_id: int,
    hall: Any,
) -> None:
    free = {"standard": 0, "premium": 0, "vip": 0, "wheelchair": 0}
    showtime = await create_showtime(
        client, manager, movie_id, hall["id"], tomorrow_at(10), prices=free
    )
    order = await buy(client, viewer, showtime["id"], ["A1"])
    assert (order["total"], order["payment"], order["loyalty_points"]) == (0, None, 0)
    assert sandbox(app).charges == {}
    cancelled = ok(
        await client.post(
            f"/api/v1/tickets/{order['tickets'][0]['reference']}/cancel", headers=viewer.headers
        )
    )
    assert cancelled["status"] == "refunded"


async def test_the_buyer_is_mailed_the_tickets_with_a_qr_code_each(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, viewer: SignedIn, showtime: Any
) -> None:
    order = await buy(client, viewer, showtime["id"], ["A2", "C2"])
    assert outbox(settings) == []  # sent by a job, after the commit
    await run_jobs(app)
    [mail] = outbox(settings)
    assert mail["To"] == viewer.user.email
    assert "Stalker" in mail["Subject"]
    text = text_of(mail)
    for ticket in order["tickets"]:
        assert ticket["reference"] in text
    assert "37.00 EUR" in text
    assert "visa ending in 4242" in text
    assert "37 loyalty points" in text
    attachments = {part.get_filename(): part for part in mail.iter_attachments()}
    assert set(attachments) == {f"ticket-{t['reference']}.png" for t in order["tickets"]}
    for part in attachments.values():
        assert part.get_content_type() == "image/png"
        assert part.get_content().startswith(b"\x89PNG")


async def test_the_confirmation_goes_out_by_smtp_when_configured(
    settings: Settings, viewer: SignedIn, showtime: Any
) -> None:
    with smtp_server() as server:
        application = create_app(settings.model_copy(update={"smtp_url": server.url}))
        try:
            async with client_for(application) as client:
                order = await buy(client, viewer, showtime["id"], ["B3"])
            await run_jobs(application)
        finally:
            await dispose(application)
    [mail] = server.inbox.messages
    assert server.inbox.recipients == [viewer.user.email]
    assert order["tickets"][0]["reference"] in text_of(mail)
    assert not settings.outbox_dir.exists()


async def test_orders_are_read_by_their_buyer_and_staff_only(
    client: httpx.AsyncClient,
    viewer: SignedIn,
    other: SignedIn,
    manager: SignedIn,
    showtime: Any,
) -> None:
    mine = await buy(client, viewer, showtime["id"], ["A1"])
    theirs = await buy(client, other, showtime["id"], ["A2"])
    path = f"/api/v1/orders/{mine['id']}"
    assert ok(await client.get(path, headers=viewer.headers)) == mine
    assert ok(await client.get(path, headers=manager.headers))["id"] == mine["id"]
    assert error_code(await client.get(path, headers=other.headers), 404) == "order_not_found"
    assert error_code(await client.get(path), 401) == "unauthenticated"
    assert error_code(await client.get("/api/v1/orders/0", headers=viewer.headers), 422)

    listed = ok(await client.get("/api/v1/me/orders", headers=viewer.headers))
    assert (listed["total"], [order["id"] for order in listed["items"]]) == (1, [mine["id"]])
    theirs_listed = ok(await client.get("/api/v1/me/orders", headers=other.headers))
    assert [order["id"] for order in theirs_listed["items"]] == [theirs["id"]]
    assert ok(await client.get("/api/v1/me/orders", headers=manager.headers))["items"] == []
