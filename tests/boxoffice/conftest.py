"""Fixtures for the box office tests: staff and viewers, a published film with a runtime, a
cinema in Berlin with a small hall, and a showtime tomorrow evening."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from kino.app import create_app, dispose
from kino.identity.models import Role
from kino.settings import Settings
from tests.factories import SignedIn, make_user

BERLIN = ZoneInfo("Europe/Berlin")
PRICES = {"standard": 1200, "premium": 1500, "vip": 2500, "wheelchair": 900}
# Row A: 4 standard seats, a gap, 4 more; row B: premium around a gap; row C: VIP and
# wheelchair spaces. 8 + 6 + 4 = 18 seats.
SMALL_MAP = [
    {"label": "A", "seats": "SSSS_SSSS"},
    {"label": "B", "seats": "PPP__PPP"},
    {"label": "C", "seats": "WVVW"},
]
CINEMA = {
    "name": "Kino International",
    "address": "Karl-Marx-Allee 33",
    "city": "Berlin",
    "phone": "+49 30 24756011",
    "email": "info@kino-international.example",
    "latitude": 52.5205,
    "longitude": 13.4237,
    "time_zone": "Europe/Berlin",
    "opening_hours": {"mon": [{"opens": "14:00", "closes": "23:30"}]},
}


@pytest.fixture
async def manager(app: FastAPI) -> SignedIn:
    return await make_user(app, role=Role.MANAGER)


@pytest.fixture
async def viewer(app: FastAPI) -> SignedIn:
    return await make_user(app, display_name="Vera Viewer")


@pytest.fixture
async def other(app: FastAPI) -> SignedIn:
    """A second viewer, who must not see or release what belongs to ``viewer``."""
    return await make_user(app, display_name="Otto Other")


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def error_code(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["message"]
    return str(body["error"]["code"])


async def create_movie(client: httpx.AsyncClient, staff: SignedIn, **fields: Any) -> int:
    body = {"title": "Stalker", "status": "published", "runtime_minutes": 100, **fields}
    return int(ok(await client.post("/api/v1/movies", json=body, headers=staff.headers), 201)["id"])


async def create_cinema(client: httpx.AsyncClient, staff: SignedIn, **fields: Any) -> Any:
    response = await client.post(
        "/api/v1/cinemas", json={**CINEMA, **fields}, headers=staff.headers
    )
    return ok(response, 201)


async def create_hall(
    client: httpx.AsyncClient,
    staff: SignedIn,
    cinema_id: int,
    *,
    rows: list[dict[str, str]] | None = None,
    **fields: Any,
) -> Any:
    body = {"name": "Saal 1", "screen": "3D", "sound": "Dolby Atmos", "rows": rows or SMALL_MAP}
    response = await client.post(
        f"/api/v1/cinemas/{cinema_id}/halls", json={**body, **fields}, headers=staff.headers
    )
    return ok(response, 201)


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    day = datetime.now(BERLIN).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def showtime_body(movie_id: int, hall_id: int, starts_at: datetime, **fields: Any) -> Any:
    return {
        "movie_id": movie_id,
        "hall_id": hall_id,
        "starts_at": starts_at.isoformat(),
        "language": "ru",
        "subtitles": "de",
        "format": "2D",
        "prices": PRICES,
        "currency": "EUR",
        **fields,
    }


async def create_showtime(
    client: httpx.AsyncClient,
    staff: SignedIn,
    movie_id: int,
    hall_id: int,
    starts_at: datetime,
    **fields: Any,
) -> Any:
    body = showtime_body(movie_id, hall_id, starts_at, **fields)
    return ok(await client.post("/api/v1/showtimes", json=body, headers=staff.headers), 201)


@pytest.fixture
async def movie_id(client: httpx.AsyncClient, manager: SignedIn) -> int:
    return await create_movie(client, manager)


@pytest.fixture
async def cinema(client: httpx.AsyncClient, manager: SignedIn) -> Any:
    return await create_cinema(client, manager)


@pytest.fixture
async def hall(client: httpx.AsyncClient, manager: SignedIn, cinema: Any) -> Any:
    return await create_hall(client, manager, cinema["id"])


@pytest.fixture
async def showtime(client: httpx.AsyncClient, manager: SignedIn, movie_id: int, hall: Any) -> Any:
    return await create_showtime(client, manager, movie_id, hall["id"], tomorrow_at(20, 15))


async def hold(
    client: httpx.AsyncClient, who: SignedIn, showtime_id: int, seats: list[str]
) -> httpx.Response:
    return await client.post(
        f"/api/v1/showtimes/{showtime_id}/holds", json={"seats": seats}, headers=who.headers
    )


async def seat_states(
    client: httpx.AsyncClient, showtime_id: int, who: SignedIn | None = None
) -> dict[str, str]:
    headers = who.headers if who else {}
    seat_map = ok(await client.get(f"/api/v1/showtimes/{showtime_id}/seats", headers=headers))
    return {seat["name"]: seat["state"] for row in seat_map["rows"] for seat in row["seats"]}


@pytest.fixture
async def app_with(settings: Settings) -> AsyncIterator[Any]:
    """Makes another app on the same database, with some settings changed."""
    apps: list[FastAPI] = []

    def make(**changes: Any) -> FastAPI:
        application = create_app(settings.model_copy(update=changes))
        apps.append(application)
        return application

    yield make
    for application in apps:
        await dispose(application)


def client_for(application: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application, client=("203.0.113.9", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://kino.test")
