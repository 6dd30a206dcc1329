"""The main pages, and the staff's film, people and users pages, in Chromium at a phone's
width (390 px) and a desktop's (1280 px): nothing wider than the screen, every image loaded,
no console errors. Screenshots are saved under tests/e2e/.screenshots/{mode}/ (ignored by git)
for a person to look at."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from playwright.async_api import Browser, Page, expect

from kino.identity.models import Role
from tests.conftest import Backend
from tests.e2e.conftest import SCREENSHOTS, ConsoleErrors, Site, wait_until
from tests.factories import DEFAULT_PASSWORD, SignedIn, make_user

SCREENS = {390: 844, 1280: 800}
FILMS = [
    ("Northern Lights", "Drama"),
    ("The Long Winter of Katrine Holm", "Drama"),
    ("Salt", "Mystery"),
    ("Fog Over Skagen", "Mystery"),
    ("A Very Long Title That Has To Wrap Over Several Lines Somewhere", "Comedy"),
    ("Harbour", "Comedy"),
    ("Gulls", "Comedy"),
]


async def test_main_pages_fit_a_phone_and_a_desktop_and_load_cleanly(
    chromium: Browser, site: Site, app: FastAPI, backend: Backend
) -> None:
    viewer = await make_user(app, display_name="Vera Viewer")
    critic = await make_user(app, display_name="Carl Critic")
    admin = await make_user(app, role=Role.ADMIN, display_name="Ada Admin")
    director = await _fill_catalog(site, viewer, critic)
    pages = {
        "home": "/",
        "browse": "/movies",
        "film": f"/movies/{site.film_id}",
        "search": "/search?q=lighthouse",
        "person": f"/people/{director}",
        "account": "/account",
        "history": "/account/history",
        "watch": f"/watch/{site.film_id}",
    }
    staff_pages = {
        "admin-films": "/admin/movies",
        "admin-film": f"/admin/movies/{site.film_id}/edit",
        "admin-people": "/admin/people",
        "admin-users": "/admin/users",
    }
    folder = SCREENSHOTS / backend.mode
    folder.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    errors = ConsoleErrors()
    for width, height in SCREENS.items():
        context = await chromium.new_context(viewport={"width": width, "height": height})
        page = await context.new_page()
        errors.watch(page)
        try:
            for name in ("login", "register"):
                problems += await _visit(page, site(f"/{name}"), folder / f"{name}-{width}.png")
            await _sign_in(page, site, viewer)
            for name, path in pages.items():
                problems += await _visit(page, site(path), folder / f"{name}-{width}.png")
            await context.clear_cookies()
            await _sign_in(page, site, admin)
            for name, path in staff_pages.items():
                problems += await _visit(page, site(path), folder / f"{name}-{width}.png")
        finally:
            await context.close()
    assert problems == []
    assert errors.messages == []


async def _fill_catalog(site: Site, viewer: SignedIn, critic: SignedIn) -> int:
    """A few films around the transcoded one, a director, and what two viewers did; the
    director's id."""
    async with httpx.AsyncClient(base_url=site.url) as http:
        staff = site.manager.headers
        director = await _created(
            http.post("/api/v1/people", json={"name": "Agnès Varda"}, headers=staff)
        )
        actor = await _created(
            http.post("/api/v1/people", json={"name": "Mads Mikkelsen"}, headers=staff)
        )
        details = {
            "year": 2021,
            "runtime_minutes": 104,
            "age_rating": "PG-13",
            "synopsis": "A keeper alone on a rock in the North Sea keeps a lamp lit.",
            "genres": ["Drama", "Mystery"],
            "countries": ["Denmark"],
            "languages": ["Danish", "English"],
            "credits": [
                {"person_id": director, "role": "director"},
                {"person_id": actor, "role": "actor", "character": "The keeper"},
            ],
        }
        await _ok(http.patch(f"/api/v1/movies/{site.film_id}", json=details, headers=staff))
        for number, (title, genre) in enumerate(FILMS):
            film: dict[str, Any] = {"title": title, "year": 1990 + number, "genres": [genre]}
            film |= {"status": "published"}
            if number % 3 == 0:
                film["credits"] = [{"person_id": director, "role": "director"}]
            await _created(http.post("/api/v1/movies", json=film, headers=staff))
        await _activity(http, site.film_id, viewer, critic)
    return director


async def _activity(http: httpx.AsyncClient, film: int, viewer: SignedIn, critic: SignedIn) -> None:
    movie = f"/api/v1/movies/{film}"
    spoiler = {"title": "About the ending", "body": "The lamp goes out.", "spoiler": True}
    review = await _created(http.post(f"{movie}/reviews", json=spoiler, headers=critic.headers))
    thread = {"body": "The sound design alone is worth it."}
    comment = await _created(http.post(f"{movie}/comments", json=thread, headers=critic.headers))
    mine = viewer.headers
    await _ok(http.put(f"/api/v1/me/progress/{film}", json={"position_seconds": 6.0}, headers=mine))
    await _ok(http.put(f"{movie}/rating", json={"score": 8}, headers=mine))
    await _ok(http.put(f"{movie}/like", headers=mine))
    await _ok(http.post(f"/api/v1/reviews/{review}/vote", json={"helpful": True}, headers=mine))
    quiet = {"title": "Quietly gripping", "body": "The light, the sea, the silence.", "score": 8}
    await _created(http.post(f"{movie}/reviews", json=quiet, headers=mine))
    reply = {"body": "Agreed, the foghorn!", "parent_id": comment}
    await _created(http.post(f"{movie}/comments", json=reply, headers=mine))


async def _created(request: Awaitable[httpx.Response]) -> int:
    response = await request
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _ok(request: Awaitable[httpx.Response]) -> None:
    response = await request
    assert response.status_code == 200, response.text


async def _sign_in(page: Page, site: Site, account: SignedIn) -> None:
    await page.goto(site("/login"))
    await page.get_by_label("E-mail address").fill(account.user.email)
    await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    hello = f"Hello, {account.user.display_name}"
    await expect(page.get_by_role("heading", name=hello)).to_be_visible()


async def _visit(page: Page, url: str, screenshot: Path) -> list[str]:
    """Open ``url``, save a screenshot, and say what is wrong with the page."""
    response = await page.goto(url, wait_until="load")
    assert response is not None
    problems = [] if response.ok else [f"{url}: HTTP {response.status}"]
    if "/watch/" in url:
        await wait_until(page, "document.querySelector('video').readyState >= 2")
    await wait_until(page, "[...document.images].every((image) => image.complete)")
    broken = await page.evaluate(
        "[...document.images].filter((image) => !image.naturalWidth).map((image) => image.src)"
    )
    problems += [f"{url}: broken image {source}" for source in broken]
    width = await page.evaluate("document.documentElement.scrollWidth")
    screen = page.viewport_size
    assert screen is not None
    if width > screen["width"]:
        problems.append(f"{url}: {width} px wide on a {screen['width']} px screen")
    await page.screenshot(path=str(screenshot), full_page=True)
    return problems
