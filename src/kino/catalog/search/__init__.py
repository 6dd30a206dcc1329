"""Typo-tolerant search over films and people, behind one port with two adapters:
SQLite FTS5 (embedded) and PostgreSQL tsvector + pg_trgm (distributed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class SearchIndex(Protocol):
    """What the catalog asks of a search engine. Every method works inside the caller's
    transaction: an index change commits or rolls back with the catalog change."""

    async def index_movies(self, session: AsyncSession, movie_ids: Sequence[int]) -> None:
        """(Re)index these films from their rows: title, original title, credited people."""

    async def remove_movies(self, session: AsyncSession, movie_ids: Sequence[int]) -> None:
        """Drop these films from the index."""

    async def index_people(self, session: AsyncSession, person_ids: Sequence[int]) -> None:
        """(Re)index these people by name (and the films that credit them)."""

    async def remove_people(self, session: AsyncSession, person_ids: Sequence[int]) -> None:
        """Drop these people from the index."""

    async def rebuild(self, session: AsyncSession) -> None:
        """Rebuild the whole index from the catalog tables (after a bulk import)."""

    async def search_movies(self, session: AsyncSession, query: str, *, limit: int) -> list[int]:
        """Ids of films matching ``query``, best first; drafts included (callers filter)."""

    async def search_people(self, session: AsyncSession, query: str, *, limit: int) -> list[int]:
        """Ids of people matching ``query``, best first."""
