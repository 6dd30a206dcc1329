"""A viewer books seats in Chromium against a real ``kino serve``: finds the cinemas near their
position, opens a showtime, picks two seats with the keyboard, watches another buyer's seat
turn taken on the live map, holds, pays with the sandbox's test card, sees the tickets with
their QR codes and cancels one. Then the box office pages at a phone's width and a desktop's
fit the screen, with screenshots in tests/e2e/.screenshots/{mode}/ for a person to look at."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, Page, expect

from kino.identity.models import Role
from kino.settings import Settings
from tests.boxoffice.conftest import CINEMA, PRICES, tomorrow_at
from tests.conftest import Backend
from tests.e2e.conftest import SCREENSHOTS, ConsoleErrors, serving, wait_until
from tests.factories import DEFAULT_PASSWORD, SignedIn, make_user

SCREENS = {390: 844, 1280: 800}
BERLIN_POSITION = {"latitude": 52.5200, "longitude": 13.4050}
# A hall wide enough to need care on a phone: 14 places a row, aisles, every seat type.
HALL_ROWS = [
    {"label": "A", "seats": "WW_SSSSSSSS_WW"},
    {"label": "B", "seats": "SS_SSSSSSSS_SS"},
    {"label": "C", "seats": "SS_SSSSSSSS_SS"},
    {"label": "D", "seats": "PP_PPPPPPPP_PP"},
    {"label": "E", "seats": "PP_PPPPPPPP_PP"},
    {"label": "F", "seats": "_VVVV__VVVV_"},
]
FILM = "The Lighthouse Keeper"


@dataclass
class BoxOffice:
    url: str
    showtime_id: int
    cinema_id: int
    film_id: int
    viewer: SignedIn
    rival: SignedIn

    def __call__(self, path: str) -> str:
        return self.url + path


@pytest.fixture
async def box_office(app: FastAPI, settings: Settings, tmp_path: Path) -> AsyncIterator[BoxOffice]:
    """``kino serve`` with a film on tomorrow evening at a Berlin cinema, a second cinema in
    Hamburg, a viewer and a rival buyer."""
    manager = await make_user(app, role=Role.MANAGER)
    viewer = await make_user(app, display_name="Vera Viewer")
    rival = await make_user(app, display_name="Rita Rival")
    with serving(settings, tmp_path / "kino-serve.log") as url:
        async with httpx.AsyncClient(base_url=url, headers=manager.headers) as http:
            showtime, cinema, film = await _programme(http)
        yield BoxOffice(url, showtime, cinema, film, viewer, rival)


async def _programme(http: httpx.AsyncClient) -> tuple[int, int, int]:
    """Tomorrow's 20:15 showtime, its cinema and its film."""
    film = {"title": FILM, "status": "published", "runtime_minutes": 104, "age_rating": "12"}
    movie = await _created(http, "/api/v1/movies", film)
    cinema = await _created(http, "/api/v1/cinemas", CINEMA)
    hamburg = {**CINEMA, "name": "Abaton", "city": "Hamburg", "address": "Allende-Platz 3"}
    await _created(http, "/api/v1/cinemas", {**hamburg, "latitude": 53.5673, "longitude": 9.9847})
    hall = {"name": "Saal 1", "screen": "2D", "sound": "Dolby 7.1", "rows": HALL_ROWS}
    hall_id = await _created(http, f"/api/v1/cinemas/{cinema}/halls", hall)
    showtimes = []
    for hour in (17, 20):
        showtime = {
            "movie_id": movie,
            "hall_id": hall_id,
            "starts_at": tomorrow_at(hour, 15).isoformat(),
            "language": "en",
            "subtitles": "de",
            "format": "2D",
            "prices": PRICES,
            "currency": "EUR",
        }
        showtimes.append(await _created(http, "/api/v1/showtimes", showtime))
    return showtimes[1], cinema, movie


async def _created(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> int:
    response = await http.post(path, json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_a_viewer_books_two_seats_pays_and_cancels_one_ticket(
    chromium: Browser, box_office: BoxOffice, backend: Backend
) -> None:
    context = await chromium.new_context(
        viewport={"width": 1280, "height": 800},
        permissions=["geolocation"],
        geolocation=BERLIN_POSITION,
    )
    page = await context.new_page()
    errors = ConsoleErrors()
    errors.watch(page)
    try:
        await _sign_in(page, box_office)
        await _find_the_showtime_near_me(page, box_office)
        await _pick_two_seats_with_the_keyboard(page)
        await _see_a_rivals_seat_taken_on_the_live_map(page, box_office)
        await page.get_by_role("button", name="Hold seats").click()
        await _pay_with_the_test_card(page)
        await _cancel_one_ticket(page)
        await _screenshots(chromium, context, box_office, backend, errors)
    finally:
        await context.close()
    assert errors.messages == []


async def _sign_in(page: Page, site: BoxOffice) -> None:
    await page.goto(site("/login"))
    await page.get_by_label("E-mail address").fill(site.viewer.user.email)
    await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Hello, Vera Viewer")).to_be_visible()


async def _find_the_showtime_near_me(page: Page, site: BoxOffice) -> None:
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Cinemas").click()
    await page.get_by_role("button", name="Cinemas near me").click()
    await page.wait_for_url(re.compile(r"/cinemas\?near=52\.52\d*,13\.40\d*"))
    cinemas = page.locator(".cinema-card")
    await expect(cinemas).to_have_count(1)  # Hamburg is 255 km away
    await expect(cinemas.first).to_contain_text("Kino International")
    await expect(cinemas.first).to_contain_text(re.compile(r"\d\.\d km"))
    await page.get_by_role("link", name="Showtimes at Kino International").click()
    tomorrow = tomorrow_at(20, 15)
    await (
        page.get_by_role("navigation", name="Days")
        .get_by_role(
            "link", name=f"{tomorrow.strftime('%a')} {tomorrow.day} {tomorrow.strftime('%b')}"
        )
        .click()
    )
    await page.get_by_role("link", name=f"20:15, {FILM}", exact=False).click()
    await page.wait_for_url(site(f"/showtimes/{site.showtime_id}"))
    await expect(page.get_by_role("heading", name=FILM)).to_be_visible()
    await wait_until(page, "document.querySelector('[data-seat-picker]').dataset.live")


async def _pick_two_seats_with_the_keyboard(page: Page) -> None:
    first = page.get_by_label("Row C seat 5, standard, 12.00 EUR", exact=True)
    await first.focus()
    await page.keyboard.press("Space")
    await page.keyboard.press("ArrowRight")
    second = page.get_by_label("Row C seat 6, standard, 12.00 EUR", exact=True)
    await expect(second).to_be_focused()
    await page.keyboard.press("Space")
    await expect(first).to_be_checked()
    await expect(second).to_be_checked()
    await expect(page.locator("[data-seat-total]")).to_have_text("2 seats: C5, C6 · 24.00 EUR")


async def _see_a_rivals_seat_taken_on_the_live_map(page: Page, site: BoxOffice) -> None:
    seat = page.get_by_label("Row D seat 3, premium, 15.00 EUR", exact=True)
    await expect(seat).to_be_enabled()
    async with httpx.AsyncClient(base_url=site.url, headers=site.rival.headers) as http:
        response = await http.post(
            f"/api/v1/showtimes/{site.showtime_id}/holds", json={"seats": ["D3"]}
        )
        assert response.status_code == 201, response.text
    taken = page.get_by_label("Row D seat 3, premium, 15.00 EUR, held by someone else")
    await expect(taken).to_be_disabled(timeout=15_000)
    await expect(page.locator("label[for='seat-D3']")).to_have_class(re.compile("state-held"))
    # The viewer's own choice survived the refresh.
    await expect(page.locator("#seat-C5")).to_be_checked()
    await expect(page.locator("#seat-C6")).to_be_checked()


async def _pay_with_the_test_card(page: Page) -> None:
    await expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    await expect(page.get_by_role("timer")).to_contain_text(re.compile(r"(9|10):\d\d"))
    await expect(page.get_by_text("Row C, seat 5")).to_be_visible()
    await page.get_by_label("Card number").fill("4242 4242 4242 4242")
    await page.get_by_role("button", name="Pay 24.00 EUR").click()
    await expect(page.get_by_role("heading", name="You're going to the cinema")).to_be_visible()
    await expect(page.locator(".ticket .qr svg")).to_have_count(2)


async def _cancel_one_ticket(page: Page) -> None:
    await page.locator("summary").filter(has_text="Vera Viewer").click()
    await page.get_by_role("link", name="My tickets").first.click()
    await expect(page.get_by_role("heading", name="My tickets")).to_be_visible()
    tickets = page.locator(".ticket")
    await expect(tickets).to_have_count(2)
    await expect(page.locator(".ticket .qr svg")).to_have_count(2)
    await expect(tickets.first).to_contain_text("Kino International")
    await expect(tickets.first).to_contain_text("Saal 1")
    reference = (await page.locator(".reference").first.text_content() or "").strip()
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name=f"Cancel ticket {reference}").click()
    await expect(page.get_by_role("status").filter(has_text="is cancelled")).to_contain_text(
        reference
    )
    await expect(page.locator(".ticket .qr svg")).to_have_count(1)
    await expect(page.locator(f"#ticket-{reference}")).to_contain_text("Cancelled and refunded")


# ---------------------------------------------------------------------------- screenshots


async def _screenshots(
    chromium: Browser,
    signed_in: BrowserContext,
    site: BoxOffice,
    backend: Backend,
    errors: ConsoleErrors,
) -> None:
    hold_id = await _a_hold_to_check_out(site)
    pages = {
        "cinemas": "/cinemas?near=52.5200,13.4050",
        "film": f"/movies/{site.film_id}",
        "cinema": f"/cinemas/{site.cinema_id}?date={tomorrow_at(20).date().isoformat()}",
        "seats": f"/showtimes/{site.showtime_id}",
        "checkout": f"/checkout/{hold_id}",
        "tickets": "/account/tickets",
    }
    folder = SCREENSHOTS / backend.mode
    folder.mkdir(parents=True, exist_ok=True)
    state = await signed_in.storage_state()
    problems: list[str] = []
    for width, height in SCREENS.items():
        context = await chromium.new_context(
            viewport={"width": width, "height": height}, storage_state=state
        )
        page = await context.new_page()
        errors.watch(page)
        try:
            for name, path in pages.items():
                problems += await _visit(page, site(path), folder / f"box-{name}-{width}.png")
        finally:
            await context.close()
    assert problems == []


async def _a_hold_to_check_out(site: BoxOffice) -> int:
    async with httpx.AsyncClient(base_url=site.url, headers=site.viewer.headers) as http:
        response = await http.post(
            f"/api/v1/showtimes/{site.showtime_id}/holds", json={"seats": ["E6", "E7", "F2"]}
        )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _visit(page: Page, url: str, screenshot: Path) -> list[str]:
    """Open ``url``, save a screenshot, and say what is wrong with the page."""
    response = await page.goto(url, wait_until="load")
    assert response is not None
    problems = [] if response.ok else [f"{url}: HTTP {response.status}"]
    width = await page.evaluate("document.documentElement.scrollWidth")
    screen = page.viewport_size
    assert screen is not None
    if width > screen["width"]:
        problems.append(f"{url}: {width} px wide on a {screen['width']} px screen")
    await page.screenshot(path=str(screenshot), full_page=True)
    return problems
