"""posts: a post's life in the database (status, content per language, approvals)

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "post",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("business_unit", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("expires", sa.Date(), nullable=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("file_checksum", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("submitted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("approved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("live_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("expired_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("withdrawn_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.Column("retired_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["withdrawn_by_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_post_department"), ["department"], unique=False)
        batch_op.create_index("ix_post_status_expires", ["status", "expires"], unique=False)

    op.create_table(
        "postapproval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["post.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("postapproval", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_postapproval_post_id"), ["post_id"], unique=False)

    op.create_table(
        "postcontent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("link", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("networks", sa.JSON(), nullable=False),
        sa.Column("hashtags", sa.JSON(), nullable=False),
        sa.Column("image", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("image_alt", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=8000), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["post.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("post_id", "language", name="uq_postcontent_language"),
    )
    with op.batch_alter_table("postcontent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_postcontent_post_id"), ["post_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("postcontent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_postcontent_post_id"))

    op.drop_table("postcontent")
    with op.batch_alter_table("postapproval", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_postapproval_post_id"))

    op.drop_table("postapproval")
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_index("ix_post_status_expires")
        batch_op.drop_index(batch_op.f("ix_post_department"))
        batch_op.drop_index(batch_op.f("ix_post_author_id"))

    op.drop_table("post")
