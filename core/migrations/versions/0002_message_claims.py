"""message claims for several workers, and an index for unsettled messages

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # the submodule by name, so that type checkers see sqlmodel.sql
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.add_column(sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(sa.Column("claim_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.create_index("ix_inbound_message_unsettled", ["moved", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_index("ix_inbound_message_unsettled")
        batch.drop_column("claim_until")
        batch.drop_column("claimed_by")
