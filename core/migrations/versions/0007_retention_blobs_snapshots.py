"""holds and purges for retention, blobs in the database, the daily backlog snapshot

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("on_hold", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("purged_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_table(
        "stored_blob",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "backlog_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "state"),
    )
    op.create_index("ix_backlog_snapshot_day", "backlog_snapshot", ["day"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_backlog_snapshot_day", table_name="backlog_snapshot")
    op.drop_table("backlog_snapshot")
    op.drop_table("stored_blob")
    with op.batch_alter_table("application") as batch:
        batch.drop_column("purged_at")
        batch.drop_column("on_hold")
