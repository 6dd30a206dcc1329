"""hold refusal function: lets one statement take a hold's seats all or none

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 19:30:00.000000

On PostgreSQL a seat hold is one statement (``boxoffice/hold_statements.py``), committed on its
own: it replaces the user's previous hold, inserts the new one and takes its seats. When a seat
is gone, or another hold of the user's got in first, the statement must undo itself, and plain
SQL cannot raise an error. ``kino_refuse_hold`` can: it raises with its own SQLSTATE (``KH001``
seats taken, ``KH002`` another live hold) and the seats' ids in the error's detail.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION kino_refuse_hold(code text, seat_ids bigint[]) RETURNS boolean
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION USING
                ERRCODE = code,
                MESSAGE = 'seat hold refused',
                DETAIL = array_to_string(seat_ids, ',');
        END
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION kino_refuse_hold(text, bigint[])")
