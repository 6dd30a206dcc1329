"""The search index of the running app, as a FastAPI dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from kino.catalog.search import SearchIndex


async def _search_index(request: Request) -> SearchIndex:
    index: SearchIndex = request.app.state.search
    return index


Search = Annotated[SearchIndex, Depends(_search_index)]
