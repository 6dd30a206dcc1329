from __future__ import annotations

import httpx

from tests.community.conftest import create_movie, error_code, ok
from tests.factories import SignedIn


async def test_favorites_are_listed_newest_first_with_the_film(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn, movie_id: int
) -> None:
    second = await create_movie(client, manager, title="Mirror", year=1975)
    first_added = ok(await client.put(f"/api/v1/me/favorites/{movie_id}", headers=viewer.headers))
    assert first_added["movie"]["title"] == "Stalker"
    ok(await client.put(f"/api/v1/me/favorites/{second}", headers=viewer.headers))
    again = ok(await client.put(f"/api/v1/me/favorites/{movie_id}", headers=viewer.headers))
    assert again["created_at"] == first_added["created_at"]  # idempotent: kept as it was

    listed = ok(await client.get("/api/v1/me/favorites", headers=viewer.headers))
    assert listed["total"] == 2
    assert [item["movie"]["title"] for item in listed["items"]] == ["Mirror", "Stalker"]
    assert listed["items"][0]["movie"]["year"] == 1975
    paged = ok(await client.get("/api/v1/me/favorites?page=2&page_size=1", headers=viewer.headers))
    assert [item["movie"]["title"] for item in paged["items"]] == ["Stalker"]


async def test_removing_a_favorite_is_idempotent(
    client: httpx.AsyncClient, viewer: SignedIn, movie_id: int
) -> None:
    ok(await client.put(f"/api/v1/me/favorites/{movie_id}", headers=viewer.headers))
    assert (
        await client.delete(f"/api/v1/me/favorites/{movie_id}", headers=viewer.headers)
    ).status_code == 204
    assert (
        await client.delete(f"/api/v1/me/favorites/{movie_id}", headers=viewer.headers)
    ).status_code == 204
    assert ok(await client.get("/api/v1/me/favorites", headers=viewer.headers))["total"] == 0


async def test_no_one_reads_or_changes_another_viewers_favorites(
    client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, movie_id: int
) -> None:
    ok(await client.put(f"/api/v1/me/favorites/{movie_id}", headers=viewer.headers))
    assert ok(await client.get("/api/v1/me/favorites", headers=other.headers))["total"] == 0
    # The other viewer "removes" the same film: only their own (absent) favorite is touched.
    await client.delete(f"/api/v1/me/favorites/{movie_id}", headers=other.headers)
    assert ok(await client.get("/api/v1/me/favorites", headers=viewer.headers))["total"] == 1
    # There is no way to name another user: a user id is not a film id.
    response = await client.put(f"/api/v1/me/favorites/{viewer.user.id}", headers=other.headers)
    assert error_code(response, 422) == "validation_error"


async def test_favorites_need_a_signed_in_caller(client: httpx.AsyncClient, movie_id: int) -> None:
    assert error_code(await client.get("/api/v1/me/favorites"), 401) == "unauthenticated"
    assert error_code(await client.put(f"/api/v1/me/favorites/{movie_id}"), 401)
    assert error_code(await client.delete(f"/api/v1/me/favorites/{movie_id}"), 401)


async def test_drafts_and_unknown_films_are_not_found(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn, movie_id: int, draft_id: int
) -> None:
    for film in (draft_id, 987654):
        response = await client.put(f"/api/v1/me/favorites/{film}", headers=viewer.headers)
        assert error_code(response, 404) == "not_found"
    for bad in ("0", "-1", "abc", str(2**63)):
        response = await client.put(f"/api/v1/me/favorites/{bad}", headers=viewer.headers)
        assert error_code(response, 422) == "validation_error"
    # A favorite whose film goes back to draft leaves a viewer's list.
    ok(await client.put(f"/api/v1/me/favorites/{movie_id}", headers=viewer.headers))
    ok(
        await client.patch(
            f"/api/v1/movies/{movie_id}", json={"status": "draft"}, headers=manager.headers
        )
    )
    assert ok(await client.get("/api/v1/me/favorites", headers=viewer.headers))["items"] == []
