from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.boxoffice.conftest import (
    PRICES,
    client_for,
    create_cinema,
    create_hall,
    create_movie,
    create_showtime,
    error_code,
    ok,
    showtime_body,
    tomorrow_at,
)
from tests.factories import SignedIn

NEW_YORK = ZoneInfo("America/New_York")


def ids(response: httpx.Response) -> list[int]:
    return [item["id"] for item in ok(response)["items"]]


async def test_a_showtime_ends_after_the_film_and_the_cleaning_time(
    client: httpx.AsyncClient, manager: SignedIn, movie_id: int, cinema: Any, hall: Any
) -> None:
    starts_at = tomorrow_at(20, 15)
    showtime = await create_showtime(client, manager, movie_id, hall["id"], starts_at)
    assert datetime.fromisoformat(showtime["starts_at"]) == starts_at
    # 100 minutes of film and 15 of cleaning (the default KINO_SHOWTIME_CLEANING_MINUTES).
    assert datetime.fromisoformat(showtime["ends_at"]) == starts_at + timedelta(minutes=115)
    local = datetime.fromisoformat(showtime["local_starts_at"])
    assert (local.hour, local.minute, local.utcoffset()) == (20, 15, starts_at.utcoffset())
    assert showtime["local_date"] == starts_at.date().isoformat()
    assert showtime["movie"] == {
        "id": movie_id,
        "title": "Stalker",
        "runtime_minutes": 100,
        "age_rating": None,
    }
    assert showtime["cinema"] == {
        "id": cinema["id"],
        "name": cinema["name"],
        "city": "Berlin",
        "time_zone": "Europe/Berlin",
    }
    assert showtime["hall"] == {"id": hall["id"], "name": "Saal 1", "screen": "3D"}
    assert (showtime["language"], showtime["subtitles"], showtime["format"]) == ("ru", "de", "2D")
    assert (showtime["prices"], showtime["currency"]) == (PRICES, "EUR")
    assert (showtime["status"], showtime["cancelled_at"]) == ("scheduled", None)
    assert (showtime["capacity"], showtime["seats_available"]) == (18, 18)
    assert ok(await client.get(f"/api/v1/showtimes/{showtime['id']}")) == showtime


async def test_the_cleaning_time_is_a_setting(
    app_with: Any, manager: SignedIn, movie_id: int, hall: Any
) -> None:
    async with client_for(app_with(showtime_cleaning_minutes=40)) as client:
        showtime = await create_showtime(client, manager, movie_id, hall["id"], tomorrow_at(12))
    assert datetime.fromisoformat(showtime["ends_at"]) == tomorrow_at(14, 20)


async def test_showtimes_in_one_hall_never_overlap(
    client: httpx.AsyncClient, manager: SignedIn, movie_id: int, cinema: Any, hall: Any
) -> None:
    first = await create_showtime(client, manager, movie_id, hall["id"], tomorrow_at(20, 15))
    body = showtime_body(movie_id, hall["id"], tomorrow_at(22))
    clash = await client.post("/api/v1/showtimes", json=body, headers=manager.headers)
    assert error_code(clash, 409) == "showtime_overlap"
    assert clash.json()["error"]["details"] == {"showtime_id": first["id"]}
    before = showtime_body(movie_id, hall["id"], tomorrow_at(18, 30))  # ends 20:25
    clash = await client.post("/api/v1/showtimes", json=before, headers=manager.headers)
    assert error_code(clash, 409) == "showtime_overlap"

    # Back to back is fine: the first ends at 22:10, cleaning included.
    await create_showtime(client, manager, movie_id, hall["id"], tomorrow_at(22, 10))
    other_hall = await create_hall(client, manager, cinema["id"], name="Saal 2")
    await create_showtime(client, manager, movie_id, other_hall["id"], tomorrow_at(21))
    # A cancelled showtime leaves its hall free.
    ok(await client.post(f"/api/v1/showtimes/{first['id']}/cancel", headers=manager.headers))
    await create_showtime(client, manager, movie_id, hall["id"], tomorrow_at(20))


async def test_overlapping_showtimes_made_at_once_one_is_kept(
    client: httpx.AsyncClient, manager: SignedIn, movie_id: int, hall: Any
) -> None:
    """Ten requests at once for overlapping times: they all pass the friendly check before the
    INSERT, so what refuses nine is the database (PostgreSQL's exclusion constraint) or the
    check inside SQLite's write transaction."""
    starts = [tomorrow_at(18) + timedelta(minutes=7 * number) for number in range(10)]
    responses = await asyncio.gather(
        *(
            client.post(
                "/api/v1/showtimes",
                json=showtime_body(movie_id, hall["id"], start),
                headers=manager.headers,
            )
            for start in starts
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 9
    assert {
        response.json()["error"]["code"] for response in responses if response.status_code == 409
    } == {"showtime_overlap"}
    listed = ok(await client.get("/api/v1/showtimes", params={"hall_id": hall["id"]}))
    assert listed["total"] == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"starts_at": "2031-05-01T20:00:00"}, "starts_at"),  # no offset
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"currency": "eur"}, "currency"),
        ({"currency": "EURO"}, "currency"),
        ({"prices": {**PRICES, "vip": -1}}, "prices.vip"),
        ({"prices": {**PRICES, "vip": 10**9}}, "prices.vip"),
        ({"prices": {**PRICES, "vip": 12.5}}, "prices.vip"),
        ({"prices": {"standard": 100}}, "prices.premium"),
        ({"language": "Russian"}, "language"),
        ({"subtitles": ""}, "subtitles"),
        ({"format": "4DX"}, "format"),
        ({"movie_id": 0}, "movie_id"),
        ({"hall_id": 2**63}, "hall_id"),
        ({"popcorn": True}, "popcorn"),
    ],
)
async def test_bad_showtimes_are_422s_naming_the_field(
    client: httpx.AsyncClient,
    manager: SignedIn,
    movie_id: int,
    hall: Any,
    changes: dict[str, Any],
    field: str,
) -> None:
    body = {**showtime_body(movie_id, hall["id"], tomorrow_at(20)), **changes}
    response = await client.post("/api/v1/showtimes", json=body, headers=manager.headers)
    assert error_code(response, 422) == "validation_error"
    assert response.json()["error"]["details"][0]["field"] == field


async def test_showtimes_the_hall_or_film_cannot_take_are_refused(
    client: httpx.AsyncClient,
    manager: SignedIn,
    viewer: SignedIn,
    movie_id: int,
    cinema: Any,
    hall: Any,
) -> None:
    async def post(body: dict[str, Any], who: SignedIn = manager) -> httpx.Response:
        return await client.post("/api/v1/showtimes", json=body, headers=who.headers)

    start = tomorrow_at(20)
    assert error_code(
        await post(showtime_body(movie_id, hall["id"], start, format="IMAX")), 422
    ) == ("format_not_supported")
    flat = await create_hall(client, manager, cinema["id"], name="Flat", screen="2D")
    assert error_code(await post(showtime_body(movie_id, flat["id"], start, format="3D")), 422) == (
        "format_not_supported"
    )
    past = datetime.now(NEW_YORK) - timedelta(minutes=1)
    assert error_code(await post(showtime_body(movie_id, hall["id"], past)), 422) == (
        "starts_in_the_past"
    )
    no_runtime = await create_movie(client, manager, title="Endless", runtime_minutes=None)
    assert error_code(await post(showtime_body(no_runtime, hall["id"], start)), 409) == (
        "movie_runtime_unknown"
    )
    assert error_code(await post(showtime_body(999_999, hall["id"], start)), 404) == "not_found"
    assert error_code(await post(showtime_body(movie_id, 999_999, start)), 404) == (
        "hall_not_found"
    )
    assert error_code(await post(showtime_body(movie_id, hall["id"], start), viewer), 403) == (
        "forbidden"
    )


async def test_showtimes_are_listed_by_day_in_each_cinemas_time_zone(
    client: httpx.AsyncClient, manager: SignedIn, movie_id: int, cinema: Any, hall: Any
) -> None:
    new_york = await create_cinema(
        client,
        manager,
        name="Film Forum",
        city="New York",
        latitude=40.7286,
        longitude=-74.0045,
        time_zone="America/New_York",
    )
    ny_hall = await create_hall(client, manager, new_york["id"], screen="IMAX")
    day = tomorrow_at(0).date()
    # Half past midnight in Berlin is still the day before in UTC; 20:00 in New York is
    # already the next day in UTC. Both belong to ``day`` where they are shown.
    just_after_midnight = await create_showtime(
        client, manager, movie_id, hall["id"], tomorrow_at(0, 30)
    )
    late = await create_showtime(client, manager, movie_id, hall["id"], tomorrow_at(23, 30))
    in_new_york = datetime(day.year, day.month, day.day, 20, tzinfo=NEW_YORK)
    imax = await create_showtime(
        client, manager, movie_id, ny_hall["id"], in_new_york, format="IMAX"
    )
    next_day = await create_showtime(
        client, manager, movie_id, ny_hall["id"], in_new_york + timedelta(days=1)
    )

    on_day = {"date": day.isoformat()}
    assert ids(await client.get("/api/v1/showtimes", params=on_day)) == [
        just_after_midnight["id"],
        late["id"],
        imax["id"],
    ]
    in_berlin = {**on_day, "cinema_id": cinema["id"]}
    assert ids(await client.get("/api/v1/showtimes", params=in_berlin)) == [
        just_after_midnight["id"],
        late["id"],
    ]
    assert ids(await client.get("/api/v1/showtimes", params={**on_day, "format": "IMAX"})) == [
        imax["id"]
    ]
    following = {"date": (day + timedelta(days=1)).isoformat()}
    assert ids(await client.get("/api/v1/showtimes", params=following)) == [next_day["id"]]
    assert ids(await client.get(f"/api/v1/movies/{movie_id}/showtimes")) == [
        just_after_midnight["id"],
        late["id"],
        imax["id"],
        next_day["id"],
    ]
    bad = await client.get("/api/v1/showtimes", params={"date": "31.12.2030"})
    assert error_code(bad, 422) == "validation_error"


async def test_a_new_time_zone_moves_the_local_dates_with_it(
    client: httpx.AsyncClient, manager: SignedIn, movie_id: int, cinema: Any, hall: Any
) -> None:
    showtime = await create_showtime(client, manager, movie_id, hall["id"], tomorrow_at(0, 30))
    day = tomorrow_at(0).date()
    assert showtime["local_date"] == day.isoformat()
    ok(
        await client.patch(
            f"/api/v1/cinemas/{cinema['id']}", json={"time_zone": "UTC"}, headers=manager.headers
        )
    )
    moved = ok(await client.get(f"/api/v1/showtimes/{showtime['id']}"))
    assert moved["local_date"] == (day - timedelta(days=1)).isoformat()
    assert datetime.fromisoformat(moved["local_starts_at"]).utcoffset() == timedelta(0)
    before = {"date": (day - timedelta(days=1)).isoformat()}
    assert ids(await client.get("/api/v1/showtimes", params=before)) == [showtime["id"]]


async def test_showtimes_of_draft_films_are_for_staff_only(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn, hall: Any
) -> None:
    draft = await create_movie(client, manager, title="Rough Cut", status="draft")
    showtime = await create_showtime(client, manager, draft, hall["id"], tomorrow_at(15))
    path = f"/api/v1/showtimes/{showtime['id']}"
    for who in (viewer.headers, {}):
        assert error_code(await client.get(path, headers=who), 404) == "showtime_not_found"
        seats = await client.get(f"{path}/seats", headers=who)
        assert error_code(seats, 404) == "showtime_not_found"
        assert ids(await client.get("/api/v1/showtimes", headers=who)) == []
        listed = await client.get(f"/api/v1/movies/{draft}/showtimes", headers=who)
        assert error_code(listed, 404) == "not_found"
    assert ok(await client.get(path, headers=manager.headers))["id"] == showtime["id"]
    assert ids(await client.get("/api/v1/showtimes", headers=manager.headers)) == [showtime["id"]]


async def test_the_seat_map_gives_each_seat_its_place_type_and_price(
    client: httpx.AsyncClient, showtime: Any
) -> None:
    seat_map = ok(await client.get(f"/api/v1/showtimes/{showtime['id']}/seats"))
    assert (seat_map["showtime_id"], seat_map["currency"]) == (showtime["id"], "EUR")
    rows = {row["label"]: row["seats"] for row in seat_map["rows"]}
    assert list(rows) == ["A", "B", "C"]
    assert [(seat["name"], seat["position"]) for seat in rows["A"]] == [
        ("A1", 1),
        ("A2", 2),
        ("A3", 3),
        ("A4", 4),
        ("A5", 6),
        ("A6", 7),
        ("A7", 8),
        ("A8", 9),
    ]
    assert [(seat["name"], seat["type"], seat["price"]) for seat in rows["C"]] == [
        ("C1", "wheelchair", 900),
        ("C2", "vip", 2500),
        ("C3", "vip", 2500),
        ("C4", "wheelchair", 900),
    ]
    assert {seat["type"] for seat in rows["B"]} == {"premium"}
    assert seat_map["counts"] == {"free": 18, "held": 0, "sold": 0, "blocked": 0}
    missing = await client.get("/api/v1/showtimes/999999/seats")
    assert error_code(missing, 404) == "showtime_not_found"


async def test_a_film_with_showtimes_is_not_deleted(
    client: httpx.AsyncClient, manager: SignedIn, movie_id: int, showtime: Any
) -> None:
    response = await client.delete(f"/api/v1/movies/{movie_id}", headers=manager.headers)
    assert error_code(response, 409) == "movie_in_use"
    assert ok(await client.get(f"/api/v1/movies/{movie_id}"))["id"] == movie_id
    assert ok(await client.get(f"/api/v1/showtimes/{showtime['id']}"))["movie"]["id"] == movie_id
