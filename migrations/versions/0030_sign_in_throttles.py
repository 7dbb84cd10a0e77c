"""accounts: counters of attempts per key within a window (sign-in per client address and
site-wide, reset requests), bumped by one atomic upsert

Revision ID: 0030_sign_in_throttles
Revises: 0060_moderation
Create Date: 2026-12-06 13:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0030_sign_in_throttles"
down_revision = "0060_moderation"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "throttles",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("window_ends", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_throttles")),
    )
    with op.batch_alter_table("throttles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_throttles_window_ends"), ["window_ends"], unique=False)


def downgrade():
    with op.batch_alter_table("throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_throttles_window_ends"))
    op.drop_table("throttles")
