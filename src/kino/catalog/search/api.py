"""``GET /api/v1/search``: films and people for a query."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import StringConstraints

from kino.catalog.schemas import SearchResults
from kino.catalog.search.dependencies import Search
from kino.catalog.search.service import search_catalog
from kino.core.http import DbSession
from kino.identity.dependencies import OptionalUser, is_staff

router = APIRouter(tags=["search"])

SearchText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


@router.get("/search")
async def search(
    q: Annotated[SearchText, Query(description="What to look for; typos are forgiven.")],
    session: DbSession,
    user: OptionalUser,
    index: Search,
    limit: Annotated[int, Query(ge=1, le=50, description="Films and people, each.")] = 10,
) -> SearchResults:
    """Published films (drafts too, for staff) and people matching ``q``, best first."""
    return await search_catalog(session, index, q, limit=limit, include_drafts=is_staff(user))
