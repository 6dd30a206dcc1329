"""Seeding the catalog (src/kino/catalog/seed.py, sample.py, synthetic.py): the demo catalog
from bokeh-sampledata and synthetic catalogs for benchmarks."""

from __future__ import annotations

from datetime import date

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog.models import (
    Credit,
    CreditRole,
    Genre,
    Movie,
    MovieCountry,
    MovieLanguage,
    MovieStatus,
    Person,
    movie_genres,
)
from kino.catalog.sample import seed_sample, split_names
from kino.catalog.seed import SeedReport, SlugAllocator
from kino.catalog.synthetic import person_name, seed_synthetic, synthetic_films
from kino.core.db import Database

# The first films of the source in its order; The Terminator is number 736. The whole demo
# catalog is imported once, by kino demo in tests/test_cli.py.
SAMPLE_PREFIX = 800


async def count(db: Database, entity: type[Movie] | type[Person] | type[Credit]) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(entity)) or 0)


async def movie_by_title(session: AsyncSession, title: str) -> Movie:
    return (await session.scalars(select(Movie).where(Movie.title == title))).one()


async def credited(session: AsyncSession, movie: Movie, role: CreditRole) -> list[str]:
    query = (
        select(Person.name)
        .join(Credit, Credit.person_id == Person.id)
        .where(Credit.movie_id == movie.id, Credit.role == role)
        .order_by(Credit.position)
    )
    return list((await session.scalars(query)).all())


async def genre_names(session: AsyncSession, movie: Movie) -> set[str]:
    query = select(Genre.name).join(movie_genres).where(movie_genres.c.movie_id == movie.id)
    return set((await session.scalars(query)).all())


# --- the demo catalog -----------------------------------------------------------------------


async def test_sample_film_arrives_with_its_details_genres_and_credits(app: FastAPI) -> None:
    report = await seed_sample(app.state.db, limit=SAMPLE_PREFIX)

    assert (report.films, report.skipped) == (SAMPLE_PREFIX, 0)
    async with app.state.db.transaction() as session:
        terminator = await movie_by_title(session, "The Terminator")
        assert (terminator.year, terminator.runtime_minutes) == (1984, 107)
        assert terminator.release_date == date(1984, 10, 26)
        assert (terminator.age_rating, terminator.external_id) == ("R", "tt0088247")
        assert (terminator.slug, terminator.sort_title) == ("the-terminator", "terminator")
        assert terminator.status == MovieStatus.PUBLISHED
        assert (terminator.rating_avg, terminator.rating_count) == (None, 0)
        assert await credited(session, terminator, CreditRole.DIRECTOR) == ["James Cameron"]
        assert "Gale Anne Hurd" in await credited(session, terminator, CreditRole.WRITER)
        assert "Linda Hamilton" in await credited(session, terminator, CreditRole.ACTOR)
        assert {"Action", "Sci-Fi", "Thriller"} <= await genre_names(session, terminator)
        countries = await session.scalars(
            select(MovieCountry.name)
            .where(MovieCountry.movie_id == terminator.id)
            .order_by(MovieCountry.position)
        )
        assert list(countries) == ["United Kingdom", "United States"]


async def test_sample_people_keep_accents_and_get_ascii_slugs(app: FastAPI) -> None:
    await seed_sample(app.state.db, limit=5)

    async with app.state.db.transaction() as session:
        karyo = (await session.scalars(select(Person).where(Person.slug == "tcheky-karyo"))).one()
        assert karyo.name == "Tchéky Karyo"
        gang_story = await movie_by_title(session, "A Gang Story")
        assert "Tchéky Karyo" in await credited(session, gang_story, CreditRole.ACTOR)
        languages = await session.scalars(
            select(MovieLanguage.name).where(MovieLanguage.movie_id == gang_story.id)
        )
        assert list(languages) == ["French"]


async def test_sample_first_of_january_is_a_year_without_a_release_date(app: FastAPI) -> None:
    await seed_sample(app.state.db, limit=5)

    async with app.state.db.transaction() as session:
        intouchables = await movie_by_title(session, "The Intouchables")
        assert (intouchables.year, intouchables.release_date) == (2011, None)


async def test_second_sample_import_adds_nothing(app: FastAPI) -> None:
    db: Database = app.state.db
    await seed_sample(db, limit=300)
    before = [await count(db, entity) for entity in (Movie, Person, Credit)]

    again = await seed_sample(db, limit=300)

    assert (again.films, again.people, again.credits, again.skipped) == (0, 0, 0, 300)
    assert [await count(db, entity) for entity in (Movie, Person, Credit)] == before


async def test_a_longer_sample_import_adds_only_the_films_not_yet_there(app: FastAPI) -> None:
    db: Database = app.state.db
    first = await seed_sample(db, limit=100)

    more = await seed_sample(db, limit=150)

    assert (more.films, more.skipped) == (50, 100)
    assert await count(db, Movie) == 150
    assert await count(db, Credit) == first.credits + more.credits


async def test_seeded_films_are_found_by_search(app: FastAPI) -> None:
    await seed_sample(app.state.db, limit=SAMPLE_PREFIX)

    async with app.state.db.transaction() as session:
        terminator = await movie_by_title(session, "The Terminator")
        found = await app.state.search.search_movies(session, "terminator", limit=5)
        assert terminator.id in found
        people = await app.state.search.search_people(session, "tcheky karyo", limit=5)
        karyo = await session.scalar(select(Person.id).where(Person.name == "Tchéky Karyo"))
        assert karyo in people


def test_names_split_on_commas_outside_parentheses() -> None:
    # As the source writes one of its writers, with a modifier prime in the patronymic.
    kostin = "Sergeĭ (Sergeĭ Vasil\u02b9evich) Kostin"

    assert split_names(f"{kostin}, Éric Raynaud") == (kostin, "Éric Raynaud")
    assert split_names("Edgar Marie,  Olivier Marchal ,") == ("Edgar Marie", "Olivier Marchal")
    assert split_names("") == ()
    assert split_names(None) == ()


def test_taken_slugs_get_the_year_then_a_number() -> None:
    slugs = SlugAllocator(["hamlet"])

    assert slugs.allocate("Hamlet", year=1948) == "hamlet-1948"
    assert slugs.allocate("Hamlet", year=1948) == "hamlet-1948-2"
    assert slugs.allocate("Hamlet", year=1948) == "hamlet-1948-3"
    assert slugs.allocate("Hamlet", year=1996) == "hamlet-1996"
    assert slugs.allocate("Amélie", year=2001) == "amelie"
    assert slugs.allocate("José García") == "jose-garcia"
    assert slugs.allocate("Jose Garcia") == "jose-garcia-2"


# --- synthetic catalogs ---------------------------------------------------------------------


async def test_synthetic_catalog_has_films_people_and_credits(app: FastAPI) -> None:
    db: Database = app.state.db

    report = await seed_synthetic(db, titles=500)

    assert report.films == await count(db, Movie) == 500
    assert report.people == await count(db, Person) <= 250
    assert report.credits == await count(db, Credit)
    async with db.transaction() as session:
        years = (await session.execute(select(func.min(Movie.year), func.max(Movie.year)))).one()
        assert 1920 <= years[0] <= years[1] <= 2025
        statuses = set((await session.scalars(select(Movie.status))).all())
        assert statuses == {MovieStatus.PUBLISHED}


async def test_synthetic_film_has_a_director_three_to_five_actors_and_one_to_three_genres(
    app: FastAPI,
) -> None:
    await seed_synthetic(app.state.db, titles=200)

    async with app.state.db.transaction() as session:
        for role, fewest, most in ((CreditRole.DIRECTOR, 1, 1), (CreditRole.ACTOR, 3, 5)):
            per_film = (
                select(func.count().label("n"))
                .where(Credit.role == role)
                .group_by(Credit.movie_id)
                .subquery()
            )
            low, high, films = (
                await session.execute(
                    select(func.min(per_film.c.n), func.max(per_film.c.n), func.count())
                )
            ).one()
            assert films == 200
            assert fewest <= low <= high <= most
        genres = (
            select(func.count().label("n")).select_from(movie_genres).group_by("movie_id")
        ).subquery()
        low, high = (
            await session.execute(select(func.min(genres.c.n), func.max(genres.c.n)))
        ).one()
        assert 1 <= low <= high <= 3


async def test_larger_synthetic_seed_adds_only_the_missing_films(app: FastAPI) -> None:
    db: Database = app.state.db
    await seed_synthetic(db, titles=500)

    more = await seed_synthetic(db, titles=600)
    again = await seed_synthetic(db, titles=600)

    assert (more.films, more.skipped) == (100, 500)
    assert (again.films, again.people, again.credits, again.skipped) == (0, 0, 0, 600)
    assert await count(db, Movie) == 600
    async with db.transaction() as session:
        external_ids = set((await session.scalars(select(Movie.external_id))).all())
        assert external_ids == {f"synthetic-{number}" for number in range(1, 601)}


async def test_synthetic_and_sample_catalogs_live_side_by_side(app: FastAPI) -> None:
    db: Database = app.state.db
    await seed_synthetic(db, titles=100)
    await seed_sample(db, limit=100)

    assert await count(db, Movie) == 200
    assert (await seed_synthetic(db, titles=100)).films == 0


def test_synthetic_catalog_is_the_same_every_time() -> None:
    assert list(synthetic_films(1_500)) == list(synthetic_films(1_500))


def test_synthetic_people_have_distinct_names() -> None:
    names = [person_name(index) for index in range(300_000)]

    assert len(set(names)) == len(names)
    assert all(name == name.strip() and "  " not in name for name in names)


def test_seed_report_summary_reads_well() -> None:
    report = SeedReport(films=17_472, people=63_815, credits=234_371, skipped=0, seconds=9.31)

    assert report.summary() == (
        "Added 17,472 films, 63,815 people and 234,371 credits (0 films already there) in 9.3 s."
    )
