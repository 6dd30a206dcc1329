"""Which demo films get the demo's videos and showtimes: well-known ones named by title and year,
found through the catalog service like any client finds them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog import service as catalog
from kino.catalog.schemas import MovieSummary
from kino.catalog.search import SearchIndex
from kino.core.pagination import PageParams

# How far down the most popular films a stand-in is looked for.
STAND_IN_WINDOW = 100


@dataclass(frozen=True)
class FilmName:
    title: str
    year: int


async def pick_films(
    session: AsyncSession,
    search: SearchIndex,
    names: Sequence[FilmName],
    *,
    with_runtime: bool = False,
) -> list[MovieSummary | None]:
    """The published film so named, for each name. One the catalog lacks (a demo catalog cut
    short, a film deleted or hidden since) is stood in for by the most popular published film
    not picked yet, so the choice is the same on every run over the same catalog; None when
    there is none left. ``with_runtime``: only films whose runtime is known (a showtime needs
    it)."""
    picked = [await _film_named(session, search, name) for name in names]
    if with_runtime:
        picked = [film if film and film.runtime_minutes else None for film in picked]
    if None in picked:
        taken = {film.id for film in picked if film is not None}
        stand_ins = iter(
            film
            for film in await _most_popular(session, search)
            if film.id not in taken and (film.runtime_minutes or not with_runtime)
        )
        picked = [film or next(stand_ins, None) for film in picked]
    return picked


async def _film_named(
    session: AsyncSession, search: SearchIndex, name: FilmName
) -> MovieSummary | None:
    found = await catalog.list_movies(
        session,
        search,
        filters=catalog.MovieFilters(q=name.title, year_from=name.year, year_to=name.year),
        sort=None,
        paging=PageParams(page_size=20),
        include_drafts=False,
    )
    wanted = name.title.casefold()
    return next((film for film in found.items if film.title.casefold() == wanted), None)


async def _most_popular(session: AsyncSession, search: SearchIndex) -> list[MovieSummary]:
    page = await catalog.list_movies(
        session,
        search,
        filters=catalog.MovieFilters(),
        sort=catalog.MovieSort.POPULARITY_DESC,
        paging=PageParams(page_size=STAND_IN_WINDOW),
        include_drafts=False,
    )
    return page.items
