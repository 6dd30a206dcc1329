"""Watch progress, continue-watching and history under /api/v1/me: the rules, bad input, and
that no viewer reads or changes another's."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import SignedIn, make_user
from tests.playback.support import make_movie, path_of, publish_tiny_asset

ME = "/api/v1/me"


async def put_progress(
    client: httpx.AsyncClient, viewer: SignedIn, movie_id: int, position: Any
) -> httpx.Response:
    return await client.put(
        f"{ME}/progress/{movie_id}", json={"position_seconds": position}, headers=viewer.headers
    )


async def listed(client: httpx.AsyncClient, viewer: SignedIn, path: str) -> list[dict[str, Any]]:
    response = await client.get(f"{ME}/{path}", headers=viewer.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [item["movie"]["id"] for item in items]


@pytest.fixture
async def film(app: FastAPI, client: httpx.AsyncClient, manager: SignedIn) -> int:
    movie_id = await make_movie(client, manager, title="Heat", year=1995)
    await publish_tiny_asset(app, movie_id, duration=100.0)
    return movie_id


async def test_progress_is_stored_and_shown_with_the_film(
    client: httpx.AsyncClient, viewer: SignedIn, film: int
) -> None:
    response = await put_progress(client, viewer, film, 30.5)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["movie"]["id"] == film
    assert (body["movie"]["title"], body["movie"]["year"]) == ("Heat", 1995)
    assert body["movie"]["slug"].startswith("heat")
    assert path_of(body["movie"]["poster_url"]).endswith("/images/poster.jpg")
    assert (body["position_seconds"], body["duration_seconds"], body["watched"]) == (
        30.5,
        100.0,
        False,
    )
    assert [item["position_seconds"] for item in await listed(client, viewer, "history")] == [30.5]


async def test_the_last_write_wins_even_backwards(
    client: httpx.AsyncClient, viewer: SignedIn, film: int
) -> None:
    first = (await put_progress(client, viewer, film, 80)).json()
    second = (await put_progress(client, viewer, film, 20)).json()

    assert second["position_seconds"] == 20
    assert second["started_at"] == first["started_at"]
    assert second["updated_at"] >= first["updated_at"]
    (item,) = await listed(client, viewer, "history")
    assert item["position_seconds"] == 20


async def test_positions_past_the_end_are_clamped_and_95_percent_is_watched(
    client: httpx.AsyncClient, viewer: SignedIn, film: int
) -> None:
    almost = (await put_progress(client, viewer, film, 94.9)).json()
    enough = (await put_progress(client, viewer, film, 95)).json()
    beyond = (await put_progress(client, viewer, film, 5000)).json()
    again = (await put_progress(client, viewer, film, 10)).json()  # watching it again

    assert almost["watched"] is False
    assert enough["watched"] is True
    assert (beyond["position_seconds"], beyond["watched"]) == (100.0, True)
    assert again["watched"] is False


async def test_a_film_without_video_uses_its_runtime_or_stores_the_position_as_sent(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    with_runtime = await make_movie(client, manager, runtime_minutes=2)
    without = await make_movie(client, manager)

    timed = (await put_progress(client, viewer, with_runtime, 500)).json()
    untimed = (await put_progress(client, viewer, without, 500)).json()

    assert (timed["position_seconds"], timed["duration_seconds"], timed["watched"]) == (
        120.0,
        120.0,
        True,
    )
    assert (untimed["position_seconds"], untimed["duration_seconds"]) == (500.0, None)
    assert untimed["watched"] is False


async def test_continue_watching_lists_started_unfinished_films_newest_first(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    films = []
    for title in ("First", "Second", "Finished", "Untouched", "Not started"):
        movie_id = await make_movie(client, manager, title=title)
        await publish_tiny_asset(app, movie_id, duration=100.0)
        films.append(movie_id)
    first, second, finished, _untouched, not_started = films
    for movie_id, position in ((first, 10), (second, 20), (finished, 99), (not_started, 0)):
        await put_progress(client, viewer, movie_id, position)
    await put_progress(client, viewer, first, 15)  # watched most recently

    assert ids(await listed(client, viewer, "continue-watching")) == [first, second]
    assert ids(await listed(client, viewer, "history")) == [first, not_started, finished, second]


async def test_history_pages(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    films = [await make_movie(client, manager, title=f"Film {n}") for n in range(5)]
    for movie_id in films:
        await put_progress(client, viewer, movie_id, 1)

    page = await client.get(f"{ME}/history?page=2&page_size=2", headers=viewer.headers)
    too_big = await client.get(f"{ME}/history?page_size=101", headers=viewer.headers)

    body = page.json()
    assert (body["total"], body["page"], body["page_size"]) == (5, 2, 2)
    assert ids(body["items"]) == [films[2], films[1]]
    assert too_big.status_code == 422


async def test_forgetting_one_film_and_clearing_the_history(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn, film: int
) -> None:
    other = await make_movie(client, manager, title="Other")
    third = await make_movie(client, manager, title="Third")
    for movie_id in (film, other, third):
        await put_progress(client, viewer, movie_id, 10)

    forgotten = await client.delete(f"{ME}/history/{film}", headers=viewer.headers)
    again = await client.delete(f"{ME}/history/{film}", headers=viewer.headers)

    assert forgotten.status_code == 204
    assert again.status_code == 404
    assert ids(await listed(client, viewer, "history")) == [third, other]
    resumed = await client.post(f"/api/v1/movies/{film}/playback", headers=viewer.headers)
    assert resumed.json()["resume_position_seconds"] == 0
    cleared = await client.delete(f"{ME}/history", headers=viewer.headers)
    assert cleared.status_code == 204
    assert await listed(client, viewer, "history") == []
    assert await listed(client, viewer, "continue-watching") == []


async def test_no_viewer_reads_or_changes_anothers_progress(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, film: int
) -> None:
    intruder = await make_user(app)
    await put_progress(client, viewer, film, 42)

    # Reads: the intruder's lists hold only the intruder's films.
    assert await listed(client, intruder, "history") == []
    assert await listed(client, intruder, "continue-watching") == []
    # Writes with the same film id change the intruder's own row only.
    assert (await put_progress(client, intruder, film, 7)).status_code == 200
    # Deletes: one film, then everything, only ever the intruder's.
    assert (
        await client.delete(f"{ME}/history/{film}", headers=intruder.headers)
    ).status_code == 204
    assert (
        await client.delete(f"{ME}/history/{film}", headers=intruder.headers)
    ).status_code == 404
    assert (await client.delete(f"{ME}/history", headers=intruder.headers)).status_code == 204

    (item,) = await listed(client, viewer, "history")
    assert item["position_seconds"] == 42
    assert ids(await listed(client, viewer, "continue-watching")) == [film]
    resumed = await client.post(f"/api/v1/movies/{film}/playback", headers=viewer.headers)
    assert resumed.json()["resume_position_seconds"] == 42


async def test_every_endpoint_needs_a_signed_in_viewer(
    client: httpx.AsyncClient, film: int
) -> None:
    attempts = [
        client.put(f"{ME}/progress/{film}", json={"position_seconds": 1}),
        client.get(f"{ME}/continue-watching"),
        client.get(f"{ME}/history"),
        client.delete(f"{ME}/history/{film}"),
        client.delete(f"{ME}/history"),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(
    "body",
    [
        b'{"position_seconds": -1}',
        b'{"position_seconds": NaN}',
        b'{"position_seconds": Infinity}',
        b'{"position_seconds": 1e308}',
        b'{"position_seconds": 604801}',
        b'{"position_seconds": "12"}',
        b'{"position_seconds": true}',
        b'{"position_seconds": null}',
        b'{"position_seconds": 5, "watched": true}',
        b"{}",
        b"[]",
        b'{"position_seconds": 5',
        b"",
    ],
)
async def test_bad_positions_are_refused(
    client: httpx.AsyncClient, viewer: SignedIn, film: int, body: bytes
) -> None:
    response = await client.put(
        f"{ME}/progress/{film}",
        content=body,
        headers={**viewer.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert await listed(client, viewer, "history") == []


@pytest.mark.parametrize(
    ("movie_id", "status"), [("0", 422), ("x", 422), ("1e3", 422), ("999999", 404)]
)
async def test_bad_film_ids_are_refused(
    client: httpx.AsyncClient, viewer: SignedIn, movie_id: str, status: int
) -> None:
    put = await client.put(
        f"{ME}/progress/{movie_id}", json={"position_seconds": 1}, headers=viewer.headers
    )
    delete = await client.delete(f"{ME}/history/{movie_id}", headers=viewer.headers)

    assert put.status_code == status
    assert delete.status_code == status


async def test_a_draft_takes_no_progress_from_viewers(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    draft = await make_movie(client, manager, status="draft")

    assert (await put_progress(client, viewer, draft, 5)).status_code == 404
    assert (await put_progress(client, manager, draft, 5)).status_code == 200


async def test_posters_only_for_films_the_viewer_may_play(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    """A poster's signed path opens the whole asset, so a paid film's is withheld."""
    paid = await make_movie(client, manager, access="subscription")
    await publish_tiny_asset(app, paid)

    item = (await put_progress(client, viewer, paid, 5)).json()

    assert item["movie"]["poster_url"] is None
