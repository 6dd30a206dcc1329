"""Reviews: one per viewer and film, helpfulness votes (one per voter, changeable, never on one's
own review) and moderation. A review hidden by a moderator is seen only by its author and by
moderators; to everyone else it does not exist. Knows nothing of HTTP."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog.models import Movie, MovieStatus
from kino.community.errors import (
    NotReviewAuthor,
    OwnReviewVote,
    ReviewExists,
    ReviewHidden,
    ReviewNotFound,
)
from kino.community.models import Review, ReviewStatus, ReviewVote
from kino.community.schemas import Author, ReviewCreate, ReviewRead, ReviewUpdate
from kino.community.service import (
    check_movie_visible,
    display_names,
    ensure_movie_visible,
    is_moderator,
    sees_drafts,
    upsert,
)
from kino.core.db import utcnow
from kino.core.errors import NotFound
from kino.core.pagination import Page, PageParams
from kino.identity.models import User


class ReviewSort(enum.StrEnum):
    NEWEST = "newest"
    HELPFUL = "helpful"


# ---------------------------------------------------------------------------- reading


async def list_movie_reviews(
    session: AsyncSession,
    actor: User | None,
    movie_id: int,
    *,
    paging: PageParams,
    sort: ReviewSort = ReviewSort.NEWEST,
) -> Page[ReviewRead]:
    """A film's reviews: visible ones, plus the actor's own hidden one; moderators see all."""
    await ensure_movie_visible(session, actor, movie_id)
    query = select(Review).where(Review.movie_id == movie_id, _readable_by(actor))
    return await _page(session, actor, query, paging=paging, sort=sort)


async def list_my_reviews(
    session: AsyncSession, actor: User, *, paging: PageParams
) -> Page[ReviewRead]:
    """The actor's reviews, hidden ones included, newest first."""
    query = (
        select(Review).join(Movie, Movie.id == Review.movie_id).where(Review.user_id == actor.id)
    )
    if not sees_drafts(actor):
        query = query.where(Movie.status == MovieStatus.PUBLISHED)
    return await _page(session, actor, query, paging=paging, sort=ReviewSort.NEWEST)


async def get_review(session: AsyncSession, actor: User | None, review_id: int) -> ReviewRead:
    review = await _readable_review(session, actor, review_id)
    [read] = await _reads(session, actor, [review])
    return read


def _readable_by(actor: User | None) -> ColumnElement[bool]:
    if is_moderator(actor):
        return Review.id.is_not(None)
    if actor is None:
        return Review.status == ReviewStatus.VISIBLE
    return or_(Review.status == ReviewStatus.VISIBLE, Review.user_id == actor.id)


async def _page(
    session: AsyncSession,
    actor: User | None,
    query: Select[Review],
    *,
    paging: PageParams,
    sort: ReviewSort,
) -> Page[ReviewRead]:
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    if sort is ReviewSort.HELPFUL:
        query = query.order_by(Review.helpful_count.desc(), Review.id.desc())
    else:
        query = query.order_by(Review.created_at.desc(), Review.id.desc())
    query = query.offset(paging.offset).limit(paging.page_size)
    reviews = (await session.scalars(query.execution_options(populate_existing=True))).all()
    items = await _reads(session, actor, reviews)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


async def _readable_review(
    session: AsyncSession, actor: User | None, review_id: int, *, lock: bool = False
) -> Review:
    """The review, if the actor may see it and its film; ``lock`` holds its row (for recounts)."""
    query = (
        select(Review, Movie.status)
        .join(Movie, Movie.id == Review.movie_id)
        .where(Review.id == review_id, _readable_by(actor))
        .execution_options(populate_existing=True)
    )
    if lock:
        query = query.with_for_update(of=Review, key_share=True)
    row = (await session.execute(query)).one_or_none()
    if row is None:
        raise ReviewNotFound(review_id)
    try:
        check_movie_visible(row.status, actor, row.Review.movie_id)
    except NotFound:
        raise ReviewNotFound(review_id) from None
    review: Review = row.Review
    return review


async def _reads(
    session: AsyncSession, actor: User | None, reviews: Sequence[Review]
) -> list[ReviewRead]:
    names = await display_names(session, {review.user_id for review in reviews})
    votes = await _votes_of(session, actor, [review.id for review in reviews])
    return [
        ReviewRead(
            id=review.id,
            movie_id=review.movie_id,
            author=Author(id=review.user_id, display_name=names.get(review.user_id, "")),
            title=review.title,
            body=review.body,
            score=review.score,
            spoiler=review.spoiler,
            status=review.status,
            helpful_count=review.helpful_count,
            unhelpful_count=review.unhelpful_count,
            my_vote=votes.get(review.id),
            created_at=review.created_at,
            updated_at=review.updated_at,
        )
        for review in reviews
    ]


async def _votes_of(
    session: AsyncSession, actor: User | None, review_ids: list[int]
) -> dict[int, bool]:
    if actor is None or not review_ids:
        return {}
    rows = await session.execute(
        select(ReviewVote.review_id, ReviewVote.helpful).where(
            ReviewVote.user_id == actor.id, ReviewVote.review_id.in_(review_ids)
        )
    )
    return {row.review_id: row.helpful for row in rows}


# ---------------------------------------------------------------------------- writing


async def create_review(
    session: AsyncSession, actor: User, movie_id: int, body: ReviewCreate
) -> ReviewRead:
    """One review per viewer and film: a second one (even one racing the first) is refused."""
    await ensure_movie_visible(session, actor, movie_id)
    now = utcnow()
    try:
        review_id = await session.scalar(
            upsert(session, Review)
            .values(
                movie_id=movie_id,
                user_id=actor.id,
                title=body.title,
                body=body.body,
                score=body.score,
                spoiler=body.spoiler,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["movie_id", "user_id"])
            .returning(Review.id)
        )
    except IntegrityError:  # the film was deleted since the check above
        raise NotFound(f"There is no film with id {movie_id}.") from None
    if review_id is None:
        raise ReviewExists(await _review_id_of(session, actor.id, movie_id))
    return await get_review(session, actor, review_id)


async def _review_id_of(session: AsyncSession, user_id: uuid.UUID, movie_id: int) -> int | None:
    return await session.scalar(
        select(Review.id).where(Review.user_id == user_id, Review.movie_id == movie_id)
    )


async def update_review(
    session: AsyncSession, actor: User, review_id: int, body: ReviewUpdate
) -> ReviewRead:
    """The author changes their review; a hidden review stays hidden until a moderator
    restores it."""
    review = await _readable_review(session, actor, review_id)
    if review.user_id != actor.id:
        raise NotReviewAuthor()
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(review, field, value)
    await session.flush()
    return await get_review(session, actor, review_id)


async def delete_review(session: AsyncSession, actor: User, review_id: int) -> None:
    """The author deletes their review and its votes. Moderators hide reviews instead."""
    review = await _readable_review(session, actor, review_id)
    if review.user_id != actor.id:
        raise NotReviewAuthor()
    await session.delete(review)  # its votes go with it (ON DELETE CASCADE)
    await session.flush()


# ---------------------------------------------------------------------------- votes


async def vote_on_review(
    session: AsyncSession, actor: User, review_id: int, *, helpful: bool
) -> ReviewRead:
    """Record the actor's vote (a new vote replaces theirs) and recount the review's votes."""
    review = await _voteable_review(session, actor, review_id)
    insert = upsert(session, ReviewVote).values(
        review_id=review.id, user_id=actor.id, helpful=helpful, created_at=utcnow()
    )
    try:
        await session.execute(
            insert.on_conflict_do_update(
                index_elements=["review_id", "user_id"], set_={"helpful": insert.excluded.helpful}
            )
        )
    except IntegrityError:  # deleted by its author since the check above
        raise ReviewNotFound(review_id) from None
    await _recount_votes(session, review_id)
    return await get_review(session, actor, review_id)


async def withdraw_vote(session: AsyncSession, actor: User, review_id: int) -> ReviewRead:
    await _voteable_review(session, actor, review_id)
    await session.execute(
        delete(ReviewVote).where(ReviewVote.review_id == review_id, ReviewVote.user_id == actor.id)
    )
    await _recount_votes(session, review_id)
    return await get_review(session, actor, review_id)


async def _voteable_review(session: AsyncSession, actor: User, review_id: int) -> Review:
    review = await _readable_review(session, actor, review_id, lock=True)
    if review.user_id == actor.id:
        raise OwnReviewVote()
    if review.status is not ReviewStatus.VISIBLE:
        raise ReviewHidden()
    return review


async def _recount_votes(session: AsyncSession, review_id: int) -> None:
    """Counts from review_votes itself, under the review row's lock taken by the caller."""
    of_review = ReviewVote.review_id == review_id
    counted = select(func.count()).select_from(ReviewVote).where(of_review)
    await session.execute(
        update(Review)
        .where(Review.id == review_id)
        .values(
            helpful_count=counted.where(ReviewVote.helpful.is_(True)).scalar_subquery(),
            unhelpful_count=counted.where(ReviewVote.helpful.is_(False)).scalar_subquery(),
            updated_at=Review.updated_at,  # a vote is not an edit
        )
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------------------- moderation


async def hide_review(session: AsyncSession, moderator: User, review_id: int) -> ReviewRead:
    review = await _readable_review(session, moderator, review_id)
    if review.status is not ReviewStatus.HIDDEN:
        review.status = ReviewStatus.HIDDEN
        review.hidden_at = utcnow()
        review.hidden_by = moderator.id
        await session.flush()
    return await get_review(session, moderator, review_id)


async def restore_review(session: AsyncSession, moderator: User, review_id: int) -> ReviewRead:
    review = await _readable_review(session, moderator, review_id)
    if review.status is not ReviewStatus.VISIBLE:
        review.status = ReviewStatus.VISIBLE
        review.hidden_at = None
        review.hidden_by = None
        await session.flush()
    return await get_review(session, moderator, review_id)
