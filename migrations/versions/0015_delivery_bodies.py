"""delivery bodies: a message's content stored once, keyed by its hash; deliveries point to it

Revision ID: 0015
Revises: 0014
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_ONLY = sa.text("status = 'pending'")
BATCH = 5000

bodies = sa.table(
    "deliverybody",
    sa.column("hash", sa.String),
    sa.column("payload", sa.JSON),
    sa.column("used_at", sqlmodel.sql.sqltypes.UTCDateTime()),
)


def _hash(payload: Any) -> str:
    """The same canonical form as ``bot.delivery.outbox.body_hash`` (kept here: migrations stand alone)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def upgrade() -> None:
    op.create_table(
        "deliverybody",
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("hash"),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("body_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )

    # Each payload moves to the body table once; every delivery keeps which body it was sent.
    connection = op.get_bind()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    now = datetime.now(UTC)
    last = 0
    while True:
        rows = connection.execute(
            sa.text("SELECT id, payload FROM delivery WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        found: dict[str, Any] = {}
        links = []
        for delivery_id, raw in rows:
            payload = json.loads(raw) if isinstance(raw, str | bytes) else raw
            digest = _hash(payload)
            found.setdefault(digest, payload)
            links.append({"b_id": delivery_id, "b_hash": digest})
        connection.execute(
            insert(bodies).on_conflict_do_nothing(index_elements=["hash"]),
            [{"hash": h, "payload": p, "used_at": now} for h, p in sorted(found.items())],
        )
        connection.execute(
            sa.text("UPDATE delivery SET body_hash = :b_hash WHERE id = :b_id"), links
        )

    # SQLite rebuilds the table below: the partial claim index is made again after it.
    op.drop_index("ix_delivery_claim", table_name="delivery")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.alter_column(
            "body_hash", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        )
        batch_op.create_index("ix_delivery_body_hash", ["body_hash"], unique=False)
        batch_op.create_foreign_key(
            "fk_delivery_body_hash", "deliverybody", ["body_hash"], ["hash"]
        )
        batch_op.drop_column("payload")
    op.create_index(
        "ix_delivery_claim",
        "delivery",
        [sa.text("priority DESC"), "id"],
        postgresql_where=PENDING_ONLY,
        sqlite_where=PENDING_ONLY,
    )


def downgrade() -> None:
    op.drop_index("ix_delivery_claim", table_name="delivery")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
    op.execute(
        "UPDATE delivery SET payload = "
        "(SELECT payload FROM deliverybody WHERE deliverybody.hash = delivery.body_hash)"
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.alter_column("payload", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_constraint("fk_delivery_body_hash", type_="foreignkey")
        batch_op.drop_index("ix_delivery_body_hash")
        batch_op.drop_column("body_hash")
    op.create_index(
        "ix_delivery_claim",
        "delivery",
        [sa.text("priority DESC"), "id"],
        postgresql_where=PENDING_ONLY,
        sqlite_where=PENDING_ONLY,
    )
    op.drop_table("deliverybody")
