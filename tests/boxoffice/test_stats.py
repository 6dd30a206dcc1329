"""Box office figures: tickets sold, revenue and occupancy per showtime, film and day, for staff."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from kino.boxoffice import checkin
from kino.boxoffice.sales_schemas import CheckInCreate
from kino.boxoffice.stats import date_range
from kino.boxoffice.tickets import TicketPolicy
from tests.boxoffice.conftest import (
    create_cinema,
    create_hall,
    create_movie,
    create_showtime,
    error_code,
    ok,
    tomorrow_at,
)
from tests.boxoffice.sales import buy
from tests.factories import SignedIn

STATS = "/api/v1/boxoffice/stats"


@pytest.fixture
async def sales(
    app: FastAPI,
    client: httpx.AsyncClient,
    manager: SignedIn,
    viewer: SignedIn,
    other: SignedIn,
    movie_id: int,
    cinema: Any,
    hall: Any,
    showtime: Any,
) -> dict[str, Any]:
    """Tomorrow: Stalker at 20:15 (3 seats sold, 1 of them refunded and 1 admitted) and
    Solaris at 10:00 (1 sold) in Saal 1, and a cancelled Solaris in Saal 2; the day after,
    Stalker in Saal 2 (1 sold). Elsewhere, another cinema sells Stalker in USD."""
    solaris = await create_movie(client, manager, title="Solaris", runtime_minutes=160)
    saal_2 = await create_hall(client, manager, cinema["id"], name="Saal 2")
    morning = await create_showtime(client, manager, solaris, hall["id"], tomorrow_at(10))
    later = tomorrow_at(20, 15) + timedelta(days=1)
    day_after = await create_showtime(client, manager, movie_id, saal_2["id"], later)
    called_off = await create_showtime(client, manager, solaris, saal_2["id"], tomorrow_at(10))
    babylon = await create_cinema(client, manager, name="Babylon")
    babylon_hall = await create_hall(client, manager, babylon["id"])
    abroad = await create_showtime(
        client, manager, movie_id, babylon_hall["id"], tomorrow_at(20, 15), currency="USD"
    )

    evening = await buy(client, viewer, showtime["id"], ["A1", "A2"])
    await buy(client, other, showtime["id"], ["C2"])
    refunded = evening["tickets"][1]["reference"]
    ok(await client.post(f"/api/v1/tickets/{refunded}/cancel", headers=viewer.headers))
    await buy(client, other, morning["id"], ["B1"])
    await buy(client, viewer, day_after["id"], ["A1"])
    await buy(client, viewer, called_off["id"], ["A1", "A2"])
    ok(await client.post(f"/api/v1/showtimes/{called_off['id']}/cancel", headers=manager.headers))
    await buy(client, viewer, abroad["id"], ["A1"])

    policy = TicketPolicy.from_settings(app.state.settings)
    admitted = CheckInCreate(code=evening["tickets"][0]["code"])
    async with app.state.db.transaction() as session:
        when = tomorrow_at(20)
        await checkin.check_in(session, manager.user, admitted, policy, now=when)
    return {
        "cinema": cinema,
        "evening": showtime,
        "morning": morning,
        "day_after": day_after,
        "solaris": solaris,
        "stalker": movie_id,
    }


def figures(item: dict[str, Any]) -> tuple[Any, ...]:
    return (
        item["showtimes"],
        item["capacity"],
        item["tickets_sold"],
        item["checked_in"],
        item["revenue"],
        item["occupancy"],
    )


async def test_figures_per_showtime_film_and_day_of_one_cinema(
    client: httpx.AsyncClient, manager: SignedIn, sales: dict[str, Any]
) -> None:
    tomorrow = tomorrow_at(12).date()
    params = {
        "cinema_id": sales["cinema"]["id"],
        "from": tomorrow.isoformat(),
        "to": (tomorrow + timedelta(days=1)).isoformat(),
    }
    stats = ok(await client.get(STATS, params=params, headers=manager.headers))
    assert (stats["cinema_id"], stats["from"], stats["to"]) == (
        sales["cinema"]["id"],
        params["from"],
        params["to"],
    )
    # Three scheduled showtimes of 18 seats; the cancelled one is left out.
    assert figures(stats["totals"]) == (3, 54, 4, 1, {"EUR": 1200 + 2500 + 1500 + 1200}, 0.0741)
    assert [figures(day) for day in stats["by_day"]] == [
        (2, 36, 3, 1, {"EUR": 1200 + 2500 + 1500}, round(3 / 36, 4)),
        (1, 18, 1, 0, {"EUR": 1200}, round(1 / 18, 4)),
    ]
    assert [day["date"] for day in stats["by_day"]] == [params["from"], params["to"]]
    assert [(film["movie_title"], figures(film)) for film in stats["by_film"]] == [
        ("Solaris", (1, 18, 1, 0, {"EUR": 1500}, round(1 / 18, 4))),
        ("Stalker", (2, 36, 3, 1, {"EUR": 1200 + 2500 + 1200}, round(3 / 36, 4))),
    ]
    by_showtime = stats["by_showtime"]
    assert [item["showtime_id"] for item in by_showtime] == [
        sales["morning"]["id"],
        sales["evening"]["id"],
        sales["day_after"]["id"],
    ]
    evening = by_showtime[1]
    assert figures(evening) == (1, 18, 2, 1, {"EUR": 3700}, round(2 / 18, 4))
    assert (evening["movie_id"], evening["hall_name"]) == (sales["stalker"], "Saal 1")


async def test_without_a_cinema_every_cinema_counts_in_its_currency(
    client: httpx.AsyncClient, manager: SignedIn, sales: dict[str, Any]
) -> None:
    tomorrow = tomorrow_at(12).date().isoformat()
    stats = ok(
        await client.get(STATS, params={"from": tomorrow, "to": tomorrow}, headers=manager.headers)
    )
    assert stats["cinema_id"] is None
    assert figures(stats["totals"]) == (
        3,
        54,
        4,
        1,
        {"EUR": 1200 + 2500 + 1500, "USD": 1200},
        round(4 / 54, 4),
    )


async def test_without_dates_the_month_around_today_counts(
    client: httpx.AsyncClient, manager: SignedIn, sales: dict[str, Any]
) -> None:
    stats = ok(await client.get(STATS, headers=manager.headers))
    assert stats["totals"]["tickets_sold"] == 5
    empty = ok(
        await client.get(
            STATS, params={"from": "2020-01-01", "to": "2020-01-31"}, headers=manager.headers
        )
    )
    assert figures(empty["totals"]) == (0, 0, 0, 0, {}, 0.0)
    assert (empty["by_day"], empty["by_film"], empty["by_showtime"]) == ([], [], [])


def test_the_date_range_defaults_and_bounds() -> None:
    today = date(2026, 3, 10)
    assert date_range(None, None, today=today) == (date(2026, 2, 8), date(2026, 4, 9))
    assert date_range(date(2026, 3, 1), None, today=today) == (date(2026, 3, 1), date(2026, 3, 31))
    assert date_range(None, date(2026, 3, 1), today=today) == (date(2026, 1, 30), date(2026, 3, 1))
    assert date_range(date(2026, 1, 1), date(2026, 12, 31)) == (
        date(2026, 1, 1),
        date(2026, 12, 31),
    )


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "2026-03-02", "to": "2026-03-01"}, "bad_date_range"),
        ({"from": "2026-01-01", "to": "2027-01-02"}, "bad_date_range"),
        ({"from": "yesterday"}, "validation_error"),
        ({"to": "2026-02-30"}, "validation_error"),
        ({"cinema_id": "0"}, "validation_error"),
        ({"cinema_id": str(2**63)}, "validation_error"),
    ],
)
async def test_bad_queries_are_422s(
    client: httpx.AsyncClient, manager: SignedIn, params: dict[str, str], code: str
) -> None:
    response = await client.get(STATS, params=params, headers=manager.headers)
    assert error_code(response, 422) == code


async def test_figures_are_for_staff_only(client: httpx.AsyncClient, viewer: SignedIn) -> None:
    assert error_code(await client.get(STATS, headers=viewer.headers), 403) == "forbidden"
    assert error_code(await client.get(STATS), 401) == "unauthenticated"
