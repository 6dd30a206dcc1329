"""The search page's answer: the best films and people for a query, as summaries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog.models import Person
from kino.catalog.schemas import PersonSummary, SearchResults
from kino.catalog.search import SearchIndex
from kino.catalog.service import movie_summaries


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
    rows = await session.execute(
        select(Person.id, Person.slug, Person.name).where(Person.id.in_(person_ids))
    )
    by_id = {row.id: PersonSummary(id=row.id, slug=row.slug, name=row.name) for row in rows}
    return [by_id[person_id] for person_id in person_ids if person_id in by_id]
