"""``/admin/users``, for admins only: accounts found by e-mail address or name and by role,
each with its role to change and a switch to deactivate it (which ends its sessions at once)
or make it active again. The rules, such as an admin not locking themself out, are
``identity.service``'s; their messages are shown on the page."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from kino.core.errors import InvalidInput, PermissionDenied
from kino.core.http import DbSession
from kino.core.pagination import PageParams
from kino.identity import service as identity
from kino.identity.errors import SelfLockout
from kino.identity.models import Role, User
from kino.web.admin.layout import render_admin
from kino.web.context import Web, WebContext, safe_next
from kino.web.errors import PageRoute
from kino.web.pages import Pages

router = APIRouter(prefix="/admin/users", route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 25
ROLE_LABELS = {
    Role.VIEWER: "Viewer",
    Role.MODERATOR: "Moderator",
    Role.MANAGER: "Manager",
    Role.ADMIN: "Admin",
}

PageQuery = Annotated[int, Query(ge=1, le=10_000)]


def _require_admin(web: Web) -> User:
    user = web.require_staff()
    if user.role is not Role.ADMIN:
        raise PermissionDenied("This page is for admins.")
    return user


@router.get("")
async def users_page(
    web: WebContext,
    session: DbSession,
    q: Annotated[str, Query(max_length=320)] = "",
    role: Annotated[str, Query(max_length=20)] = "",
    page: PageQuery = 1,
) -> Response:
    _require_admin(web)
    return await _render_users(web, session, q=q.strip(), role=role, page=page)


async def _render_users(
    web: Web, session: AsyncSession, *, q: str, role: str, page: int, problem: str | None = None
) -> Response:
    wanted = _role(role) if role else None
    users, total = await identity.list_users(
        session, PageParams(page=page, page_size=PAGE_SIZE), role=wanted, query=q or None
    )
    context: dict[str, Any] = {
        "users": users,
        "total": total,
        "pages": Pages.of(page, total, PAGE_SIZE),
        "params": {"q": q, "role": wanted.value if wanted else ""},
        "roles": ROLE_LABELS,
        "problem": problem,
        "here": str(web.request.url.path)
        + (f"?{web.request.url.query}" if web.request.url.query else ""),
    }
    return render_admin(web, "admin/users.html", "users", context, status=409 if problem else 200)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(f"“{value}” is not a role.") from None


@router.post("/{user_id}/role")
async def change_role(user_id: uuid.UUID, web: WebContext, session: DbSession) -> Response:
    admin = _require_admin(web)
    form = await web.form()
    role = _role(form.get("role", ""))
    return await _change(
        web, session, form, lambda: identity.set_role(session, admin, user_id, role), "role_changed"
    )


@router.post("/{user_id}/deactivate")
async def deactivate(user_id: uuid.UUID, web: WebContext, session: DbSession) -> Response:
    admin = _require_admin(web)
    form = await web.form()
    return await _change(
        web,
        session,
        form,
        lambda: identity.set_active(session, admin, user_id, False),
        "user_deactivated",
    )


@router.post("/{user_id}/activate")
async def activate(user_id: uuid.UUID, web: WebContext, session: DbSession) -> Response:
    admin = _require_admin(web)
    form = await web.form()
    return await _change(
        web,
        session,
        form,
        lambda: identity.set_active(session, admin, user_id, True),
        "user_activated",
    )


async def _change(
    web: Web,
    session: AsyncSession,
    form: dict[str, str],
    change: Callable[[], Awaitable[User]],
    flash: str,
) -> Response:
    """Make the change and go back to the list as it was; the rule that an admin keeps their
    own role and account (checked before anything changes) is shown above the list instead."""
    try:
        await change()
    except SelfLockout as error:
        return await _render_users(web, session, q="", role="", page=1, problem=error.message)
    back = safe_next(form.get("next"), "/admin/users")
    if not back.startswith("/admin/users"):
        back = "/admin/users"
    return web.redirect(back, flash=flash)
