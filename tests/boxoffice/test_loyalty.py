"""Loyalty points: one per whole currency unit paid for a ticket, given back with its refund,
shown to their owner only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kino.core.money import currency_exponent, format_money, whole_units
from tests.boxoffice.conftest import create_showtime, error_code, ok, tomorrow_at
from tests.boxoffice.sales import buy
from tests.factories import SignedIn

LOYALTY = "/api/v1/me/loyalty"


async def test_points_are_earned_per_ticket_and_given_back_with_a_refund(
    client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, showtime: Any
) -> None:
    assert ok(await client.get(LOYALTY, headers=viewer.headers))["points"] == 0
    order = await buy(client, viewer, showtime["id"], ["A1", "C2"])  # 12.00 + 25.00 EUR
    account = ok(await client.get(LOYALTY, headers=viewer.headers))
    assert account["points"] == 37
    assert [(e["points"], e["reason"]) for e in account["entries"]["items"]] == [
        (25, "purchase"),
        (12, "purchase"),
    ]
    vip = order["tickets"][1]
    ok(await client.post(f"/api/v1/tickets/{vip['reference']}/cancel", headers=viewer.headers))
    account = ok(await client.get(LOYALTY, headers=viewer.headers))
    assert account["points"] == 12
    newest = account["entries"]["items"][0]
    assert (newest["points"], newest["reason"], newest["ticket_reference"]) == (
        -25,
        "refund",
        vip["reference"],
    )
    assert account["entries"]["total"] == 3
    paged = ok(
        await client.get(LOYALTY, params={"page_size": 1, "page": 3}, headers=viewer.headers)
    )
    assert [e["points"] for e in paged["entries"]["items"]] == [12]
    assert paged["points"] == 12
    assert ok(await client.get(LOYALTY, headers=other.headers))["points"] == 0
    assert error_code(await client.get(LOYALTY), 401) == "unauthenticated"


async def test_points_follow_the_currencys_whole_units(
    client: httpx.AsyncClient,
    manager: SignedIn,
    viewer: SignedIn,
    movie_id: int,
    hall: Any,
) -> None:
    yen = {"standard": 1800, "premium": 2200, "vip": 3000, "wheelchair": 1000}
    showtime = await create_showtime(
        client, manager, movie_id, hall["id"], tomorrow_at(11), prices=yen, currency="JPY"
    )
    order = await buy(client, viewer, showtime["id"], ["A1"])
    assert order["loyalty_points"] == 1800
    assert ok(await client.get(LOYALTY, headers=viewer.headers))["points"] == 1800


@pytest.mark.parametrize(
    ("amount", "currency", "exponent", "whole", "text"),
    [
        (1250, "EUR", 2, 12, "12.50 EUR"),
        (99, "USD", 2, 0, "0.99 USD"),
        (1800, "JPY", 0, 1800, "1800 JPY"),
        (12500, "KWD", 3, 12, "12.500 KWD"),
        (-1505, "EUR", 2, -16, "-15.05 EUR"),
    ],
)
def test_minor_units_per_currency(
    amount: int, currency: str, exponent: int, whole: int, text: str
) -> None:
    assert currency_exponent(currency) == exponent
    assert whole_units(amount, currency) == whole
    assert format_money(amount, currency) == text
