"""procurement: a bid's documents (PDFs) and the declarations its bidder ticked, sealed with the
offer until the deadline (issue #18)

Revision ID: 0101_procurement_bid_documents
Revises: 0100_procurement_panel
Create Date: 2026-12-06 21:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0101_procurement_bid_documents"
down_revision = "0100_procurement_panel"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("procurement_bids", schema=None) as batch_op:
        # Bids sent before declarations existed declared nothing: an empty list, not a guess.
        batch_op.add_column(sa.Column("declarations", sa.JSON(), nullable=True))
    op.execute("UPDATE procurement_bids SET declarations = '[]'")
    with op.batch_alter_table("procurement_bids", schema=None) as batch_op:
        batch_op.alter_column("declarations", existing_type=sa.JSON(), nullable=False)
    op.create_table(
        "procurement_bid_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("stored_name", sa.String(length=80), nullable=False),
        sa.Column("content_type", sa.String(length=60), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bid_id"], ["procurement_bids.id"], ondelete="CASCADE",
                                name=op.f("fk_procurement_bid_documents_bid_id_procurement_bids")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procurement_bid_documents")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_procurement_bid_documents_stored_name")),
    )
    with op.batch_alter_table("procurement_bid_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_procurement_bid_documents_bid_id"), ["bid_id"], unique=False)


def downgrade():
    with op.batch_alter_table("procurement_bid_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_procurement_bid_documents_bid_id"))
    op.drop_table("procurement_bid_documents")
    with op.batch_alter_table("procurement_bids", schema=None) as batch_op:
        batch_op.drop_column("declarations")
