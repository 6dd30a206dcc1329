"""POST /api/v1/movies/{id}/playback: who may play what, and what a player gets back."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from kino.core.db import utcnow
from kino.playback.entitlements import age_on, is_adults_only
from kino.settings import Settings
from tests.factories import SignedIn
from tests.playback.support import (
    make_movie,
    path_of,
    playback,
    publish_tiny_asset,
    set_birth_date,
    start,
    stream_prefix,
)


async def test_a_free_film_plays_for_anyone_with_a_signed_master_url(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, settings: Settings
) -> None:
    movie_id = await make_movie(client, manager, access="free")
    asset_id = await publish_tiny_asset(app, movie_id, duration=120.0)
    before = time.time()

    body = await playback(client, movie_id)
    after = time.time()

    assert body["master_url"].startswith(settings.public_url + "/stream/")
    token, expires, signed_asset, name = path_of(body["master_url"]).split("/")[2:]
    assert (signed_asset, name) == (str(asset_id), "master.m3u8")
    assert len(token) == 22
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert int(expires) == int(expires_at.timestamp())
    # Signed at some instant of the request, in whole seconds.
    ttl = settings.playback_ttl_seconds
    assert int(before) + ttl <= expires_at.timestamp() <= int(after) + ttl + 1
    prefix = stream_prefix(body["master_url"])
    assert path_of(body["poster_url"]) == prefix + "images/poster.jpg"
    assert path_of(body["storyboard_url"]) == prefix + "storyboard/storyboard.vtt"
    assert body["resume_position_seconds"] == 0
    assert (body["movie_id"], body["asset_id"], body["duration_seconds"]) == (
        movie_id,
        asset_id,
        120.0,
    )
    assert body["subtitles"] == []


async def test_the_ttl_setting_sets_the_lifetime(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"playback_ttl_seconds": 600})
    movie_id = await make_movie(client, manager)
    await publish_tiny_asset(app, movie_id)

    body = await playback(client, movie_id)

    remaining = datetime.fromisoformat(body["expires_at"]) - utcnow()
    assert timedelta(seconds=590) <= remaining <= timedelta(seconds=601)


async def test_subtitles_are_listed_with_their_labels(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    movie_id = await make_movie(client, manager)
    await publish_tiny_asset(app, movie_id)
    for language, label in (("ru", None), ("en", "English (CC)")):
        response = await client.post(
            f"/api/v1/movies/{movie_id}/subtitles",
            files={"file": (f"{language}.vtt", b"WEBVTT\n\n00:00.000 --> 00:01.000\nHi\n")},
            data={"language": language, **({"label": label} if label else {})},
            headers=manager.headers,
        )
        assert response.status_code == 201, response.text

    body = await playback(client, movie_id)

    assert body["subtitles"] == [
        {"language": "en", "label": "English (CC)"},
        {"language": "ru", "label": "Russian"},
    ]


async def test_a_film_without_images_has_no_poster_or_storyboard(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    movie_id = await make_movie(client, manager)
    await publish_tiny_asset(app, movie_id, images=None)

    body = await playback(client, movie_id)

    assert (body["poster_url"], body["storyboard_url"]) == (None, None)


async def test_a_registered_film_needs_a_signed_in_viewer(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    movie_id = await make_movie(client, manager, access="registered")
    await publish_tiny_asset(app, movie_id)

    anonymous = await start(client, movie_id)
    signed_in = await start(client, movie_id, viewer)

    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    assert signed_in.status_code == 200


@pytest.mark.parametrize("access", ["subscription", "rental", "purchase"])
async def test_paid_films_answer_payment_required(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn, access: str
) -> None:
    movie_id = await make_movie(client, manager, access=access)
    await publish_tiny_asset(app, movie_id)

    for who in (None, viewer):
        response = await start(client, movie_id, who)
        assert response.status_code == 402, response.text
        error = response.json()["error"]
        assert (error["code"], error["details"]) == ("payment_required", {"access": access})


async def test_staff_may_play_paid_films_and_drafts_to_check_them(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    paid = await make_movie(client, manager, access="purchase")
    draft = await make_movie(client, manager, status="draft")
    for movie_id in (paid, draft):
        await publish_tiny_asset(app, movie_id)

    assert (await start(client, paid, manager)).status_code == 200
    assert (await start(client, draft, manager)).status_code == 200
    assert (await start(client, draft, viewer)).status_code == 404
    assert (await start(client, draft)).status_code == 404


async def test_a_film_with_nothing_published_is_not_found(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    movie_id = await make_movie(client, manager)

    response = await start(client, movie_id)

    assert response.status_code == 404
    assert "no published video" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("movie_id", "status"),
    [("999999", 404), ("0", 422), ("-3", 422), ("abc", 422), ("9" * 30, 422)],
)
async def test_unknown_and_malformed_film_ids_are_refused(
    client: httpx.AsyncClient, movie_id: str, status: int
) -> None:
    response = await client.post(f"/api/v1/movies/{movie_id}/playback")
    assert response.status_code == status
    assert "error" in response.json()


def _years_ago(years: int, *, days: int = 0) -> date:
    today = utcnow().date()
    try:
        day = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        day = today.replace(year=today.year - years, day=28)
    return day + timedelta(days=days)


async def test_an_adults_only_film_needs_a_signed_in_adult_with_a_birth_date(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    movie_id = await make_movie(client, manager, age_rating="NC-17")
    await publish_tiny_asset(app, movie_id)

    anonymous = await start(client, movie_id)
    undated = await start(client, movie_id, viewer)
    await set_birth_date(client, viewer, _years_ago(18, days=1))  # 18 tomorrow
    minor = await start(client, movie_id, viewer)
    await set_birth_date(client, viewer, _years_ago(18))  # 18 today
    adult = await start(client, movie_id, viewer)

    assert anonymous.status_code == 401
    assert (undated.status_code, undated.json()["error"]["code"]) == (
        403,
        "age_verification_required",
    )
    assert (minor.status_code, minor.json()["error"]["code"]) == (403, "age_restricted")
    assert adult.status_code == 200, adult.text


async def test_the_age_rule_comes_before_payment_and_holds_for_staff(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    movie_id = await make_movie(client, manager, age_rating="X", access="rental")
    await publish_tiny_asset(app, movie_id)
    await set_birth_date(client, viewer, _years_ago(15))

    as_minor = await start(client, movie_id, viewer)
    as_undated_manager = await start(client, movie_id, manager)

    assert (as_minor.status_code, as_minor.json()["error"]["code"]) == (403, "age_restricted")
    assert as_undated_manager.status_code == 403


@pytest.mark.parametrize("rating", ["R", "PG-13", "PG", "G", "M/PG", "GP", "M", None])
async def test_other_ratings_play_for_minors(
    app: FastAPI,
    client: httpx.AsyncClient,
    manager: SignedIn,
    viewer: SignedIn,
    rating: str | None,
) -> None:
    movie_id = await make_movie(client, manager, age_rating=rating)
    await publish_tiny_asset(app, movie_id)
    await set_birth_date(client, viewer, _years_ago(12))

    assert (await start(client, movie_id, viewer)).status_code == 200
    assert (await start(client, movie_id)).status_code == 200


def test_adults_only_ratings() -> None:
    assert all(is_adults_only(r) for r in ("NC-17", "nc-17", " X ", "18", "R18+", "18+"))
    assert not any(is_adults_only(r) for r in ("R", "PG-13", "TV-14", "", None))


def test_age_counts_full_years() -> None:
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18
    assert age_on(date(2000, 6, 15), date(2018, 6, 15)) == 18
    assert age_on(date(2000, 6, 15), date(2018, 6, 14)) == 17


async def test_each_start_counts_a_view_that_sorts_by_popularity(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    watched = await make_movie(client, manager, title="Watched")
    ignored = await make_movie(client, manager, title="Ignored")
    for movie_id in (watched, ignored):
        await publish_tiny_asset(app, movie_id)
    before = (await client.get(f"/api/v1/movies/{watched}", headers=manager.headers)).json()

    for who in (None, viewer, viewer):
        await playback(client, watched, who)

    after = (await client.get(f"/api/v1/movies/{watched}", headers=manager.headers)).json()
    assert after["popularity"] == before["popularity"] + 3
    assert after["updated_at"] == before["updated_at"]  # a view is not an edit
    listing = await client.get("/api/v1/movies?sort=-popularity", headers=viewer.headers)
    assert [movie["id"] for movie in listing.json()["items"]] == [watched, ignored]


async def test_refused_starts_count_no_view(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    movie_id = await make_movie(client, manager, access="subscription")
    await publish_tiny_asset(app, movie_id)

    assert (await start(client, movie_id)).status_code == 402

    film = (await client.get(f"/api/v1/movies/{movie_id}", headers=manager.headers)).json()
    assert film["popularity"] == 0


async def test_playback_resumes_where_the_viewer_left_off(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    movie_id = await make_movie(client, manager)
    await publish_tiny_asset(app, movie_id, duration=100.0)
    progress = f"/api/v1/me/progress/{movie_id}"

    await client.put(progress, json={"position_seconds": 42.5}, headers=viewer.headers)
    resumed = await playback(client, movie_id, viewer)
    await client.put(progress, json={"position_seconds": 96}, headers=viewer.headers)
    finished = await playback(client, movie_id, viewer)

    assert resumed["resume_position_seconds"] == 42.5
    assert finished["resume_position_seconds"] == 0
    assert (await playback(client, movie_id))["resume_position_seconds"] == 0  # anonymous


async def test_starting_playback_keeps_the_catalog_cache(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    movie_id = await make_movie(client, manager)
    await publish_tiny_asset(app, movie_id)
    assert (await client.get("/api/v1/movies")).headers["x-cache"] == "miss"

    await playback(client, movie_id, viewer)
    await client.put(
        f"/api/v1/me/progress/{movie_id}", json={"position_seconds": 3}, headers=viewer.headers
    )
    after_viewer = await client.get("/api/v1/movies")
    await client.patch(f"/api/v1/movies/{movie_id}", json={"year": 1999}, headers=manager.headers)
    after_edit = await client.get("/api/v1/movies")

    assert after_viewer.headers["x-cache"] == "hit"
    assert after_edit.headers["x-cache"] == "miss"
    assert after_edit.json()["items"][0]["year"] == 1999
