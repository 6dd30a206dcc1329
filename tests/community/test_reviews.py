from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI

from tests.community.conftest import error_code, ok
from tests.factories import SignedIn, make_user

REVIEW = {"title": "A zone of its own", "body": "Slow, strange and unforgettable.", "score": 9}


async def post_review(
    client: httpx.AsyncClient, who: SignedIn, movie_id: int, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/movies/{movie_id}/reviews", json={**REVIEW, **fields}, headers=who.headers
    )
    review: dict[str, Any] = ok(response, 201)
    return review


def ids(response: httpx.Response) -> list[int]:
    return [item["id"] for item in ok(response)["items"]]


async def test_a_viewer_reviews_a_film_once(
    client: httpx.AsyncClient, viewer: SignedIn, movie_id: int
) -> None:
    review = await post_review(client, viewer, movie_id, spoiler=True)
    assert review["author"] == {"id": str(viewer.user.id), "display_name": "Vera Viewer"}
    assert (review["title"], review["score"], review["spoiler"], review["status"]) == (
        REVIEW["title"],
        9,
        True,
        "visible",
    )
    assert (review["helpful_count"], review["unhelpful_count"], review["my_vote"]) == (0, 0, None)
    second = await client.post(
        f"/api/v1/movies/{movie_id}/reviews", json=REVIEW, headers=viewer.headers
    )
    assert error_code(second, 409) == "review_exists"
    assert second.json()["error"]["details"] == {"review_id": review["id"]}
    listed = ok(await client.get(f"/api/v1/movies/{movie_id}/reviews"))
    assert listed["total"] == 1
    assert listed["items"][0]["body"] == REVIEW["body"]
    assert ok(await client.get(f"/api/v1/reviews/{review['id']}"))["title"] == REVIEW["title"]


async def test_the_author_edits_and_deletes_their_review(
    client: httpx.AsyncClient, viewer: SignedIn, movie_id: int
) -> None:
    review = await post_review(client, viewer, movie_id)
    path = f"/api/v1/reviews/{review['id']}"
    edited = ok(
        await client.patch(
            path, json={"body": "Better the second time.", "score": None}, headers=viewer.headers
        )
    )
    assert (edited["title"], edited["body"], edited["score"]) == (
        REVIEW["title"],
        "Better the second time.",
        None,
    )
    for body in ({"title": None}, {"body": None}, {"spoiler": None}, {"title": "  "}):
        response = await client.patch(path, json=body, headers=viewer.headers)
        assert error_code(response, 422) == "validation_error", body
    assert (await client.delete(path, headers=viewer.headers)).status_code == 204
    assert error_code(await client.get(path), 404) == "review_not_found"
    # Deleted, so the viewer may write a new one.
    await post_review(client, viewer, movie_id)


async def test_no_one_changes_or_deletes_another_viewers_review(
    client: httpx.AsyncClient,
    viewer: SignedIn,
    other: SignedIn,
    moderator: SignedIn,
    movie_id: int,
) -> None:
    review = await post_review(client, viewer, movie_id)
    path = f"/api/v1/reviews/{review['id']}"
    for who in (other, moderator):
        patched = await client.patch(path, json={"title": "Mine now"}, headers=who.headers)
        assert error_code(patched, 403) == "not_review_author"
        deleted = await client.delete(path, headers=who.headers)
        assert error_code(deleted, 403) == "not_review_author"
    assert error_code(await client.patch(path, json={"title": "Anonymous"}), 401)
    assert ok(await client.get(path))["title"] == REVIEW["title"]
    # Their own list is theirs only.
    assert ok(await client.get("/api/v1/me/reviews", headers=other.headers))["total"] == 0
    assert ids(await client.get("/api/v1/me/reviews", headers=viewer.headers)) == [review["id"]]


async def test_votes_count_once_per_voter_and_can_change(
    client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, app: FastAPI, movie_id: int
) -> None:
    review = await post_review(client, viewer, movie_id)
    vote = f"/api/v1/reviews/{review['id']}/vote"
    helpful = ok(await client.post(vote, json={"helpful": True}, headers=other.headers))
    assert (helpful["helpful_count"], helpful["unhelpful_count"], helpful["my_vote"]) == (
        1,
        0,
        True,
    )
    third = await make_user(app)
    ok(await client.post(vote, json={"helpful": True}, headers=third.headers))
    changed = ok(await client.post(vote, json={"helpful": False}, headers=other.headers))
    assert (changed["helpful_count"], changed["unhelpful_count"], changed["my_vote"]) == (
        1,
        1,
        False,
    )
    # Each caller sees their own vote only; the author sees none.
    assert (
        ok(await client.get(f"/api/v1/reviews/{review['id']}", headers=viewer.headers))["my_vote"]
        is None
    )
    own = await client.post(vote, json={"helpful": True}, headers=viewer.headers)
    assert error_code(own, 403) == "own_review"
    withdrawn = ok(await client.delete(vote, headers=other.headers))
    assert (withdrawn["helpful_count"], withdrawn["unhelpful_count"], withdrawn["my_vote"]) == (
        1,
        0,
        None,
    )
    for body in ({"helpful": "yes"}, {"helpful": None}, {"helpful": 1}, {}):
        response = await client.post(vote, json=body, headers=other.headers)
        assert error_code(response, 422) == "validation_error", body


async def test_concurrent_votes_keep_the_counts_exact(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, movie_id: int
) -> None:
    review = await post_review(client, viewer, movie_id)
    vote = f"/api/v1/reviews/{review['id']}/vote"
    voters = await asyncio.gather(*(make_user(app) for _ in range(8)))
    responses = await asyncio.gather(
        *(
            client.post(vote, json={"helpful": index % 4 != 0}, headers=voter.headers)
            for index, voter in enumerate(voters)
            for _ in range(2)  # each vote sent twice at once
        )
    )
    assert {response.status_code for response in responses} == {200}
    counted = ok(await client.get(f"/api/v1/reviews/{review['id']}"))
    assert (counted["helpful_count"], counted["unhelpful_count"]) == (6, 2)


async def test_only_one_of_racing_reviews_is_stored(
    client: httpx.AsyncClient, viewer: SignedIn, movie_id: int
) -> None:
    responses = await asyncio.gather(
        *(
            client.post(f"/api/v1/movies/{movie_id}/reviews", json=REVIEW, headers=viewer.headers)
            for _ in range(5)
        )
    )
    assert sorted(response.status_code for response in responses) == [201, 409, 409, 409, 409]
    assert ok(await client.get(f"/api/v1/movies/{movie_id}/reviews"))["total"] == 1


async def test_a_hidden_review_is_seen_by_its_author_and_moderators_only(
    client: httpx.AsyncClient,
    viewer: SignedIn,
    other: SignedIn,
    moderator: SignedIn,
    movie_id: int,
) -> None:
    review = await post_review(client, viewer, movie_id)
    path = f"/api/v1/reviews/{review['id']}"
    assert error_code(await client.post(f"{path}/hide", headers=other.headers), 403) == "forbidden"
    hidden = ok(await client.post(f"{path}/hide", headers=moderator.headers))
    assert hidden["status"] == "hidden"

    listing = f"/api/v1/movies/{movie_id}/reviews"
    assert ids(await client.get(listing)) == []
    assert ids(await client.get(listing, headers=other.headers)) == []
    assert ids(await client.get(listing, headers=viewer.headers)) == [review["id"]]
    assert ids(await client.get(listing, headers=moderator.headers)) == [review["id"]]
    assert error_code(await client.get(path, headers=other.headers), 404) == "review_not_found"
    assert error_code(await client.get(path), 404) == "review_not_found"
    vote = await client.post(f"{path}/vote", json={"helpful": True}, headers=other.headers)
    assert error_code(vote, 404) == "review_not_found"
    assert ok(await client.get(path, headers=viewer.headers))["status"] == "hidden"
    mine = ok(await client.get("/api/v1/me/reviews", headers=viewer.headers))
    assert mine["items"][0]["status"] == "hidden"

    for who in (viewer, other):
        refused = await client.post(f"{path}/restore", headers=who.headers)
        assert error_code(refused, 403) == "forbidden"
    restored = ok(await client.post(f"{path}/restore", headers=moderator.headers))
    assert restored["status"] == "visible"
    assert ids(await client.get(listing, headers=other.headers)) == [review["id"]]


async def test_reviews_sort_by_helpfulness_or_date(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, movie_id: int
) -> None:
    first = await post_review(client, viewer, movie_id)
    second = await post_review(client, other, movie_id)
    third = await make_user(app)
    ok(
        await client.post(
            f"/api/v1/reviews/{first['id']}/vote", json={"helpful": True}, headers=third.headers
        )
    )
    listing = f"/api/v1/movies/{movie_id}/reviews"
    assert ids(await client.get(listing, headers=third.headers)) == [second["id"], first["id"]]
    helpful = await client.get(f"{listing}?sort=helpful", headers=third.headers)
    assert ids(helpful) == [first["id"], second["id"]]
    assert error_code(await client.get(f"{listing}?sort=best"), 422) == "validation_error"


BAD_REVIEWS: list[tuple[dict[str, Any], str]] = [
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": "two\nlines"}, "title"),
    ({"body": ""}, "body"),
    ({"body": "\n\t "}, "body"),
    ({"body": "x" * 10_001}, "body"),
    ({"body": "nul \x00 byte"}, "body"),
    ({"score": 0}, "score"),
    ({"score": 11}, "score"),
    ({"score": "ten"}, "score"),
    ({"spoiler": "yes"}, "spoiler"),
    ({"title": None}, "title"),
    ({"author": "someone"}, "author"),
]


async def test_bad_reviews_are_a_422_naming_the_field(
    client: httpx.AsyncClient, viewer: SignedIn, movie_id: int
) -> None:
    for change, field in BAD_REVIEWS:
        response = await client.post(
            f"/api/v1/movies/{movie_id}/reviews", json={**REVIEW, **change}, headers=viewer.headers
        )
        assert error_code(response, 422) == "validation_error", change
        assert response.json()["error"]["details"][0]["field"] == field, change
    assert ok(await client.get(f"/api/v1/movies/{movie_id}/reviews"))["total"] == 0


async def test_review_text_is_stored_as_given(
    client: httpx.AsyncClient, viewer: SignedIn, movie_id: int
) -> None:
    body = "<script>alert('x')</script> & \"quotes\"\n\nSecond paragraph. " + "é" * 9_000
    review = await post_review(client, viewer, movie_id, title="<b>Bold</b> & co", body=body)
    fetched = ok(await client.get(f"/api/v1/reviews/{review['id']}"))
    assert (fetched["title"], fetched["body"]) == ("<b>Bold</b> & co", body)


async def test_review_endpoints_refuse_drafts_bad_ids_and_broken_json(
    client: httpx.AsyncClient, viewer: SignedIn, draft_id: int, movie_id: int
) -> None:
    for response in (
        await client.get(f"/api/v1/movies/{draft_id}/reviews", headers=viewer.headers),
        await client.post(
            f"/api/v1/movies/{draft_id}/reviews", json=REVIEW, headers=viewer.headers
        ),
        await client.get("/api/v1/movies/999999/reviews"),
    ):
        assert error_code(response, 404) == "not_found"
    for bad in ("0", "abc", str(2**63), "-5"):
        for method in ("GET", "PATCH", "DELETE"):
            response = await client.request(
                method, f"/api/v1/reviews/{bad}", json={"title": "x"}, headers=viewer.headers
            )
            assert error_code(response, 422) == "validation_error"
    assert error_code(await client.get("/api/v1/reviews/31337"), 404) == "review_not_found"
    broken = await client.post(
        f"/api/v1/movies/{movie_id}/reviews",
        content=b'{"title": "x", "body": ',
        headers={**viewer.headers, "Content-Type": "application/json"},
    )
    assert error_code(broken, 422) == "validation_error"
    assert error_code(await client.get("/api/v1/me/reviews"), 401) == "unauthenticated"
