"""A viewer in Chromium: signs up, finds a film by a misspelled title, plays it (switching
quality, subtitles and looking at the storyboard on the way), pauses, reloads, and the film
resumes where it was left."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import FILM_TITLE, ConsoleErrors, Site, wait_until

VIDEO = "document.querySelector('video')"
PLAYER = "document.querySelector('[data-player]')"


async def test_sign_up_search_play_switch_quality_and_resume(chromium: Browser, site: Site) -> None:
    context = await chromium.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    errors = ConsoleErrors()
    errors.watch(page)
    try:
        await _sign_up(page, site)
        await _find_the_film_by_a_misspelled_title(page)
        await _like_and_rate_without_leaving_the_page(page)
        await page.get_by_role("link", name="Play", exact=False).first.click()
        await page.wait_for_url(site(f"/watch/{site.film_id}"))

        await _play_past_three_seconds(page)
        await _switch_to_the_lowest_rung_and_keep_playing(page)
        await _turn_on_the_subtitles(page)
        await _see_the_storyboard_over_the_seek_bar(page)
        saved = await _pause_with_the_keyboard_and_save(page, site)

        await page.reload()
        await _resume_near(page, saved)
    finally:
        await context.close()
    assert errors.messages == []


async def _sign_up(page: Page, site: Site) -> None:
    await page.goto(site("/"))
    await page.get_by_role("link", name="Sign up", exact=True).click()
    await page.get_by_label("Your name").fill("Vera Viewer")
    await page.get_by_label("E-mail address").fill("vera@example.com")
    await page.get_by_label("Password").fill("correct-horse-42")
    await page.get_by_role("button", name="Sign up").click()
    await expect(page.get_by_role("heading", name="Hello, Vera Viewer")).to_be_visible()


async def _find_the_film_by_a_misspelled_title(page: Page) -> None:
    search = page.get_by_label("Search films and people")
    await search.press_sequentially("lighthouze keper", delay=40)
    suggestions = page.locator("#search-suggestions")
    # The answer to the whole query, not to a part typed before it.
    await expect(suggestions.get_by_text("All results for “lighthouze keper”")).to_be_visible()
    await _htmx_settled(page)
    suggestion = suggestions.get_by_role("link", name=FILM_TITLE)
    await expect(suggestion).to_be_visible()
    await search.press("ArrowDown")  # the suggestions are reached with the keyboard
    await expect(page.locator("#search-suggestions a").first).to_be_focused()
    await suggestion.click()
    await page.wait_for_url(re.compile(r"/movies/\d+$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(FILM_TITLE)


async def _like_and_rate_without_leaving_the_page(page: Page) -> None:
    """The film page's buttons answer through htmx: the controls change in place."""
    url = page.url
    await page.get_by_role("button", name="Like", exact=False).click()
    await expect(page.get_by_role("button", name="Liked", exact=False)).to_have_attribute(
        "aria-pressed", "true"
    )
    await _htmx_settled(page)  # the swapped-in controls are live
    await page.get_by_label("Your rating").select_option("8")
    await expect(page.locator("#film-actions .stat strong").first).to_have_text("★ 8")
    await _htmx_settled(page)
    assert page.url == url


async def _htmx_settled(page: Page) -> None:
    busy = page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")
    await expect(busy).to_have_count(0)


async def _play(page: Page) -> None:
    """Start the film, unless the player already did (browsers may allow it to)."""
    await wait_until(page, f"{VIDEO}.readyState >= 1")
    if await page.evaluate(f"{VIDEO}.paused"):
        await page.locator(".big-play").click()


async def _play_past_three_seconds(page: Page) -> None:
    await _play(page)
    await wait_until(page, f"{VIDEO}.currentTime > 3 && !{VIDEO}.paused")
    assert await page.evaluate("typeof window.Hls") == "function"  # hls.js, since MSE exists


async def _switch_to_the_lowest_rung_and_keep_playing(page: Page) -> None:
    await page.get_by_role("button", name="Quality").click()
    options = page.get_by_role("menuitemradio")
    await expect(options).to_have_text(["Auto", "480p", "360p"])
    await options.filter(has_text="360p").click()
    await wait_until(page, f"{PLAYER}.dataset.level === '360'")
    switched_at = await page.evaluate(f"{VIDEO}.currentTime")
    await wait_until(page, f"{VIDEO}.currentTime > {switched_at} + 1.5 && !{VIDEO}.paused")
    await expect(page.get_by_role("button", name="Quality")).to_have_text("360p")


async def _turn_on_the_subtitles(page: Page) -> None:
    await page.get_by_role("button", name="Subtitles").click()
    options = page.get_by_role("menuitemradio")
    await expect(options).to_have_text(["Off", "English"])
    await options.filter(has_text="English").click()
    showing = f"[...{VIDEO}.textTracks].some((track) => track.mode === 'showing')"
    await wait_until(page, showing)


async def _see_the_storyboard_over_the_seek_bar(page: Page) -> None:
    seek = await page.locator("#seek-bar").bounding_box()
    assert seek is not None
    await page.mouse.move(seek["x"] + seek["width"] * 0.75, seek["y"] + seek["height"] / 2)
    preview = page.locator(".preview")
    await expect(preview).to_be_visible()
    image = await preview.evaluate("element => element.style.backgroundImage")
    assert "/storyboard/" in image
    await page.mouse.move(10, 10)


async def _pause_with_the_keyboard_and_save(page: Page, site: Site) -> float:
    await page.locator("body").focus()
    progress = re.compile(rf"/api/v1/me/progress/{site.film_id}$")
    async with page.expect_response(progress) as saving:
        await page.keyboard.press("k")
    response = await saving.value
    assert response.status == 200
    assert await page.evaluate(f"{VIDEO}.paused")
    saved: float = (await response.json())["position_seconds"]
    assert saved > 3
    return saved


async def _resume_near(page: Page, saved: float) -> None:
    await wait_until(page, f"{VIDEO}.readyState >= 1")
    resumed = await wait_until(page, f"{VIDEO}.currentTime > 0 && {VIDEO}.currentTime")
    assert saved - 1 <= resumed <= saved + 1
    await _play(page)
    await wait_until(page, f"{VIDEO}.currentTime > {saved} + 1 && !{VIDEO}.paused")
