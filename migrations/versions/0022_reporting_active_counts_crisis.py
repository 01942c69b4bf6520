"""reporting: active members as count rows; crisis alerts snapshot

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-23 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reporting_crisis",
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("location", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("alerted", sa.Integer(), nullable=False),
        sa.Column("acknowledged", sa.Integer(), nullable=False),
        sa.Column("computed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("crisis_id", "department", "location"),
    )
    # Readers now sum the active members' count rows: write them for what is already folded.
    op.execute(
        "INSERT INTO reporting_count (grain, start, department, location, kind, detail, events) "
        "SELECT grain, start, department, location, 'active', '', count(*) "
        "FROM reporting_active GROUP BY grain, start, department, location"
    )


def downgrade() -> None:
    op.execute("DELETE FROM reporting_count WHERE kind = 'active'")
    op.drop_table("reporting_crisis")
