"""moderation: reports, cases, decisions (the public log), appeals and redacted originals;
a hidden_reason on every moderatable row (proposals, comments, disputes, reports, nomination
statements, organisations); comments indexed by author and time for the hourly limit

Revision ID: 0060_moderation
Revises: 0020_redemption_key_shape
Create Date: 2026-12-06 12:52:50

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0060_moderation"
down_revision = "0020_redemption_key_shape"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('moderation_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_type', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('open_reports', sa.Integer(), nullable=False),
    sa.Column('hidings', sa.Integer(), nullable=False),
    sa.Column('hidden_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('active_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hidden_by_id'], ['users.id'], name=op.f('fk_moderation_cases_hidden_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_cases')),
    sa.UniqueConstraint('subject_type', 'subject_id', name='uq_moderation_cases_subject')
    )
    with op.batch_alter_table('moderation_cases', schema=None) as batch_op:
        batch_op.create_index('ix_moderation_cases_queue', ['state', 'open_reports', 'active_at'], unique=False)

    op.create_table('moderation_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('moderator_id', sa.Integer(), nullable=True),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['moderation_cases.id'], name=op.f('fk_moderation_decisions_case_id_moderation_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['moderator_id'], ['users.id'], name=op.f('fk_moderation_decisions_moderator_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_decisions'))
    )
    with op.batch_alter_table('moderation_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moderation_decisions_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_moderation_decisions_log', ['public', 'id'], unique=False)

    op.create_table('moderation_appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('hiding', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_moderation_appeals_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['case_id'], ['moderation_cases.id'], name=op.f('fk_moderation_appeals_case_id_moderation_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decision_id'], ['moderation_decisions.id'], name=op.f('fk_moderation_appeals_decision_id_moderation_decisions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_appeals')),
    sa.UniqueConstraint('case_id', 'hiding', name='uq_moderation_appeals_once')
    )
    op.create_table('moderation_redacted_originals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('keep_until', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['moderation_cases.id'], name=op.f('fk_moderation_redacted_originals_case_id_moderation_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decision_id'], ['moderation_decisions.id'], name=op.f('fk_moderation_redacted_originals_decision_id_moderation_decisions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_redacted_originals'))
    )
    with op.batch_alter_table('moderation_redacted_originals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moderation_redacted_originals_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_moderation_redacted_originals_keep_until'), ['keep_until'], unique=False)

    op.create_table('moderation_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['moderation_cases.id'], name=op.f('fk_moderation_reports_case_id_moderation_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decision_id'], ['moderation_decisions.id'], name=op.f('fk_moderation_reports_decision_id_moderation_decisions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_moderation_reports_reporter_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_reports')),
    sa.UniqueConstraint('case_id', 'reporter_id', name='uq_moderation_reports_once')
    )
    with op.batch_alter_table('moderation_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moderation_reports_decision_id'), ['decision_id'], unique=False)
        batch_op.create_index('ix_moderation_reports_reporter', ['reporter_id', 'created_at'], unique=False)

    with op.batch_alter_table('council_candidacies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden_reason', sa.Text(), nullable=True))

    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden_reason', sa.Text(), nullable=True))

    with op.batch_alter_table('pact_comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden_reason', sa.Text(), nullable=True))
        batch_op.create_index('ix_pact_comments_author_created', ['author_id', 'created_at'], unique=False)

    with op.batch_alter_table('pact_disputes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden_reason', sa.Text(), nullable=True))

    with op.batch_alter_table('pact_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden_reason', sa.Text(), nullable=True))

    with op.batch_alter_table('pacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden_reason', sa.Text(), nullable=True))



def downgrade():
    with op.batch_alter_table('pacts', schema=None) as batch_op:
        batch_op.drop_column('hidden_reason')

    with op.batch_alter_table('pact_reports', schema=None) as batch_op:
        batch_op.drop_column('hidden_reason')

    with op.batch_alter_table('pact_disputes', schema=None) as batch_op:
        batch_op.drop_column('hidden_reason')

    with op.batch_alter_table('pact_comments', schema=None) as batch_op:
        batch_op.drop_index('ix_pact_comments_author_created')
        batch_op.drop_column('hidden_reason')

    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('hidden_reason')

    with op.batch_alter_table('council_candidacies', schema=None) as batch_op:
        batch_op.drop_column('hidden_reason')

    with op.batch_alter_table('moderation_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_moderation_reports_reporter')
        batch_op.drop_index(batch_op.f('ix_moderation_reports_decision_id'))

    op.drop_table('moderation_reports')
    with op.batch_alter_table('moderation_redacted_originals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moderation_redacted_originals_keep_until'))
        batch_op.drop_index(batch_op.f('ix_moderation_redacted_originals_case_id'))

    op.drop_table('moderation_redacted_originals')
    op.drop_table('moderation_appeals')
    with op.batch_alter_table('moderation_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_moderation_decisions_log')
        batch_op.drop_index(batch_op.f('ix_moderation_decisions_case_id'))

    op.drop_table('moderation_decisions')
    with op.batch_alter_table('moderation_cases', schema=None) as batch_op:
        batch_op.drop_index('ix_moderation_cases_queue')

    op.drop_table('moderation_cases')
