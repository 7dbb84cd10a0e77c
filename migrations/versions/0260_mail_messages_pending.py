"""notifications: the messages still to send indexed alone, so that a worker's claim of the
oldest due messages does not step over every message already sent (issue #25)

Revision ID: 0260_mail_messages_pending
Revises: 0250_statement_lines_index
Create Date: 2026-12-07 12:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0260_mail_messages_pending"
down_revision = "0250_statement_lines_index"
branch_labels = None
depends_on = None

PENDING = "status IN ('queued', 'sending')"


def upgrade():
    op.create_index("ix_mail_messages_pending", "mail_messages", ["id"], unique=False,
                    postgresql_where=sa.text(PENDING), sqlite_where=sa.text(PENDING))


def downgrade():
    op.drop_index("ix_mail_messages_pending", table_name="mail_messages")
