"""``/admin/people`` (find, add, edit, delete the people films credit) and ``/admin/genres``
(the genres with their films), through ``catalog.service`` like the API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import ValidationError

from kino.catalog import service as catalog
from kino.catalog.schemas import PersonCreate, PersonRead, PersonUpdate
from kino.catalog.search.dependencies import Search
from kino.core.http import DbSession, IdPath
from kino.core.pagination import PageParams
from kino.web.admin.layout import render_admin
from kino.web.admin.movies_pages import ROLE_LABELS
from kino.web.context import Web, WebContext
from kino.web.errors import PageRoute
from kino.web.forms import field_errors
from kino.web.pages import Pages

router = APIRouter(prefix="/admin", route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 25
PageQuery = Annotated[int, Query(ge=1, le=10_000)]


# ---------------------------------------------------------------------------- people


@router.get("/people")
async def people_page(
    web: WebContext,
    session: DbSession,
    search: Search,
    q: Annotated[str, Query(max_length=200)] = "",
    page: PageQuery = 1,
) -> Response:
    web.require_staff()
    query = q.strip()
    result = await catalog.list_people(
        session, search, q=query or None, paging=PageParams(page=page, page_size=PAGE_SIZE)
    )
    context = {
        "people": result.items,
        "total": result.total,
        "pages": Pages.of(page, result.total, PAGE_SIZE),
        "params": {"q": query},
    }
    return render_admin(web, "admin/people.html", "people", context)


@router.get("/people/new")
async def new_person_page(web: WebContext) -> Response:
    web.require_staff()
    return _render_form(web, None, {"name": "", "bio": ""})


@router.post("/people/new")
async def create_person(web: WebContext, session: DbSession, search: Search) -> Response:
    web.require_staff()
    values = _posted(await web.form())
    try:
        body = PersonCreate.model_validate(_person_fields(values))
    except ValidationError as error:
        return _render_form(web, None, values, field_errors(error), status=422)
    person = await catalog.create_person(session, search, body)
    return web.redirect(f"/admin/people/{person.id}/edit", flash="person_created")


@router.get("/people/{person_id}/edit")
async def edit_person_page(person_id: IdPath, web: WebContext, session: DbSession) -> Response:
    web.require_staff()
    person = await catalog.get_person(session, person_id, include_drafts=True)
    return _render_form(web, person, {"name": person.name, "bio": person.bio or ""})


@router.post("/people/{person_id}/edit")
async def save_person(
    person_id: IdPath, web: WebContext, session: DbSession, search: Search
) -> Response:
    web.require_staff()
    person = await catalog.get_person(session, person_id, include_drafts=True)
    values = _posted(await web.form())
    try:
        body = PersonUpdate.model_validate(_person_fields(values))
    except ValidationError as error:
        return _render_form(web, person, values, field_errors(error), status=422)
    await catalog.update_person(session, search, person_id, body)
    return web.redirect(f"/admin/people/{person_id}/edit", flash="person_saved")


def _posted(form: dict[str, str]) -> dict[str, str]:
    return {"name": form.get("name", ""), "bio": form.get("bio", "")}


def _person_fields(values: dict[str, str]) -> dict[str, Any]:
    return {"name": values["name"], "bio": values["bio"].strip() or None}


def _render_form(
    web: Web,
    person: PersonRead | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    *,
    status: int = 200,
) -> Response:
    context = {"person": person, "values": values, "errors": errors or {}, "roles": ROLE_LABELS}
    return render_admin(web, "admin/person_form.html", "people", context, status=status)


@router.get("/people/{person_id}/delete")
async def delete_person_page(person_id: IdPath, web: WebContext, session: DbSession) -> Response:
    web.require_staff()
    person = await catalog.get_person(session, person_id, include_drafts=True)
    films = {entry.movie.id: entry.movie for entry in person.filmography}
    context = {"person": person, "films": list(films.values())}
    return render_admin(web, "admin/person_delete.html", "people", context)


@router.post("/people/{person_id}/delete")
async def delete_person(
    person_id: IdPath, web: WebContext, session: DbSession, search: Search
) -> Response:
    """The catalog removes a deleted person's credits from their films (and reindexes them)."""
    web.require_staff()
    await web.form()
    await catalog.delete_person(session, search, person_id)
    return web.redirect("/admin/people", flash="person_deleted")


# ---------------------------------------------------------------------------- genres


@router.get("/genres")
async def genres_page(web: WebContext, session: DbSession) -> Response:
    """Genres are made by naming them on a film (the catalog has no other way to create or
    rename one), so this page lists them with their films and says so."""
    web.require_staff()
    genres = await catalog.genre_usage(session)
    return render_admin(web, "admin/genres.html", "genres", {"genres": genres})
