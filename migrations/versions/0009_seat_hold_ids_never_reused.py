"""seat hold ids are never given twice (SQLite AUTOINCREMENT)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 16:45:00.000000

On SQLite a table's integer key without AUTOINCREMENT is the highest one + 1, so the id of the
newest hold came back as soon as that hold was released or replaced. Only the CREATE TABLE can
say AUTOINCREMENT, so ``seat_holds`` is made again. It is referenced by ``seat_claims``, and with
foreign keys on (as Kino's connections have them, and a transaction cannot turn them off)
dropping it would delete the live holds' claims, so the old table is renamed out of the way
instead, the claims are rebuilt to point at the new table, and the old one is dropped once
nothing refers to it. PostgreSQL's identity columns never give an id twice: nothing to do.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kino.core.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "id, showtime_id, user_id, created_at, expires_at, replaced"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _remake_seat_holds(autoincrement=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _remake_seat_holds(autoincrement=False)


def _remake_seat_holds(*, autoincrement: bool) -> None:
    op.create_table(
        "_seat_holds_new",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("showtime_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", kino.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", kino.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("replaced", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["showtime_id"],
            ["showtimes.id"],
            name="fk_seat_holds_showtime_id_showtimes",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_seat_holds_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_seat_holds"),
        sqlite_autoincrement=autoincrement,
    )
    op.execute(f"INSERT INTO _seat_holds_new ({COLUMNS}) SELECT {COLUMNS} FROM seat_holds")
    # The claims' foreign key follows the renamed table; rebuilding the claims points it back.
    op.rename_table("seat_holds", "_seat_holds_old")
    op.rename_table("_seat_holds_new", "seat_holds")
    with op.batch_alter_table("seat_claims", recreate="always") as batch_op:
        batch_op.drop_constraint("fk_seat_claims_hold_id_seat_holds", type_="foreignkey")
        batch_op.create_foreign_key(
            "fk_seat_claims_hold_id_seat_holds",
            "seat_holds",
            ["hold_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.drop_table("_seat_holds_old")
    op.create_index("ix_seat_holds_user_id", "seat_holds", ["user_id"], unique=False)
    op.create_index(
        "uq_seat_holds_showtime_id_user_id",
        "seat_holds",
        ["showtime_id", "user_id"],
        unique=True,
        sqlite_where=sa.text("NOT replaced"),
    )
