"""councils: a meeting's last change and its iCalendar sequence (raised by each change of time or
place and by the cancellation), so that subscribers' calendars update

Revision ID: 0052_meeting_calendar
Revises: 0051_pact_proposer_consent
Create Date: 2026-12-06 14:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0052_meeting_calendar"
down_revision = "0051_pact_proposer_consent"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("council_meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sequence", sa.Integer(), server_default="0", nullable=False))
    # The last change known before: the creation. A cancelled meeting was changed once.
    op.execute("UPDATE council_meetings SET updated_at = created_at")
    op.execute("UPDATE council_meetings SET sequence = 1 WHERE status = 'cancelled'")
    with op.batch_alter_table("council_meetings", schema=None) as batch_op:
        batch_op.alter_column("updated_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade():
    with op.batch_alter_table("council_meetings", schema=None) as batch_op:
        batch_op.drop_column("sequence")
        batch_op.drop_column("updated_at")
