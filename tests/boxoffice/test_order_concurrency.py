"""Orders under concurrency, on both databases. The payment provider is where requests are
made to meet: it holds each authorization until every request of the test has reached it, so
the sales race each other for real instead of by luck of timing."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from kino.billing.models import Payment
from kino.billing.providers import Authorization, Card, SandboxProvider
from kino.boxoffice.sales_models import Order, Ticket
from tests.boxoffice.conftest import client_for, error_code, hold, ok, seat_states
from tests.boxoffice.sales import place_order, sleep_past
from tests.factories import SignedIn

GATE_SECONDS = 30.0


class GatedSandbox(SandboxProvider):
    """Authorizes once ``parties`` requests are all waiting to be authorized."""

    def __init__(self, parties: int) -> None:
        super().__init__()
        self.parties = parties
        self.arrived = 0
        self.everyone_here = asyncio.Event()

    async def authorize(
        self, *, amount: int, currency: str, card: Card, idempotency_key: str, description: str
    ) -> Authorization:
        self.arrived += 1
        if self.arrived >= self.parties:
            self.everyone_here.set()
        await asyncio.wait_for(self.everyone_here.wait(), GATE_SECONDS)
        return await super().authorize(
            amount=amount,
            currency=currency,
            card=card,
            idempotency_key=idempotency_key,
            description=description,
        )


class ForgetfulSandbox(GatedSandbox):
    """A provider that ignores idempotency keys: each request gets its own authorization."""

    async def authorize(
        self, *, amount: int, currency: str, card: Card, idempotency_key: str, description: str
    ) -> Authorization:
        return await super().authorize(
            amount=amount,
            currency=currency,
            card=card,
            idempotency_key=f"{idempotency_key}-{self.arrived}",
            description=description,
        )


class SlowSandbox(SandboxProvider):
    """Takes so long to authorize that the hold has expired by the time it answers."""

    def __init__(self) -> None:
        super().__init__()
        self.answer_after: datetime | None = None

    async def authorize(
        self, *, amount: int, currency: str, card: Card, idempotency_key: str, description: str
    ) -> Authorization:
        assert self.answer_after is not None
        await sleep_past(self.answer_after)
        return await super().authorize(
            amount=amount,
            currency=currency,
            card=card,
            idempotency_key=idempotency_key,
            description=description,
        )


async def stored(app: FastAPI) -> tuple[int, int, int]:
    """Orders, tickets and payments in the database."""
    async with app.state.db.transaction() as session:
        counts = [
            await session.scalar(select(func.count()).select_from(model))
            for model in (Order, Ticket, Payment)
        ]
    return (int(counts[0] or 0), int(counts[1] or 0), int(counts[2] or 0))


def statuses(provider: SandboxProvider) -> list[str]:
    return sorted(charge.status for charge in provider.charges.values())


async def test_a_hold_that_expires_during_the_payment_is_a_409_and_nothing_is_charged(
    app_with: Any, viewer: SignedIn, other: SignedIn, showtime: Any
) -> None:
    # Long enough for the order's first look at the hold to come before it expires, even on a
    # busy machine; the provider then answers only after it has.
    quick = app_with(seat_hold_seconds=2.0)
    provider = quick.state.payments = SlowSandbox()
    async with client_for(quick) as client:
        held = ok(await hold(client, viewer, showtime["id"], ["A1", "A2"]), 201)
        provider.answer_after = datetime.fromisoformat(held["expires_at"])
        refused = await place_order(client, viewer, held["id"])
        assert error_code(refused, 409) == "hold_expired"
        assert statuses(provider) == ["voided"]  # authorized during the hold, never captured
        assert await stored(quick) == (0, 0, 0)
        # The seats are free for the next buyer.
        assert (await seat_states(client, showtime["id"], other))["A1"] == "free"
        ok(await hold(client, other, showtime["id"], ["A1"]), 201)


async def test_two_orders_for_one_hold_at_once_make_one_order(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    provider = app.state.payments = GatedSandbox(parties=2)
    held = ok(await hold(client, viewer, showtime["id"], ["B1", "B2"]), 201)
    responses = await asyncio.gather(
        place_order(client, viewer, held["id"], key="first-tab"),
        place_order(client, viewer, held["id"], key="second-tab"),
    )
    assert sorted(response.status_code for response in responses) == [201, 409]
    [won] = [response.json() for response in responses if response.status_code == 201]
    [lost] = [response for response in responses if response.status_code == 409]
    assert error_code(lost, 409) == "hold_already_ordered"
    assert lost.json()["error"]["details"]["order_id"] == won["id"]
    assert statuses(provider) == ["captured", "voided"]
    assert await stored(app) == (1, 2, 1)
    states = await seat_states(client, showtime["id"])
    assert (states["B1"], states["B2"]) == ("sold", "sold")


async def test_the_same_key_sent_twice_at_once_makes_one_order(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    provider = app.state.payments = GatedSandbox(parties=2)
    held = ok(await hold(client, viewer, showtime["id"], ["C1", "C2"]), 201)
    responses = await asyncio.gather(
        place_order(client, viewer, held["id"], key="double-click"),
        place_order(client, viewer, held["id"], key="double-click"),
    )
    orders = [ok(response, 201) for response in responses]
    assert orders[0] == orders[1]
    assert sorted(response.headers.get("Idempotent-Replayed", "") for response in responses) == [
        "",
        "true",
    ]
    # The provider answered both with one authorization (same idempotency key), captured once.
    assert statuses(provider) == ["captured"]
    assert await stored(app) == (1, 2, 1)


async def test_the_same_key_at_once_through_a_provider_without_idempotency_charges_once(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    provider = app.state.payments = ForgetfulSandbox(parties=3)
    held = ok(await hold(client, viewer, showtime["id"], ["A5"]), 201)
    responses = await asyncio.gather(
        *(place_order(client, viewer, held["id"], key="triple-click") for _ in range(3))
    )
    orders = [ok(response, 201) for response in responses]
    assert orders[0] == orders[1] == orders[2]
    assert statuses(provider) == ["captured", "voided", "voided"]
    assert await stored(app) == (1, 1, 1)
