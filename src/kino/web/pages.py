"""The viewer's catalog pages: home, browse, search (and its suggestions as you type), a
person. The film page is in ``film_page.py``, the player in ``watch.py``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog import service as catalog
from kino.catalog.models import CreditRole
from kino.catalog.schemas import FilmographyEntry, GenreRead
from kino.catalog.search.dependencies import Search
from kino.catalog.search.service import search_catalog
from kino.catalog.service import MovieFilters, MovieSort
from kino.core.cache import Cache
from kino.core.http import AppCache, DbSession, IdPath
from kino.core.pagination import PageParams
from kino.identity.models import User
from kino.media import service as media
from kino.playback import service as playback
from kino.web.cards import Card, card, movie_cards
from kino.web.context import Web, WebContext
from kino.web.errors import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ROW_SIZE = 12
BROWSE_PAGE_SIZE = 24
SEARCH_RESULTS = 30
SUGGESTIONS = 5
SORT_LABELS = {
    MovieSort.POPULARITY_DESC: "Most popular",
    MovieSort.CREATED_DESC: "Newest on Kino",
    MovieSort.YEAR_DESC: "Release year",
    MovieSort.RATING_DESC: "Best rated",
    MovieSort.TITLE: "Title A to Z",
}
ROLE_HEADINGS = {
    CreditRole.DIRECTOR: "Director",
    CreditRole.WRITER: "Writer",
    CreditRole.ACTOR: "Actor",
    CreditRole.PRODUCER: "Producer",
    CreditRole.COMPOSER: "Composer",
}

Text = Annotated[str | None, Query(max_length=100)]
YearQuery = Annotated[int | None, Query(ge=1870, le=2100)]
PageQuery = Annotated[int, Query(ge=1, le=10_000)]


@dataclass(frozen=True)
class Row:
    title: str
    cards: list[Card]
    more_url: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class Pages:
    """Where a paged list is: the current page, the last one, and the numbers to link to
    (None marks a gap)."""

    current: int
    last: int

    @classmethod
    def of(cls, current: int, total: int, page_size: int) -> Pages:
        return cls(current, max(1, -(-total // page_size)))

    @property
    def numbers(self) -> list[int | None]:
        wanted = {1, self.last, *range(self.current - 2, self.current + 3)}
        shown = sorted(n for n in wanted if 1 <= n <= self.last)
        numbers: list[int | None] = []
        for number in shown:
            if numbers and number - (numbers[-1] or 0) > 1:
                numbers.append(None)
            numbers.append(number)
        return numbers


# ---------------------------------------------------------------------------- home


@router.get("/")
async def home(
    web: WebContext, session: DbSession, search: Search, counts: AppCache
) -> HTMLResponse:
    rows: list[Row] = []
    if web.user is not None:
        rows.append(await _continue_watching(session, web, web.user))
    rows.append(
        Row(
            "New on Kino",
            await _films(session, search, web, counts, sort=MovieSort.CREATED_DESC),
            "/movies?sort=-created_at",
            "new",
        )
    )
    rows.append(
        Row(
            "Most popular",
            await _films(session, search, web, counts, sort=MovieSort.POPULARITY_DESC),
            "/movies?sort=-popularity",
            "popular",
        )
    )
    for genre in await catalog.list_genres(session):
        rows.append(await _genre_row(session, search, web, counts, genre))
    return web.render("home.html", {"rows": [row for row in rows if row.cards]})


async def _continue_watching(session: AsyncSession, web: Web, user: User) -> Row:
    page = await playback.continue_watching(
        session, web.settings, user, PageParams(page=1, page_size=ROW_SIZE)
    )
    summaries = await catalog.movie_summaries(session, [item.movie.id for item in page.items])
    films = {film.id: film for film in summaries}
    assets = await media.published_assets(session, list(films))
    cards = [
        card(
            films[item.movie.id],
            assets.get(item.movie.id),
            progress=_fraction(item.position_seconds, item.duration_seconds),
        )
        for item in page.items
        if item.movie.id in films
    ]
    return Row("Continue watching", cards, "/account/history", "continue-watching")


def _fraction(position: float, duration: float | None) -> float | None:
    if not duration:
        return None
    return max(0.0, min(1.0, position / duration))


async def _genre_row(
    session: AsyncSession, search: Search, web: Web, counts: Cache, genre: GenreRead
) -> Row:
    cards = await _films(
        session,
        search,
        web,
        counts,
        sort=MovieSort.POPULARITY_DESC,
        filters=MovieFilters(genre=genre.slug),
    )
    return Row(genre.name, cards, f"/movies?genre={genre.slug}", f"genre-{genre.slug}")


async def _films(
    session: AsyncSession,
    search: Search,
    web: Web,
    counts: Cache,
    *,
    sort: MovieSort,
    filters: MovieFilters | None = None,
) -> list[Card]:
    page = await catalog.list_movies(
        session,
        search,
        filters=filters or MovieFilters(),
        sort=sort,
        paging=PageParams(page=1, page_size=ROW_SIZE),
        include_drafts=web.is_staff,
        counts=counts,
    )
    return await movie_cards(session, page.items)


# ---------------------------------------------------------------------------- browse


@router.get("/movies")
async def browse(
    web: WebContext,
    session: DbSession,
    search: Search,
    counts: AppCache,
    genre: Text = None,
    year_from: YearQuery = None,
    year_to: YearQuery = None,
    country: Text = None,
    language: Text = None,
    age_rating: Annotated[str | None, Query(max_length=16)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: MovieSort | None = None,
    page: PageQuery = 1,
) -> HTMLResponse:
    params: dict[str, Any] = {
        "genre": genre or None,
        "year_from": year_from,
        "year_to": year_to,
        "country": (country or "").strip() or None,
        "language": (language or "").strip() or None,
        "age_rating": (age_rating or "").strip() or None,
        "q": (q or "").strip() or None,
        "sort": sort.value if sort else None,
    }
    filters = MovieFilters(**{k: v for k, v in params.items() if k != "sort"})
    result = await catalog.list_movies(
        session,
        search,
        filters=filters,
        sort=sort,
        paging=PageParams(page=page, page_size=BROWSE_PAGE_SIZE),
        include_drafts=web.is_staff,
        counts=counts,
    )
    return web.render(
        "browse.html",
        {
            "cards": await movie_cards(session, result.items),
            "total": result.total,
            "pages": Pages.of(page, result.total, BROWSE_PAGE_SIZE),
            "params": params,
            "genres": await catalog.list_genres(session),
            "sorts": SORT_LABELS,
            "relevance": params["q"] is not None,
        },
    )


# ---------------------------------------------------------------------------- search


@router.get("/search")
async def search_page(
    web: WebContext,
    session: DbSession,
    search: Search,
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    query = q.strip()
    results = None
    if query:
        results = await search_catalog(
            session, search, query, limit=SEARCH_RESULTS, include_drafts=web.is_staff
        )
    cards = await movie_cards(session, results.movies) if results else []
    people = results.people if results else []
    return web.render("search.html", {"search_query": query, "cards": cards, "people": people})


@router.get("/search/suggest")
async def suggest(
    web: WebContext,
    session: DbSession,
    search: Search,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The few best films and people for what is typed so far, as the list under the search
    box (an htmx fragment)."""
    query = q.strip()
    if not query:
        return HTMLResponse("")
    results = await search_catalog(
        session, search, query, limit=SUGGESTIONS, include_drafts=web.is_staff
    )
    return web.render(
        "_suggestions.html",
        {
            "query": query,
            "cards": await movie_cards(session, results.movies),
            "people": results.people,
        },
    )


# ---------------------------------------------------------------------------- people


@router.get("/people/{person_id}")
async def person_page(person_id: IdPath, web: WebContext, session: DbSession) -> HTMLResponse:
    person = await catalog.get_person(session, person_id, include_drafts=web.is_staff)
    cards = {c.id: c for c in await movie_cards(session, [e.movie for e in person.filmography])}
    sections = _filmography(person.filmography, cards)
    return web.render("person.html", {"person": person, "sections": sections})


@dataclass(frozen=True)
class Credited:
    card: Card
    character: str | None


def _filmography(
    entries: list[FilmographyEntry], cards: dict[int, Card]
) -> list[tuple[str, list[Credited]]]:
    """The person's films by role (directing first, as the catalog orders roles), newest
    first within each."""
    by_role: dict[CreditRole, list[Credited]] = {}
    for entry in entries:
        by_role.setdefault(entry.role, []).append(Credited(cards[entry.movie.id], entry.character))
    return [(ROLE_HEADINGS[role], by_role[role]) for role in CreditRole if role in by_role]
