"""Community rules for one viewer and one film: favorites, likes and ratings, and what a viewer
has done with a film (for the film page). Reviews are in ``reviews.py``, comments in
``comments.py``; both use the helpers at the top of this file.

Knows nothing of HTTP. Counts kept on the film row (``like_count``, ``rating_avg``,
``rating_count``) change in the transaction that changes what they count, after a lock on the
film row: concurrent votes on one film queue there, so each recount sees every vote committed
before it (PostgreSQL's READ COMMITTED gives each statement a fresh snapshot; SQLite has one
writer at a time anyway). One row per user and film is the table's primary key, and writes are
``INSERT … ON CONFLICT``, so a duplicate request racing another is not an error.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog import service as catalog
from kino.catalog.models import Movie, MovieStatus
from kino.community.models import Favorite, MovieLike, Rating
from kino.community.schemas import (
    FavoriteRead,
    LikeState,
    RatingState,
    ViewerState,
)
from kino.core.db import Base, utcnow
from kino.core.errors import NotFound
from kino.core.pagination import Page, PageParams
from kino.identity.models import MODERATOR_ROLES, STAFF_ROLES, User

# ---------------------------------------------------------------------------- shared rules


def is_moderator(actor: User | None) -> bool:
    return actor is not None and actor.role in MODERATOR_ROLES


def sees_drafts(actor: User | None) -> bool:
    """Managers and admins see draft films; everyone else is told they do not exist."""
    return actor is not None and actor.role in STAFF_ROLES


def check_movie_visible(status: MovieStatus | None, actor: User | None, movie_id: int) -> None:
    if status is None or (status is MovieStatus.DRAFT and not sees_drafts(actor)):
        raise NotFound(f"There is no film with id {movie_id}.")


async def ensure_movie_visible(session: AsyncSession, actor: User | None, movie_id: int) -> None:
    """NotFound unless the film exists and the actor may see it (drafts: staff only)."""
    try:
        status = await catalog.movie_status(session, movie_id)
    except NotFound:
        status = None
    check_movie_visible(status, actor, movie_id)


async def lock_visible_movie(session: AsyncSession, actor: User, movie_id: int) -> None:
    """Like ``ensure_movie_visible``, holding the film row until the transaction ends.

    FOR NO KEY UPDATE: it queues the writers of the film's counts but not the inserts of rows
    that merely reference the film (their foreign-key checks take KEY SHARE)."""
    status = await session.scalar(
        select(Movie.status).where(Movie.id == movie_id).with_for_update(key_share=True)
    )
    check_movie_visible(status, actor, movie_id)


def upsert(session: AsyncSession, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """``INSERT`` with ``on_conflict_do_nothing`` / ``on_conflict_do_update`` for the session's
    database (both dialects spell it the same way in SQLAlchemy)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


async def display_names(session: AsyncSession, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not user_ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))
    return {row.id: row.display_name for row in rows}


# ---------------------------------------------------------------------------- favorites


async def add_favorite(session: AsyncSession, actor: User, movie_id: int) -> FavoriteRead:
    """Idempotent: a film already in the favorites keeps the moment it was added."""
    await ensure_movie_visible(session, actor, movie_id)
    try:
        await session.execute(
            upsert(session, Favorite)
            .values(user_id=actor.id, movie_id=movie_id, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["user_id", "movie_id"])
        )
    except IntegrityError:  # the film was deleted since the check above
        raise NotFound(f"There is no film with id {movie_id}.") from None
    created_at = await session.scalar(
        select(Favorite.created_at).where(
            Favorite.user_id == actor.id, Favorite.movie_id == movie_id
        )
    )
    assert created_at is not None  # inserted above, or already there
    [movie] = await catalog.movie_summaries(session, [movie_id])
    return FavoriteRead(movie=movie, created_at=created_at)


async def remove_favorite(session: AsyncSession, actor: User, movie_id: int) -> None:
    """Idempotent: removing a film that is not a favorite changes nothing."""
    await ensure_movie_visible(session, actor, movie_id)
    await session.execute(
        delete(Favorite).where(Favorite.user_id == actor.id, Favorite.movie_id == movie_id)
    )


async def list_favorites(
    session: AsyncSession, actor: User, *, paging: PageParams
) -> Page[FavoriteRead]:
    """The actor's favorites, newest first; films that went back to draft are left out."""
    query = (
        select(Favorite.movie_id, Favorite.created_at)
        .join(Movie, Movie.id == Favorite.movie_id)
        .where(Favorite.user_id == actor.id)
    )
    if not sees_drafts(actor):
        query = query.where(Movie.status == MovieStatus.PUBLISHED)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = (
        await session.execute(
            query.order_by(Favorite.created_at.desc(), Favorite.movie_id.desc())
            .offset(paging.offset)
            .limit(paging.page_size)
        )
    ).all()
    movies = {m.id: m for m in await catalog.movie_summaries(session, [r.movie_id for r in rows])}
    items = [
        FavoriteRead(movie=movies[row.movie_id], created_at=row.created_at)
        for row in rows
        if row.movie_id in movies
    ]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


# ---------------------------------------------------------------------------- likes


async def like_movie(session: AsyncSession, actor: User, movie_id: int) -> LikeState:
    await lock_visible_movie(session, actor, movie_id)
    added = await session.scalar(
        upsert(session, MovieLike)
        .values(movie_id=movie_id, user_id=actor.id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["movie_id", "user_id"])
        .returning(MovieLike.movie_id)
    )
    if added is not None:
        await _change_like_count(session, movie_id, +1)
    return await _like_state(session, actor, movie_id)


async def unlike_movie(session: AsyncSession, actor: User, movie_id: int) -> LikeState:
    await lock_visible_movie(session, actor, movie_id)
    removed = await session.scalar(
        delete(MovieLike)
        .where(MovieLike.movie_id == movie_id, MovieLike.user_id == actor.id)
        .returning(MovieLike.movie_id)
    )
    if removed is not None:
        await _change_like_count(session, movie_id, -1)
    return await _like_state(session, actor, movie_id)


async def _change_like_count(session: AsyncSession, movie_id: int, change: int) -> None:
    await session.execute(
        update(Movie)
        .where(Movie.id == movie_id)
        # updated_at kept: a like is not an edit of the film
        .values(like_count=Movie.like_count + change, updated_at=Movie.updated_at)
        .execution_options(synchronize_session=False)
    )


async def _like_state(session: AsyncSession, actor: User, movie_id: int) -> LikeState:
    liked = exists().where(MovieLike.movie_id == movie_id, MovieLike.user_id == actor.id)
    row = (await session.execute(select(Movie.like_count, liked).where(Movie.id == movie_id))).one()
    return LikeState(movie_id=movie_id, liked=bool(row[1]), like_count=row[0])


# ---------------------------------------------------------------------------- ratings


async def rate_movie(
    session: AsyncSession, actor: User, movie_id: int, *, score: int
) -> RatingState:
    """Set the actor's score for the film (a new one replaces the old) and recount the film."""
    await lock_visible_movie(session, actor, movie_id)
    now = utcnow()
    insert = upsert(session, Rating).values(
        movie_id=movie_id, user_id=actor.id, score=score, created_at=now, updated_at=now
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["movie_id", "user_id"],
            set_={"score": insert.excluded.score, "updated_at": now},
        )
    )
    await _recount_ratings(session, movie_id)
    return await _rating_state(session, actor, movie_id)


async def unrate_movie(session: AsyncSession, actor: User, movie_id: int) -> RatingState:
    await lock_visible_movie(session, actor, movie_id)
    removed = await session.scalar(
        delete(Rating)
        .where(Rating.movie_id == movie_id, Rating.user_id == actor.id)
        .returning(Rating.movie_id)
    )
    if removed is not None:
        await _recount_ratings(session, movie_id)
    return await _rating_state(session, actor, movie_id)


async def rating_state(session: AsyncSession, actor: User, movie_id: int) -> RatingState:
    """The actor's score for the film (None if unrated), with the film's average and count."""
    await ensure_movie_visible(session, actor, movie_id)
    return await _rating_state(session, actor, movie_id)


async def _rating_state(session: AsyncSession, actor: User, movie_id: int) -> RatingState:
    mine = (
        select(Rating.score)
        .where(Rating.movie_id == movie_id, Rating.user_id == actor.id)
        .scalar_subquery()
    )
    row = (
        await session.execute(
            select(Movie.rating_avg, Movie.rating_count, mine).where(Movie.id == movie_id)
        )
    ).one()
    return RatingState(movie_id=movie_id, rating_avg=row[0], rating_count=row[1], my_rating=row[2])


async def _recount_ratings(session: AsyncSession, movie_id: int) -> None:
    """Average and count from the ratings table itself, so they never drift; the caller holds
    the film row's lock (see the module's docstring)."""
    of_movie = Rating.movie_id == movie_id
    await session.execute(
        update(Movie)
        .where(Movie.id == movie_id)
        .values(
            rating_avg=select(func.avg(Rating.score)).where(of_movie).scalar_subquery(),
            rating_count=select(func.count()).select_from(Rating).where(of_movie).scalar_subquery(),
            updated_at=Movie.updated_at,
        )
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------------------- the film page


async def viewer_state(session: AsyncSession, actor: User, movie_id: int) -> ViewerState:
    """Whether the actor likes and has favorited the film, and their score (None if unrated).
    The caller has checked that the film is visible to the actor."""
    liked = exists().where(MovieLike.movie_id == movie_id, MovieLike.user_id == actor.id)
    favorite = exists().where(Favorite.movie_id == movie_id, Favorite.user_id == actor.id)
    score = (
        select(Rating.score)
        .where(Rating.movie_id == movie_id, Rating.user_id == actor.id)
        .scalar_subquery()
    )
    row = (await session.execute(select(liked, favorite, score))).one()
    return ViewerState(liked=bool(row[0]), favorite=bool(row[1]), my_rating=row[2])
