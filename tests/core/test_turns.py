from __future__ import annotations

import asyncio

from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from kino.app import HOLD_PATH, HOLD_TURNS
from kino.core.db import DRIVER_TURNS
from kino.core.turns import TakingTurns


class Recorder:
    """An ASGI app that notes when each request starts and waits until it is let go."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release: dict[str, asyncio.Event] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path"]
        self.started.append(name)
        await self.release.setdefault(name, asyncio.Event()).wait()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _request(app: TakingTurns, method: str, path: str) -> None:
    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    scope = {"type": "http", "method": method, "path": path, "headers": []}
    await app(scope, receive, send)


async def _settled() -> None:
    for _ in range(10):  # whatever could run now has run
        await asyncio.sleep(0)


async def test_matching_requests_take_turns_in_the_order_they_came() -> None:
    inner = Recorder()
    app = TakingTurns(inner, routes=[("POST", r"/things/[^/]+/holds")], turns=2)
    paths = [f"/things/{number}/holds" for number in range(4)]
    tasks = []
    for path in paths:  # in this order
        tasks.append(asyncio.create_task(_request(app, "POST", path)))
        await _settled()
    assert inner.started == paths[:2]
    inner.release[paths[1]].set()  # a turn comes free: the first to wait gets it
    await _settled()
    assert inner.started == paths[:3]
    for path in paths:
        inner.release.setdefault(path, asyncio.Event()).set()
    await asyncio.gather(*tasks)
    assert inner.started == paths


async def test_other_requests_do_not_wait_for_a_turn() -> None:
    inner = Recorder()
    app = TakingTurns(inner, routes=[("POST", r"/things/[^/]+/holds")], turns=1)
    taken = asyncio.create_task(_request(app, "POST", "/things/1/holds"))
    await _settled()
    others = [
        ("GET", "/things/9/holds"),  # another method
        ("POST", "/things/1/holds/more"),  # the whole path must match
        ("POST", "/things/2/holds/x"),
    ]
    tasks = [asyncio.create_task(_request(app, method, path)) for method, path in others]
    await _settled()
    assert inner.started == ["/things/1/holds", *(path for _method, path in others)]
    for event in [*inner.release.values()]:
        event.set()
    await asyncio.gather(taken, *tasks)


def test_the_app_lets_seat_holds_take_turns(app: FastAPI) -> None:
    [turns] = [entry for entry in app.user_middleware if entry.cls is TakingTurns]
    assert turns.kwargs == {"routes": [("POST", HOLD_PATH)], "turns": HOLD_TURNS}
    gate = TakingTurns(Recorder(), **turns.kwargs)
    assert gate._takes_turns("POST", "/api/v1/showtimes/12/holds")
    assert not gate._takes_turns("POST", "/api/v1/showtimes/12/holds/3")
    assert not gate._takes_turns("GET", "/api/v1/showtimes/12/seats")
    # A hold in its turn finds a driver connection free: it never queues twice.
    assert DRIVER_TURNS >= HOLD_TURNS


async def test_a_body_sent_slowly_is_read_before_its_turn_and_reaches_the_app_whole() -> None:
    """A client that sends its body slowly keeps only itself waiting, not the others."""
    bodies: dict[str, bytes] = {}

    async def reader(scope: Scope, receive: Receive, send: Send) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        bodies[scope["path"]] = body

    app = TakingTurns(reader, routes=[("POST", r"/holds/\d+")], turns=1)
    chunks: asyncio.Queue[Message] = asyncio.Queue()
    slow_scope = {"type": "http", "method": "POST", "path": "/holds/1", "headers": []}
    slow = asyncio.create_task(app(slow_scope, chunks.get, _ignore))
    await chunks.put({"type": "http.request", "body": b'{"seats": ', "more_body": True})
    await _settled()
    # Served while the first is still sending (the guard turns a hang into a failure)
    await asyncio.wait_for(_request(app, "POST", "/holds/2"), timeout=10)
    assert bodies == {"/holds/2": b""}
    await chunks.put({"type": "http.request", "body": b'["A1"]}', "more_body": False})
    await slow
    assert bodies["/holds/1"] == b'{"seats": ["A1"]}'


async def _ignore(message: Message) -> None:
    return None
