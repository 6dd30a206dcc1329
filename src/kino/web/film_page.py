"""The film page and what a viewer does on it: like, favorite, rate, review (and vote on
reviews), comment. Each action is a plain form post that redirects back to the page; sent by
htmx, it answers with the part of the page that changed instead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog import service as catalog
from kino.catalog.models import Access, CreditRole
from kino.catalog.schemas import CreditRead, MovieRead
from kino.community import comments, reviews
from kino.community import service as community
from kino.community.errors import CommentGone, InvalidParent, ReviewExists
from kino.community.reviews import ReviewSort
from kino.community.schemas import CommentCreate, ReviewCreate, ViewerState
from kino.core.http import DbSession, IdPath
from kino.core.pagination import PageParams
from kino.media import service as media
from kino.web.boxoffice_pages import film_showtimes
from kino.web.cards import poster_url
from kino.web.context import Web, WebContext
from kino.web.errors import PageRoute
from kino.web.forms import checked, field_errors, optional_int
from kino.web.pages import Pages

router = APIRouter(route_class=PageRoute, include_in_schema=False)

REVIEWS_PER_PAGE = 10
THREADS_PER_PAGE = 20
CAST_SHOWN = 24
ACCESS_LABELS = {
    Access.REGISTERED: "Free with an account",
    Access.SUBSCRIPTION: "Included with a subscription",
    Access.RENTAL: "To rent",
    Access.PURCHASE: "To buy",
}
PageQuery = Annotated[int, Query(ge=1, le=10_000)]


@dataclass(frozen=True)
class Credits:
    directors: list[CreditRead]
    writers: list[CreditRead]
    cast: list[CreditRead]
    crew: list[CreditRead]


def split_credits(credits: list[CreditRead]) -> Credits:
    by_role: dict[CreditRole, list[CreditRead]] = {role: [] for role in CreditRole}
    for credit in credits:
        by_role[credit.role].append(credit)
    return Credits(
        directors=by_role[CreditRole.DIRECTOR],
        writers=by_role[CreditRole.WRITER],
        cast=by_role[CreditRole.ACTOR],
        crew=by_role[CreditRole.PRODUCER] + by_role[CreditRole.COMPOSER],
    )


# ---------------------------------------------------------------------------- the page


@router.get("/movies/{movie_id}")
async def film_page(
    movie_id: IdPath,
    web: WebContext,
    session: DbSession,
    review_sort: Annotated[ReviewSort, Query(alias="reviews")] = ReviewSort.HELPFUL,
    review_page: PageQuery = 1,
    comment_page: PageQuery = 1,
) -> HTMLResponse:
    context = await film_context(
        session,
        web,
        movie_id,
        review_sort=review_sort,
        review_page=review_page,
        comment_page=comment_page,
    )
    return web.render("movie.html", context)


async def film_context(
    session: AsyncSession,
    web: Web,
    movie_id: int,
    *,
    review_sort: ReviewSort = ReviewSort.HELPFUL,
    review_page: int = 1,
    comment_page: int = 1,
) -> dict[str, Any]:
    movie = await catalog.get_movie(session, movie_id, include_drafts=web.is_staff)
    asset = await media.published_asset(session, movie_id)
    review_list = await reviews.list_movie_reviews(
        session,
        web.user,
        movie_id,
        paging=PageParams(page=review_page, page_size=REVIEWS_PER_PAGE),
        sort=review_sort,
    )
    threads = await comments.list_comments(
        session,
        web.user,
        movie_id,
        paging=PageParams(page=comment_page, page_size=THREADS_PER_PAGE),
    )
    credits = split_credits(movie.credits)
    user_id = web.user.id if web.user else None
    return {
        "movie": movie,
        "mine": await _viewer_state(session, web, movie_id),
        "poster": poster_url(movie_id, asset, "large"),
        "playable": asset is not None,
        "access_label": ACCESS_LABELS.get(movie.access),
        "credits": credits,
        "cast_shown": CAST_SHOWN,
        "programmes": await film_showtimes(session, movie_id, include_drafts=web.is_staff),
        "reviews": review_list,
        "review_sort": review_sort.value,
        # The form is left out when the viewer's own review is on the page (one per film; a
        # review further down the list is explained by the 409 when posting).
        "reviewed": any(review.author.id == user_id for review in review_list.items),
        "review_pages": Pages.of(review_page, review_list.total, REVIEWS_PER_PAGE),
        "threads": threads,
        "comment_pages": Pages.of(comment_page, threads.total, THREADS_PER_PAGE),
        "review_errors": {},
        "review_values": {},
        "comment_errors": {},
        "comment_values": {},
    }


async def _viewer_state(session: AsyncSession, web: Web, movie_id: int) -> ViewerState | None:
    if web.user is None:
        return None
    return await community.viewer_state(session, web.user, movie_id)


# ---------------------------------------------------------------------------- like, favorite, rate


@router.post("/movies/{movie_id}/like")
async def like(movie_id: IdPath, web: WebContext, session: DbSession) -> Response:
    user = web.require_user()
    form = await web.form()
    if checked(form.get("liked")):
        await community.like_movie(session, user, movie_id)
    else:
        await community.unlike_movie(session, user, movie_id)
    return await _actions_answer(session, web, movie_id)


@router.post("/movies/{movie_id}/favorite")
async def favorite(movie_id: IdPath, web: WebContext, session: DbSession) -> Response:
    user = web.require_user()
    form = await web.form()
    if checked(form.get("favorite")):
        await community.add_favorite(session, user, movie_id)
    else:
        await community.remove_favorite(session, user, movie_id)
    return await _actions_answer(session, web, movie_id)


@router.post("/movies/{movie_id}/rating")
async def rate(movie_id: IdPath, web: WebContext, session: DbSession) -> Response:
    user = web.require_user()
    form = await web.form()
    score = optional_int(form.get("score"))
    if score is None:
        await community.unrate_movie(session, user, movie_id)
    elif 1 <= score <= 10:
        await community.rate_movie(session, user, movie_id, score=score)
    return await _actions_answer(session, web, movie_id)


async def _actions_answer(session: AsyncSession, web: Web, movie_id: int) -> Response:
    if not web.wants_fragment:
        return web.redirect(f"/movies/{movie_id}#film-actions")
    movie: MovieRead = await catalog.get_movie(session, movie_id, include_drafts=web.is_staff)
    asset = await media.published_asset(session, movie_id)
    context = {
        "movie": movie,
        "mine": await _viewer_state(session, web, movie_id),
        "playable": asset is not None,
    }
    return web.render("_film_actions.html", context)


# ---------------------------------------------------------------------------- reviews


@router.post("/movies/{movie_id}/reviews")
async def post_review(movie_id: IdPath, web: WebContext, session: DbSession) -> Response:
    user = web.require_user()
    form = await web.form()
    values = {name: form.get(name, "") for name in ("title", "body", "score")}
    values["spoiler"] = "1" if checked(form.get("spoiler")) else ""
    try:
        body = ReviewCreate(
            title=values["title"],
            body=values["body"],
            score=optional_int(values["score"]),
            spoiler=bool(values["spoiler"]),
        )
        review = await reviews.create_review(session, user, movie_id, body)
    except ValidationError as error:
        return await _film_again(session, web, movie_id, review=(values, field_errors(error)))
    except ReviewExists as error:
        failure = {"": error.message}
        return await _film_again(session, web, movie_id, review=(values, failure), status=409)
    return web.redirect(f"/movies/{movie_id}#review-{review.id}", flash="review_posted")


@router.post("/reviews/{review_id}/vote")
async def vote(review_id: IdPath, web: WebContext, session: DbSession) -> Response:
    user = web.require_user()
    form = await web.form()
    choice = form.get("helpful", "")
    if choice in ("1", "0"):
        review = await reviews.vote_on_review(session, user, review_id, helpful=choice == "1")
    else:
        review = await reviews.withdraw_vote(session, user, review_id)
    if web.wants_fragment:
        return web.render("_review.html", {"review": review})
    return web.redirect(f"/movies/{review.movie_id}#review-{review.id}")


@router.post("/reviews/{review_id}/delete")
async def delete_review(review_id: IdPath, web: WebContext, session: DbSession) -> Response:
    user = web.require_user()
    form = await web.form()
    review = await reviews.get_review(session, user, review_id)
    await reviews.delete_review(session, user, review_id)
    back = form.get("back")
    target = back if back == "/account/reviews" else f"/movies/{review.movie_id}#reviews"
    return web.redirect(target, flash="review_deleted")


# ---------------------------------------------------------------------------- comments


@router.post("/movies/{movie_id}/comments")
async def post_comment(movie_id: IdPath, web: WebContext, session: DbSession) -> Response:
    user = web.require_user()
    form = await web.form()
    values = {"body": form.get("body", ""), "parent_id": form.get("parent_id", "")}
    try:
        body = CommentCreate(body=values["body"], parent_id=optional_int(values["parent_id"]))
        comment = await comments.create_comment(session, user, movie_id, body)
    except ValidationError as error:
        return await _film_again(session, web, movie_id, comment=(values, field_errors(error)))
    except (InvalidParent, CommentGone) as error:
        if not session.is_active:  # a reference vanished under the insert: the error page
            raise
        failure = {"": error.message}
        return await _film_again(
            session, web, movie_id, comment=(values, failure), status=error.status
        )
    return web.redirect(f"/movies/{movie_id}#comment-{comment.id}", flash="comment_posted")


@router.post("/comments/{comment_id}/delete")
async def delete_comment(comment_id: IdPath, web: WebContext, session: DbSession) -> Response:
    user = web.require_user()
    await web.form()
    comment = await comments.get_comment(session, user, comment_id)
    await comments.delete_comment(session, user, comment_id)
    return web.redirect(f"/movies/{comment.movie_id}#comments", flash="comment_deleted")


async def _film_again(
    session: AsyncSession,
    web: Web,
    movie_id: int,
    *,
    review: tuple[dict[str, str], dict[str, str]] | None = None,
    comment: tuple[dict[str, str], dict[str, str]] | None = None,
    status: int = 422,
) -> HTMLResponse:
    """The film page again, with what the viewer typed and why it was not accepted."""
    context = await film_context(session, web, movie_id)
    if review is not None:
        context["review_values"], context["review_errors"] = review
    if comment is not None:
        context["comment_values"], context["comment_errors"] = comment
    return web.render("movie.html", context, status=status)
