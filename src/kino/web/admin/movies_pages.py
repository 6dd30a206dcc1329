"""``/admin/movies``: the staff's films: a searchable, filtered, paged table; a form for every
catalog field (new and edit); the credits editor; deletion after a confirmation.

Every change goes through ``catalog.service``, as the API's do, so the search index stays in
step; the response cache starts a new generation after each successful post (``app.py``)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog import service as catalog
from kino.catalog.models import Access, CreditRole, MovieStatus
from kino.catalog.schemas import CreditWrite, MovieCreate, MovieRead, MovieUpdate
from kino.catalog.search.dependencies import Search
from kino.catalog.service import MovieFilters, MovieSort
from kino.core.errors import InvalidInput
from kino.core.http import DbSession, IdPath
from kino.core.pagination import PageParams
from kino.media import service as media
from kino.web.admin.layout import render_admin
from kino.web.context import Web, WebContext
from kino.web.errors import PageRoute
from kino.web.forms import field_errors, optional_int
from kino.web.pages import Pages

router = APIRouter(prefix="/admin/movies", route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 25
PEOPLE_CHOICES = 8
SORTS = {
    MovieSort.CREATED_DESC: "Newest first",
    MovieSort.TITLE: "Title A to Z",
    MovieSort.YEAR_DESC: "Release year",
}
TEXT_FIELDS = ("title", "original_title", "year", "release_date", "runtime_minutes", "synopsis")
CHOICE_FIELDS = ("age_rating", "status", "access", "countries", "languages", "new_genres")
CREDIT_FIELDS = ("person", "person_id", "role", "character", "position")
ROLE_LABELS = {
    CreditRole.DIRECTOR: "Director",
    CreditRole.WRITER: "Writer",
    CreditRole.ACTOR: "Actor",
    CreditRole.PRODUCER: "Producer",
    CreditRole.COMPOSER: "Composer",
}

Choice = TypeVar("Choice", MovieStatus, MovieSort)
PageQuery = Annotated[int, Query(ge=1, le=10_000)]
SearchQuery = Annotated[str, Query(max_length=200)]
ChoiceQuery = Annotated[str, Query(max_length=100)]


# ---------------------------------------------------------------------------- the table


@router.get("")
async def movies_page(
    web: WebContext,
    session: DbSession,
    search: Search,
    q: SearchQuery = "",
    status: ChoiceQuery = "",
    genre: ChoiceQuery = "",
    sort: ChoiceQuery = "",
    page: PageQuery = 1,
) -> Response:
    web.require_staff()
    params: dict[str, Any] = {
        "q": q.strip(),
        "status": _choice(MovieStatus, status, "status"),
        "genre": genre.strip(),
        "sort": _choice(MovieSort, sort, "sort"),
    }
    filters = MovieFilters(
        q=params["q"] or None, status=params["status"], genre=params["genre"] or None
    )
    result = await catalog.list_movies(
        session,
        search,
        filters=filters,
        sort=params["sort"] or (None if filters.q else MovieSort.CREATED_DESC),
        paging=PageParams(page=page, page_size=PAGE_SIZE),
        include_drafts=True,
    )
    assets = await media.published_assets(session, [film.id for film in result.items])
    context = {
        "films": result.items,
        "with_video": set(assets),
        "total": result.total,
        "pages": Pages.of(page, result.total, PAGE_SIZE),
        "params": {name: value or "" for name, value in params.items()},
        "statuses": list(MovieStatus),
        "genres": await catalog.list_genres(session),
        "sorts": SORTS,
    }
    return render_admin(web, "admin/movies.html", "films", context)


def _choice(kind: type[Choice], value: str, name: str) -> Choice | None:
    """A choice from a filter's menu: empty is "any"; anything not on the menu is a 422 page."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(f"“{value}” is not a {name} this list knows.") from None


# ---------------------------------------------------------------------------- the form


@router.get("/new")
async def new_movie_page(web: WebContext, session: DbSession) -> Response:
    web.require_staff()
    values = _blank_values()
    return await _render_form(web, session, None, values)


@router.post("/new")
async def create_movie(web: WebContext, session: DbSession, search: Search) -> Response:
    web.require_staff()
    values = _posted_values(await web.form_lists())
    try:
        body = MovieCreate.model_validate(_movie_fields(values))
    except ValidationError as error:
        return await _render_form(web, session, None, values, field_errors(error), status=422)
    movie = await catalog.create_movie(session, search, body)
    return web.redirect(f"/admin/movies/{movie.id}/edit", flash="film_created")


@router.get("/{movie_id}/edit")
async def edit_movie_page(movie_id: IdPath, web: WebContext, session: DbSession) -> Response:
    web.require_staff()
    movie = await catalog.get_movie(session, movie_id, include_drafts=True)
    return await _render_form(web, session, movie, _movie_values(movie))


@router.post("/{movie_id}/edit")
async def save_movie(
    movie_id: IdPath, web: WebContext, session: DbSession, search: Search
) -> Response:
    web.require_staff()
    movie = await catalog.get_movie(session, movie_id, include_drafts=True)
    values = _posted_values(await web.form_lists())
    try:
        body = MovieUpdate.model_validate(_movie_fields(values))
    except ValidationError as error:
        return await _render_form(web, session, movie, values, field_errors(error), status=422)
    await catalog.update_movie(session, search, movie_id, body)
    return web.redirect(f"/admin/movies/{movie_id}/edit", flash="film_saved")


def _blank_values() -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(TEXT_FIELDS + CHOICE_FIELDS, "")
    values |= {"status": MovieStatus.DRAFT.value, "access": Access.FREE.value, "genres": []}
    return values


def _movie_values(movie: MovieRead) -> dict[str, Any]:
    """The film as its form shows it: text in every field, lists joined by commas."""
    values = _blank_values()
    for name in (*TEXT_FIELDS, "age_rating"):
        value = getattr(movie, name)
        values[name] = "" if value is None else str(value)
    values |= {
        "status": movie.status.value,
        "access": movie.access.value,
        "countries": ", ".join(movie.countries),
        "languages": ", ".join(movie.languages),
        "genres": [genre.name for genre in movie.genres],
    }
    return values


def _posted_values(form: dict[str, list[str]]) -> dict[str, Any]:
    values = _blank_values()
    for name in TEXT_FIELDS + CHOICE_FIELDS:
        if name in form:
            values[name] = form[name][-1]
    values["genres"] = form.get("genres", [])
    return values


def _movie_fields(values: dict[str, Any]) -> dict[str, Any]:
    """The form's text as the catalog's schema takes it: an empty field is "none"."""
    fields: dict[str, Any] = {
        name: values[name].strip() or None
        for name in ("original_title", "year", "release_date", "runtime_minutes", "age_rating")
    }
    fields |= {
        "title": values["title"],
        "synopsis": values["synopsis"].strip() or None,
        "status": values["status"],
        "access": values["access"],
        "genres": list(dict.fromkeys([*values["genres"], *_names(values["new_genres"])])),
        "countries": _names(values["countries"]),
        "languages": _names(values["languages"]),
    }
    return fields


def _names(text: str) -> list[str]:
    """``"Denmark, Sweden,"`` → ``["Denmark", "Sweden"]``."""
    return [name.strip() for name in text.split(",") if name.strip()]


async def _render_form(
    web: Web,
    session: AsyncSession,
    movie: MovieRead | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    *,
    status: int = 200,
    credit_errors: dict[str, str] | None = None,
    credit_values: dict[str, Any] | None = None,
) -> Response:
    known = [genre.name for genre in await catalog.list_genres(session)]
    chosen = [name for name in values["genres"] if name not in known]
    context = {
        "movie": movie,
        "values": values,
        "errors": errors or {},
        "genres": sorted([*known, *chosen], key=str.casefold),
        "statuses": list(MovieStatus),
        "accesses": list(Access),
        "roles": ROLE_LABELS,
        "credit_errors": credit_errors or {},
        "credit_values": credit_values or dict.fromkeys(CREDIT_FIELDS, "") | {"role": "actor"},
        "has_video": movie is not None and await media.published_asset(session, movie.id),
    }
    return render_admin(web, "admin/movie_form.html", "films", context, status=status)


# ---------------------------------------------------------------------------- credits


@router.post("/{movie_id}/credits")
async def add_credit(
    movie_id: IdPath, web: WebContext, session: DbSession, search: Search
) -> Response:
    """Adds one credit to the film's list. The person is the one chosen from the suggestions,
    or, without them (no script), the one person the typed name finds."""
    web.require_staff()
    movie = await catalog.get_movie(session, movie_id, include_drafts=True)
    form = await web.form()
    entered = {name: form.get(name, "") for name in CREDIT_FIELDS}
    person_id = optional_int(entered["person_id"])
    if person_id is None:
        person_id, problem = await _person_named(session, search, entered["person"])
        if problem:
            return await _credit_problem(web, session, movie, entered, {"person": problem})
    try:
        credit = CreditWrite.model_validate(
            {
                "person_id": person_id,
                "role": entered["role"],
                "character": entered["character"].strip() or None,
                "position": entered["position"].strip() or len(movie.credits),
            }
        )
    except ValidationError as error:
        return await _credit_problem(web, session, movie, entered, field_errors(error))
    if any(c.person.id == credit.person_id and c.role is credit.role for c in movie.credits):
        duplicate = {"person": "This person already has this role in the film."}
        return await _credit_problem(web, session, movie, entered, duplicate)
    credits = [*_credit_writes(movie), credit]
    await catalog.update_movie(session, search, movie_id, MovieUpdate(credits=credits))
    return web.redirect(f"/admin/movies/{movie_id}/edit#credits", flash="credit_added")


async def _person_named(
    session: AsyncSession, search: Search, name: str
) -> tuple[int | None, str | None]:
    name = name.strip()
    if not name:
        return None, "Type a name and choose the person."
    found = await catalog.list_people(
        session, search, q=name[:200], paging=PageParams(page=1, page_size=PEOPLE_CHOICES)
    )
    exact = [person for person in found.items if person.name.casefold() == name.casefold()]
    if len(exact) == 1 or (len(found.items) == 1 and not exact):
        return (exact or found.items)[0].id, None
    if not found.items:
        return None, f"No one called “{name}” is in the catalog; add them under People first."
    return None, "More than one person matches; choose one."


async def _credit_problem(
    web: Web,
    session: AsyncSession,
    movie: MovieRead,
    entered: dict[str, str],
    errors: dict[str, str],
) -> Response:
    return await _render_form(
        web,
        session,
        movie,
        _movie_values(movie),
        status=422,
        credit_errors=errors,
        credit_values=entered,
    )


@router.post("/{movie_id}/credits/remove")
async def remove_credit(
    movie_id: IdPath, web: WebContext, session: DbSession, search: Search
) -> Response:
    web.require_staff()
    movie = await catalog.get_movie(session, movie_id, include_drafts=True)
    form = await web.form()
    person_id, role = optional_int(form.get("person_id")), form.get("role")
    kept = [c for c in _credit_writes(movie) if (c.person_id, c.role.value) != (person_id, role)]
    if len(kept) != len(movie.credits):
        await catalog.update_movie(session, search, movie_id, MovieUpdate(credits=kept))
    return web.redirect(f"/admin/movies/{movie_id}/edit#credits", flash="credit_removed")


def _credit_writes(movie: MovieRead) -> list[CreditWrite]:
    return [
        CreditWrite(
            person_id=credit.person.id,
            role=credit.role,
            character=credit.character,
            position=credit.position,
        )
        for credit in movie.credits
    ]


@router.get("/people-choices")
async def people_choices(
    web: WebContext, session: DbSession, search: Search, person: SearchQuery = ""
) -> Response:
    """The people whose names match what is typed into the credits editor, as radio buttons
    to choose from (an htmx fragment)."""
    web.require_staff()
    name = person.strip()
    people = []
    if name:
        paging = PageParams(page=1, page_size=PEOPLE_CHOICES)
        people = (await catalog.list_people(session, search, q=name, paging=paging)).items
    return web.render("admin/_people_choices.html", {"people": people, "name": name})


# ---------------------------------------------------------------------------- deleting


@router.get("/{movie_id}/delete")
async def delete_movie_page(movie_id: IdPath, web: WebContext, session: DbSession) -> Response:
    web.require_staff()
    movie = await catalog.get_movie(session, movie_id, include_drafts=True)
    return render_admin(web, "admin/movie_delete.html", "films", {"movie": movie})


@router.post("/{movie_id}/delete")
async def delete_movie(
    movie_id: IdPath, web: WebContext, session: DbSession, search: Search
) -> Response:
    """A film with showtimes is kept: the service's 409 ``movie_in_use`` is the error page,
    after the transaction it broke is rolled back."""
    web.require_staff()
    await web.form()
    await catalog.delete_movie(session, search, movie_id)
    return web.redirect("/admin/movies", flash="film_deleted")
