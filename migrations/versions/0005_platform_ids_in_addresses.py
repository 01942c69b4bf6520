"""Platform identities move from member to address

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {"slack": "slack_user_id", "teams": "teams_id"}


def upgrade() -> None:
    with op.batch_alter_table("address", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
    connection = op.get_bind()
    for platform, column in COLUMNS.items():
        # Existing addresses get the id; members with an id and no address get one.
        connection.execute(
            sa.text(
                f"UPDATE address SET user_id = (SELECT m.{column} FROM member m "
                "WHERE m.id = address.member_id) WHERE platform = :platform"
            ),
            {"platform": platform},
        )
        connection.execute(
            sa.text(
                "INSERT INTO address (member_id, platform, user_id, updated_at) "
                f"SELECT m.id, CAST(:platform AS VARCHAR(16)), m.{column}, m.updated_at FROM member m "
                f"WHERE m.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM address a "
                "WHERE a.member_id = m.id AND a.platform = :platform)"
            ),
            {"platform": platform},
        )
    with op.batch_alter_table("address", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_address_platform_user", ["platform", "user_id"])
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_slack_user_id"))
        batch_op.drop_index(batch_op.f("ix_member_teams_id"))
        batch_op.drop_column("teams_id")
        batch_op.drop_column("slack_user_id")


def downgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slack_user_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("teams_id", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_member_teams_id"), ["teams_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_member_slack_user_id"), ["slack_user_id"], unique=False
        )
    connection = op.get_bind()
    for platform, column in COLUMNS.items():
        connection.execute(
            sa.text(
                f"UPDATE member SET {column} = (SELECT a.user_id FROM address a "
                "WHERE a.member_id = member.id AND a.platform = :platform)"
            ),
            {"platform": platform},
        )
    with op.batch_alter_table("address", schema=None) as batch_op:
        batch_op.drop_constraint("uq_address_platform_user", type_="unique")
        batch_op.drop_column("user_id")
