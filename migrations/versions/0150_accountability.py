"""accountability: results (a need, a pact objective, a contract's social commitment) with their
status, progress and timeline; the programmes and pacts linked to a need; department heads (issue #22)

Revision ID: 0150_accountability
Revises: 0101_procurement_bid_documents
Create Date: 2026-12-06 21:06:16.249248

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0150_accountability"
down_revision = '0101_procurement_bid_documents'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('accountability_department_heads',
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['organisations.id'], name=op.f('fk_accountability_department_heads_department_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_accountability_department_heads_user_id_users')),
    sa.PrimaryKeyConstraint('department_id', name=op.f('pk_accountability_department_heads'))
    )
    op.create_table('accountability_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('target', sa.String(length=120), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_accountability_links_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accountability_links')),
    sa.UniqueConstraint('need_id', 'kind', 'target', name=op.f('uq_accountability_links_need_id'))
    )
    with op.batch_alter_table('accountability_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accountability_links_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accountability_links_target'), ['target'], unique=False)

    op.create_table('accountability_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=True),
    sa.Column('progress', sa.Integer(), nullable=True),
    sa.Column('justification', sa.Text(), server_default='', nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_accountability_results_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accountability_results')),
    sa.UniqueConstraint('kind', 'subject_id', name=op.f('uq_accountability_results_kind'))
    )
    op.create_table('accountability_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('evidence_url', sa.String(length=500), server_default='', nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_accountability_entries_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['result_id'], ['accountability_results.id'], name=op.f('fk_accountability_entries_result_id_accountability_results')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accountability_entries'))
    )
    with op.batch_alter_table('accountability_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accountability_entries_result_id'), ['result_id'], unique=False)



def downgrade():
    with op.batch_alter_table('accountability_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accountability_entries_result_id'))

    op.drop_table('accountability_entries')
    op.drop_table('accountability_results')
    with op.batch_alter_table('accountability_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accountability_links_target'))
        batch_op.drop_index(batch_op.f('ix_accountability_links_need_id'))

    op.drop_table('accountability_links')
    op.drop_table('accountability_department_heads')
