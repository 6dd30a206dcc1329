"""Browser tests: Playwright drives Debian's chromium (``/usr/bin/chromium``, headless; ``make
test`` installs it, Playwright downloads no browser) against a real ``kino serve`` process on a
free port, with the test's database, storage and Redis, and a film transcoded by the real
pipeline.

The site's Content-Security-Policy forbids ``eval``, which Playwright's ``wait_for_function``
uses inside the page, so waits poll ``page.evaluate`` instead (``wait_until``).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from kino.identity.models import Role
from kino.media.ingest import ingest
from kino.settings import Settings
from tests.factories import SignedIn, make_user
from tests.live_server import server_environment, wait_until_serving
from tests.media.clips import make_clip
from tests.s3_server import free_port

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / ".screenshots"
FILM_TITLE = "The Lighthouse Keeper"
SUBTITLES = b"1\n00:00:00,500 --> 00:00:30,000\nThe lamp must never go out.\n"
WAIT_SECONDS = 60.0


@dataclass
class Site:
    """A running Kino with one transcoded film, and staff to add more."""

    url: str
    film_id: int
    manager: SignedIn
    log: Path

    def __call__(self, path: str) -> str:
        return self.url + path


@dataclass
class ConsoleErrors:
    """Errors a page logged (CSP violations, failed scripts, uncaught exceptions)."""

    messages: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.messages.append(f"uncaught: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.messages.append(f"{message.text} ({message.location.get('url')})")


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        await browser.close()


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-clips")


@pytest.fixture
async def site(
    app: FastAPI, settings: Settings, clips: Path, tmp_path: Path
) -> AsyncIterator[Site]:
    """``kino serve`` with a published 16-second 480p film (so a 360p and a 480p rung) that has
    English subtitles."""
    clip = make_clip(clips, seconds=16, width=854, height=480, fps=25)
    ingested = await ingest(settings, clip, title=FILM_TITLE)
    assert ingested.job.status.value == "succeeded", ingested.job.error
    manager = await make_user(app, role=Role.MANAGER)
    log = tmp_path / "kino-serve.log"
    with serving(settings, log) as url:
        response = await _post_subtitles(url, manager, ingested.movie_id)
        assert response == 201
        yield Site(url, ingested.movie_id, manager, log)


async def _post_subtitles(url: str, manager: SignedIn, movie_id: int) -> int:
    async with httpx.AsyncClient(base_url=url, headers=manager.headers) as http:
        response = await http.post(
            f"/api/v1/movies/{movie_id}/subtitles",
            data={"language": "en"},
            files={"file": ("english.srt", SUBTITLES, "application/x-subrip")},
        )
    return response.status_code


@contextmanager
def serving(settings: Settings, log: Path, **environment: str) -> Iterator[str]:
    """``kino serve`` for ``settings`` (and ``environment`` on top) on a free port, its public
    URL set to that address."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("kino")), "serve", "--port", str(port)],
            env=server_environment(settings, KINO_PUBLIC_URL=url, **environment),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_serving(url, process)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def wait_until(page: Page, expression: str, *, seconds: float = WAIT_SECONDS) -> Any:
    """Poll ``expression`` in the page until it is truthy; its value."""
    deadline = time.monotonic() + seconds
    while True:
        value = await page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            state = await page.evaluate(VIDEO_STATE)
            raise AssertionError(f"still false after {seconds:.0f} s: {expression}; {state}")
        await asyncio.sleep(0.1)


VIDEO_STATE = """() => {
  const video = document.querySelector("video");
  return video ? {time: video.currentTime, paused: video.paused, ready: video.readyState,
                  error: video.error && video.error.message} : null;
}"""
