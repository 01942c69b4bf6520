"""delivery engine: campaign, operation, message parts, stored pause, claim index

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_ONLY = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table(
        "deliverypause",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("paused_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope"),
    )
    op.create_table(
        "deliverypart",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["delivery.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id", "position", name="uq_deliverypart_position"),
    )
    with op.batch_alter_table("deliverypart", schema=None) as batch_op:
        batch_op.create_index("ix_deliverypart_delivery_id", ["delivery_id"], unique=False)

    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("campaign", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "operation",
                sqlmodel.sql.sqltypes.AutoString(length=8),
                nullable=False,
                server_default="send",
            )
        )
        batch_op.add_column(sa.Column("target_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_delivery_campaign", ["campaign"], unique=False)
        batch_op.create_index("ix_delivery_target_id", ["target_id"], unique=False)
        batch_op.create_foreign_key("fk_delivery_target_id", "delivery", ["target_id"], ["id"])
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.alter_column("operation", server_default=None)
    op.create_index(
        "ix_delivery_claim",
        "delivery",
        [sa.text("priority DESC"), "id"],
        postgresql_where=PENDING_ONLY,
        sqlite_where=PENDING_ONLY,
    )
    # Split messages kept their parts as "ts1,ts2" in platform_message_id: one row per part now.
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT id, platform_message_id, platform_channel_id FROM delivery "
            "WHERE status = 'sent' AND platform_message_id LIKE '%,%'"
        )
    ).all()
    parts = [
        {"delivery_id": row[0], "position": n, "message_id": part, "channel_id": row[2]}
        for row in rows
        for n, part in enumerate(row[1].split(","))
    ]
    if parts:
        connection.execute(
            sa.text(
                "INSERT INTO deliverypart (delivery_id, position, message_id, channel_id) "
                "VALUES (:delivery_id, :position, :message_id, :channel_id)"
            ),
            parts,
        )


def downgrade() -> None:
    op.drop_index("ix_delivery_claim", table_name="delivery")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint("fk_delivery_target_id", type_="foreignkey")
        batch_op.drop_index("ix_delivery_target_id")
        batch_op.drop_index("ix_delivery_campaign")
        batch_op.drop_column("target_id")
        batch_op.drop_column("operation")
        batch_op.drop_column("campaign")
    with op.batch_alter_table("deliverypart", schema=None) as batch_op:
        batch_op.drop_index("ix_deliverypart_delivery_id")
    op.drop_table("deliverypart")
    op.drop_table("deliverypause")
