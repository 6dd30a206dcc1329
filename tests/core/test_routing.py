from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI

from kino.core.routing import GatedRouter, gated


def _app() -> FastAPI:
    things = APIRouter()

    @things.get("/things/{thing_id}")
    async def get_thing(thing_id: int) -> dict[str, int]:
        return {"thing": thing_id}

    @things.post("/things", status_code=201)
    async def add_thing() -> dict[str, str]:
        return {"thing": "new"}

    parts = GatedRouter(prefix="/parts")

    @parts.get("/{part_id}/price")
    async def price(part_id: str) -> dict[str, str]:
        return {"part": part_id}

    inventory = GatedRouter()
    inventory.include_router(parts)
    app = FastAPI()
    app.include_router(gated(things), prefix="/api")
    app.include_router(inventory, prefix="/api")

    @app.get("/api/{anything}")
    async def fallback(anything: str) -> dict[str, str]:
        return {"fallback": anything}

    return app


async def _get(path: str, method: str = "GET") -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://kino.test") as client:
        return await client.request(method, path)


async def test_gated_routes_answer_as_before() -> None:
    assert (await _get("/api/things/7")).json() == {"thing": 7}
    assert (await _get("/api/things", "POST")).status_code == 201
    assert (await _get("/api/parts/x-1/price")).json() == {"part": "x-1"}


async def test_a_path_the_gate_lets_through_is_still_matched_in_full() -> None:
    assert (await _get("/elsewhere/things/7")).status_code == 404
    assert (await _get("/api/things/7", "DELETE")).status_code == 405
    assert (await _get("/api/things/seven")).status_code == 422


async def test_a_path_no_gated_route_matches_goes_on_to_the_next_route() -> None:
    assert (await _get("/api/widgets")).json() == {"fallback": "widgets"}
    assert (await _get("/api/parts/x-1/weight")).status_code == 404
