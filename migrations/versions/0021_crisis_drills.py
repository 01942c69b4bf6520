"""crisis drills: a drill flag and audience on crises, one drill running at a time

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crisis", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("drill", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("audience", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.create_index(
            "uq_crisis_drilling",
            ["status"],
            unique=True,
            sqlite_where=sa.text("status = 'drilling'"),
            postgresql_where=sa.text("status = 'drilling'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("crisis", schema=None) as batch_op:
        batch_op.drop_index("uq_crisis_drilling")
        batch_op.drop_column("audience")
        batch_op.drop_column("drill")
