"""Search, on both adapters: typos, accents, prefixes, people, ranking, index upkeep, the API."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog.models import Credit, CreditRole, Movie, MovieStatus, Person
from kino.catalog.search import SearchIndex
from kino.catalog.search.postgres import PostgresSearchIndex
from kino.catalog.search.sqlite import SqliteSearchIndex
from kino.identity.models import Role
from tests.factories import make_user

_numbers = itertools.count(1)


@pytest.fixture(params=["as-configured", "every-shortcut"])
def index(app: FastAPI, request: pytest.FixtureRequest) -> SearchIndex:
    """The app's index, and one that takes its shortcuts for common words on any data (SQLite
    checks every word but the rarest on the rows; PostgreSQL walks 3 documents, then asks the
    GIN index): both must find the same."""
    if request.param == "as-configured":
        search: SearchIndex = app.state.search
        return search
    if app.state.db.dialect == "sqlite":
        return SqliteSearchIndex(eager_shortcuts=True)
    return PostgresSearchIndex(eager_shortcuts=True)


async def add_person(session: AsyncSession, name: str) -> Person:
    person = Person(name=name, slug=f"person-{next(_numbers)}")
    session.add(person)
    await session.flush()
    return person


async def add_movie(
    session: AsyncSession,
    title: str,
    *,
    original_title: str | None = None,
    popularity: int = 0,
    status: MovieStatus = MovieStatus.PUBLISHED,
    directors: Sequence[Person] = (),
    cast: Sequence[Person] = (),
) -> Movie:
    movie = Movie(
        slug=f"movie-{next(_numbers)}",
        title=title,
        sort_title=title.lower(),
        original_title=original_title,
        popularity=popularity,
        status=status,
    )
    session.add(movie)
    await session.flush()
    credits = [(person, CreditRole.DIRECTOR) for person in directors]
    credits += [(person, CreditRole.ACTOR) for person in cast]
    for position, (person, role) in enumerate(credits):
        session.add(Credit(movie_id=movie.id, person_id=person.id, role=role, position=position))
    await session.flush()
    return movie


async def film_titles(session: AsyncSession, index: SearchIndex, query: str) -> list[str]:
    ids = await index.search_movies(session, query, limit=10)
    titles = dict((await session.execute(select(Movie.id, Movie.title))).all())
    return [titles[movie_id] for movie_id in ids]


async def person_names(session: AsyncSession, index: SearchIndex, query: str) -> list[str]:
    ids = await index.search_people(session, query, limit=10)
    names = dict((await session.execute(select(Person.id, Person.name))).all())
    return [names[person_id] for person_id in ids]


@pytest.fixture
async def catalog(session: AsyncSession, index: SearchIndex) -> AsyncSession:
    """A small catalog, indexed film by film and person by person as the catalog does."""
    cameron = await add_person(session, "James Cameron")
    hamilton = await add_person(session, "Linda Hamilton")
    karyo = await add_person(session, "Tchéky Karyo")
    besson = await add_person(session, "Luc Besson")
    await add_person(session, "Anne Parillaud")
    movies = [
        await add_movie(
            session, "The Terminator", popularity=900, directors=[cameron], cast=[hamilton]
        ),
        await add_movie(session, "Terminal Velocity", popularity=50),
        await add_movie(session, "Batman", popularity=800),
        await add_movie(session, "Heat", popularity=700),
        await add_movie(session, "Nikita", popularity=300, directors=[besson], cast=[karyo]),
        await add_movie(session, "GoldenEye", popularity=600, cast=[karyo]),
        await add_movie(
            session, "The Professional", original_title="Léon", popularity=650, directors=[besson]
        ),
        await add_movie(session, "Schindler's List", popularity=850),
    ]
    people = (await session.scalars(select(Person.id))).all()
    await index.index_people(session, people)
    for movie in movies:
        await index.index_movies(session, [movie.id])
    return session


async def test_the_word_being_typed_is_a_prefix(catalog: AsyncSession, index: SearchIndex) -> None:
    assert await film_titles(catalog, index, "termin") == ["The Terminator", "Terminal Velocity"]
    assert await film_titles(catalog, index, "the term") == ["The Terminator"]


async def test_a_one_letter_word_being_typed_matches_only_itself(
    catalog: AsyncSession, index: SearchIndex
) -> None:
    assert await film_titles(catalog, index, "the t") == []
    assert await film_titles(catalog, index, "the te") == ["The Terminator"]


async def test_one_typo_is_forgiven_from_five_letters(
    catalog: AsyncSession, index: SearchIndex
) -> None:
    assert (await film_titles(catalog, index, "terminatr"))[:1] == ["The Terminator"]
    assert await film_titles(catalog, index, "the termniator") == ["The Terminator"]  # swapped
    assert await film_titles(catalog, index, "batmqn") == ["Batman"]
    assert await film_titles(catalog, index, "nikta") == ["Nikita"]


async def test_two_typos_are_forgiven_from_nine_letters(
    catalog: AsyncSession, index: SearchIndex
) -> None:
    assert await film_titles(catalog, index, "tirminatur") == ["The Terminator"]
    assert await film_titles(catalog, index, "goldneeey") == ["GoldenEye"]


async def test_two_typos_in_a_six_letter_word_are_not_forgiven(
    catalog: AsyncSession, index: SearchIndex
) -> None:
    assert await film_titles(catalog, index, "bqtmqn") == []
    assert await film_titles(catalog, index, "nkiat") == []  # two swaps in five letters


async def test_a_typo_in_a_four_letter_word_is_not_forgiven(
    catalog: AsyncSession, index: SearchIndex
) -> None:
    assert await film_titles(catalog, index, "heat") == ["Heat"]
    assert await film_titles(catalog, index, "haet") == []
    assert await film_titles(catalog, index, "hear") == []


async def test_accents_and_case_are_ignored(catalog: AsyncSession, index: SearchIndex) -> None:
    assert await person_names(catalog, index, "tcheky karyo") == ["Tchéky Karyo"]
    assert await person_names(catalog, index, "TCHÉKY") == ["Tchéky Karyo"]
    assert await film_titles(catalog, index, "LÉON") == ["The Professional"]
    assert await film_titles(catalog, index, "leon") == ["The Professional"]


async def test_a_name_finds_the_person_and_the_films_that_credit_them(
    catalog: AsyncSession, index: SearchIndex
) -> None:
    assert await person_names(catalog, index, "tcheky karyo") == ["Tchéky Karyo"]
    assert await film_titles(catalog, index, "tcheky karyo") == ["GoldenEye", "Nikita"]
    assert await film_titles(catalog, index, "besson") == ["The Professional", "Nikita"]
    assert await film_titles(catalog, index, "karyo nikita") == ["Nikita"]


async def test_a_name_with_a_typo_finds_the_person(
    catalog: AsyncSession, index: SearchIndex
) -> None:
    assert await person_names(catalog, index, "hamiltom") == ["Linda Hamilton"]
    assert await person_names(catalog, index, "parilaud") == ["Anne Parillaud"]


async def test_a_word_joined_by_an_apostrophe_is_found_whole_and_in_parts(
    catalog: AsyncSession, index: SearchIndex
) -> None:
    assert await film_titles(catalog, index, "schindlers list") == ["Schindler's List"]
    assert await film_titles(catalog, index, "Schindler's") == ["Schindler's List"]
    assert await film_titles(catalog, index, "schindler list") == ["Schindler's List"]


async def test_an_exact_title_ranks_first(session: AsyncSession, index: SearchIndex) -> None:
    # The exact title is the least popular: only its exactness can put it first.
    films = [
        await add_movie(session, "Aliens", popularity=500),
        await add_movie(session, "Alien Nation", popularity=400),
        await add_movie(session, "Alien", popularity=1),
        await add_movie(session, "Alien Resurrection", popularity=300),
    ]
    await index.index_movies(session, [film.id for film in films])

    assert await film_titles(session, index, "alien") == [
        "Alien",
        "Aliens",
        "Alien Nation",
        "Alien Resurrection",
    ]
    assert (await film_titles(session, index, "ALIEN nation"))[0] == "Alien Nation"


async def test_a_title_match_ranks_before_a_credited_name(
    session: AsyncSession, index: SearchIndex
) -> None:
    weaver = await add_person(session, "Sigourney Weaver")
    films = [
        await add_movie(session, "Alien", popularity=900, cast=[weaver]),
        await add_movie(session, "The Weaver's Daughter", popularity=1),
    ]
    await index.index_movies(session, [film.id for film in films])

    assert await film_titles(session, index, "weaver") == ["The Weaver's Daughter", "Alien"]


async def test_an_exact_word_ranks_before_a_typo(session: AsyncSession, index: SearchIndex) -> None:
    films = [
        await add_movie(session, "Matrix", popularity=1),
        await add_movie(session, "Matrox Returns", popularity=900),
    ]
    await index.index_movies(session, [film.id for film in films])

    assert await film_titles(session, index, "matrix returns") == ["Matrox Returns"]
    assert await film_titles(session, index, "the matrix") == []
    assert await film_titles(session, index, "matrix") == ["Matrix", "Matrox Returns"]


async def test_fewer_typos_rank_first(session: AsyncSession, index: SearchIndex) -> None:
    films = [
        await add_movie(session, "Terminal", popularity=900),  # two typos from "terminatr"
        await add_movie(session, "Terminator", popularity=1),  # one
    ]
    await index.index_movies(session, [film.id for film in films])

    assert await film_titles(session, index, "terminatr") == ["Terminator", "Terminal"]


async def test_a_removed_film_is_not_found(catalog: AsyncSession, index: SearchIndex) -> None:
    heat = await catalog.scalar(select(Movie.id).where(Movie.title == "Heat"))
    assert heat is not None
    await index.remove_movies(catalog, [heat])

    assert await film_titles(catalog, index, "heat") == []


async def test_a_retitled_film_is_found_by_its_new_title_only(
    catalog: AsyncSession, index: SearchIndex
) -> None:
    batman = await catalog.scalar(select(Movie).where(Movie.title == "Batman"))
    assert batman is not None
    batman.title = "Batman Returns"
    await catalog.flush()
    await index.index_movies(catalog, [batman.id])

    assert await film_titles(catalog, index, "batman returns") == ["Batman Returns"]
    assert await film_titles(catalog, index, "returnz") == ["Batman Returns"]
    batman.title = "The Dark Knight"
    await catalog.flush()
    await index.index_movies(catalog, [batman.id])

    assert await film_titles(catalog, index, "batman") == []
    assert await film_titles(catalog, index, "returns") == []
    assert await film_titles(catalog, index, "dark knight") == ["The Dark Knight"]


async def test_a_renamed_person_renames_their_films_in_the_index(
    catalog: AsyncSession, index: SearchIndex
) -> None:
    karyo = await catalog.scalar(select(Person).where(Person.name == "Tchéky Karyo"))
    assert karyo is not None
    karyo.name = "Tcheky Karyo-Besson"
    await catalog.flush()
    await index.index_people(catalog, [karyo.id])

    assert await film_titles(catalog, index, "karyo besson") == ["GoldenEye", "Nikita"]
    assert await person_names(catalog, index, "karyo besson") == ["Tcheky Karyo-Besson"]


async def test_a_removed_person_is_not_found(catalog: AsyncSession, index: SearchIndex) -> None:
    karyo = await catalog.scalar(select(Person.id).where(Person.name == "Tchéky Karyo"))
    assert karyo is not None
    await index.remove_people(catalog, [karyo])

    assert await person_names(catalog, index, "karyo") == []


JUNK_QUERIES = [
    '"',
    '""',
    "*",
    "term*",
    "NEAR(terminator heat)",
    "terminator OR heat",
    "terminator AND",
    "NOT heat",
    "-heat",
    "title:heat",
    "{title}: heat",
    "heat & batman",
    "heat | !batman",
    "!heat",
    "(heat",
    "heat)",
    "heat:*",
    "'heat'",
    "'; DROP TABLE movies; --",
    "^heat",
    "heat +",
    "\\",
    "\x00heat",
    "🎬 heat",
    "a" * 200,
    "x " * 100,
]


@pytest.mark.parametrize("query", JUNK_QUERIES)
async def test_query_syntax_in_a_query_is_only_text(
    catalog: AsyncSession, index: SearchIndex, query: str
) -> None:
    titles = await film_titles(catalog, index, query)
    names = await person_names(catalog, index, query)

    assert set(titles) <= {"Heat", "Batman", "The Terminator", "Terminal Velocity"}
    assert names == []


async def test_a_query_without_words_finds_nothing(
    catalog: AsyncSession, index: SearchIndex
) -> None:
    assert await film_titles(catalog, index, "?!* ...") == []
    assert await person_names(catalog, index, "") == []


async def test_a_limit_bounds_the_results(session: AsyncSession, index: SearchIndex) -> None:
    films = [await add_movie(session, f"Night {n}", popularity=n) for n in range(30)]
    await index.index_movies(session, [film.id for film in films])

    ids = await index.search_movies(session, "night", limit=7)

    assert ids == [film.id for film in reversed(films)][:7]


async def test_drafts_are_left_out_on_request(session: AsyncSession, index: SearchIndex) -> None:
    films = [
        await add_movie(session, f"Draft Night {n}", popularity=100 + n, status=MovieStatus.DRAFT)
        for n in range(5)
    ]
    published = await add_movie(session, "Published Night", popularity=1)
    await index.index_movies(session, [film.id for film in [*films, published]])

    assert await index.search_movies(session, "night", limit=1, include_drafts=False) == [
        published.id
    ]
    assert len(await index.search_movies(session, "night", limit=10)) == 6


SNAPSHOT_QUERIES = [
    "termin",
    "terminatr",
    "tcheky karyo",
    "besson",
    "leon",
    "schindler",
    "heat",
    "goldneeey",
    "Batman Returns",
]


async def snapshot(session: AsyncSession, index: SearchIndex) -> dict[str, object]:
    tables = {
        name: [tuple(row) for row in await session.execute(text(query))]
        for name, query in {
            "movies": "SELECT movie_id, doc_id, title, original_title, people, title_key, "
            "original_title_key FROM search_movies ORDER BY movie_id",
            "people": "SELECT person_id, doc_id, name, name_key FROM search_people "
            "ORDER BY person_id",
            "terms": "SELECT term, doc_count, title_count, people_count FROM search_terms "
            "ORDER BY term",
            "keys": "SELECT k.key, t.term, k.deletions FROM search_term_keys k "
            "JOIN search_terms t ON t.id = k.term_id ORDER BY k.key, t.term",
        }.items()
    }
    for query in SNAPSHOT_QUERIES:
        films = await index.search_movies(session, query, limit=10)
        people = await index.search_people(session, query, limit=10)
        hits = await index.search(session, query, limit=10)
        assert (hits.movie_ids, hits.person_ids) == (films, people)
        tables[f"films {query}"] = [(film,) for film in films]
        tables[f"people {query}"] = [(person,) for person in people]
    return dict(tables)


async def test_a_rebuild_indexes_what_incremental_indexing_did(
    catalog: AsyncSession, index: SearchIndex
) -> None:
    # Changes first, so that the vocabulary has gained and lost words along the way.
    batman = await catalog.scalar(select(Movie).where(Movie.title == "Batman"))
    heat = await catalog.scalar(select(Movie.id).where(Movie.title == "Heat"))
    assert batman is not None
    assert heat is not None
    batman.title = "Batman Returns"
    await catalog.flush()
    await index.index_movies(catalog, [batman.id])
    await catalog.execute(text("DELETE FROM movies WHERE id = :id"), {"id": heat})
    await index.remove_movies(catalog, [heat])
    incremental = await snapshot(catalog, index)

    await index.rebuild(catalog)

    assert await snapshot(catalog, index) == incremental
    assert incremental["films termin"]


# ------------------------------------------------------------------------------------ the API


async def add_published_and_draft(app: FastAPI) -> None:
    async with app.state.db.transaction() as session:
        index: SearchIndex = app.state.search
        karyo = await add_person(session, "Tchéky Karyo")
        films = [
            await add_movie(session, "Nikita", popularity=2, cast=[karyo]),
            await add_movie(session, "Nikita Returns", popularity=9, status=MovieStatus.DRAFT),
        ]
        await index.index_people(session, [karyo.id])
        await index.index_movies(session, [film.id for film in films])


async def test_viewers_find_published_films_and_people(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_published_and_draft(app)
    viewer = await make_user(app)

    for headers in ({}, viewer.headers):
        response = await client.get("/api/v1/search", params={"q": " nikta "}, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["query"] == "nikta"
        assert [movie["title"] for movie in body["movies"]] == ["Nikita"]
        assert body["people"] == []

    response = await client.get("/api/v1/search", params={"q": "tcheky"})
    assert [person["name"] for person in response.json()["people"]] == ["Tchéky Karyo"]
    assert [movie["title"] for movie in response.json()["movies"]] == ["Nikita"]


async def test_staff_find_drafts_too(app: FastAPI, client: httpx.AsyncClient) -> None:
    await add_published_and_draft(app)
    manager = await make_user(app, role=Role.MANAGER)

    response = await client.get("/api/v1/search", params={"q": "nikita"}, headers=manager.headers)

    assert response.status_code == 200, response.text
    movies = response.json()["movies"]
    assert [(movie["title"], movie["status"]) for movie in movies] == [
        ("Nikita", "published"),
        ("Nikita Returns", "draft"),
    ]


async def test_the_limit_applies_to_films_and_people_each(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with app.state.db.transaction() as session:
        index: SearchIndex = app.state.search
        people = [await add_person(session, f"Kim Novak {n}") for n in range(4)]
        films = [await add_movie(session, f"Novak {n}", popularity=n) for n in range(4)]
        await index.index_people(session, [person.id for person in people])
        await index.index_movies(session, [film.id for film in films])

    response = await client.get("/api/v1/search", params={"q": "novak", "limit": 3})

    assert response.status_code == 200, response.text
    assert [movie["title"] for movie in response.json()["movies"]] == [
        "Novak 3",
        "Novak 2",
        "Novak 1",
    ]
    assert len(response.json()["people"]) == 3


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "   "},
        {"q": "x" * 201},
        {"q": "heat", "limit": "0"},
        {"q": "heat", "limit": "51"},
        {"q": "heat", "limit": "ten"},
    ],
    ids=["missing", "empty", "blank", "201-chars", "limit-0", "limit-51", "limit-text"],
)
async def test_a_bad_query_is_a_422(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    response = await client.get("/api/v1/search", params=params)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_a_megabyte_query_is_a_422(app: FastAPI) -> None:
    # httpx refuses URLs this long, so the request goes to the ASGI app as a server hands it.
    query_string = b"q=" + b"x" * 1_000_000
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/search",
        "raw_path": b"/api/v1/search",
        "query_string": query_string,
        "root_path": "",
        "headers": [(b"host", b"kino.test")],
        "client": ("203.0.113.7", 50000),
        "server": ("kino.test", 80),
    }
    await app(scope, receive, send)

    assert messages[0]["status"] == 422
    body = json.loads(b"".join(message.get("body", b"") for message in messages[1:]))
    assert body["error"]["code"] == "validation_error"


@pytest.mark.parametrize("query", ["?!", '"*"', "NEAR(", "heat OR", "'heat' & !", "x:* | y"])
async def test_query_syntax_is_never_an_error_over_http(
    app: FastAPI, client: httpx.AsyncClient, query: str
) -> None:
    await add_published_and_draft(app)

    response = await client.get("/api/v1/search", params={"q": query})

    assert response.status_code == 200, response.text
    assert response.json()["movies"] == []
