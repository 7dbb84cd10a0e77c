"""Migration 0100: the scores typed before evaluation panels existed are kept, each as the score of
the official the audit trail shows scoring that bid (else the one who opened the process), who
joins the panel; price criteria keep the proportional formula they were published with."""
from datetime import date, datetime, timezone

import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app

from ..app.test_migrations import empty_database  # noqa: F401 - the fixture
from ..conftest import app_config

NOW = datetime(2026, 11, 2, 10, tzinfo=timezone.utc)


def _filler(column):
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, (sa.Integer, sa.Numeric)):
        return 0
    if isinstance(kind, sa.DateTime):
        return NOW
    if isinstance(kind, sa.Date):
        return date(2026, 11, 2)
    if isinstance(kind, sa.JSON):
        return {}
    return "x"


def _insert(conn, metadata, table, **values):
    """A row with the given values, every other required column filled with something plausible."""
    table = metadata.tables[table]
    row = {c.name: _filler(c) for c in table.columns
           if not c.nullable and c.server_default is None and not c.primary_key}
    conn.execute(table.insert().values(**(row | values)))


def test_typed_scores_become_the_scores_of_the_official_who_typed_them(empty_database, tmp_path):  # noqa: F811
    url, _schema = empty_database
    app = create_app(app_config(url, tmp_path / "instance"))
    with app.app_context():
        upgrade(revision="0142_voucher_spending_rules")  # the revision before 0100
        engine = sa.create_engine(url)
        metadata = sa.MetaData()
        metadata.reflect(engine)
        with engine.begin() as conn:
            for uid in (1, 2):
                _insert(conn, metadata, "users", id=uid, email=f"u{uid}@example.org")
            _insert(conn, metadata, "organisations", id=1, slug="dept", kind="municipal_department")
            _insert(conn, metadata, "organisations", id=2, slug="coop", kind="social_coop_a")
            for pid in (1, 2):
                _insert(conn, metadata, "procurement_processes", id=pid, reference=f"PRC-2026-000{pid}",
                        department_id=1, created_by_id=1, phase="bids")
                _insert(conn, metadata, "procurement_bids", id=pid, process_id=pid, organisation_id=2,
                        amount_cents=100)
            _insert(conn, metadata, "procurement_criteria", id=1, process_id=1, kind="price", weight=50)
            _insert(conn, metadata, "procurement_criteria", id=2, process_id=1, kind="quality", weight=50)
            _insert(conn, metadata, "procurement_criteria", id=3, process_id=2, kind="quality", weight=100)
            _insert(conn, metadata, "procurement_scores", bid_id=1, criterion_id=2, score=70, note="Good plan.")
            _insert(conn, metadata, "procurement_scores", bid_id=2, criterion_id=3, score=40, note="Thin.")
            # Bid 1 was scored by user 2 (the audit says so); bid 2 has no audit entry: its process's opener.
            _insert(conn, metadata, "audit_log", id=1, actor_id=2, action="procurement.bid_scored",
                    object_type="procurement_bids", object_id="1", prev_hash="0", hash="1")
        upgrade()
        with engine.connect() as conn:
            scores = conn.execute(sa.text("SELECT bid_id, criterion_id, evaluator_id, score, note "
                                          "FROM procurement_scores ORDER BY bid_id")).all()
            panel = conn.execute(sa.text("SELECT process_id, user_id FROM procurement_panel_members "
                                         "ORDER BY process_id")).all()
            formulas = conn.execute(sa.text("SELECT id, formula FROM procurement_criteria ORDER BY id")).all()
        engine.dispose()
    assert [tuple(r) for r in scores] == [(1, 2, 2, 70, "Good plan."), (2, 3, 1, 40, "Thin.")]
    assert [tuple(r) for r in panel] == [(1, 2), (2, 1)]
    assert [tuple(r) for r in formulas] == [(1, "proportional"), (2, ""), (3, "")]
