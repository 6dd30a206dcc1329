"""Typo-tolerant search over films and people, behind one port with two adapters:
SQLite FTS5 (embedded) and PostgreSQL tsvector (distributed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class SearchHits:
    """Ids of the films and of the people matching a query, best first."""

    movie_ids: list[int]
    person_ids: list[int]


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

    async def search_movies(
        self, session: AsyncSession, query: str, *, limit: int, include_drafts: bool = True
    ) -> list[int]:
        """Ids of films matching ``query``, best first; drafts included unless
        ``include_drafts`` is False (then ``limit`` published films come back when there are)."""

    async def search_people(self, session: AsyncSession, query: str, *, limit: int) -> list[int]:
        """Ids of people matching ``query``, best first."""

    async def search(
        self, session: AsyncSession, query: str, *, limit: int, include_drafts: bool = True
    ) -> SearchHits:
        """Films and people for ``query`` at once, up to ``limit`` of each: what
        ``search_movies`` and ``search_people`` would answer, for less work than both."""


def search_index_for(dialect_name: str) -> SearchIndex:
    """The adapter for a database dialect ("sqlite" or "postgresql")."""
    if dialect_name == "sqlite":
        from kino.catalog.search.sqlite import SqliteSearchIndex

        return SqliteSearchIndex()
    if dialect_name == "postgresql":
        from kino.catalog.search.postgres import PostgresSearchIndex

        return PostgresSearchIndex()
    raise ValueError(f"search has no adapter for the {dialect_name!r} database")
