"""councils: ballot marks keyed at random, not by a counter, and the marks already cast rewritten
shuffled, so nothing in the database orders them against the voters (issue #17)

Revision ID: 0091_ballot_mark_keys
Revises: 0090_time_credit_rules
Create Date: 2026-12-06 17:45:00

"""
import secrets
from random import SystemRandom

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0091_ballot_mark_keys"
down_revision = "0090_time_credit_rules"
branch_labels = None
depends_on = None


def _rewrite_marks():
    conn = op.get_bind()
    marks = [tuple(row) for row in conn.execute(sa.text(
        "SELECT election_id, candidacy_id FROM council_ballot_marks"))]
    SystemRandom().shuffle(marks)
    conn.execute(sa.text("DELETE FROM council_ballot_marks"))
    if marks:
        conn.execute(sa.text("INSERT INTO council_ballot_marks (id, election_id, candidacy_id) "
                             "VALUES (:id, :election_id, :candidacy_id)"),
                     [{"id": secrets.randbelow(2**63 - 1) + 1, "election_id": e, "candidacy_id": c}
                      for e, c in marks])


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # INTEGER stays on SQLite: there the key is the rowid itself.
        op.execute("ALTER TABLE council_ballot_marks ALTER COLUMN id DROP DEFAULT")
        op.execute("ALTER TABLE council_ballot_marks ALTER COLUMN id TYPE BIGINT")
        op.execute("DROP SEQUENCE IF EXISTS council_ballot_marks_id_seq")
    _rewrite_marks()


def downgrade():
    # The random keys stay (they fit no counter); new marks get a counter's keys again.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE council_ballot_marks_id_seq OWNED BY council_ballot_marks.id")
        op.execute("ALTER TABLE council_ballot_marks ALTER COLUMN id SET DEFAULT nextval('council_ballot_marks_id_seq')")
