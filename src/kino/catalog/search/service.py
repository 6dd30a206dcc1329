"""The search page's answer: the best films and people for a query, as summaries."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import BigInteger, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog.models import Person
from kino.catalog.schemas import PersonSummary, SearchResults
from kino.catalog.search import SearchIndex
from kino.catalog.service import MAX_IDS_PER_READ, movie_summaries
from kino.core.reads import DriverRead


async def search_catalog(
    session: AsyncSession, index: SearchIndex, query: str, *, limit: int, include_drafts: bool
) -> SearchResults:
    """Films and people for ``query``, best first; drafts only for ``include_drafts``."""
    hits = await index.search(session, query, limit=limit, include_drafts=include_drafts)
    return SearchResults(
        query=query,
        movies=await movie_summaries(session, hits.movie_ids),
        people=await person_summaries(session, hits.person_ids),
    )


async def person_summaries(session: AsyncSession, person_ids: Sequence[int]) -> list[PersonSummary]:
    """Summaries of these people, in the order of ``person_ids`` (missing ids are skipped)."""
    if not person_ids:
        return []
    by_id: dict[int, PersonSummary] = {}
    for start in range(0, len(person_ids), MAX_IDS_PER_READ):
        ids = person_ids[start : start + MAX_IDS_PER_READ]
        parameters = {f"id_{number}": person_id for number, person_id in enumerate(ids)}
        for id_, slug, name in await _people_read(len(ids)).rows(session, **parameters):
            by_id[id_] = PersonSummary(id=id_, slug=slug, name=name)
    return [by_id[person_id] for person_id in person_ids if person_id in by_id]


@functools.cache
def _people_read(count: int) -> DriverRead:
    ids = [bindparam(f"id_{number}", type_=BigInteger()) for number in range(count)]
    return DriverRead(select(Person.id, Person.slug, Person.name).where(Person.id.in_(ids)))
