"""procurement: bids withdrawn or replaced before the deadline (one active per organisation),
a tender's permission to bid above its value, a contract value's justification, measurable
social commitments, and who amended what (before and after)

Revision ID: 0070_procurement_integrity
Revises: 0080_council_show_of_hands
Create Date: 2026-12-06 17:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0070_procurement_integrity"
down_revision = "0080_council_show_of_hands"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status = 'active'")


def upgrade():
    with op.batch_alter_table("procurement_processes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allow_above_value", sa.Boolean(), server_default="0", nullable=False))
    with op.batch_alter_table("procurement_bids", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=20), server_default="active", nullable=False))
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint("uq_procurement_bids_process_id", type_="unique")
    op.create_index("uq_procurement_bids_active", "procurement_bids", ["process_id", "organisation_id"],
                    unique=True, sqlite_where=ACTIVE, postgresql_where=ACTIVE)
    with op.batch_alter_table("procurement_contracts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("value_justification", sa.Text(), server_default="", nullable=False))
    with op.batch_alter_table("procurement_commitments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target_quantity", sa.Integer(), nullable=True))
    with op.batch_alter_table("procurement_amendments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("amended_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("before", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("after", sa.JSON(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_procurement_amendments_amended_by_id_users"), "users",
                                    ["amended_by_id"], ["id"])


def downgrade():
    with op.batch_alter_table("procurement_amendments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_procurement_amendments_amended_by_id_users"), type_="foreignkey")
        batch_op.drop_column("after")
        batch_op.drop_column("before")
        batch_op.drop_column("amended_by_id")
    with op.batch_alter_table("procurement_commitments", schema=None) as batch_op:
        batch_op.drop_column("target_quantity")
    with op.batch_alter_table("procurement_contracts", schema=None) as batch_op:
        batch_op.drop_column("value_justification")
    op.drop_index("uq_procurement_bids_active", table_name="procurement_bids")
    with op.batch_alter_table("procurement_bids", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_procurement_bids_process_id", ["process_id", "organisation_id"])
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("status")
