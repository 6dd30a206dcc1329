"""What every page handler works with: the visitor (signed in by the session cookie or not),
the CSRF token for its forms, a one-shot flash message, and the helpers that answer with a
rendered template or a redirect and keep the cookies in step.

A page handler takes ``web: WebContext`` and returns ``web.render(...)`` or
``web.redirect(...)``; a form handler starts with ``form = await web.form()``, which refuses a
post without this browser's CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from kino.core.errors import PermissionDenied
from kino.core.http import AppSettings, DbSession
from kino.identity import sessions
from kino.identity.cookies import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    CsrfFailed,
    clear_session_cookie,
    csrf_matches,
    csrf_token,
    is_https,
    new_csrf_cookie,
    set_csrf_cookie,
    set_session_cookie,
)
from kino.identity.models import STAFF_ROLES, User
from kino.settings import Settings
from kino.web.templating import templates

FLASH_COOKIE = "kino_flash"
FLASH_MESSAGES = {
    "signed_in": "Welcome back.",
    "signed_out": "You are signed out.",
    "registered": "Welcome to Kino! Your account is ready.",
    "profile_saved": "Your profile is saved.",
    "password_changed": "Your password is changed. Other devices are signed out.",
    "reset_sent": "If an account has this address, a link to reset its password is on its way.",
    "reset_done": "Your password is changed. Sign in with it.",
    "history_removed": "The film is removed from your history.",
    "history_cleared": "Your history is cleared.",
    "favorite_removed": "The film is removed from your favorites.",
    "review_posted": "Your review is posted.",
    "review_deleted": "Your review is deleted.",
    "comment_posted": "Your comment is posted.",
    "comment_deleted": "Your comment is deleted.",
    "key_revoked": "The API key is revoked.",
    # The staff area.
    "film_created": "The film is created.",
    "film_saved": "The film is saved.",
    "film_deleted": "The film is deleted.",
    "credit_added": "The credit is added.",
    "credit_removed": "The credit is removed.",
    "person_created": "The person is added.",
    "person_saved": "The person is saved.",
    "person_deleted": "The person is deleted.",
    "role_changed": "The role is changed.",
    "user_deactivated": "The account is deactivated; its sessions are ended.",
    "user_activated": "The account is active again.",
}
MAX_FORM_FIELDS = 50


@dataclass
class Web:
    request: Request
    settings: Settings
    user: User | None
    session_token: str | None
    csrf_cookie: str
    flash: str | None = None
    # The request's database session, so an error page can undo what the handler changed.
    db_session: AsyncSession | None = None
    # Cookie changes to send with the response.
    _new_session: str | None = None
    _end_session: bool = False
    _set_csrf: bool = False
    _clear_flash: bool = False
    _next_flash: str | None = field(default=None)

    @property
    def csrf_token(self) -> str:
        session = self._new_session or (None if self._end_session else self.session_token)
        return csrf_token(self.settings, self.csrf_cookie, session)

    @property
    def is_staff(self) -> bool:
        return self.user is not None and self.user.role in STAFF_ROLES

    @property
    def wants_fragment(self) -> bool:
        """An htmx request, answered with the part of the page it replaces."""
        return self.request.headers.get("HX-Request") == "true"

    # --- answers ---------------------------------------------------------------------------

    def render(
        self, template: str, context: dict[str, Any] | None = None, *, status: int = 200
    ) -> HTMLResponse:
        values = {"web": self, "user": self.user, "csrf_token": self.csrf_token, **(context or {})}
        response = templates.TemplateResponse(self.request, template, values, status_code=status)
        response.headers["Cache-Control"] = "no-store" if self.user else "no-cache"
        self._finish(response)
        return response

    def redirect(self, url: str, *, flash: str | None = None) -> RedirectResponse:
        """See Other: after a form post, the browser GETs ``url`` (a reload re-posts nothing)."""
        response = RedirectResponse(url, status_code=303)
        if flash is not None:
            assert flash in FLASH_MESSAGES, flash
            self._next_flash = flash
        self._finish(response)
        return response

    def sign_in(self, refresh_token: str) -> None:
        """The response will carry this new session's cookie."""
        self._new_session = refresh_token
        self._end_session = False

    def sign_out(self) -> None:
        self._end_session = True
        self._new_session = None

    def _finish(self, response: Response) -> None:
        request, settings = self.request, self.settings
        if self._new_session is not None:
            set_session_cookie(response, settings, request, self._new_session)
        elif self._end_session:
            clear_session_cookie(response, settings, request)
        if self._set_csrf:
            set_csrf_cookie(response, settings, request, self.csrf_cookie)
        if self._next_flash is not None:
            response.set_cookie(
                FLASH_COOKIE,
                self._next_flash,
                max_age=60,
                path="/",
                httponly=True,
                secure=is_https(settings, request),
                samesite="lax",
            )
        elif self._clear_flash:
            response.delete_cookie(FLASH_COOKIE, path="/")

    # --- forms -----------------------------------------------------------------------------

    async def roll_back(self) -> None:
        """Undo what this request changed in the database: a handler that answers an error with
        a page returns normally, so the transaction would otherwise be committed. The visitor
        is read again for the page (a rollback expires what the session loaded)."""
        if self.db_session is None:
            return
        await self.db_session.rollback()
        if self.user is not None:
            await self.db_session.refresh(self.user)

    async def form(self) -> dict[str, str]:
        """The posted form's text fields, once its CSRF token is checked."""
        return {name: values[-1] for name, values in (await self.form_lists()).items()}

    async def form_lists(self) -> dict[str, list[str]]:
        """Every value of each posted text field (checkboxes that share a name send one each),
        once the form's CSRF token is checked."""
        async with self.request.form(max_files=0, max_fields=MAX_FORM_FIELDS) as form:
            fields: dict[str, list[str]] = {}
            for name, value in form.multi_items():
                if isinstance(value, str):
                    fields.setdefault(name, []).append(value)
        token = fields.pop(CSRF_FIELD, [None])[-1]
        if not csrf_matches(
            self.settings, self.request.cookies.get(CSRF_COOKIE), self.session_token, token
        ):
            raise CsrfFailed()
        return fields

    @classmethod
    def start(
        cls, request: Request, settings: Settings, user: User | None, *, stale_session: bool
    ) -> Web:
        """The context of one request: a new ``kino_csrf`` cookie when the browser has none,
        a stale session cookie dropped, and the flash message shown once."""
        csrf_cookie = request.cookies.get(CSRF_COOKIE)
        flash = request.cookies.get(FLASH_COOKIE)
        web = cls(
            request=request,
            settings=settings,
            user=user,
            session_token=request.cookies.get(SESSION_COOKIE) if user else None,
            csrf_cookie=csrf_cookie or new_csrf_cookie(),
            flash=FLASH_MESSAGES.get(flash) if flash else None,
        )
        web._set_csrf = csrf_cookie is None
        web._end_session = stale_session
        web._clear_flash = flash is not None
        request.state.web = web
        return web

    def require_user(self) -> User:
        if self.user is None:
            raise SignInRequired(self.request)
        return self.user

    def require_staff(self) -> User:
        """The signed-in manager or admin; others get the 403 page."""
        user = self.require_user()
        if user.role not in STAFF_ROLES:
            raise PermissionDenied("This page is for staff.")
        return user


class SignInRequired(Exception):
    """A page for signed-in visitors only: answered with a redirect to the sign-in page."""

    def __init__(self, request: Request) -> None:
        super().__init__("sign in required")
        self.next_url = request.url.path + (f"?{request.url.query}" if request.url.query else "")

    @property
    def login_url(self) -> str:
        return f"/login?next={quote(self.next_url, safe='/')}"


def safe_next(url: str | None, default: str = "/") -> str:
    """A local path to go on to after signing in; anything else (another site) is ``default``."""
    if not url or not url.startswith("/") or url.startswith(("//", "/\\")):
        return default
    return url


async def web_context(request: Request, session: DbSession, settings: AppSettings) -> Web:
    token = request.cookies.get(SESSION_COOKIE)
    user = await sessions.user_for_session(session, token) if token else None
    if user is not None:
        request.state.user_id = user.id
    web = Web.start(request, settings, user, stale_session=token is not None and user is None)
    web.db_session = session
    return web


WebContext = Annotated[Web, Depends(web_context)]
