"""Films as the pages show them: a card with its poster (the published video's frame, served
by ``/posters``) or, for a film without a video, a placeholder drawn from its title."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog.schemas import MovieSummary
from kino.media import service as media
from kino.media.models import MediaAsset

PosterSize = Literal["small", "large"]
# Which stored image each size is: a 320-pixel thumbnail for cards, 1280 for a film's page.
POSTER_WIDTHS: dict[PosterSize, str] = {"small": "320", "large": "1280"}


@dataclass(frozen=True)
class Card:
    id: int
    title: str
    year: int | None
    runtime_minutes: int | None
    age_rating: str | None
    genres: list[str]
    rating_avg: float | None
    poster: str | None
    # For a film the viewer is part-way through: how far, from 0 to 1.
    progress: float | None = None


async def movie_cards(session: AsyncSession, films: Sequence[MovieSummary]) -> list[Card]:
    assets = await media.published_assets(session, [film.id for film in films])
    return [card(film, assets.get(film.id)) for film in films]


def card(film: MovieSummary, asset: MediaAsset | None, *, progress: float | None = None) -> Card:
    return Card(
        id=film.id,
        title=film.title,
        year=film.year,
        runtime_minutes=film.runtime_minutes,
        age_rating=film.age_rating,
        genres=film.genres,
        rating_avg=film.rating_avg,
        poster=poster_url(film.id, asset, "small"),
        progress=progress,
    )


def poster_url(movie_id: int, asset: MediaAsset | None, size: PosterSize) -> str | None:
    """The film's poster at ``size``, or None when it has no published video with images. The
    asset id in the query changes with each new version, so browsers may cache a poster."""
    if asset is None or poster_key(asset, size) is None:
        return None
    return f"/posters/{movie_id}/{size}.jpg?v={asset.id}"


def poster_key(asset: MediaAsset, size: PosterSize) -> str | None:
    """The storage key of the asset's image for ``size`` (the poster itself when the thumbnail
    is missing)."""
    images: dict[str, Any] = asset.images or {}
    thumbnails = images.get("thumbnails") or {}
    relative = thumbnails.get(POSTER_WIDTHS[size]) or images.get("poster")
    return asset.prefix + relative if isinstance(relative, str) else None
