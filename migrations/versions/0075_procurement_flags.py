"""procurement: red flags raised on published processes (issue #18), recomputed nightly and
after each change by procurement/flags.py

Revision ID: 0075_procurement_flags
Revises: 0052_meeting_calendar
Create Date: 2026-12-06 17:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0075_procurement_flags"
down_revision = "0052_meeting_calendar"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "procurement_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["process_id"], ["procurement_processes.id"],
                                name=op.f("fk_procurement_flags_process_id_procurement_processes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procurement_flags")),
        sa.UniqueConstraint("process_id", "code", name=op.f("uq_procurement_flags_process_id")),
    )
    with op.batch_alter_table("procurement_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_procurement_flags_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_procurement_flags_process_id"), ["process_id"], unique=False)


def downgrade():
    with op.batch_alter_table("procurement_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_procurement_flags_process_id"))
        batch_op.drop_index(batch_op.f("ix_procurement_flags_code"))
    op.drop_table("procurement_flags")
