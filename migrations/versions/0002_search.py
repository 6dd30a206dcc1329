"""search: full-text tables for films and people, and the typo vocabulary

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 12:00:00.000000

The search tables hold text already normalised by ``kino.catalog.search.text`` (lower case,
no accents, words joined by single spaces), so neither engine's tokenizer decides anything.
A document's ``doc_id`` sorts in order of prominence (a film's popularity, a person's number of
credits; see ``kino.catalog.search.documents.rank_key``), so that the most prominent matches of
a broad query are read first and the rest never:

* ``search_movies`` / ``search_people``: the words of each film (title, original title, credited
  people) and person, and the exact keys an exact-title match compares.
* ``search_terms``: every indexed word with the number of documents that hold it (and how many
  of those are films with it in a title, and people), to plan a query.
* ``search_term_keys``: each word's deletion keys (its first 7 letters with up to two deleted),
  where a query word with typos finds the words it may stand for by exact lookups.

SQLite indexes the words with FTS5 (external-content tables over ``search_movies`` and
``search_people``, kept in step by the adapter); PostgreSQL with GIN indexes over tsvector
columns generated from the same words.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UPGRADE = (
    """
    CREATE TABLE search_movies (
        doc_id INTEGER PRIMARY KEY,
        movie_id INTEGER NOT NULL UNIQUE,
        title TEXT NOT NULL,
        original_title TEXT NOT NULL DEFAULT '',
        people TEXT NOT NULL DEFAULT '',
        title_key TEXT NOT NULL,
        original_title_key TEXT
    )
    """,
    "CREATE INDEX ix_search_movies_title_key ON search_movies (title_key)",
    # Partial: most films have no original title of their own, and a planner that counts the
    # NULLs as one key thinks every lookup returns the whole table.
    "CREATE INDEX ix_search_movies_original_title_key ON search_movies (original_title_key) "
    "WHERE original_title_key IS NOT NULL",
    # Words are already folded and space-separated: the ascii tokenizer splits on the spaces
    # and keeps every other character. detail=column: no positions, as no phrase has two words.
    """
    CREATE VIRTUAL TABLE search_movies_fts USING fts5(
        title, original_title, people,
        content='search_movies', content_rowid='doc_id',
        tokenize='ascii', prefix='2 3', detail='column'
    )
    """,
    """
    CREATE TABLE search_people (
        doc_id INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL UNIQUE,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL
    )
    """,
    "CREATE INDEX ix_search_people_name_key ON search_people (name_key)",
    """
    CREATE VIRTUAL TABLE search_people_fts USING fts5(
        name,
        content='search_people', content_rowid='doc_id',
        tokenize='ascii', prefix='2 3', detail='column'
    )
    """,
    """
    CREATE TABLE search_terms (
        id INTEGER PRIMARY KEY,
        term TEXT NOT NULL UNIQUE,
        doc_count INTEGER NOT NULL,
        title_count INTEGER NOT NULL DEFAULT 0,
        people_count INTEGER NOT NULL DEFAULT 0
    )
    """,
    """
    CREATE TABLE search_term_keys (
        key TEXT NOT NULL,
        term_id INTEGER NOT NULL,
        deletions INTEGER NOT NULL,
        PRIMARY KEY (key, term_id)
    ) WITHOUT ROWID
    """,
    # Search reads the row counts of ANALYZE (sqlite_stat1) to plan a query: make them exist.
    "ANALYZE search_movies",
    "ANALYZE search_people",
)
SQLITE_DOWNGRADE = (
    "DROP TABLE search_term_keys",
    "DROP TABLE search_terms",
    "DROP TABLE search_people_fts",
    "DROP TABLE search_people",
    "DROP TABLE search_movies_fts",
    "DROP TABLE search_movies",
)

POSTGRES_UPGRADE = (
    """
    CREATE TABLE search_movies (
        movie_id BIGINT PRIMARY KEY,
        doc_id BIGINT NOT NULL CONSTRAINT uq_search_movies_doc_id UNIQUE,
        title TEXT NOT NULL,
        original_title TEXT NOT NULL DEFAULT '',
        people TEXT NOT NULL DEFAULT '',
        title_key TEXT NOT NULL,
        original_title_key TEXT,
        title_words TSVECTOR GENERATED ALWAYS AS (
            array_to_tsvector(string_to_array(title, ' ') || string_to_array(original_title, ' '))
        ) STORED,
        all_words TSVECTOR GENERATED ALWAYS AS (
            array_to_tsvector(
                string_to_array(title, ' ') || string_to_array(original_title, ' ')
                || string_to_array(people, ' ')
            )
        ) STORED
    )
    """,
    # fastupdate off: an edit updates the index at once, instead of leaving a pending list
    # that every search scans until the next vacuum. (A rebuild recreates the indexes.)
    "CREATE INDEX ix_search_movies_title_words ON search_movies USING gin (title_words) "
    "WITH (fastupdate = off)",
    "CREATE INDEX ix_search_movies_all_words ON search_movies USING gin (all_words) "
    "WITH (fastupdate = off)",
    "CREATE INDEX ix_search_movies_title_key ON search_movies (title_key)",
    # Partial: most films have no original title of their own, and a planner that counts the
    # NULLs as one key thinks every lookup returns the whole table.
    "CREATE INDEX ix_search_movies_original_title_key ON search_movies (original_title_key) "
    "WHERE original_title_key IS NOT NULL",
    """
    CREATE TABLE search_people (
        person_id BIGINT PRIMARY KEY,
        doc_id BIGINT NOT NULL CONSTRAINT uq_search_people_doc_id UNIQUE,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        words TSVECTOR GENERATED ALWAYS AS (array_to_tsvector(string_to_array(name, ' '))) STORED
    )
    """,
    "CREATE INDEX ix_search_people_words ON search_people USING gin (words) "
    "WITH (fastupdate = off)",
    "CREATE INDEX ix_search_people_name_key ON search_people (name_key)",
    """
    CREATE TABLE search_terms (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        term TEXT NOT NULL UNIQUE,
        doc_count INTEGER NOT NULL,
        title_count INTEGER NOT NULL DEFAULT 0,
        people_count INTEGER NOT NULL DEFAULT 0
    )
    """,
    """
    CREATE TABLE search_term_keys (
        key TEXT NOT NULL,
        term_id BIGINT NOT NULL,
        deletions SMALLINT NOT NULL,
        PRIMARY KEY (key, term_id)
    )
    """,
)
POSTGRES_DOWNGRADE = (
    "DROP TABLE search_term_keys",
    "DROP TABLE search_terms",
    "DROP TABLE search_people",
    "DROP TABLE search_movies",
)


def upgrade() -> None:
    for statement in _statements(SQLITE_UPGRADE, POSTGRES_UPGRADE):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(SQLITE_DOWNGRADE, POSTGRES_DOWNGRADE):
        op.execute(statement)


def _statements(sqlite: Sequence[str], postgresql: Sequence[str]) -> Sequence[str]:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite
    if dialect == "postgresql":
        return postgresql
    raise NotImplementedError(f"search has no schema for {dialect}")
