"""procurement: scoring by an evaluation panel (one score per evaluator, bid and criterion, the
panel's score their mean) and a published formula per price criterion (issue #18)

The scores typed before panels existed were one official's evaluation: each is kept as the score
of the official the audit trail shows scoring that bid last (else the official who opened the
process), who joins the process's panel.

Revision ID: 0100_procurement_panel
Revises: 0142_voucher_spending_rules
Create Date: 2026-12-06 21:00:00

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0100_procurement_panel"
down_revision = "0142_voucher_spending_rules"
branch_labels = None
depends_on = None

LEGACY_SCORES = sa.text("""
    SELECT s.bid_id, s.criterion_id, s.score, s.note, b.process_id,
           COALESCE((SELECT a.actor_id FROM audit_log a
                     WHERE a.action = 'procurement.bid_scored' AND a.object_type = 'procurement_bids'
                       AND a.object_id = CAST(s.bid_id AS VARCHAR(64)) AND a.actor_id IS NOT NULL
                     ORDER BY a.id DESC LIMIT 1), p.created_by_id) AS evaluator_id
    FROM procurement_scores s
    JOIN procurement_bids b ON b.id = s.bid_id
    JOIN procurement_processes p ON p.id = b.process_id
""")


def upgrade():
    with op.batch_alter_table("procurement_criteria", schema=None) as batch_op:
        batch_op.add_column(sa.Column("formula", sa.String(length=20), server_default="", nullable=False))
    # The formula every tender published until now: the lowest price gets full marks, others in proportion.
    op.execute("UPDATE procurement_criteria SET formula = 'proportional' WHERE kind = 'price'")

    op.create_table(
        "procurement_panel_members",
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["added_by_id"], ["users.id"],
                                name=op.f("fk_procurement_panel_members_added_by_id_users")),
        sa.ForeignKeyConstraint(["process_id"], ["procurement_processes.id"], ondelete="CASCADE",
                                name=op.f("fk_procurement_panel_members_process_id_procurement_processes")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_procurement_panel_members_user_id_users")),
        sa.PrimaryKeyConstraint("process_id", "user_id", name=op.f("pk_procurement_panel_members")),
    )

    bind = op.get_bind()
    legacy = [row for row in bind.execute(LEGACY_SCORES).mappings() if row["evaluator_id"] is not None]
    op.drop_table("procurement_scores")
    scores = op.create_table(
        "procurement_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.Integer(), nullable=False),
        sa.Column("evaluator_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bid_id"], ["procurement_bids.id"], ondelete="CASCADE",
                                name=op.f("fk_procurement_scores_bid_id_procurement_bids")),
        sa.ForeignKeyConstraint(["criterion_id"], ["procurement_criteria.id"], ondelete="CASCADE",
                                name=op.f("fk_procurement_scores_criterion_id_procurement_criteria")),
        sa.ForeignKeyConstraint(["evaluator_id"], ["users.id"], name=op.f("fk_procurement_scores_evaluator_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procurement_scores")),
        sa.UniqueConstraint("bid_id", "criterion_id", "evaluator_id", name=op.f("uq_procurement_scores_bid_id")),
    )
    with op.batch_alter_table("procurement_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_procurement_scores_bid_id"), ["bid_id"], unique=False)
    if legacy:
        scored_at = datetime.now(timezone.utc)
        op.bulk_insert(scores, [{"bid_id": r["bid_id"], "criterion_id": r["criterion_id"],
                                 "evaluator_id": r["evaluator_id"], "score": r["score"], "note": r["note"] or "",
                                 "scored_at": scored_at} for r in legacy])
        members = sorted({(r["process_id"], r["evaluator_id"]) for r in legacy})
        op.bulk_insert(sa.table("procurement_panel_members", sa.column("process_id"), sa.column("user_id"),
                                sa.column("added_at", sa.DateTime(timezone=True))),
                       [{"process_id": p, "user_id": u, "added_at": scored_at} for p, u in members])


def downgrade():
    # Back to one score per bid and criterion: the panel's first evaluator's.
    bind = op.get_bind()
    first = bind.execute(sa.text(
        "SELECT bid_id, criterion_id, score, note FROM procurement_scores s WHERE s.id = "
        "(SELECT MIN(o.id) FROM procurement_scores o WHERE o.bid_id = s.bid_id AND o.criterion_id = s.criterion_id)"
    )).mappings().all()
    op.drop_table("procurement_scores")
    scores = op.create_table(
        "procurement_scores",
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["bid_id"], ["procurement_bids.id"], ondelete="CASCADE",
                                name=op.f("fk_procurement_scores_bid_id_procurement_bids")),
        sa.ForeignKeyConstraint(["criterion_id"], ["procurement_criteria.id"], ondelete="CASCADE",
                                name=op.f("fk_procurement_scores_criterion_id_procurement_criteria")),
        sa.PrimaryKeyConstraint("bid_id", "criterion_id", name=op.f("pk_procurement_scores")),
    )
    if first:
        op.bulk_insert(scores, [dict(r) for r in first])
    op.drop_table("procurement_panel_members")
    with op.batch_alter_table("procurement_criteria", schema=None) as batch_op:
        batch_op.drop_column("formula")
