from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from kino.catalog.models import Movie
from kino.community.models import MovieLike, Rating
from tests.community.conftest import error_code, ok
from tests.factories import SignedIn, make_user


async def stored(app: FastAPI, movie_id: int) -> tuple[Movie, list[int], int]:
    """The film row, the scores in the ratings table and the rows in the likes table."""
    async with app.state.db.transaction() as session:
        movie = await session.get(Movie, movie_id)
        assert movie is not None
        scores = await session.scalars(select(Rating.score).where(Rating.movie_id == movie_id))
        likes = await session.scalars(
            select(MovieLike.user_id).where(MovieLike.movie_id == movie_id)
        )
        return movie, sorted(scores.all()), len(likes.all())


async def film(client: httpx.AsyncClient, movie_id: int, who: SignedIn | None = None) -> Any:
    return ok(await client.get(f"/api/v1/movies/{movie_id}", headers=who.headers if who else {}))


async def test_a_like_counts_once_per_viewer_and_shows_on_the_film(
    client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, movie_id: int
) -> None:
    assert (await film(client, movie_id, viewer))["liked"] is False
    liked = ok(await client.put(f"/api/v1/movies/{movie_id}/like", headers=viewer.headers))
    assert liked == {"movie_id": movie_id, "liked": True, "like_count": 1}
    again = ok(await client.put(f"/api/v1/movies/{movie_id}/like", headers=viewer.headers))
    assert again["like_count"] == 1
    ok(await client.put(f"/api/v1/movies/{movie_id}/like", headers=other.headers))

    seen_by_viewer = await film(client, movie_id, viewer)
    assert (seen_by_viewer["like_count"], seen_by_viewer["liked"]) == (2, True)
    signed_out = await film(client, movie_id)
    assert (signed_out["like_count"], signed_out["liked"], signed_out["my_rating"]) == (
        2,
        None,
        None,
    )

    unliked = ok(await client.delete(f"/api/v1/movies/{movie_id}/like", headers=viewer.headers))
    assert unliked == {"movie_id": movie_id, "liked": False, "like_count": 1}
    twice = ok(await client.delete(f"/api/v1/movies/{movie_id}/like", headers=viewer.headers))
    assert twice["like_count"] == 1
    assert (await film(client, movie_id, other))["liked"] is True


async def test_the_film_page_shows_the_callers_own_rating_like_and_favorite(
    client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, movie_id: int
) -> None:
    ok(
        await client.put(
            f"/api/v1/movies/{movie_id}/rating", json={"score": 8}, headers=viewer.headers
        )
    )
    ok(await client.put(f"/api/v1/me/favorites/{movie_id}", headers=viewer.headers))
    ok(await client.put(f"/api/v1/movies/{movie_id}/like", headers=viewer.headers))
    mine = await film(client, movie_id, viewer)
    assert (mine["my_rating"], mine["favorite"], mine["liked"]) == (8, True, True)
    theirs = await film(client, movie_id, other)
    assert (theirs["my_rating"], theirs["favorite"], theirs["liked"]) == (None, False, False)
    assert theirs["rating_avg"] == 8.0
    assert theirs["rating_count"] == 1


async def test_ratings_set_the_films_average_and_count(
    client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, movie_id: int
) -> None:
    path = f"/api/v1/movies/{movie_id}/rating"
    first = ok(await client.put(path, json={"score": 10}, headers=viewer.headers))
    assert first == {"movie_id": movie_id, "my_rating": 10, "rating_avg": 10.0, "rating_count": 1}
    ok(await client.put(path, json={"score": 5}, headers=other.headers))
    changed = ok(await client.put(path, json={"score": 6}, headers=viewer.headers))
    assert (changed["my_rating"], changed["rating_avg"], changed["rating_count"]) == (6, 5.5, 2)
    theirs = ok(await client.get(path, headers=other.headers))
    assert theirs["my_rating"] == 5  # each caller reads their own score only

    removed = ok(await client.delete(path, headers=viewer.headers))
    assert (removed["my_rating"], removed["rating_avg"], removed["rating_count"]) == (None, 5.0, 1)
    ok(await client.delete(path, headers=other.headers))
    emptied = await film(client, movie_id, other)
    assert (emptied["rating_avg"], emptied["rating_count"]) == (None, 0)


async def test_a_viewer_cannot_remove_another_viewers_rating_or_like(
    client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, movie_id: int
) -> None:
    path = f"/api/v1/movies/{movie_id}/rating"
    ok(await client.put(path, json={"score": 9}, headers=viewer.headers))
    ok(await client.put(f"/api/v1/movies/{movie_id}/like", headers=viewer.headers))
    assert ok(await client.delete(path, headers=other.headers))["rating_count"] == 1
    unliked = ok(await client.delete(f"/api/v1/movies/{movie_id}/like", headers=other.headers))
    assert (unliked["liked"], unliked["like_count"]) == (False, 1)
    assert ok(await client.get(path, headers=viewer.headers))["my_rating"] == 9
    seen = await film(client, movie_id, viewer)
    assert (seen["liked"], seen["like_count"], seen["rating_count"]) == (True, 1, 1)


BAD_SCORES: list[Any] = [
    {"score": 0},
    {"score": 11},
    {"score": -3},
    {"score": "ten"},
    {"score": "7"},
    {"score": 7.5},
    {"score": True},
    {"score": None},
    {},
    {"score": 7, "user_id": "someone-else"},
    [7],
]


async def test_a_score_must_be_a_whole_number_from_1_to_10(
    client: httpx.AsyncClient, viewer: SignedIn, movie_id: int
) -> None:
    for body in BAD_SCORES:
        response = await client.put(
            f"/api/v1/movies/{movie_id}/rating", json=body, headers=viewer.headers
        )
        assert error_code(response, 422) == "validation_error", body
    assert (
        ok(await client.get(f"/api/v1/movies/{movie_id}/rating", headers=viewer.headers))[
            "my_rating"
        ]
        is None
    )


async def test_likes_and_ratings_refuse_drafts_unknown_films_and_strangers(
    client: httpx.AsyncClient, viewer: SignedIn, draft_id: int, movie_id: int
) -> None:
    for method, suffix, body in (
        ("PUT", "like", None),
        ("DELETE", "like", None),
        ("GET", "rating", None),
        ("PUT", "rating", {"score": 5}),
        ("DELETE", "rating", None),
    ):
        for film_id in (draft_id, 424242):
            response = await client.request(
                method, f"/api/v1/movies/{film_id}/{suffix}", json=body, headers=viewer.headers
            )
            assert error_code(response, 404) == "not_found", (method, suffix)
        response = await client.request(method, f"/api/v1/movies/{movie_id}/{suffix}", json=body)
        assert error_code(response, 401) == "unauthenticated"
    broken = await client.put(
        f"/api/v1/movies/{movie_id}/rating",
        content=b'{"score": ',
        headers={**viewer.headers, "Content-Type": "application/json"},
    )
    assert error_code(broken, 422) == "validation_error"


async def test_concurrent_ratings_and_likes_keep_the_films_counts_exact(
    app: FastAPI, client: httpx.AsyncClient, movie_id: int
) -> None:
    people = await asyncio.gather(*(make_user(app) for _ in range(12)))
    scores = random.Random(4).choices(range(1, 11), k=len(people))
    path = f"/api/v1/movies/{movie_id}"

    async def rate_and_like(person: SignedIn, score: int) -> None:
        ok(await client.put(f"{path}/rating", json={"score": score}, headers=person.headers))
        ok(await client.put(f"{path}/like", headers=person.headers))

    await asyncio.gather(*(rate_and_like(p, s) for p, s in zip(people, scores, strict=True)))
    movie, stored_scores, likes = await stored(app, movie_id)
    assert stored_scores == sorted(scores)
    assert movie.rating_count == len(scores)
    assert movie.rating_avg == pytest.approx(sum(scores) / len(scores))
    assert movie.like_count == likes == len(people)

    # Then, all at once: a third change their score, a third withdraw it and unlike, and the
    # rest send the same rating and like again.
    async def change(index: int, person: SignedIn) -> None:
        if index % 3 == 0:
            ok(await client.put(f"{path}/rating", json={"score": 1}, headers=person.headers))
        elif index % 3 == 1:
            ok(await client.delete(f"{path}/rating", headers=person.headers))
            ok(await client.delete(f"{path}/like", headers=person.headers))
        else:
            ok(await client.put(f"{path}/rating", json={"score": 10}, headers=person.headers))
            ok(await client.put(f"{path}/like", headers=person.headers))

    await asyncio.gather(*(change(index, person) for index, person in enumerate(people)))
    movie, stored_scores, likes = await stored(app, movie_id)
    assert stored_scores == sorted([1] * 4 + [10] * 4)
    assert movie.rating_count == 8
    assert movie.rating_avg == pytest.approx(5.5)
    assert movie.like_count == likes == 8


async def test_duplicate_requests_racing_each_other_store_one_row(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, movie_id: int
) -> None:
    path = f"/api/v1/movies/{movie_id}"
    responses = await asyncio.gather(
        *(client.put(f"{path}/like", headers=viewer.headers) for _ in range(6)),
        *(
            client.put(f"{path}/rating", json={"score": 7}, headers=viewer.headers)
            for _ in range(6)
        ),
        *(client.put(f"/api/v1/me/favorites/{movie_id}", headers=viewer.headers) for _ in range(6)),
    )
    assert [response.status_code for response in responses] == [200] * 18
    movie, stored_scores, likes = await stored(app, movie_id)
    assert (movie.like_count, likes, stored_scores, movie.rating_count) == (1, 1, [7], 1)
    assert ok(await client.get("/api/v1/me/favorites", headers=viewer.headers))["total"] == 1
