"""Staff in Chromium: a manager on a phone uploads a generated clip through a draft film's video
page (tus, in the browser), watches the upload reach 100 % and the processing job's stage and
percentage change (a desktop opened on the same page follows it too) until the film plays; the
jobs list shows the job done. A viewer gets the 403 page on every staff page. Screenshots of
the video page while processing and when done, and of the jobs list, at 390 and 1280 px go to
tests/e2e/.screenshots/{mode}/."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, Page, Request, Route, expect

from kino.identity.models import Role
from kino.settings import Settings
from tests.conftest import Backend
from tests.e2e.conftest import SCREENSHOTS, ConsoleErrors, serving, wait_until
from tests.factories import SignedIn, make_user
from tests.media.clips import make_clip

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
FILM_TITLE = "Gulls Over Skagen"
PROCESSING_SECONDS = 300.0
PIECE_BYTES = 8 * 1024 * 1024  # the page's tus chunk size
VIDEO = "document.querySelector('video')"
JOB_STATE = "(document.getElementById('job-state')?.innerText ?? '')"


@dataclass
class StaffSite:
    url: str
    film_id: int
    manager: SignedIn
    viewer: SignedIn

    def __call__(self, path: str) -> str:
        return self.url + path


@pytest.fixture
async def staff_site(app: FastAPI, settings: Settings, tmp_path: Path) -> AsyncIterator[StaffSite]:
    """``kino serve`` running jobs in its own pool, with a draft film that has no video yet."""
    manager = await make_user(app, role=Role.MANAGER, display_name="Mona Manager")
    viewer = await make_user(app, display_name="Vera Viewer")
    with serving(settings, tmp_path / "kino-serve.log", KINO_WORKERS="1") as url:
        async with httpx.AsyncClient(base_url=url, headers=manager.headers) as http:
            created = await http.post("/api/v1/movies", json={"title": FILM_TITLE})
        assert created.status_code == 201, created.text
        yield StaffSite(url, int(created.json()["id"]), manager, viewer)


async def test_a_manager_uploads_a_clip_and_it_plays_and_a_viewer_is_kept_out(
    chromium: Browser, staff_site: StaffSite, tmp_path: Path, backend: Backend
) -> None:
    site = staff_site
    clip = make_clip(tmp_path, seconds=4, width=426, height=240, fps=25)
    folder = SCREENSHOTS / backend.mode
    folder.mkdir(parents=True, exist_ok=True)
    errors = ConsoleErrors()
    phone = await _signed_in(chromium, PHONE, site, site.manager, errors)
    desktop = await _signed_in(chromium, DESKTOP, site, site.manager, errors)
    media = site(f"/admin/movies/{site.film_id}/media")
    try:
        page = phone.pages[0]
        await page.goto(media)
        await expect(page.get_by_role("heading", level=1)).to_contain_text(FILM_TITLE)
        await page.get_by_label("Video file").set_input_files(clip)
        await page.get_by_role("button", name="Upload and process").click()

        await wait_until(page, "document.getElementById('upload-bar').value === 100")
        await expect(page.locator("[data-upload-percent]")).to_have_text("100%")
        first_state = await _job_appears(page)
        assert "Queued" in first_state or "Running" in first_state, first_state
        assert "%" in first_state, first_state
        await _screenshot(page, folder / "media-processing-390.png")
        follower = desktop.pages[0]
        await follower.goto(media)
        await _screenshot(follower, folder / "media-processing-1280.png")

        await _follow_the_job_until_ready(page)
        await expect(
            follower.locator("#job-state").get_by_role("link", name="watch it")
        ).to_be_visible()
        published = page.locator("#published")
        await expect(published.get_by_role("link", name="Watch it")).to_be_visible()
        for each, width in ((page, 390), (follower, 1280)):
            await _screenshot(each, folder / f"media-done-{width}.png")
            await each.goto(site("/admin/jobs"))
            row = each.locator("tbody tr").first
            await expect(row).to_contain_text(FILM_TITLE)
            await expect(row).to_contain_text("Done")
            await _screenshot(each, folder / f"jobs-{width}.png")

        await follower.goto(media)
        await follower.locator("#job-state").get_by_role("link", name="watch it").click()
        await follower.wait_for_url(site(f"/watch/{site.film_id}"))
        await _play_past_one_second(follower)
    finally:
        await phone.close()
        await desktop.close()
    assert errors.messages == []
    await _a_viewer_gets_the_403_page(chromium, site)


async def test_an_upload_cut_off_resumes_after_a_reload_and_a_bad_file_fails_clearly(
    chromium: Browser, staff_site: StaffSite, tmp_path: Path, backend: Backend
) -> None:
    """The connection drops after the first 8 MB piece; after a reload the same file is chosen
    again and goes on from there (one upload created, the next piece sent from 8 MB). It is no
    video, so the job fails with the reason and a retry button."""
    site = staff_site
    not_a_video = tmp_path / "holiday.mov"
    not_a_video.write_bytes(random.Random(7).randbytes(PIECE_BYTES + PIECE_BYTES // 2))
    context = await _signed_in(chromium, DESKTOP, site, site.manager, ConsoleErrors())
    page = context.pages[0]
    sent: list[tuple[str, str | None]] = []
    page.on("request", lambda request: _note_upload_request(request, sent))
    try:
        cut_off = CutOffAfterTheFirstPiece()
        await page.route("**/api/v1/uploads/*", cut_off)
        await page.goto(site(f"/admin/movies/{site.film_id}/media"))
        await page.get_by_label("Video file").set_input_files(not_a_video)
        await page.get_by_role("button", name="Upload and process").click()
        await wait_until(page, "document.getElementById('upload-bar').value >= 66")

        assert [method for method, _ in sent].count("POST") == 1, sent
        await page.reload()  # ends the script's retries, which are cut off until then
        cut_off.active = False
        sent.clear()
        status = page.locator("[data-upload-status]")
        await expect(status).to_have_text(re.compile("An upload of holiday.mov did not finish"))
        await page.get_by_label("Video file").set_input_files(not_a_video)
        await page.get_by_role("button", name="Upload and process").click()
        await expect(page.locator("[data-upload-percent]")).to_have_text("100%")

        assert sent == [("PATCH", str(PIECE_BYTES))]  # no new upload: on from the first piece
        job = page.locator("#job-state")
        await expect(job.locator(".job-status")).to_have_text("Failed", timeout=60_000)
        await expect(job.get_by_role("alert")).not_to_be_empty()
        await expect(job.get_by_role("button", name=re.compile("Retry"))).to_be_visible()
        await _screenshot(page, SCREENSHOTS / backend.mode / "media-failed-1280.png")
    finally:
        await context.close()


def _note_upload_request(request: Request, sent: list[tuple[str, str | None]]) -> None:
    if "/api/v1/uploads" in request.url and request.method in ("POST", "PATCH"):
        sent.append((request.method, request.headers.get("upload-offset")))


@dataclass
class CutOffAfterTheFirstPiece:
    """While active, every piece after the first is cut off before it leaves the browser
    (tus-js-client retries, in vain)."""

    active: bool = True

    async def __call__(self, route: Route) -> None:
        request = route.request
        offset = request.headers.get("upload-offset")
        if self.active and request.method == "PATCH" and offset != "0":
            await route.abort("connectionreset")
        else:
            await route.continue_()


async def _signed_in(
    chromium: Browser,
    viewport: dict[str, int],
    site: StaffSite,
    account: SignedIn,
    errors: ConsoleErrors,
) -> BrowserContext:
    context = await chromium.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = await context.new_page()
    errors.watch(page)
    await page.goto(site("/login"))
    await page.get_by_label("E-mail address").fill(account.user.email)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign in")).to_have_count(0)
    return context


async def _job_appears(page: Page) -> str:
    """The processing panel's first state after the upload was attached."""
    return str(await wait_until(page, f"{JOB_STATE}.includes('Job #') && {JOB_STATE}"))


async def _follow_the_job_until_ready(page: Page) -> list[str]:
    """Each state the processing panel showed, the last one "Ready — watch it"."""
    states: list[str] = []
    deadline = time.monotonic() + PROCESSING_SECONDS
    while True:
        state = " ".join(str(await page.evaluate(JOB_STATE)).split())
        if not states or states[-1] != state:
            states.append(state)
        if "Ready — watch it" in state:
            return states
        assert "Failed" not in state, states
        assert "Cancelled" not in state, states
        assert time.monotonic() < deadline, f"not ready after {PROCESSING_SECONDS:.0f} s: {states}"
        await asyncio.sleep(0.2)


async def _play_past_one_second(page: Page) -> None:
    await wait_until(page, f"{VIDEO}.readyState >= 1")
    if await page.evaluate(f"{VIDEO}.paused"):
        await page.locator(".big-play").click()
    await wait_until(page, f"{VIDEO}.currentTime > 1")


async def _a_viewer_gets_the_403_page(chromium: Browser, site: StaffSite) -> None:
    errors = ConsoleErrors()
    context = await _signed_in(chromium, PHONE, site, site.viewer, errors)
    page = context.pages[0]
    try:
        for path in ("/admin", "/admin/jobs", f"/admin/movies/{site.film_id}/media"):
            response = await page.goto(site(path))
            assert response is not None
            assert response.status == 403, path
            await expect(page.get_by_text("This page is for staff.")).to_be_visible()
            await expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    finally:
        await context.close()
    # The browser reports each page's own 403; nothing else may go wrong.
    refused = "Failed to load resource: the server responded with a status of 403"
    assert [message for message in errors.messages if not message.startswith(refused)] == []


async def _screenshot(page: Page, path: Path) -> None:
    """Save a screenshot once the page's images have loaded; the page must fit its screen."""
    await wait_until(page, "[...document.images].every((image) => image.complete)")
    await page.evaluate("window.scrollTo(0, 0)")  # the sticky header at the top of the picture
    await page.screenshot(path=str(path), full_page=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    screen = page.viewport_size
    assert screen is not None
    assert width <= screen["width"], f"{page.url}: {width} px wide on {screen['width']} px"
