"""organisations: a municipal department's head is the department's own field (named on its page),
no longer a table of the accountability module (issue #22)

Revision ID: 0210_department_heads
Revises: 0221_keyset_indexes
Create Date: 2026-12-07 00:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0210_department_heads"
down_revision = "0221_keyset_indexes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("head_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_organisations_head_id_users"), "users", ["head_id"], ["id"])
    op.execute("UPDATE organisations SET head_id = (SELECT h.user_id FROM accountability_department_heads h "
               "WHERE h.department_id = organisations.id)")
    op.drop_table("accountability_department_heads")


def downgrade():
    op.create_table(
        "accountability_department_heads",
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["organisations.id"],
                                name=op.f("fk_accountability_department_heads_department_id_organisations")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_accountability_department_heads_user_id_users")),
        sa.PrimaryKeyConstraint("department_id", name=op.f("pk_accountability_department_heads")))
    op.execute("INSERT INTO accountability_department_heads (department_id, user_id) "
               "SELECT id, head_id FROM organisations WHERE head_id IS NOT NULL")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_organisations_head_id_users"), type_="foreignkey")
        batch_op.drop_column("head_id")
