"""Requests that take turns: at most a few of them at once in a process, first come first
served, each from its first byte to its last.

A process's event loop interleaves every request in flight at each ``await``. For a short
request that mostly waits on the database, dozens in flight at once make each wait for all the
others' work between its own steps, and the slowest answers take several times the median. Let
in a few at a time, in the order they arrived, each finishes in about the time of its own work,
and the rest queue without costing anything (``kino.app.HOLD_TURNS`` has the figures).

A request's body is read before it takes a turn (up to ``BODY_BEFORE_TURN`` bytes; these are
small requests), so a client that sends it slowly keeps only itself waiting."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_BEFORE_TURN = 64 * 1024


class TakingTurns:
    """ASGI middleware: requests whose method and path match one of ``routes`` (a method and a
    regular expression that the whole path must match) take ``turns`` turns; others pass."""

    def __init__(self, app: ASGIApp, *, routes: Iterable[tuple[str, str]], turns: int) -> None:
        self.app = app
        self.routes = [(method, re.compile(pattern)) for method, pattern in routes]
        self.turns = asyncio.Semaphore(turns)  # its waiters are woken in the order they came

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._takes_turns(scope["method"], scope["path"]):
            received = await _read_ahead(receive)
            async with self.turns:
                await self.app(scope, _replay(received, receive), send)
            return
        await self.app(scope, receive, send)

    def _takes_turns(self, method: str, path: str) -> bool:
        return any(method == wanted and route.fullmatch(path) for wanted, route in self.routes)


async def _read_ahead(receive: Receive) -> list[Message]:
    """The request's messages up to the end of its body (or a disconnect, or
    ``BODY_BEFORE_TURN`` bytes, after which the rest is read in turn)."""
    received: list[Message] = []
    size = 0
    while size <= BODY_BEFORE_TURN:
        message = await receive()
        received.append(message)
        size += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    return received


def _replay(received: list[Message], receive: Receive) -> Receive:
    pending = list(received)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
