from __future__ import annotations

import httpx


async def test_health_and_readiness_answer_ok(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


async def test_unknown_route_answers_json_error(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


async def test_home_page_is_the_web_site_and_the_api_documentation_stays(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'href="/docs"' in response.text
    docs = await client.get("/docs")
    assert docs.status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/movies" in spec["paths"]
    assert "/api/v1/auth/login" in spec["paths"]
