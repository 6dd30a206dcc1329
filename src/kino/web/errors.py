"""Errors on web pages are pages: a film that does not exist is a 404 page with the site's
header, a page for signed-in visitors sends others to sign in, and a bad link is a plain
message, never the API's JSON. The API keeps its JSON errors."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from kino.core.errors import KinoError
from kino.core.http import HTTP_CODES, error_response
from kino.web.context import SignInRequired, Web

log = structlog.get_logger("kino.web")

# Paths that belong to machines: their errors stay JSON whatever the client accepts.
MACHINE_PREFIXES = ("/api/", "/stream/", "/static/", "/openapi.json", "/healthz", "/readyz")
TITLES = {
    400: "That did not work",
    401: "Sign in first",
    402: "Not included",
    403: "Not for you",
    404: "Not found",
    405: "Not found",
    409: "That did not work",
    422: "That did not work",
    429: "Slow down",
}


class PageRoute(APIRoute):
    """A route whose errors are answered with the error page instead of JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_page(request: Request) -> Response:
            try:
                return await handle(request)
            except SignInRequired as needed:
                return RedirectResponse(needed.login_url, status_code=303)
            except KinoError as error:
                # Undone like the API's errors, though this answer leaves the handler normally.
                web: Web | None = getattr(request.state, "web", None)
                if web is not None:
                    await web.roll_back()
                return error_page(request, error.status, error.message, headers=error.headers)
            except RequestValidationError:
                return error_page(request, 404, "This address does not lead to a page.")

        return handle_page


def error_page(
    request: Request, status: int, message: str, *, headers: dict[str, str] | None = None
) -> Response:
    web = getattr(request.state, "web", None) or _anonymous(request)
    response = web.render(
        "error.html",
        {"status": status, "title": TITLES.get(status, "Something went wrong"), "message": message},
        status=status,
    )
    for name, value in (headers or {}).items():
        if name.lower() != "www-authenticate":
            response.headers[name] = value
    return response


def _anonymous(request: Request) -> Web:
    """The context of a request that failed before its page's context was made."""
    return Web.start(request, request.app.state.settings, None, stale_session=False)


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith(MACHINE_PREFIXES) and "text/html" in request.headers.get(
        "accept", ""
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    """A path no route knows, or a method it does not take: a page for a browser, JSON else."""
    assert isinstance(exc, StarletteHTTPException)
    if _wants_page(request) and exc.status_code in (404, 405):
        return error_page(request, 404, "There is no page at this address.")
    code = HTTP_CODES.get(exc.status_code, "error")
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, code, str(exc.detail), None, headers)


def install_page_errors(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
