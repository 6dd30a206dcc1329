"""The web site's session cookie and its CSRF protection, shared by the pages and the JSON API.

Signing in on the site stores the new session's refresh token in ``kino_session`` (HttpOnly,
SameSite=Lax, Secure when the site is served over HTTPS). The token is the session: it is
checked against its row on every request and dies with it (sign-out, password change,
deactivation), so nothing but its digest is kept on the server.

A cookie is sent by the browser whoever made the page that sends it, so every change made with
it carries a CSRF token: a hidden ``csrf_token`` field in forms, an ``X-CSRF-Token`` header
from the site's scripts (a header that only same-origin JavaScript can set). The token is an
HMAC of the random ``kino_csrf`` cookie and the session token under the secret key, so it is
worthless on another browser or after signing in or out, and an attacker who plants a
``kino_csrf`` cookie still cannot compute it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import Response

from kino.core.errors import PermissionDenied
from kino.core.security import new_token, token_digest
from kino.settings import Settings

SESSION_COOKIE = "kino_session"
CSRF_COOKIE = "kino_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_COOKIE_MAX_AGE = 365 * 24 * 3600
_CSRF_LABEL = b"kino.web.csrf.v1|"


class CsrfFailed(PermissionDenied):
    code = "csrf_failed"

    def __init__(self) -> None:
        super().__init__(
            "The request did not carry this site's CSRF token; reload the page and try again."
        )


def csrf_token(settings: Settings, csrf_cookie: str, session_token: str | None) -> str:
    """The token forms and scripts must send back with this browser's cookies."""
    message = _CSRF_LABEL + f"{csrf_cookie}|{token_digest(session_token or '')}".encode()
    digest = hmac.new(settings.signing_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_matches(
    settings: Settings, csrf_cookie: str | None, session_token: str | None, sent: str | None
) -> bool:
    if not csrf_cookie or not sent:
        return False
    expected = csrf_token(settings, csrf_cookie, session_token)
    return hmac.compare_digest(expected.encode(), sent.encode())


def check_csrf_header(settings: Settings, request: Request) -> None:
    """For a change authenticated by the session cookie: the ``X-CSRF-Token`` header must match."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if not csrf_matches(
        settings, request.cookies.get(CSRF_COOKIE), request.cookies.get(SESSION_COOKIE), sent
    ):
        raise CsrfFailed()


def new_csrf_cookie() -> str:
    return new_token(24)


def is_https(settings: Settings, request: Request) -> bool:
    return request.url.scheme == "https" or settings.public_url.startswith("https://")


def set_session_cookie(
    response: Response, settings: Settings, request: Request, refresh_token: str
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        refresh_token,
        max_age=settings.refresh_token_ttl_seconds,
        path="/",
        httponly=True,
        secure=is_https(settings, request),
        samesite="lax",
    )


def clear_session_cookie(response: Response, settings: Settings, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        secure=is_https(settings, request),
        samesite="lax",
    )


def set_csrf_cookie(response: Response, settings: Settings, request: Request, value: str) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        value,
        max_age=CSRF_COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        secure=is_https(settings, request),
        samesite="lax",
    )
