from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from kino.community.models import Comment
from kino.core.db import utcnow
from tests.community.conftest import create_movie, error_code, ok
from tests.factories import SignedIn


async def post_comment(
    client: httpx.AsyncClient, who: SignedIn, movie_id: int, body: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/movies/{movie_id}/comments", json={"body": body, **fields}, headers=who.headers
    )
    comment: dict[str, Any] = ok(response, 201)
    return comment


async def threads(
    client: httpx.AsyncClient, movie_id: int, who: SignedIn | None = None
) -> list[dict[str, Any]]:
    headers = who.headers if who else {}
    items: list[dict[str, Any]] = ok(
        await client.get(f"/api/v1/movies/{movie_id}/comments", headers=headers)
    )["items"]
    return items


async def age(app: FastAPI, comment_id: int, minutes: int) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Comment)
            .where(Comment.id == comment_id)
            .values(created_at=utcnow() - timedelta(minutes=minutes))
        )


async def test_threads_list_newest_first_with_replies_oldest_first(
    client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, movie_id: int
) -> None:
    first = await post_comment(client, viewer, movie_id, "First!")
    assert first["author"] == {"id": str(viewer.user.id), "display_name": "Vera Viewer"}
    assert first["editable_until"] is not None
    second = await post_comment(client, other, movie_id, "Second thread")
    reply = await post_comment(client, other, movie_id, "A reply", parent_id=first["id"])
    assert reply["parent_id"] == first["id"]
    # A reply to a reply joins the top-level thread.
    nested = await post_comment(client, viewer, movie_id, "Reply to reply", parent_id=reply["id"])
    assert nested["parent_id"] == first["id"]

    listed = await threads(client, movie_id, viewer)
    assert [item["id"] for item in listed] == [second["id"], first["id"]]
    assert listed[1]["reply_count"] == 2
    assert [r["body"] for r in listed[1]["replies"]] == ["A reply", "Reply to reply"]
    # Each caller may edit only their own comments.
    assert listed[1]["replies"][0]["editable_until"] is None
    assert listed[1]["replies"][1]["editable_until"] is not None
    replies = ok(await client.get(f"/api/v1/comments/{first['id']}/replies?page_size=1&page=2"))
    assert (replies["total"], [r["id"] for r in replies["items"]]) == (2, [nested["id"]])
    assert ok(await client.get(f"/api/v1/comments/{first['id']}"))["reply_count"] == 2


async def test_a_reply_must_be_to_a_comment_on_the_same_film(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn, movie_id: int
) -> None:
    elsewhere = await create_movie(client, manager, title="Solaris")
    foreign = await post_comment(client, viewer, elsewhere, "On another film")
    for parent_id in (foreign["id"], 777777):
        response = await client.post(
            f"/api/v1/movies/{movie_id}/comments",
            json={"body": "Reply", "parent_id": parent_id},
            headers=viewer.headers,
        )
        assert error_code(response, 422) == "invalid_parent"


async def test_the_author_edits_within_15_minutes_only(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, movie_id: int
) -> None:
    comment = await post_comment(client, viewer, movie_id, "Tpyo")
    path = f"/api/v1/comments/{comment['id']}"
    edited = ok(await client.patch(path, json={"body": "Typo"}, headers=viewer.headers))
    assert (edited["body"], edited["edited_at"] is not None) == ("Typo", True)
    await age(app, comment["id"], minutes=16)
    late = await client.patch(path, json={"body": "Too late"}, headers=viewer.headers)
    assert error_code(late, 409) == "edit_window_closed"
    assert "editable_until" in late.json()["error"]["details"]
    assert ok(await client.get(path))["body"] == "Typo"


async def test_no_one_edits_or_deletes_another_viewers_comment(
    client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, movie_id: int
) -> None:
    comment = await post_comment(client, viewer, movie_id, "Mine")
    path = f"/api/v1/comments/{comment['id']}"
    patched = await client.patch(path, json={"body": "Hijacked"}, headers=other.headers)
    assert error_code(patched, 403) == "not_comment_author"
    assert error_code(await client.delete(path, headers=other.headers), 403) == "not_comment_author"
    assert error_code(await client.delete(path), 401) == "unauthenticated"
    kept = ok(await client.get(path))
    assert (kept["body"], kept["status"]) == ("Mine", "visible")


async def test_deleting_a_comment_keeps_the_thread_of_its_replies(
    client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, movie_id: int
) -> None:
    lone = await post_comment(client, viewer, movie_id, "Nobody answers this")
    assert (
        await client.delete(f"/api/v1/comments/{lone['id']}", headers=viewer.headers)
    ).status_code == 204
    assert (
        error_code(await client.get(f"/api/v1/comments/{lone['id']}"), 404) == "comment_not_found"
    )

    parent = await post_comment(client, viewer, movie_id, "Start of a thread")
    reply = await post_comment(client, other, movie_id, "An answer", parent_id=parent["id"])
    ok(await client.delete(f"/api/v1/comments/{parent['id']}", headers=viewer.headers), 204)
    [thread] = await threads(client, movie_id, other)
    assert (thread["status"], thread["body"], thread["author"]) == ("deleted", None, None)
    assert thread["notice"] == "Deleted by its author."
    assert [r["body"] for r in thread["replies"]] == ["An answer"]
    edit = await client.patch(
        f"/api/v1/comments/{parent['id']}", json={"body": "Back"}, headers=viewer.headers
    )
    assert error_code(edit, 409) == "comment_removed"
    # When its last reply goes, the placeholder goes too.
    ok(await client.delete(f"/api/v1/comments/{reply['id']}", headers=other.headers), 204)
    assert await threads(client, movie_id, other) == []


async def test_moderators_remove_and_restore_comments(
    client: httpx.AsyncClient,
    viewer: SignedIn,
    other: SignedIn,
    moderator: SignedIn,
    movie_id: int,
) -> None:
    comment = await post_comment(client, viewer, movie_id, "Rude words")
    path = f"/api/v1/comments/{comment['id']}"
    assert error_code(await client.post(f"{path}/remove", headers=other.headers), 403)
    ok(await client.delete(path, headers=moderator.headers), 204)
    [seen] = await threads(client, movie_id, other)
    assert (seen["status"], seen["body"], seen["author"]) == ("removed", None, None)
    assert seen["notice"] == "Removed by a moderator."
    [moderated] = await threads(client, movie_id, moderator)
    assert (moderated["body"], moderated["author"]["display_name"]) == ("Rude words", "Vera Viewer")
    # The author can neither edit it back nor erase the record.
    patched = await client.patch(path, json={"body": "Nice words"}, headers=viewer.headers)
    assert error_code(patched, 409) == "comment_removed"
    assert error_code(await client.delete(path, headers=viewer.headers), 409) == "comment_removed"
    assert error_code(await client.post(f"{path}/restore", headers=viewer.headers), 403)
    restored = ok(await client.post(f"{path}/restore", headers=moderator.headers))
    assert (restored["status"], restored["notice"]) == ("visible", None)
    assert (await threads(client, movie_id, other))[0]["body"] == "Rude words"


async def test_a_comment_is_reported_once_per_viewer(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer: SignedIn,
    other: SignedIn,
    moderator: SignedIn,
    movie_id: int,
) -> None:
    comment = await post_comment(client, viewer, movie_id, "Spam spam spam")
    report = f"/api/v1/comments/{comment['id']}/report"
    responses = await asyncio.gather(
        *(client.post(report, json={"reason": "spam"}, headers=other.headers) for _ in range(4))
    )
    assert sorted(r.status_code for r in responses) == [204, 409, 409, 409]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "already_reported"
    }
    assert error_code(await client.post(report, headers=viewer.headers), 403) == "own_comment"
    for bad in ({"reason": "x" * 501}, {"reason": "  "}, {"reason": 5}, {"why": "spam"}):
        response = await client.post(report, json=bad, headers=moderator.headers)
        assert error_code(response, 422) == "validation_error", bad
    ok(await client.post(report, headers=moderator.headers), 204)  # no body: no reason given

    assert error_code(await client.get("/api/v1/comments/reported", headers=other.headers), 403)
    queue = ok(await client.get("/api/v1/comments/reported", headers=moderator.headers))
    assert [(c["id"], c["report_count"]) for c in queue["items"]] == [(comment["id"], 2)]
    assert (await threads(client, movie_id, other))[0]["report_count"] is None


BAD_COMMENTS: list[dict[str, Any]] = [
    {"body": ""},
    {"body": "  \n "},
    {"body": "x" * 2_001},
    {"body": "bell \x07"},
    {"body": None},
    {"body": 42},
    {},
    {"body": "hi", "parent_id": "abc"},
    {"body": "hi", "parent_id": 0},
    {"body": "hi", "parent_id": 2**63},
    {"body": "hi", "user_id": "someone"},
]


async def test_bad_comments_are_a_422(
    client: httpx.AsyncClient, viewer: SignedIn, movie_id: int
) -> None:
    for body in BAD_COMMENTS:
        response = await client.post(
            f"/api/v1/movies/{movie_id}/comments", json=body, headers=viewer.headers
        )
        assert error_code(response, 422) == "validation_error", body
    assert await threads(client, movie_id, viewer) == []


async def test_comment_text_is_stored_as_given_up_to_2000_characters(
    client: httpx.AsyncClient, viewer: SignedIn, movie_id: int
) -> None:
    start = "<img src=x onerror=alert(1)> & ünïcödé 🎬\n"
    body = start + "x" * (2_000 - len(start))
    comment = await post_comment(client, viewer, movie_id, body)
    assert ok(await client.get(f"/api/v1/comments/{comment['id']}"))["body"] == body


async def test_comment_endpoints_refuse_drafts_bad_ids_and_broken_json(
    client: httpx.AsyncClient, viewer: SignedIn, draft_id: int, movie_id: int
) -> None:
    for response in (
        await client.get(f"/api/v1/movies/{draft_id}/comments", headers=viewer.headers),
        await client.post(
            f"/api/v1/movies/{draft_id}/comments", json={"body": "hi"}, headers=viewer.headers
        ),
    ):
        assert error_code(response, 404) == "not_found"
    for bad in ("0", "abc", str(2**63)):
        for method, suffix in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/report")):
            response = await client.request(
                method,
                f"/api/v1/comments/{bad}{suffix}",
                json={"body": "x"},
                headers=viewer.headers,
            )
            assert error_code(response, 422) == "validation_error", (method, bad)
    assert error_code(await client.get("/api/v1/comments/424242"), 404) == "comment_not_found"
    for content in (b"{not json", b"", b"null", b'["body"]', b'{"body": "lone \\ud800"}'):
        broken = await client.post(
            f"/api/v1/movies/{movie_id}/comments",
            content=content,
            headers={**viewer.headers, "Content-Type": "application/json"},
        )
        assert error_code(broken, 422) == "validation_error", content
