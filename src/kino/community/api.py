"""Community endpoints: favorites, likes, ratings, reviews and their votes, comments, and their
moderation. Parse, authorize, call the service. What belongs to a user is always the caller's:
no endpoint takes a user id."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from kino.community import comments, reviews, service
from kino.community.reviews import ReviewSort
from kino.community.schemas import (
    CommentCreate,
    CommentRead,
    CommentUpdate,
    FavoriteRead,
    LikeState,
    RatingState,
    RatingWrite,
    ReportCreate,
    ReviewCreate,
    ReviewRead,
    ReviewUpdate,
    VoteWrite,
)
from kino.core.http import DbSession, IdPath
from kino.core.pagination import Page, Paging
from kino.identity.dependencies import CurrentUser, ModeratorUser, OptionalUser

favorites_router = APIRouter(tags=["favorites"])
likes_router = APIRouter(tags=["likes and ratings"])
reviews_router = APIRouter(tags=["reviews"])
comments_router = APIRouter(tags=["comments"])

NO_CONTENT = status.HTTP_204_NO_CONTENT


# --- favorites ---------------------------------------------------------------------------------


@favorites_router.get("/me/favorites")
async def list_favorites(
    user: CurrentUser, session: DbSession, paging: Paging
) -> Page[FavoriteRead]:
    """The caller's favorite films, the most recently added first."""
    return await service.list_favorites(session, user, paging=paging)


@favorites_router.put("/me/favorites/{movie_id}")
async def add_favorite(movie_id: IdPath, user: CurrentUser, session: DbSession) -> FavoriteRead:
    """Idempotent: adding a favorite again keeps it as it was."""
    return await service.add_favorite(session, user, movie_id)


@favorites_router.delete("/me/favorites/{movie_id}", status_code=NO_CONTENT)
async def remove_favorite(movie_id: IdPath, user: CurrentUser, session: DbSession) -> Response:
    """Idempotent: removing a film that is not a favorite is not an error."""
    await service.remove_favorite(session, user, movie_id)
    return Response(status_code=NO_CONTENT)


# --- likes and ratings -------------------------------------------------------------------------


@likes_router.put("/movies/{movie_id}/like")
async def like_movie(movie_id: IdPath, user: CurrentUser, session: DbSession) -> LikeState:
    return await service.like_movie(session, user, movie_id)


@likes_router.delete("/movies/{movie_id}/like")
async def unlike_movie(movie_id: IdPath, user: CurrentUser, session: DbSession) -> LikeState:
    return await service.unlike_movie(session, user, movie_id)


@likes_router.get("/movies/{movie_id}/rating")
async def read_rating(movie_id: IdPath, user: CurrentUser, session: DbSession) -> RatingState:
    """The caller's score for the film, with the film's average and count."""
    return await service.rating_state(session, user, movie_id)


@likes_router.put("/movies/{movie_id}/rating")
async def rate_movie(
    movie_id: IdPath, body: RatingWrite, user: CurrentUser, session: DbSession
) -> RatingState:
    """Score the film from 1 to 10; a new score replaces the caller's previous one."""
    return await service.rate_movie(session, user, movie_id, score=body.score)


@likes_router.delete("/movies/{movie_id}/rating")
async def unrate_movie(movie_id: IdPath, user: CurrentUser, session: DbSession) -> RatingState:
    return await service.unrate_movie(session, user, movie_id)


# --- reviews -----------------------------------------------------------------------------------


@reviews_router.get("/movies/{movie_id}/reviews")
async def list_movie_reviews(
    movie_id: IdPath,
    session: DbSession,
    user: OptionalUser,
    paging: Paging,
    sort: ReviewSort = ReviewSort.NEWEST,
) -> Page[ReviewRead]:
    """The film's reviews. Hidden reviews are listed only to their author and to moderators."""
    return await reviews.list_movie_reviews(session, user, movie_id, paging=paging, sort=sort)


@reviews_router.post("/movies/{movie_id}/reviews", status_code=status.HTTP_201_CREATED)
async def create_review(
    movie_id: IdPath, body: ReviewCreate, user: CurrentUser, session: DbSession
) -> ReviewRead:
    """One review per viewer and film: a second is refused with 409 ``review_exists``."""
    return await reviews.create_review(session, user, movie_id, body)


@reviews_router.get("/me/reviews")
async def list_my_reviews(
    user: CurrentUser, session: DbSession, paging: Paging
) -> Page[ReviewRead]:
    return await reviews.list_my_reviews(session, user, paging=paging)


@reviews_router.get("/reviews/{review_id}")
async def get_review(review_id: IdPath, session: DbSession, user: OptionalUser) -> ReviewRead:
    return await reviews.get_review(session, user, review_id)


@reviews_router.patch("/reviews/{review_id}")
async def update_review(
    review_id: IdPath, body: ReviewUpdate, user: CurrentUser, session: DbSession
) -> ReviewRead:
    return await reviews.update_review(session, user, review_id, body)


@reviews_router.delete("/reviews/{review_id}", status_code=NO_CONTENT)
async def delete_review(review_id: IdPath, user: CurrentUser, session: DbSession) -> Response:
    await reviews.delete_review(session, user, review_id)
    return Response(status_code=NO_CONTENT)


@reviews_router.post("/reviews/{review_id}/vote")
async def vote_on_review(
    review_id: IdPath, body: VoteWrite, user: CurrentUser, session: DbSession
) -> ReviewRead:
    """Was the review helpful? One vote per viewer, changed by voting again; not on one's own."""
    return await reviews.vote_on_review(session, user, review_id, helpful=body.helpful)


@reviews_router.delete("/reviews/{review_id}/vote")
async def withdraw_vote(review_id: IdPath, user: CurrentUser, session: DbSession) -> ReviewRead:
    return await reviews.withdraw_vote(session, user, review_id)


@reviews_router.post("/reviews/{review_id}/hide")
async def hide_review(
    review_id: IdPath, moderator: ModeratorUser, session: DbSession
) -> ReviewRead:
    """Moderators: only the author and moderators still see a hidden review."""
    return await reviews.hide_review(session, moderator, review_id)


@reviews_router.post("/reviews/{review_id}/restore")
async def restore_review(
    review_id: IdPath, moderator: ModeratorUser, session: DbSession
) -> ReviewRead:
    return await reviews.restore_review(session, moderator, review_id)


# --- comments ----------------------------------------------------------------------------------


@comments_router.get("/movies/{movie_id}/comments")
async def list_comments(
    movie_id: IdPath, session: DbSession, user: OptionalUser, paging: Paging
) -> Page[CommentRead]:
    """The film's comment threads, newest first, each with its first replies (oldest first)."""
    return await comments.list_comments(session, user, movie_id, paging=paging)


@comments_router.post("/movies/{movie_id}/comments", status_code=status.HTTP_201_CREATED)
async def create_comment(
    movie_id: IdPath, body: CommentCreate, user: CurrentUser, session: DbSession
) -> CommentRead:
    """A comment, or with ``parent_id`` a reply. Replies are one level deep: a reply to a reply
    is attached to the top-level comment of its thread."""
    return await comments.create_comment(session, user, movie_id, body)


# Declared before /comments/{comment_id} so that "reported" is not read as an id.
@comments_router.get("/comments/reported")
async def list_reported_comments(
    moderator: ModeratorUser, session: DbSession, paging: Paging
) -> Page[CommentRead]:
    """Moderators: reported comments still shown, the most reported first."""
    return await comments.list_reported_comments(session, moderator, paging=paging)


@comments_router.get("/comments/{comment_id}")
async def get_comment(comment_id: IdPath, session: DbSession, user: OptionalUser) -> CommentRead:
    return await comments.get_comment(session, user, comment_id)


@comments_router.get("/comments/{comment_id}/replies")
async def list_replies(
    comment_id: IdPath, session: DbSession, user: OptionalUser, paging: Paging
) -> Page[CommentRead]:
    return await comments.list_replies(session, user, comment_id, paging=paging)


@comments_router.patch("/comments/{comment_id}")
async def edit_comment(
    comment_id: IdPath, body: CommentUpdate, user: CurrentUser, session: DbSession
) -> CommentRead:
    """The author edits within 15 minutes of posting; later it is 409 ``edit_window_closed``."""
    return await comments.edit_comment(session, user, comment_id, body=body.body)


@comments_router.delete("/comments/{comment_id}", status_code=NO_CONTENT)
async def delete_comment(comment_id: IdPath, user: CurrentUser, session: DbSession) -> Response:
    """The author deletes their comment; a moderator deleting another's removes it (shown as
    "removed by a moderator")."""
    await comments.delete_comment(session, user, comment_id)
    return Response(status_code=NO_CONTENT)


@comments_router.post("/comments/{comment_id}/report", status_code=NO_CONTENT)
async def report_comment(
    comment_id: IdPath, user: CurrentUser, session: DbSession, body: ReportCreate | None = None
) -> Response:
    """Report someone else's comment to the moderators, once."""
    reason = body.reason if body is not None else None
    await comments.report_comment(session, user, comment_id, reason=reason)
    return Response(status_code=NO_CONTENT)


@comments_router.post("/comments/{comment_id}/remove")
async def remove_comment(
    comment_id: IdPath, moderator: ModeratorUser, session: DbSession
) -> CommentRead:
    return await comments.remove_comment(session, moderator, comment_id)


@comments_router.post("/comments/{comment_id}/restore")
async def restore_comment(
    comment_id: IdPath, moderator: ModeratorUser, session: DbSession
) -> CommentRead:
    return await comments.restore_comment(session, moderator, comment_id)


router = APIRouter()
router.include_router(favorites_router)
router.include_router(likes_router)
router.include_router(reviews_router)
router.include_router(comments_router)
