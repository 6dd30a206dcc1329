"""catalog version token: changes with every change a filtered film count depends on

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 17:30:00.000000

``catalog_versions`` holds one row whose ``token`` triggers set to a new random value whenever
a film is added or deleted, its status, year or age rating changes, or a row of its genres,
countries, languages or credits is written: what the filters of a film list read. The catalog
stores film counts under the token it read (``catalog.service``), so a count never outlives the
catalog it counted, whichever process, command or rolled-back transaction touched the tables.
A random value rather than a counter: a rolled-back change would give its counter value to the
next change, and a count read inside the rolled-back transaction would pass for it.

SQLite triggers run for each row (a bulk seed rewrites the one row many times, cheaply) and
only update the row: an INSERT OR REPLACE in a trigger takes the conflict policy of the statement
that fired it. PostgreSQL's run once per statement, so a COPY of 200,000 films updates the row
once, and insert the row again after a TRUNCATE. Without the row, counts are not stored.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Table → the changes that matter: (trigger name suffix, event).
WATCHED = {
    "movies": (
        ("insert", "INSERT"),
        ("delete", "DELETE"),
        ("update", "UPDATE OF status, year, age_rating"),
    ),
    "movie_genres": (("insert", "INSERT"), ("delete", "DELETE"), ("update", "UPDATE")),
    "movie_countries": (("insert", "INSERT"), ("delete", "DELETE"), ("update", "UPDATE")),
    "movie_languages": (("insert", "INSERT"), ("delete", "DELETE"), ("update", "UPDATE")),
    "credits": (("insert", "INSERT"), ("delete", "DELETE"), ("update", "UPDATE")),
}
PG_FUNCTION = """
CREATE FUNCTION kino_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO catalog_versions (id, token)
    VALUES (1, CAST(floor((random() - 0.5) * 9.2e18) AS BIGINT))
    ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token;
    RETURN NULL;
END
$$
"""


def _trigger_names() -> list[tuple[str, str, str]]:
    return [
        (f"trg_catalog_version_{table}_{suffix}", table, event)
        for table, events in WATCHED.items()
        for suffix, event in events
    ]


def upgrade() -> None:
    op.create_table(
        "catalog_versions",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_versions")),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(PG_FUNCTION)
    for name, table, event in _trigger_names():
        if postgresql:
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION kino_catalog_changed()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW BEGIN "
                "UPDATE catalog_versions SET token = random() WHERE id = 1; END"
            )
    op.execute("INSERT INTO catalog_versions (id, token) VALUES (1, 0)")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, table, _event in _trigger_names():
        op.execute(f"DROP TRIGGER {name} ON {table}" if postgresql else f"DROP TRIGGER {name}")
    if postgresql:
        op.execute("DROP FUNCTION kino_catalog_changed()")
    op.drop_table("catalog_versions")
