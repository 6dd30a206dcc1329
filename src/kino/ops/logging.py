"""structlog: readable lines in a terminal, one JSON object per line in distributed mode;
a request id bound to every line of a request."""

from __future__ import annotations

import logging
import os
import random
import sys
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kino.settings import Settings

log = structlog.get_logger("kino.http")


def configure_logging(settings: Settings) -> None:
    json_lines = settings.log_format == "json" or (
        settings.log_format == "auto" and (settings.is_distributed or not sys.stderr.isatty())
    )
    renderer: Any = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer()
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        # Tests reconfigure logging per app; elsewhere the first configuration is the only one.
        cache_logger_on_first_use=settings.environment != "test",
    )


class RequestContextMiddleware:
    """Binds ``request_id`` (the caller's ``X-Request-ID`` or a new one) to every log line of
    the request, echoes it in the response, and logs one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # New request ids come from this app's own generator, seeded from the kernel once per
        # serving process: 128 random bits each, as a uuid4's, without a system call and a UUID
        # object per request. (Not a counter: that would tell every client the traffic.)
        self._random_ids = random.Random(os.urandom(32))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or f"{self._random_ids.getrandbits(128):032x}"
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "http.request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")[:64]
            if candidate.replace("-", "").isalnum():
                return candidate
    return None
