"""The viewer's catalog pages (home, browse, search, a person), posters, error pages, static
files and the headers every page carries."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest
from fastapi import FastAPI

from kino.web.assets import VENDOR_FILES
from tests.factories import SignedIn
from tests.playback.support import IMAGES, POSTER, publish_tiny_asset
from tests.web.conftest import create_movie, create_person, sign_in

PAGES = ["/", "/movies", "/search?q=stalker", "/login", "/register", "/forgot-password"]


def film_links(page: httpx.Response) -> list[int]:
    """The ids of the films a page links to, in order (each once)."""
    ids = [int(found) for found in re.findall(r'<a class="card" href="/movies/(\d+)"', page.text)]
    return list(dict.fromkeys(ids))


def section(page: httpx.Response, section_id: str) -> str:
    """The HTML of the home page's row with this id."""
    match = re.search(rf'<section class="film-row" id="{section_id}".*?</section>', page.text, re.S)
    assert match, f"no row {section_id}"
    return match.group(0)


# ---------------------------------------------------------------------------- home


async def test_home_has_new_and_popular_rows_and_one_per_genre(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    old = await create_movie(client, manager, title="Old Favourite", genres=["Drama"])
    new = await create_movie(client, manager, title="Fresh Arrival", genres=["Comedy"])
    await create_movie(client, manager, title="Unfinished", status="draft", genres=["Drama"])

    page = await client.get("/")

    assert page.status_code == 200
    assert film_links_of(section(page, "new"))[:2] == [new, old]
    assert film_links_of(section(page, "genre-drama")) == [old]
    assert film_links_of(section(page, "genre-comedy")) == [new]
    assert "Unfinished" not in page.text  # drafts are for staff
    assert 'id="continue-watching"' not in page.text


def film_links_of(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<a class="card" href="/movies/(\d+)"', html)]


async def test_home_continues_the_films_a_viewer_started(
    client: httpx.AsyncClient, app: FastAPI, manager: SignedIn, viewer: SignedIn
) -> None:
    started = await create_movie(client, manager, title="Half Seen")
    await publish_tiny_asset(app, started, duration=100.0)
    await create_movie(client, manager, title="Never Started")
    progress = await client.put(
        f"/api/v1/me/progress/{started}", json={"position_seconds": 40.0}, headers=viewer.headers
    )
    assert progress.status_code == 200
    await sign_in(client, viewer)

    row = section(await client.get("/"), "continue-watching")

    assert film_links_of(row) == [started]
    assert 'value="40"' in row  # the progress bar


async def test_an_empty_catalog_says_so(client: httpx.AsyncClient) -> None:
    page = await client.get("/")

    assert "The catalog is empty" in page.text


# ---------------------------------------------------------------------------- browse


async def test_browse_filters_by_genre_and_year_and_sorts(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    a = await create_movie(client, manager, title="Alpha", year=1990, genres=["Drama"])
    b = await create_movie(client, manager, title="Beta", year=2005, genres=["Drama"])
    await create_movie(client, manager, title="Gamma", year=2010, genres=["Comedy"])

    drama = await client.get("/movies", params={"genre": "drama", "sort": "title"})
    recent = await client.get("/movies", params={"genre": "drama", "year_from": 2000})

    assert film_links(drama) == [a, b]
    assert "2 films" in drama.text
    assert 'value="drama" selected' in drama.text
    assert film_links(recent) == [b]


async def test_browse_pages_through_the_catalog(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    ids = [await create_movie(client, manager, title=f"Film {n:02d}") for n in range(26)]

    first = await client.get("/movies", params={"sort": "title"})
    second = await client.get("/movies", params={"sort": "title", "page": 2})

    assert film_links(first) == ids[:24]
    assert film_links(second) == ids[24:]
    assert 'href="?sort=title&amp;page=2"' in first.text
    assert '<span aria-current="page">2</span>' in second.text


async def test_browse_with_a_bad_filter_is_a_page_not_json(client: httpx.AsyncClient) -> None:
    page = await client.get("/movies", params={"year_from": "soon"})

    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")


# ---------------------------------------------------------------------------- search


async def test_search_forgives_a_typo_and_finds_people_too(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    director = await create_person(client, manager, "Andrei Tarkovsky")
    film = await create_movie(
        client,
        manager,
        title="Stalker",
        credits=[{"person_id": director, "role": "director"}],
    )

    page = await client.get("/search", params={"q": "stalkr"})
    people = await client.get("/search", params={"q": "tarkovsky"})

    assert film_links(page) == [film]
    assert f'href="/people/{director}"' in people.text


async def test_suggestions_as_you_type_are_a_fragment(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager, title="The Lighthouse Keeper", year=2021)

    fragment = await client.get("/search/suggest", params={"q": "lighthouze"})
    empty = await client.get("/search/suggest", params={"q": "  "})
    nothing = await client.get("/search/suggest", params={"q": "zzzqqq"})

    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert f'href="/movies/{film}"' in fragment.text
    assert 'href="/search?q=lighthouze"' in fragment.text
    assert empty.text == ""
    assert "Nothing matches" in nothing.text


# ---------------------------------------------------------------------------- people


async def test_a_person_page_lists_their_published_films_by_role(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    person = await create_person(client, manager, "Agnès Varda")
    directed = await create_movie(
        client,
        manager,
        title="Cléo from 5 to 7",
        credits=[{"person_id": person, "role": "director"}],
    )
    acted = await create_movie(
        client,
        manager,
        title="Cameo",
        credits=[{"person_id": person, "role": "actor", "character": "Herself"}],
    )
    await create_movie(
        client,
        manager,
        title="Secret Project",
        status="draft",
        credits=[{"person_id": person, "role": "director"}],
    )

    page = await client.get(f"/people/{person}")

    assert page.status_code == 200
    assert "<h1>Agnès Varda</h1>" in page.text
    assert film_links(page) == [directed, acted]
    assert "as Herself" in page.text
    assert "Secret Project" not in page.text


async def test_a_missing_person_or_film_is_a_404_page(client: httpx.AsyncClient) -> None:
    for path in ("/people/999", "/movies/999", "/watch/999"):
        page = await client.get(path)
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html")
        assert "Not found" in page.text


# ---------------------------------------------------------------------------- posters


async def test_a_film_with_a_video_shows_its_poster_and_others_a_placeholder(
    client: httpx.AsyncClient, app: FastAPI, manager: SignedIn
) -> None:
    with_video = await create_movie(client, manager, title="Shot")
    asset = await publish_tiny_asset(app, with_video)
    await create_movie(client, manager, title="Not Shot Yet")

    page = await client.get("/movies")
    poster = await client.get(f"/posters/{with_video}/small.jpg")

    assert f'src="/posters/{with_video}/small.jpg?v={asset}"' in page.text
    assert '<span class="ph-title">Not Shot Yet</span>' in page.text
    assert (poster.status_code, poster.headers["content-type"]) == (200, "image/jpeg")
    assert poster.content == POSTER  # the tiny asset has no thumbnails: the poster itself


async def test_posters_of_drafts_and_films_without_video_are_not_found(
    client: httpx.AsyncClient, app: FastAPI, manager: SignedIn
) -> None:
    draft = await create_movie(client, manager, title="Hidden", status="draft")
    await publish_tiny_asset(app, draft, images=IMAGES)
    bare = await create_movie(client, manager, title="Bare")

    assert (await client.get(f"/posters/{draft}/large.jpg")).status_code == 404
    assert (await client.get(f"/posters/{bare}/small.jpg")).status_code == 404
    assert (await client.get("/posters/999/small.jpg")).status_code == 404
    staff = await client.get(f"/posters/{draft}/large.jpg", headers=manager.headers)
    assert staff.status_code == 200


# ---------------------------------------------------------------------------- every page


class _Markup(HTMLParser):
    """What a Content-Security-Policy without 'unsafe-inline' would block, and unlabelled
    form controls."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts = 0
        self.style_attributes: list[str] = []
        self.handlers: list[str] = []
        self.controls: list[str] = []
        self.labels: set[str] = set()
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and "src" not in attributes:
            self.inline_scripts += 1
        if "style" in attributes:
            self.style_attributes.append(tag)
        self.handlers += [name for name in attributes if name.startswith("on")]
        if tag == "label" and attributes.get("for"):
            self.labels.add(str(attributes["for"]))
        if tag in ("input", "select", "textarea") and attributes.get("type") not in (
            "hidden",
            "submit",
        ):
            labelled = attributes.get("aria-label") or attributes.get("aria-labelledby")
            if not labelled:
                self.controls.append(str(attributes.get("id") or attributes.get("name")))


@pytest.mark.parametrize("path", PAGES)
async def test_pages_need_no_inline_script_or_style_and_label_their_fields(
    client: httpx.AsyncClient, manager: SignedIn, path: str
) -> None:
    await create_movie(client, manager, title="Stalker", genres=["Drama"])

    page = await client.get(path)

    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    markup = _Markup()
    markup.feed(page.text)
    assert markup.inline_scripts == 0
    assert markup.style_attributes == []
    assert markup.handlers == []
    assert [c for c in markup.controls if c not in markup.labels] == []


async def test_the_api_documentation_keeps_its_own_page(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")

    assert docs.status_code == 200
    assert "content-security-policy" not in docs.headers


async def test_an_unknown_address_is_a_page_for_browsers_and_json_for_programs(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/no/such/page", headers={"Accept": "text/html"})
    api = await client.get("/api/v1/no-such-thing", headers={"Accept": "text/html"})
    program = await client.get("/no/such/page", headers={"Accept": "application/json"})

    assert (page.status_code, page.headers["content-type"][:9]) == (404, "text/html")
    assert "There is no page at this address." in page.text
    assert (api.status_code, api.json()["error"]["code"]) == (404, "not_found")
    assert program.json()["error"]["code"] == "not_found"


async def test_the_site_serves_its_own_files_and_the_npm_packages_it_loads(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/")
    stylesheet = re.search(r'href="(/static/css/kino.css\?v=\w+)"', page.text)
    assert stylesheet
    css = await client.get(stylesheet.group(1))
    assert (css.status_code, css.headers["content-type"][:8]) == (200, "text/css")
    for name in VENDOR_FILES:
        script = await client.get(f"/static/vendor/{name}")
        assert script.status_code == 200, f"{name}: run npm ci"
        assert script.headers["content-type"].startswith("text/javascript")
    assert (await client.get("/static/vendor/package.json")).status_code == 404
