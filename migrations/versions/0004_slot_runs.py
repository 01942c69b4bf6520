"""Slots done by scheduled jobs; handled events keep their table

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slotrun",
        sa.Column("job", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("zone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("slot", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("done_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("job", "zone", "slot"),
    )
    with op.batch_alter_table("slotrun", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slotrun_done_at"), ["done_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slotrun", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slotrun_done_at"))
    op.drop_table("slotrun")
