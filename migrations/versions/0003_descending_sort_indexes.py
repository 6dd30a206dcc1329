"""descending sort indexes for PostgreSQL

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 12:25:00.000000

"Newest first" and "best rated first" put films without a year or a rating last
(``DESC NULLS LAST``). PostgreSQL can walk an index for that order only when the index was
built in it; SQLite sorts NULL first ascending, so its existing indexes already serve it (and
its CREATE INDEX has no NULLS clause). These indexes are therefore PostgreSQL's alone, written
here by hand and ignored by autogenerate (migrations/env.py).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_pg_movies_status_year_desc": "status, year DESC NULLS LAST, id DESC",
    "ix_pg_movies_status_rating_desc": (
        "status, rating_avg DESC NULLS LAST, rating_count DESC, id DESC"
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON movies ({columns})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
