from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.boxoffice.conftest import (
    CINEMA,
    SMALL_MAP,
    create_cinema,
    create_hall,
    error_code,
    ok,
)
from tests.factories import SignedIn

# (name, city, latitude, longitude); distances from Berlin's centre: Potsdam ~27 km,
# Hamburg ~255 km, Munich ~504 km.
PLACES = [
    ("Zoo Palast", "Berlin", 52.5058, 13.3366),
    ("Thalia", "Potsdam", 52.3906, 13.0645),
    ("Abaton", "Hamburg", 53.5654, 9.9835),
    ("Museum Lichtspiele", "München", 48.1290, 11.5860),
]


async def test_a_manager_creates_and_edits_a_cinema(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    created = await create_cinema(client, manager)
    expected = {key: CINEMA[key] for key in ("name", "address", "city", "phone", "email")}
    assert {key: created[key] for key in expected} == expected
    assert (created["latitude"], created["longitude"]) == (52.5205, 13.4237)
    assert created["opening_hours"] == {"mon": [{"opens": "14:00", "closes": "23:30"}]}
    assert created["halls"] == []
    path = f"/api/v1/cinemas/{created['id']}"
    assert ok(await client.get(path)) == created

    changes = {"name": "International", "phone": None, "opening_hours": {}}
    edited = ok(await client.patch(path, json=changes, headers=manager.headers))
    assert (edited["name"], edited["phone"], edited["opening_hours"]) == ("International", None, {})
    assert edited["email"] == CINEMA["email"]
    assert ok(await client.get(path))["name"] == "International"

    denied = await client.patch(path, json={"name": "Mine"}, headers=viewer.headers)
    assert error_code(denied, 403) == "forbidden"
    denied = await client.post("/api/v1/cinemas", json=CINEMA, headers=viewer.headers)
    assert error_code(denied, 403) == "forbidden"
    assert error_code(await client.post("/api/v1/cinemas", json=CINEMA), 401) == "unauthenticated"
    missing = await client.patch("/api/v1/cinemas/999999", json={}, headers=manager.headers)
    assert error_code(missing, 404) == "cinema_not_found"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"latitude": 90.5}, "latitude"),
        ({"longitude": -180.01}, "longitude"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"opening_hours": {"funday": []}}, "opening_hours.funday.[key]"),
        ({"opening_hours": {"mon": [{"opens": "25:00", "closes": "23:00"}]}}, "opens"),
        ({"opening_hours": {"mon": [{"opens": "10:00", "closes": "10:00"}]}}, "opening_hours"),
        ({"email": "not-an-address"}, "email"),
        ({"phone": "call us"}, "phone"),
        ({"name": "  "}, "name"),
        ({"name": "Two\nlines"}, "name"),
        ({"city": "x" * 101}, "city"),
        ({"rating": 5}, "rating"),
    ],
)
async def test_bad_cinema_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient, manager: SignedIn, changes: dict[str, Any], field: str
) -> None:
    response = await client.post(
        "/api/v1/cinemas", json={**CINEMA, **changes}, headers=manager.headers
    )
    assert error_code(response, 422) == "validation_error"
    assert field in response.json()["error"]["details"][0]["field"]


async def test_required_cinema_fields_cannot_be_cleared(
    client: httpx.AsyncClient, manager: SignedIn, cinema: Any
) -> None:
    response = await client.patch(
        f"/api/v1/cinemas/{cinema['id']}", json={"city": None}, headers=manager.headers
    )
    assert error_code(response, 422) == "validation_error"
    assert "city cannot be null" in response.json()["error"]["message"]


async def add_places(client: httpx.AsyncClient, manager: SignedIn) -> dict[str, int]:
    ids = {}
    for name, city, latitude, longitude in PLACES:
        created = await create_cinema(
            client, manager, name=name, city=city, latitude=latitude, longitude=longitude
        )
        ids[name] = created["id"]
    return ids


def names(response: httpx.Response) -> list[str]:
    return [item["name"] for item in ok(response)["items"]]


async def test_cinemas_near_a_point_come_nearest_first_within_the_radius(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    await add_places(client, manager)
    near_berlin = {"near": "52.52,13.405"}

    close = ok(await client.get("/api/v1/cinemas", params={**near_berlin, "radius_km": 50}))
    assert [item["name"] for item in close["items"]] == ["Zoo Palast", "Thalia"]
    assert close["total"] == 2
    assert [round(item["distance_km"]) for item in close["items"]] == [5, 27]
    wider = await client.get("/api/v1/cinemas", params={**near_berlin, "radius_km": 300})
    assert names(wider) == ["Zoo Palast", "Thalia", "Abaton"]
    everywhere = await client.get("/api/v1/cinemas", params={**near_berlin, "radius_km": 20000})
    assert names(everywhere) == ["Zoo Palast", "Thalia", "Abaton", "Museum Lichtspiele"]
    second = await client.get(
        "/api/v1/cinemas", params={**near_berlin, "radius_km": 600, "page": 2, "page_size": 1}
    )
    assert names(second) == ["Thalia"]
    assert ok(second)["total"] == 4
    default_radius = await client.get("/api/v1/cinemas", params=near_berlin)
    assert names(default_radius) == ["Zoo Palast", "Thalia"]

    by_name = ok(await client.get("/api/v1/cinemas"))
    assert [item["name"] for item in by_name["items"]] == sorted(name for name, *_ in PLACES)
    assert all(item["distance_km"] is None for item in by_name["items"])


async def test_near_searches_cross_the_antimeridian_and_the_poles(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    await create_cinema(client, manager, name="Suva", latitude=-18.14, longitude=178.44)
    await create_cinema(client, manager, name="Taveuni", latitude=-16.85, longitude=-179.97)
    await create_cinema(client, manager, name="Polar", latitude=89.6, longitude=170.0)
    fiji = await client.get("/api/v1/cinemas", params={"near": "-18.14,178.44", "radius_km": 400})
    assert names(fiji) == ["Suva", "Taveuni"]
    pole = await client.get("/api/v1/cinemas", params={"near": "89.9,-10", "radius_km": 100})
    assert names(pole) == ["Polar"]


async def test_the_city_filter_ignores_case(client: httpx.AsyncClient, manager: SignedIn) -> None:
    await add_places(client, manager)
    await create_cinema(client, manager, name="Riffraff", city="Zürich")
    assert names(await client.get("/api/v1/cinemas", params={"city": "münchen"})) == [
        "Museum Lichtspiele"
    ]
    assert names(await client.get("/api/v1/cinemas", params={"city": "ZÜRICH"})) == ["Riffraff"]
    near = {"near": "52.52,13.405", "radius_km": 1000, "city": "potsdam"}
    assert names(await client.get("/api/v1/cinemas", params=near)) == ["Thalia"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"near": "Berlin"}, "near"),
        ({"near": "91,0"}, "near"),
        ({"near": "0,180.5"}, "near"),
        ({"near": "1,2,3"}, "near"),
        ({"near": "nan,1"}, "near"),
        ({"near": "1,2", "radius_km": 0}, "radius_km"),
        ({"near": "1,2", "radius_km": 20001}, "radius_km"),
        ({"city": ""}, "city"),
    ],
)
async def test_bad_searches_are_422s(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await client.get("/api/v1/cinemas", params=params)
    assert error_code(response, 422) == "validation_error"
    assert response.json()["error"]["details"][0]["field"] == field


# --- halls ---------------------------------------------------------------------------------------


async def test_a_hall_is_drawn_from_its_seat_map(
    client: httpx.AsyncClient, manager: SignedIn, cinema: Any
) -> None:
    hall = await create_hall(client, manager, cinema["id"])
    assert (hall["name"], hall["screen"], hall["sound"]) == ("Saal 1", "3D", "Dolby Atmos")
    assert hall["capacity"] == 18
    assert hall["rows"] == SMALL_MAP
    assert hall["blocked_seats"] == []
    assert ok(await client.get(f"/api/v1/halls/{hall['id']}")) == hall
    listed = ok(await client.get(f"/api/v1/cinemas/{cinema['id']}"))["halls"]
    assert listed == [
        {"id": hall["id"], "name": "Saal 1", "screen": "3D", "sound": "Dolby Atmos", "capacity": 18}
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "at least 1"),
        ([{"label": "a", "seats": "SS"}], "pattern"),
        ([{"label": "A1", "seats": "SS"}], "pattern"),
        ([{"label": "A", "seats": "SS"}, {"label": "A", "seats": "S"}], "unique"),
        ([{"label": "A", "seats": "SXS"}], "pattern"),
        ([{"label": "A", "seats": "___"}], "has no seat"),
        ([{"label": "A", "seats": ""}], "at least 1"),
        ([{"label": "A", "seats": "S" * 101}], "more than 100"),
        ([{"label": "A", "seats": "S" * 151}], "at most 150"),
        (
            [{"label": chr(65 + n % 26) * (1 + n // 26), "seats": "S"} for n in range(51)],
            "at most 50",
        ),
    ],
)
async def test_bad_seat_maps_are_422s(
    client: httpx.AsyncClient,
    manager: SignedIn,
    cinema: Any,
    rows: list[dict[str, str]],
    message: str,
) -> None:
    response = await client.post(
        f"/api/v1/cinemas/{cinema['id']}/halls",
        json={"name": "Bad", "screen": "2D", "rows": rows},
        headers=manager.headers,
    )
    assert error_code(response, 422) == "validation_error"
    assert message in response.json()["error"]["message"]


async def test_hall_names_are_unique_within_a_cinema(
    client: httpx.AsyncClient, manager: SignedIn, cinema: Any
) -> None:
    first = await create_hall(client, manager, cinema["id"])
    again = await client.post(
        f"/api/v1/cinemas/{cinema['id']}/halls",
        json={"name": "Saal 1", "screen": "2D", "rows": SMALL_MAP},
        headers=manager.headers,
    )
    assert error_code(again, 409) == "hall_exists"
    other_cinema = await create_cinema(client, manager, name="Elsewhere")
    await create_hall(client, manager, other_cinema["id"])
    second = await create_hall(client, manager, cinema["id"], name="Saal 2", screen="IMAX")

    path = f"/api/v1/halls/{second['id']}"
    clash = await client.patch(path, json={"name": "Saal 1"}, headers=manager.headers)
    assert error_code(clash, 409) == "hall_exists"
    renamed = ok(await client.patch(path, json={"name": "Großer Saal"}, headers=manager.headers))
    assert (renamed["name"], renamed["screen"], renamed["capacity"]) == ("Großer Saal", "IMAX", 18)
    assert ok(await client.get(f"/api/v1/halls/{first['id']}"))["name"] == "Saal 1"
    map_change = await client.patch(path, json={"rows": SMALL_MAP}, headers=manager.headers)
    assert error_code(map_change, 422) == "validation_error"


async def test_halls_need_staff_and_an_existing_cinema(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn, cinema: Any
) -> None:
    body = {"name": "Saal", "screen": "2D", "rows": SMALL_MAP}
    denied = await client.post(
        f"/api/v1/cinemas/{cinema['id']}/halls", json=body, headers=viewer.headers
    )
    assert error_code(denied, 403) == "forbidden"
    missing = await client.post("/api/v1/cinemas/999999/halls", json=body, headers=manager.headers)
    assert error_code(missing, 404) == "cinema_not_found"
    assert error_code(await client.get("/api/v1/halls/999999"), 404) == "hall_not_found"


async def test_seats_are_blocked_and_unblocked_by_name(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn, hall: Any
) -> None:
    path = f"/api/v1/halls/{hall['id']}/blocked-seats"
    blocked = ok(
        await client.post(
            path, json={"seats": ["B2", "A8"], "reason": "new upholstery"}, headers=manager.headers
        )
    )
    assert blocked["blocked_seats"] == [
        {"name": "A8", "reason": "new upholstery"},
        {"name": "B2", "reason": "new upholstery"},
    ]
    unknown = await client.post(path, json={"seats": ["A1", "A9"]}, headers=manager.headers)
    assert error_code(unknown, 422) == "unknown_seats"
    assert [seat["name"] for seat in ok(await client.get(f"/api/v1/halls/{hall['id']}"))[
        "blocked_seats"
    ]] == ["A8", "B2"]  # fmt: skip
    denied = await client.post(path, json={"seats": ["A1"]}, headers=viewer.headers)
    assert error_code(denied, 403) == "forbidden"

    unblocked = ok(await client.delete(f"{path}/A8", headers=manager.headers))
    assert unblocked["blocked_seats"] == [{"name": "B2", "reason": "new upholstery"}]
    bad = await client.delete(f"{path}/Z9", headers=manager.headers)
    assert error_code(bad, 422) == "unknown_seats"
    malformed = await client.delete(f"{path}/not-a-seat", headers=manager.headers)
    assert error_code(malformed, 422) == "validation_error"
