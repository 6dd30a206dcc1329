"""``/posters/{movie_id}/{size}.jpg``: a published film's poster, for anyone.

Posters live inside the film's asset, whose signed stream path would also open its video; so
they are read from storage here and sent alone, for films that are published (drafts: staff).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from kino.catalog import service as catalog
from kino.catalog.models import MovieStatus
from kino.core.errors import NotFound
from kino.core.http import DbSession, IdPath
from kino.identity.dependencies import OptionalUser, is_staff
from kino.media import service as media
from kino.media.dependencies import MediaStorage
from kino.media.errors import ObjectNotFound
from kino.web.cards import PosterSize, poster_key

router = APIRouter(include_in_schema=False)

POSTER_CACHE = "public, max-age=86400"


class PosterNotFound(NotFound):
    code = "poster_not_found"

    def __init__(self, movie_id: int) -> None:
        super().__init__(f"Film {movie_id} has no poster.")


@router.get("/posters/{movie_id}/{size}.jpg")
async def poster(
    movie_id: IdPath,
    size: PosterSize,
    session: DbSession,
    storage: MediaStorage,
    user: OptionalUser,
) -> Response:
    status = await catalog.movie_status(session, movie_id)
    if status is MovieStatus.DRAFT and not is_staff(user):
        raise PosterNotFound(movie_id)
    asset = await media.published_asset(session, movie_id)
    key = poster_key(asset, size) if asset is not None else None
    if key is None:
        raise PosterNotFound(movie_id)
    try:
        image = await storage.get_bytes(key)
    except ObjectNotFound:
        raise PosterNotFound(movie_id) from None
    return Response(image, media_type="image/jpeg", headers={"Cache-Control": POSTER_CACHE})
