"""What every router shares: the request's database session, the settings, and the one error shape
``{"error": {"code", "message", "details"}}`` for everything that goes wrong."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import structlog
from fastapi import Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from kino.core.cache import Cache
from kino.core.db import Database
from kino.core.errors import KinoError
from kino.settings import Settings

log = structlog.get_logger("kino.errors")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    db: Database = request.app.state.db
    async with db.transaction() as session:
        yield session


async def _settings(request: Request) -> Settings:
    return app_settings(request)


def app_settings(request: Request) -> Settings:
    """The app's settings, for code that takes them off the request itself: every dependency
    FastAPI solves costs a request CPU of its own (about 60,000 instructions), which shows on the
    busiest path, a seat hold."""
    settings: Settings = request.app.state.settings
    return settings


def app_database(request: Request) -> Database:
    """The app's database, as ``app_settings`` takes the settings."""
    db: Database = request.app.state.db
    return db


async def _cache(request: Request) -> Cache:
    cache: Cache = request.app.state.cache
    return cache


# The largest id a BIGINT column holds: bigger path ids are a 422, not a database error.
MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]

# scope="function": the transaction commits when the endpoint returns, before the response is
# sent, so a client never sees a success that was not stored.
DbSession = Annotated[AsyncSession, Depends(_session, scope="function")]
AppSettings = Annotated[Settings, Depends(_settings)]
AppCache = Annotated[Cache, Depends(_cache)]


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _kino_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KinoError)
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [_describe(error) for error in exc.errors()]
    first = fields[0] if fields else {"field": "", "message": "invalid input"}
    message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return error_response(422, "validation_error", message, fields)


def _describe(error: Any) -> dict[str, Any]:
    location = [str(part) for part in error.get("loc", ())]
    if location and location[0] in ("body", "query", "path", "header", "cookie"):
        location = location[1:]  # where it came from; a field may itself be named "body"
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "json_invalid":
        message = "the request body is not valid JSON"
    return {"field": ".".join(location), "message": message, "type": error.get("type")}


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "error")
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, code, str(exc.detail), None, headers)


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("http.unhandled_error", error=repr(exc))
    return error_response(500, "internal_error", "Something went wrong on our side.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(KinoError, _kino_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
