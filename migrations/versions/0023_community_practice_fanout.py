"""community: an approved practice is sent by a job, from a mark

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-23 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("practice") as batch:
        batch.add_column(
            sa.Column("queued_after", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("queued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("recipients", sa.Integer(), nullable=False, server_default="0"))
    # Practices approved before were queued by the click itself: nothing is left to send.
    op.execute("UPDATE practice SET queued_at = decided_at WHERE status = 'approved'")


def downgrade() -> None:
    with op.batch_alter_table("practice") as batch:
        batch.drop_column("recipients")
        batch.drop_column("queued_at")
        batch.drop_column("queued_after")
