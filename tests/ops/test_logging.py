from __future__ import annotations

import json

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from kino.app import create_app, dispose
from kino.ops.logging import RequestContextMiddleware
from kino.settings import Settings


async def test_every_request_logs_one_json_line_with_its_request_id(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(settings.model_copy(update={"log_format": "json", "log_level": "INFO"}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kino.test") as client:
        capsys.readouterr()
        response = await client.get("/healthz", headers={"X-Request-ID": "req-42"})
    await dispose(app)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    requests = [line for line in lines if line["event"] == "http.request"]
    assert response.headers["x-request-id"] == "req-42"
    assert len(requests) == 1
    assert requests[0] | {"timestamp": None, "ms": None} == {
        "event": "http.request",
        "request_id": "req-42",
        "method": "GET",
        "path": "/healthz",
        "status": 200,
        "level": "info",
        "timestamp": None,
        "ms": None,
    }


async def test_a_request_without_an_id_gets_a_fresh_one(client: httpx.AsyncClient) -> None:
    first = (await client.get("/healthz")).headers["x-request-id"]
    second = (await client.get("/healthz")).headers["x-request-id"]
    assert first != second
    assert len(first) == 32
    hostile = await client.get("/healthz", headers={"X-Request-ID": "<script>\n"})
    assert hostile.headers["x-request-id"] != "<script>\n"


async def test_two_processes_never_hand_out_the_same_request_id() -> None:
    """Each serving process builds its own app, whose fresh ids come from a generator of its
    own: two apps' ids must not collide."""

    async def ok(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    ids = []
    for _process in range(2):
        transport = httpx.ASGITransport(app=RequestContextMiddleware(ok))
        async with httpx.AsyncClient(transport=transport, base_url="http://kino") as client:
            ids += [(await client.get("/")).headers["x-request-id"] for _ in range(2)]
    assert len(set(ids)) == 4
    assert all(len(request_id) == 32 for request_id in ids)
