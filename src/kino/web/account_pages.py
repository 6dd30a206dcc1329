"""The signed-in viewer's own pages under /account: profile and password, watch history (with
removal), favorites, their reviews and their API keys. Everything is the visitor's own: no page
takes a user id."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog import service as catalog
from kino.community import reviews
from kino.community import service as community
from kino.core.errors import KinoError
from kino.core.http import DbSession, IdPath
from kino.core.pagination import PageParams
from kino.core.ratelimit import AppRateLimiter
from kino.identity import service as identity
from kino.identity import sessions
from kino.identity.schemas import ApiKeyCreate, PasswordChange, ProfileUpdate
from kino.media import service as media
from kino.playback import service as playback
from kino.web.cards import card, movie_cards, poster_url
from kino.web.context import Web, WebContext
from kino.web.errors import PageRoute
from kino.web.forms import field_errors
from kino.web.pages import Pages

router = APIRouter(prefix="/account", route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 20
PageQuery = Annotated[int, Query(ge=1, le=10_000)]


def _render(
    web: Web, template: str, section: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    return web.render(template, {"section": section, **context}, status=status)


# ---------------------------------------------------------------------------- profile


@router.get("")
async def profile_page(web: WebContext) -> Response:
    user = web.require_user()
    values = _profile_values(user.display_name, user.birth_date)
    return _render(web, "account/profile.html", "profile", _profile_context(values))


def _profile_values(display_name: str, birth_date: date | str | None) -> dict[str, str]:
    return {"display_name": display_name, "birth_date": str(birth_date or "")}


def _profile_context(
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    password_errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors or {},
        "password_errors": password_errors or {},
        "today": date.today().isoformat(),
    }


@router.post("/profile")
async def save_profile(web: WebContext, session: DbSession) -> Response:
    user = web.require_user()
    form = await web.form()
    values = _profile_values(form.get("display_name", ""), form.get("birth_date", "").strip())
    try:
        changes = ProfileUpdate.model_validate(
            {"display_name": values["display_name"], "birth_date": values["birth_date"] or None}
        )
    except ValidationError as error:
        context = _profile_context(values, field_errors(error))
        return _render(web, "account/profile.html", "profile", context, 422)
    await identity.update_profile(
        session, user, display_name=changes.display_name, birth_date=changes.birth_date
    )
    return web.redirect("/account", flash="profile_saved")


@router.post("/password")
async def change_password(web: WebContext, session: DbSession, limiter: AppRateLimiter) -> Response:
    user = web.require_user()
    form = await web.form()
    values = _profile_values(user.display_name, user.birth_date)
    try:
        body = PasswordChange(
            current_password=form.get("current_password", ""),
            new_password=form.get("new_password", ""),
        )
        tokens = await sessions.change_password(
            session,
            web.settings,
            limiter,
            user,
            current_password=body.current_password,
            new_password=body.new_password,
        )
    except ValidationError as error:
        context = _profile_context(values, password_errors=field_errors(error))
        return _render(web, "account/profile.html", "profile", context, 422)
    except KinoError as error:
        field = _error_field(error, "current_password")
        context = _profile_context(values, password_errors={field: error.message})
        return _render(web, "account/profile.html", "profile", context, error.status)
    web.sign_in(tokens.refresh_token)  # every session ended, this one goes on with a new one
    return web.redirect("/account", flash="password_changed")


def _error_field(error: KinoError, default: str) -> str:
    details = error.details if isinstance(error.details, list) else []
    first = details[0] if details and isinstance(details[0], dict) else {}
    return str(first.get("field") or default)


# ---------------------------------------------------------------------------- history


@router.get("/history")
async def history_page(web: WebContext, session: DbSession, page: PageQuery = 1) -> Response:
    user = web.require_user()
    result = await playback.history(
        session, web.settings, user, PageParams(page=page, page_size=PAGE_SIZE)
    )
    movie_ids = [item.movie.id for item in result.items]
    assets = await media.published_assets(session, movie_ids)
    entries = [
        {
            "item": item,
            "poster": poster_url(item.movie.id, assets.get(item.movie.id), "small"),
            "percent": _percent(item.position_seconds, item.duration_seconds),
        }
        for item in result.items
    ]
    context = {
        "entries": entries,
        "total": result.total,
        "pages": Pages.of(page, result.total, PAGE_SIZE),
    }
    return _render(web, "account/history.html", "history", context)


def _percent(position: float, duration: float | None) -> int | None:
    if not duration:
        return None
    return max(0, min(100, round(100 * position / duration)))


@router.post("/history/{movie_id}/remove")
async def forget_film(movie_id: IdPath, web: WebContext, session: DbSession) -> Response:
    user = web.require_user()
    await web.form()
    await playback.forget_film(session, user, movie_id)
    return web.redirect("/account/history", flash="history_removed")


@router.post("/history/clear")
async def clear_history(web: WebContext, session: DbSession) -> Response:
    user = web.require_user()
    await web.form()
    await playback.clear_history(session, user)
    return web.redirect("/account/history", flash="history_cleared")


# ---------------------------------------------------------------------------- favorites


@router.get("/favorites")
async def favorites_page(web: WebContext, session: DbSession, page: PageQuery = 1) -> Response:
    user = web.require_user()
    result = await community.list_favorites(
        session, user, paging=PageParams(page=page, page_size=PAGE_SIZE)
    )
    cards = await movie_cards(session, [favorite.movie for favorite in result.items])
    context = {
        "cards": cards,
        "total": result.total,
        "pages": Pages.of(page, result.total, PAGE_SIZE),
    }
    return _render(web, "account/favorites.html", "favorites", context)


@router.post("/favorites/{movie_id}/remove")
async def remove_favorite(movie_id: IdPath, web: WebContext, session: DbSession) -> Response:
    user = web.require_user()
    await web.form()
    await community.remove_favorite(session, user, movie_id)
    return web.redirect("/account/favorites", flash="favorite_removed")


# ---------------------------------------------------------------------------- reviews


@router.get("/reviews")
async def reviews_page(web: WebContext, session: DbSession, page: PageQuery = 1) -> Response:
    user = web.require_user()
    result = await reviews.list_my_reviews(
        session, user, paging=PageParams(page=page, page_size=PAGE_SIZE)
    )
    films = await catalog.movie_summaries(session, list({r.movie_id: 0 for r in result.items}))
    assets = await media.published_assets(session, [film.id for film in films])
    cards = {film.id: card(film, assets.get(film.id)) for film in films}
    context = {
        "entries": [{"review": r, "film": cards.get(r.movie_id)} for r in result.items],
        "total": result.total,
        "pages": Pages.of(page, result.total, PAGE_SIZE),
    }
    return _render(web, "account/reviews.html", "reviews", context)


# ---------------------------------------------------------------------------- API keys


@router.get("/api-keys")
async def api_keys_page(web: WebContext, session: DbSession) -> Response:
    web.require_user()
    context = await _keys_context(session, web, new_key=None, errors={})
    return _render(web, "account/api_keys.html", "api-keys", context)


async def _keys_context(
    session: AsyncSession, web: Web, *, new_key: str | None, errors: dict[str, str]
) -> dict[str, Any]:
    assert web.user is not None
    return {
        "keys": await identity.list_api_keys(session, web.user),
        "new_key": new_key,
        "errors": errors,
    }


@router.post("/api-keys")
async def create_api_key(web: WebContext, session: DbSession) -> Response:
    """The whole key is shown on this answer only (it is never stored), so this renders the
    page instead of redirecting."""
    user = web.require_user()
    form = await web.form()
    try:
        body = ApiKeyCreate(name=form.get("name", ""))
        _key, text = await identity.create_api_key(session, user, name=body.name)
    except ValidationError as error:
        context = await _keys_context(session, web, new_key=None, errors=field_errors(error))
        return _render(web, "account/api_keys.html", "api-keys", context, 422)
    except KinoError as error:
        context = await _keys_context(session, web, new_key=None, errors={"name": error.message})
        return _render(web, "account/api_keys.html", "api-keys", context, error.status)
    context = await _keys_context(session, web, new_key=text, errors={})
    return _render(web, "account/api_keys.html", "api-keys", context, 201)


@router.post("/api-keys/{key_id}/revoke")
async def revoke_api_key(key_id: uuid.UUID, web: WebContext, session: DbSession) -> Response:
    user = web.require_user()
    await web.form()
    await identity.revoke_api_key(session, user, key_id)
    return web.redirect("/account/api-keys", flash="key_revoked")
