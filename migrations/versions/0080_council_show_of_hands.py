"""councils: show-of-hands votes recorded by the Chair: counts per side, or a vote by name
marked as given by hand where the council's rules want names

Revision ID: 0080_council_show_of_hands
Revises: 0075_procurement_flags
Create Date: 2026-12-06 17:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0080_council_show_of_hands"
down_revision = "0075_procurement_flags"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("councils", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hand_votes_named", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("council_votes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("by_hand", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "council_hand_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("motion_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=20), nullable=False),
        sa.Column("yes", sa.Integer(), nullable=False),
        sa.Column("no", sa.Integer(), nullable=False),
        sa.Column("abstain", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["motion_id"], ["council_motions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("motion_id", "side"),
    )
    with op.batch_alter_table("council_hand_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_council_hand_counts_motion_id"), ["motion_id"], unique=False)


def downgrade():
    with op.batch_alter_table("council_hand_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_council_hand_counts_motion_id"))
    op.drop_table("council_hand_counts")
    with op.batch_alter_table("council_votes", schema=None) as batch_op:
        batch_op.drop_column("by_hand")
    with op.batch_alter_table("councils", schema=None) as batch_op:
        batch_op.drop_column("hand_votes_named")
