"""``kino demo``'s setup (src/kino/demo/): migrate, seed, create the admin, give three films
sample videos through the real pipeline, open the demo cinemas' programme."""

from __future__ import annotations

import stat
from dataclasses import replace
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from kino.boxoffice.models import Cinema, Hall, Showtime
from kino.catalog.models import Access, Movie
from kino.core.db import utcnow
from kino.demo import DEMO_ADMIN_EMAIL, password_file, prepare_demo
from kino.demo.boxoffice import DEMO_CINEMAS, PROGRAMME_DAYS
from kino.demo.videos import SAMPLE_CLIPS, SampleState
from kino.identity import service as identity
from kino.identity.models import Role, User
from kino.identity.passwords import hash_password
from kino.jobs.models import Job
from kino.media import service as media
from kino.media.models import AssetKind, MediaAsset, RenditionKind
from kino.settings import Settings
from tests.identity.signin import login

FILMS = 40  # of the demo catalog: enough to see it arrive, quick in both modes
# The sample clips at a size below the lowest rung (one rendition each) and two seconds long:
# the same shapes, a fraction of the work.
TINY_CLIPS = [
    replace(clip, width=width, height=height)
    for clip, (width, height) in zip(
        SAMPLE_CLIPS, [(320, 180), (240, 180), (180, 320)], strict=True
    )
]
TINY_SECONDS = 2.0


async def test_demo_creates_the_admin_once_and_prints_the_same_password_every_time(
    settings: Settings, app: FastAPI, client: httpx.AsyncClient
) -> None:
    said: list[str] = []

    first = await prepare_demo(settings, say=said.append, catalog_limit=FILMS, sample_clips=())
    second = await prepare_demo(settings, catalog_limit=FILMS, sample_clips=())

    assert first.credentials.email == DEMO_ADMIN_EMAIL
    assert first.credentials.password is not None
    assert first.credentials.note is None
    assert second.credentials == first.credentials
    assert any("Added 40 films" in line for line in said)
    assert stat.S_IMODE(password_file(settings).stat().st_mode) == 0o600
    assert password_file(settings).read_text().strip() == first.credentials.password
    async with app.state.db.transaction() as session:
        admins = (await session.scalars(select(User).where(User.role == Role.ADMIN))).all()
        assert [admin.email for admin in admins] == [DEMO_ADMIN_EMAIL]
        assert await session.scalar(select(func.count()).select_from(Movie)) == FILMS
    await login(client, DEMO_ADMIN_EMAIL, first.credentials.password)


async def test_demo_says_so_when_the_admin_password_was_changed(
    settings: Settings, app: FastAPI
) -> None:
    await prepare_demo(settings, catalog_limit=FILMS, sample_clips=())
    async with app.state.db.transaction() as session:
        admin = await identity.get_user_by_email(session, DEMO_ADMIN_EMAIL)
        assert admin is not None
        admin.password_hash = hash_password("changed-by-the-admin-7")

    credentials = (await prepare_demo(settings, catalog_limit=FILMS, sample_clips=())).credentials

    assert credentials.password is None
    assert credentials.note is not None
    assert "changed" in credentials.note


async def test_demo_does_not_claim_an_admin_it_did_not_create(
    settings: Settings, app: FastAPI
) -> None:
    async with app.state.db.transaction() as session:
        await identity.create_user(
            session,
            email=DEMO_ADMIN_EMAIL,
            password="chosen-by-someone-9",
            display_name="Someone",
            role=Role.ADMIN,
        )

    credentials = (await prepare_demo(settings, catalog_limit=FILMS, sample_clips=())).credentials

    assert credentials.password is None
    assert credentials.note is not None
    assert "not created by the demo" in credentials.note
    assert not password_file(settings).exists()


async def test_demo_films_play_in_their_shape_and_a_second_run_encodes_nothing(
    settings: Settings, app: FastAPI, client: httpx.AsyncClient
) -> None:
    said: list[str] = []

    first = await prepare_demo(
        settings,
        say=said.append,
        catalog_limit=FILMS,
        sample_clips=TINY_CLIPS,
        sample_seconds=TINY_SECONDS,
        wait_for_videos=True,
    )

    assert [film.title for film in first.films] == [clip.film.title for clip in SAMPLE_CLIPS]
    assert [film.state for film in first.films] == [SampleState.PLAYS] * 3
    assert any("sample videos" in line for line in said)
    async with app.state.db.transaction() as session:
        for film, clip in zip(first.films, TINY_CLIPS, strict=True):
            movie = await session.get(Movie, film.movie_id)
            assert movie is not None
            assert movie.access is Access.FREE
            asset = await media.published_asset(session, film.movie_id)
            assert asset is not None
            assert asset.kind is AssetKind.LADDER
            videos = [r for r in asset.renditions if r.kind is RenditionKind.VIDEO]
            assert videos
            for rendition in videos:
                assert rendition.width is not None
                assert rendition.height is not None
                assert rendition.width * clip.height == rendition.height * clip.width
        jobs_before = await session.scalar(select(func.count()).select_from(Job))
        assets_before = await session.scalar(select(func.count()).select_from(MediaAsset))
    for film in first.films:
        started = await client.post(f"/api/v1/movies/{film.movie_id}/playback")
        assert started.status_code == 200, started.text
        master = await client.get(httpx.URL(started.json()["master_url"]).path)
        assert master.status_code == 200
        assert "#EXT-X-STREAM-INF" in master.text

    second = await prepare_demo(
        settings,
        catalog_limit=FILMS,
        sample_clips=TINY_CLIPS,
        sample_seconds=TINY_SECONDS,
        wait_for_videos=True,
    )

    assert [(film.movie_id, film.state) for film in second.films] == [
        (film.movie_id, SampleState.PLAYS) for film in first.films
    ]
    async with app.state.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Job)) == jobs_before
        assert await session.scalar(select(func.count()).select_from(MediaAsset)) == assets_before


async def test_demo_cinemas_have_a_week_of_showtimes_that_rolls_forward(
    settings: Settings, app: FastAPI, client: httpx.AsyncClient
) -> None:
    now = utcnow()

    first = await prepare_demo(settings, catalog_limit=FILMS, sample_clips=(), now=now)
    again = await prepare_demo(settings, catalog_limit=FILMS, sample_clips=(), now=now)
    later = await prepare_demo(
        settings, catalog_limit=FILMS, sample_clips=(), now=now + timedelta(days=2)
    )

    halls = sum(len(cinema.halls) for cinema in DEMO_CINEMAS)
    assert (first.box_office.cinemas_added, first.box_office.halls_added) == (3, halls)
    assert first.box_office.showtimes_added > 0
    assert (again.box_office.cinemas_added, again.box_office.showtimes_added) == (0, 0)
    assert (later.box_office.cinemas_added, later.box_office.halls_added) == (0, 0)
    assert later.box_office.showtimes_added > 0
    cinemas = (await client.get("/api/v1/cinemas")).json()
    assert sorted(cinema["city"] for cinema in cinemas["items"]) == ["Berlin", "London", "Paris"]
    async with app.state.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Cinema)) == 3
        assert await session.scalar(select(func.count()).select_from(Hall)) == halls
        rows = (await session.execute(select(Showtime.hall_id, Showtime.local_date))).all()
    assert len(rows) == first.box_office.showtimes_added + later.box_office.showtimes_added
    days_per_hall: dict[int, set[object]] = {}
    for hall_id, day in rows:
        days_per_hall.setdefault(hall_id, set()).add(day)
    # Every hall plays on every day from tomorrow to the end of the later run's week (today's
    # showtimes may all have started already).
    tomorrow = (now + timedelta(days=1)).date()
    wanted = {tomorrow + timedelta(days=offset) for offset in range(PROGRAMME_DAYS + 1)}
    for days in days_per_hall.values():
        assert wanted <= days
        assert len(days) <= PROGRAMME_DAYS + 2
    listed = await client.get("/api/v1/showtimes", params={"page_size": 100})
    assert listed.status_code == 200
    assert listed.json()["total"] == len(rows)
