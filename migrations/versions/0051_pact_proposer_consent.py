"""pacts: whether a resident proposing alone agreed to have their name published (no, for every
pact proposed before the question was asked: the public reads "a resident of <neighbourhood>")

Revision ID: 0051_pact_proposer_consent
Revises: 0050_procurement_releases
Create Date: 2026-12-06 13:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0051_pact_proposer_consent"
down_revision = "0050_procurement_releases"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("pacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proposer_name_public", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("pacts", schema=None) as batch_op:
        batch_op.drop_column("proposer_name_public")
