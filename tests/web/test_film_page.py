"""The film page and what a viewer does there: like, favorite, rate, review and vote, comment.
Each action works as a plain form post (redirect back) and through htmx (a fragment)."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import SignedIn
from tests.playback.support import publish_tiny_asset
from tests.web.conftest import create_movie, create_person, csrf_token, post_form, sign_in


@pytest.fixture
async def film(client: httpx.AsyncClient, manager: SignedIn) -> int:
    director = await create_person(client, manager, "Andrei Tarkovsky")
    actor = await create_person(client, manager, "Alisa Freindlich")
    return await create_movie(
        client,
        manager,
        title="Stalker",
        year=1979,
        runtime_minutes=162,
        age_rating="PG",
        synopsis="A guide leads two men into the Zone.",
        genres=["Drama", "Sci-Fi"],
        countries=["Soviet Union"],
        credits=[
            {"person_id": director, "role": "director"},
            {"person_id": actor, "role": "actor", "character": "Stalker's wife"},
        ],
    )


async def test_the_film_page_shows_facts_credits_and_a_placeholder(
    client: httpx.AsyncClient, film: int
) -> None:
    page = await client.get(f"/movies/{film}")

    assert page.status_code == 200
    text = page.text
    assert '<h1 id="film-title">Stalker</h1>' in text
    for fact in (
        "1979",
        "2 h 42 min",
        "PG",
        "A guide leads two men into the Zone.",
        "Soviet Union",
    ):
        assert fact in text
    assert re.search(r'href="/people/\d+">Andrei Tarkovsky</a>', text)
    assert "Stalker&#39;s wife" in text
    assert 'href="/movies?genre=sci-fi"' in text
    assert "No video yet" in text
    assert 'href="/watch/' not in text
    assert "Sign in to like, rate and save" in text


async def test_a_film_with_a_video_has_a_play_button_and_its_poster(
    client: httpx.AsyncClient, app: FastAPI, film: int
) -> None:
    asset = await publish_tiny_asset(app, film)

    page = await client.get(f"/movies/{film}")

    assert f'href="/watch/{film}"' in page.text
    assert f'src="/posters/{film}/large.jpg?v={asset}"' in page.text


async def test_a_draft_is_not_found_by_viewers_but_shown_to_staff(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, manager: SignedIn
) -> None:
    draft = await create_movie(client, manager, title="Work in Progress", status="draft")
    await sign_in(browser, manager)

    assert (await client.get(f"/movies/{draft}")).status_code == 404
    staff = await browser.get(f"/movies/{draft}")
    assert staff.status_code == 200
    assert "Draft" in staff.text


async def test_liking_and_favoriting_with_plain_forms(
    client: httpx.AsyncClient, viewer: SignedIn, film: int
) -> None:
    await sign_in(client, viewer)

    liked = await post_form(client, f"/movies/{film}/like", {"liked": "1"})
    favorite = await post_form(client, f"/movies/{film}/favorite", {"favorite": "1"})

    assert (liked.status_code, liked.headers["location"]) == (303, f"/movies/{film}#film-actions")
    assert favorite.status_code == 303
    state = (await client.get(f"/api/v1/movies/{film}")).json()
    assert (state["liked"], state["favorite"], state["like_count"]) == (True, True, 1)
    page = await client.get(f"/movies/{film}")
    assert 'aria-pressed="true">♥ Liked</button>' in page.text
    assert "★ In favorites" in page.text

    await post_form(client, f"/movies/{film}/like", {"liked": "0"})
    assert (await client.get(f"/api/v1/movies/{film}")).json()["like_count"] == 0


async def test_rating_through_htmx_answers_with_the_updated_controls(
    client: httpx.AsyncClient, viewer: SignedIn, film: int
) -> None:
    await sign_in(client, viewer)

    fragment = await post_form(client, f"/movies/{film}/rating", {"score": "8"}, htmx=True)

    assert fragment.status_code == 200
    assert fragment.text.startswith('<div class="film-actions-block" id="film-actions">')
    assert '<option value="8" selected>' in fragment.text
    assert "★ 8" in fragment.text
    cleared = await post_form(client, f"/movies/{film}/rating", {"score": ""}, htmx=True)
    assert "No ratings yet" in cleared.text
    assert (await client.get(f"/api/v1/movies/{film}")).json()["my_rating"] is None


async def test_a_signed_out_visitor_is_sent_to_sign_in_and_nothing_changes(
    client: httpx.AsyncClient, film: int
) -> None:
    response = await post_form(client, f"/movies/{film}/like", {"liked": "1"})

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    assert (await client.get(f"/api/v1/movies/{film}")).json()["like_count"] == 0


async def test_a_review_is_posted_and_a_spoiler_stays_behind_a_disclosure(
    client: httpx.AsyncClient, viewer: SignedIn, film: int
) -> None:
    await sign_in(client, viewer)

    response = await post_form(
        client,
        f"/movies/{film}/reviews",
        {"title": "The room", "body": "They never enter it.", "score": "9", "spoiler": "1"},
    )

    assert response.status_code == 303
    page = await client.get(response.headers["location"].split("#")[0])
    review = re.search(r'<article class="review".*?</article>', page.text, re.S)
    assert review is not None
    assert "The room" in review.group(0)
    assert "★ 9/10" in review.group(0)
    assert re.search(
        r"<details class=\"spoiler\">\s*<summary>Contains spoilers.*?They never enter it\.",
        review.group(0),
        re.S,
    )


async def test_a_review_with_missing_fields_or_a_second_review_is_explained(
    client: httpx.AsyncClient, viewer: SignedIn, film: int
) -> None:
    await sign_in(client, viewer)

    empty = await post_form(client, f"/movies/{film}/reviews", {"title": "", "body": "Body."})
    first = await post_form(client, f"/movies/{film}/reviews", {"title": "One", "body": "Yes."})
    second = await post_form(client, f"/movies/{film}/reviews", {"title": "Two", "body": "No."})

    assert empty.status_code == 422
    assert 'id="review-title-error"' in empty.text
    assert ">Body.</textarea>" in empty.text  # what was typed is kept
    assert first.status_code == 303
    assert second.status_code == 409
    assert "already reviewed" in second.text


async def test_votes_on_someone_elses_review(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    viewer: SignedIn,
    other: SignedIn,
    film: int,
) -> None:
    await sign_in(browser, other)
    await post_form(browser, f"/movies/{film}/reviews", {"title": "Slow", "body": "Very slow."})
    review_id = (await client.get(f"/api/v1/movies/{film}/reviews")).json()["items"][0]["id"]
    await sign_in(client, viewer)

    voted = await post_form(client, f"/reviews/{review_id}/vote", {"helpful": "1"}, htmx=True)

    assert voted.status_code == 200
    assert "1 found this helpful" in voted.text
    assert 'aria-pressed="true">Helpful</button>' in voted.text
    withdrawn = await post_form(client, f"/reviews/{review_id}/vote", {"helpful": ""}, htmx=True)
    assert "0 found this helpful" in withdrawn.text
    own = await post_form(browser, f"/reviews/{review_id}/vote", {"helpful": "1"})
    assert own.status_code == 403  # not on one's own review


async def test_comments_and_replies_and_deleting_ones_own(
    client: httpx.AsyncClient, viewer: SignedIn, film: int
) -> None:
    await sign_in(client, viewer)

    posted = await post_form(client, f"/movies/{film}/comments", {"body": "Who has seen it?"})
    comment_id = int(posted.headers["location"].rsplit("-", 1)[1])
    reply = await post_form(
        client, f"/movies/{film}/comments", {"body": "Me, twice.", "parent_id": str(comment_id)}
    )
    page = await client.get(f"/movies/{film}")

    assert (posted.status_code, reply.status_code) == (303, 303)
    assert re.search(r'<ul class="replies">.*?Me, twice\.', page.text, re.S)
    deleted = await post_form(client, f"/comments/{comment_id}/delete")
    assert deleted.status_code == 303
    assert "Who has seen it?" not in (await client.get(f"/movies/{film}")).text


async def test_an_empty_comment_is_refused_with_a_message(
    client: httpx.AsyncClient, viewer: SignedIn, film: int
) -> None:
    await sign_in(client, viewer)

    response = await post_form(client, f"/movies/{film}/comments", {"body": "   "})

    assert response.status_code == 422
    assert 'id="comment-body-error"' in response.text


async def test_another_viewer_cannot_delete_a_comment(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    viewer: SignedIn,
    other: SignedIn,
    film: int,
) -> None:
    await sign_in(client, viewer)
    posted = await post_form(client, f"/movies/{film}/comments", {"body": "Mine."})
    comment_id = int(posted.headers["location"].rsplit("-", 1)[1])
    await sign_in(browser, other)

    response = await post_form(
        browser, f"/comments/{comment_id}/delete", token=await csrf_token(browser, "/")
    )

    assert response.status_code == 403
    assert "Mine." in (await client.get(f"/movies/{film}")).text


async def test_a_reply_to_a_comment_on_another_film_is_refused_with_a_message(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn, film: int
) -> None:
    elsewhere = await create_movie(client, manager, title="Elsewhere")
    await sign_in(client, viewer)
    posted = await post_form(client, f"/movies/{elsewhere}/comments", {"body": "Over here."})
    comment_id = posted.headers["location"].rsplit("-", 1)[1]

    response = await post_form(
        client, f"/movies/{film}/comments", {"body": "Lost?", "parent_id": comment_id}
    )

    assert response.status_code == 422
    assert f"Comment {comment_id} is not a comment on film {film}." in response.text
