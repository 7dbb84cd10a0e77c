"""bench indexes: what the benchmarks at scale called for

Revision ID: 0007_bench_indexes
Revises: 0006_notifications
Create Date: 2026-11-26 05:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007_bench_indexes"
down_revision = "0006_notifications"
branch_labels = None
depends_on = None


def upgrade():
    # The public pacts register, newest first, and its years filter.
    with op.batch_alter_table("pacts", schema=None) as batch_op:
        batch_op.create_index("ix_pacts_submitted_at_id", ["submitted_at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("pacts", schema=None) as batch_op:
        batch_op.drop_index("ix_pacts_submitted_at_id")
