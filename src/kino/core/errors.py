"""Typed domain errors. One handler (in app.py) renders them as
``{"error": {"code", "message", "details"}}`` with their status."""

from __future__ import annotations

from typing import Any, ClassVar


class KinoError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    headers: dict[str, str] | None = None

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Unauthenticated(KinoError):
    status = 401
    code = "unauthenticated"
    headers = {"WWW-Authenticate": "Bearer"}  # noqa: RUF012 - read only


class PermissionDenied(KinoError):
    status = 403
    code = "forbidden"


class NotFound(KinoError):
    status = 404
    code = "not_found"


class Conflict(KinoError):
    status = 409
    code = "conflict"


class InvalidInput(KinoError):
    status = 422
    code = "validation_error"


class RateLimited(KinoError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.headers = {"Retry-After": str(retry_after)}
