"""legal names folded for accent- and case-insensitive search, with a trigram index on PostgreSQL

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

import sqlalchemy as sa
import structlog
from alembic import op

from core.folding import fold

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

log = structlog.get_logger("db")


def upgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("legal_name_folded", sa.String(), nullable=True))
    bind = op.get_bind()
    application = sa.table(
        "application", sa.column("id", sa.Integer), sa.column("legal_name", sa.String), sa.column("legal_name_folded", sa.String)
    )
    rows = bind.execute(sa.select(application.c.id, application.c.legal_name).where(application.c.legal_name.is_not(None))).all()
    if rows:
        bind.execute(
            application.update().where(application.c.id == sa.bindparam("row_id")).values(legal_name_folded=sa.bindparam("folded")),
            [{"row_id": row.id, "folded": fold(row.legal_name)} for row in rows],
        )
    if bind.dialect.name != "postgresql":
        return  # SQLite: a LIKE '%…%' reads the table whatever the index
    if bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first() is None:
        log.warning("search_index_skipped", reason="the pg_trgm extension is not installed on this server (postgresql-contrib)")
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_application_legal_name_trgm ON application USING gin (legal_name_folded gin_trgm_ops)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_application_legal_name_trgm")
    with op.batch_alter_table("application") as batch:
        batch.drop_column("legal_name_folded")
