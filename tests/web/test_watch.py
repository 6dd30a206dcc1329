"""The watch page: a player wired to the signed stream and the viewer's saved position, or a
plain explanation when the film cannot play (401, 402, 403, 404) instead of a broken player."""

from __future__ import annotations

import re
from datetime import date

import httpx
from fastapi import FastAPI

from tests.factories import SignedIn
from tests.playback.support import publish_tiny_asset, set_birth_date
from tests.web.conftest import create_movie, sign_in


def player_data(page: httpx.Response) -> dict[str, str]:
    match = re.search(r'<div class="player" data-player(.*?)>', page.text, re.S)
    assert match, "no player on the page"
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', match.group(1)))


async def test_the_player_gets_the_signed_stream_and_the_position_to_resume(
    client: httpx.AsyncClient, app: FastAPI, manager: SignedIn, viewer: SignedIn
) -> None:
    film = await create_movie(client, manager, title="Clip")
    asset = await publish_tiny_asset(app, film, duration=100.0)
    saved = await client.put(
        f"/api/v1/me/progress/{film}", json={"position_seconds": 42.5}, headers=viewer.headers
    )
    assert saved.status_code == 200
    await sign_in(client, viewer)

    page = await client.get(f"/watch/{film}")

    assert page.status_code == 200
    data = player_data(page)
    assert re.fullmatch(rf"/stream/[\w-]{{22}}/\d+/{asset}/master\.m3u8", data["master"])
    assert data["resume"] == "42.5"
    assert data["duration"] == "100.0"
    assert data["storyboard"].endswith(f"/{asset}/storyboard/storyboard.vtt")
    assert data["progress-url"] == f"/api/v1/me/progress/{film}"
    assert "/static/vendor/hls.min.js" in page.text
    assert "/static/js/player.js" in page.text
    master = await client.get(data["master"])
    assert master.status_code == 200  # the path plays from the site's own address


async def test_a_signed_out_visitor_watches_a_free_film_without_saving_progress(
    client: httpx.AsyncClient, app: FastAPI, manager: SignedIn
) -> None:
    film = await create_movie(client, manager, title="Free for all")
    await publish_tiny_asset(app, film)

    data = player_data(await client.get(f"/watch/{film}"))

    assert data["resume"] == "0.0"
    assert data["progress-url"] == ""


async def test_a_film_for_members_asks_a_signed_out_visitor_to_sign_in(
    client: httpx.AsyncClient, app: FastAPI, manager: SignedIn
) -> None:
    film = await create_movie(client, manager, title="Members", access="registered")
    await publish_tiny_asset(app, film)

    page = await client.get(f"/watch/{film}")

    assert page.status_code == 401
    assert "data-player" not in page.text
    assert "Sign in to watch" in page.text
    assert f'href="/login?next=/watch/{film}"' in page.text


async def test_a_paid_film_says_it_is_not_included(
    client: httpx.AsyncClient, app: FastAPI, manager: SignedIn, viewer: SignedIn
) -> None:
    film = await create_movie(client, manager, title="Premium", access="subscription")
    await publish_tiny_asset(app, film)
    await sign_in(client, viewer)

    page = await client.get(f"/watch/{film}")

    assert page.status_code == 402
    assert "data-player" not in page.text
    assert "Not included yet" in page.text
    assert "subscription" in page.text


async def test_an_adults_only_film_asks_for_a_birth_date_and_refuses_a_minor(
    client: httpx.AsyncClient, app: FastAPI, manager: SignedIn, viewer: SignedIn
) -> None:
    film = await create_movie(client, manager, title="Late Night", age_rating="NC-17")
    await publish_tiny_asset(app, film)
    await sign_in(client, viewer)

    unknown_age = await client.get(f"/watch/{film}")
    await set_birth_date(client, viewer, date.today().replace(year=date.today().year - 15))
    minor = await client.get(f"/watch/{film}")

    assert unknown_age.status_code == 403
    assert 'href="/account#profile"' in unknown_age.text
    assert minor.status_code == 403
    assert "18 and over" in minor.text
    assert "data-player" not in minor.text


async def test_a_film_without_video_says_there_is_nothing_to_play(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager, title="Coming Soon")

    page = await client.get(f"/watch/{film}")

    assert page.status_code == 404
    assert "Nothing to play yet" in page.text
    assert f'href="/movies/{film}"' in page.text
