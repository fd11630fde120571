"""links between applications, and the flag for a code to reissue

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("related_application_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("related_reason", sa.String(), nullable=True))
        batch.add_column(sa.Column("reissue_needed", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_foreign_key("fk_application_related", "application", ["related_application_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.drop_constraint("fk_application_related", type_="foreignkey")
        batch.drop_column("reissue_needed")
        batch.drop_column("related_reason")
        batch.drop_column("related_application_id")
