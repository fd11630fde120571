"""the daily cap on automatic replies counts one address's notices of the last day from an index

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_notice_recipient_created", "notice", [sa.text("lower(to_address)"), "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_notice_recipient_created", table_name="notice")
