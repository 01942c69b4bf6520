"""cases: a unique merge key, so simultaneous reports of one mention make one case

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-23 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("responsecase", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("merge_key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_responsecase_merge_key"), ["merge_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("responsecase", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_responsecase_merge_key"))
        batch_op.drop_column("merge_key")
