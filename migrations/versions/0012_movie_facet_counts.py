"""movie facet counts: how many films each genre, country, language and age rating has, by
status and year, kept by triggers

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 22:00:00.000000

A film list's total under a filter of one genre (or country, language, age rating) and a year
range was a count over every film of that genre: at 200,000 films, tens to hundreds of
milliseconds each on PostgreSQL, and a new catalog version token (any edit) made every one of
them cold at once. ``movie_facet_counts`` holds the answer ready: one row per facet value,
status and year (-1 for an unknown year) with its number of films, so such a total is a sum
over at most a few hundred rows (``catalog.service``).

Triggers keep it exact whichever way the tables change (the API, the staff pages, a bulk seed,
plain SQL), on both engines:

- a film added: its ``film`` and ``age_rating`` rows; a genre, country or language row added
  or removed: that facet's row, at its film's status and year;
- a film's status, year or age rating changed: all its rows move from the old values to the new;
- a film deleted: a BEFORE trigger takes all its rows away while its genres, countries and
  languages are still there; the cascade that removes those then finds no film and counts
  nothing again.

PostgreSQL counts a statement's inserted and deleted link rows in one grouped upsert (a seed's
COPY of 400,000 genre rows is one statement); SQLite triggers run for each row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Link table → (facet, the facet value as text, the columns that name it).
LINKS = {
    "movie_genres": ("genre", "CAST({row}.genre_id AS TEXT)", "genre_id"),
    "movie_countries": ("country", "{row}.name", "name"),
    "movie_languages": ("language", "{row}.name", "name"),
}
PG_DIFFERS = "IS DISTINCT FROM"
UPSERT = (
    "INSERT INTO movie_facet_counts (facet, value, status, year, films) {select} "
    "ON CONFLICT (facet, value, status, year) "
    "DO UPDATE SET films = movie_facet_counts.films + excluded.films"
)


def _film_keys(film: str) -> str:
    """Every facet row a film counts in, as (facet, value): ``film`` is OLD or NEW."""
    links = " UNION ALL ".join(
        f"SELECT '{facet}', {value.format(row='l')} FROM {table} AS l WHERE l.movie_id = {film}.id"
        for table, (facet, value, _column) in LINKS.items()
    )
    return (
        f"SELECT 'film' AS facet, '' AS value UNION ALL "
        f"SELECT 'age_rating', {film}.age_rating WHERE {film}.age_rating IS NOT NULL "
        f"UNION ALL {links}"
    )


def _move_film(film: str, sign: int) -> str:
    """Adds (``sign`` 1) or takes away (-1) all of a film's rows at its status and year."""
    return UPSERT.format(
        select=f"SELECT k.facet, k.value, {film}.status, COALESCE({film}.year, -1), "
        f"{sign} * count(*) FROM ({_film_keys(film)}) AS k WHERE true GROUP BY k.facet, k.value"
    )


def _count_links(table: str, rows: str, sign: int) -> str:
    """Adds or takes away the facet rows of ``rows`` (a set of ``table``'s rows) whose film is
    still there."""
    facet, value, _column = LINKS[table]
    return UPSERT.format(
        select=f"SELECT '{facet}', {value.format(row='r')}, m.status, COALESCE(m.year, -1), "
        f"{sign} * count(*) FROM {rows} AS r JOIN movies AS m ON m.id = r.movie_id "
        f"WHERE true GROUP BY 1, 2, 3, 4"
    )


def _count_link(table: str, row: str, sign: int) -> str:
    """``_count_links`` for one row, ``row`` being OLD or NEW."""
    facet, value, _column = LINKS[table]
    return UPSERT.format(
        select=f"SELECT '{facet}', {value.format(row=row)}, m.status, COALESCE(m.year, -1), "
        f"{sign} FROM movies AS m WHERE m.id = {row}.movie_id"
    )


def _film_changed(differs: str) -> str:
    """Whether the update moved the film: ``differs`` is the engine's null-safe inequality."""
    return " OR ".join(
        f"OLD.{column} {differs} NEW.{column}" for column in ("status", "year", "age_rating")
    )


def _link_changed(column: str, differs: str) -> str:
    return f"OLD.movie_id {differs} NEW.movie_id OR OLD.{column} {differs} NEW.{column}"


FILMS_ADDED = UPSERT.format(
    select="SELECT k.facet, k.value, n.status, COALESCE(n.year, -1), count(*) FROM added AS n "
    "CROSS JOIN LATERAL (SELECT 'film' AS facet, '' AS value UNION ALL "
    "SELECT 'age_rating', n.age_rating WHERE n.age_rating IS NOT NULL) AS k "
    "WHERE true GROUP BY 1, 2, 3, 4"
)
FILM_ADDED = UPSERT.format(
    select="SELECT 'film', '', NEW.status, COALESCE(NEW.year, -1), 1 WHERE true UNION ALL "
    "SELECT 'age_rating', NEW.age_rating, NEW.status, COALESCE(NEW.year, -1), 1 "
    "WHERE NEW.age_rating IS NOT NULL"
)
# Every film's rows, for a database that has films already.
BACKFILL = [
    UPSERT.format(
        select="SELECT 'film', '', status, COALESCE(year, -1), count(*) FROM movies "
        "WHERE true GROUP BY 1, 2, 3, 4"
    ),
    UPSERT.format(
        select="SELECT 'age_rating', age_rating, status, COALESCE(year, -1), count(*) "
        "FROM movies WHERE age_rating IS NOT NULL GROUP BY 1, 2, 3, 4"
    ),
    *(_count_links(table, table, 1) for table in LINKS),
]


def _pg_trigger(name: str, when: str, body: str, *, returns: str = "NULL") -> list[str]:
    """A PL/pgSQL function named after the trigger, and the trigger that runs it."""
    return [
        f"CREATE FUNCTION kino_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body}; RETURN {returns}; END $$",
        f"CREATE TRIGGER trg_{name} {when} EXECUTE FUNCTION kino_{name}()",
    ]


def _sqlite_trigger(name: str, when: str, body: str) -> list[str]:
    return [f"CREATE TRIGGER trg_{name} {when} BEGIN {body}; END"]


def _postgresql() -> list[str]:
    moved = f"{_move_film('OLD', -1)}; {_move_film('NEW', 1)}"
    statements = [
        *_pg_trigger(
            "facets_movies_insert",
            "AFTER INSERT ON movies REFERENCING NEW TABLE AS added FOR EACH STATEMENT",
            FILMS_ADDED,
        ),
        *_pg_trigger(
            "facets_movies_delete",
            "BEFORE DELETE ON movies FOR EACH ROW",
            _move_film("OLD", -1),
            returns="OLD",
        ),
        *_pg_trigger(
            "facets_movies_update",
            "AFTER UPDATE OF status, year, age_rating ON movies FOR EACH ROW "
            f"WHEN ({_film_changed(PG_DIFFERS)})",
            moved,
        ),
    ]
    for table, (_facet, _value, column) in LINKS.items():
        statements += [
            *_pg_trigger(
                f"facets_{table}_insert",
                f"AFTER INSERT ON {table} REFERENCING NEW TABLE AS added FOR EACH STATEMENT",
                _count_links(table, "added", 1),
            ),
            *_pg_trigger(
                f"facets_{table}_delete",
                f"AFTER DELETE ON {table} REFERENCING OLD TABLE AS removed FOR EACH STATEMENT",
                _count_links(table, "removed", -1),
            ),
            *_pg_trigger(
                f"facets_{table}_update",
                f"AFTER UPDATE ON {table} FOR EACH ROW WHEN ({_link_changed(column, PG_DIFFERS)})",
                f"{_count_link(table, 'OLD', -1)}; {_count_link(table, 'NEW', 1)}",
            ),
        ]
    return statements


def _sqlite() -> list[str]:
    moved = f"{_move_film('OLD', -1)}; {_move_film('NEW', 1)}"
    statements = [
        *_sqlite_trigger("facets_movies_insert", "AFTER INSERT ON movies", FILM_ADDED),
        *_sqlite_trigger("facets_movies_delete", "BEFORE DELETE ON movies", _move_film("OLD", -1)),
        *_sqlite_trigger(
            "facets_movies_update",
            f"AFTER UPDATE OF status, year, age_rating ON movies WHEN {_film_changed('IS NOT')}",
            moved,
        ),
    ]
    for table, (_facet, _value, column) in LINKS.items():
        statements += [
            *_sqlite_trigger(
                f"facets_{table}_insert", f"AFTER INSERT ON {table}", _count_link(table, "NEW", 1)
            ),
            *_sqlite_trigger(
                f"facets_{table}_delete", f"AFTER DELETE ON {table}", _count_link(table, "OLD", -1)
            ),
            *_sqlite_trigger(
                f"facets_{table}_update",
                f"AFTER UPDATE ON {table} WHEN {_link_changed(column, 'IS NOT')}",
                f"{_count_link(table, 'OLD', -1)}; {_count_link(table, 'NEW', 1)}",
            ),
        ]
    return statements


TRIGGERS = [
    f"facets_{table}_{event}"
    for table in ("movies", *LINKS)
    for event in ("insert", "delete", "update")
]


def upgrade() -> None:
    op.create_table(
        "movie_facet_counts",
        sa.Column("facet", sa.String(16), nullable=False),
        sa.Column("value", sa.String(100), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("films", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "facet", "value", "status", "year", name=op.f("pk_movie_facet_counts")
        ),
    )
    for statement in BACKFILL:
        op.execute(statement)
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _postgresql() if postgresql else _sqlite():
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in TRIGGERS:
        table = name.removeprefix("facets_").rsplit("_", 1)[0]
        op.execute(
            f"DROP TRIGGER trg_{name} ON {table}" if postgresql else f"DROP TRIGGER trg_{name}"
        )
        if postgresql:
            op.execute(f"DROP FUNCTION kino_{name}()")
    op.drop_table("movie_facet_counts")
