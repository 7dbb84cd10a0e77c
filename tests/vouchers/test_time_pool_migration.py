"""Migration 0090 on a database with minutes earned under the old rules: they came out of the time
pool, which the new CHECK forbids below zero; a legacy care account gives the pool back what it
lent, and the books still add up."""
from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db
from tests.app.test_migrations import empty_database  # noqa: F401 (a fixture)
from tests.conftest import app_config
from vouchers import ledger


def test_minutes_earned_before_the_rules_move_to_a_care_account(empty_database, tmp_path):  # noqa: F811
    url, _schema = empty_database
    migrated = create_app(app_config(url, tmp_path / "instance"))
    with migrated.app_context():
        upgrade(revision="0070_procurement_integrity")
        with db.engine.begin() as conn:
            for key, kind, balance in (("pool:time", "pool", -90), ("citizen:1:time", "citizen", 90)):
                conn.execute(text("INSERT INTO voucher_accounts (key, kind, currency, balance, created_at) "
                                  "VALUES (:key, :kind, 'time', :balance, CURRENT_TIMESTAMP)"),
                             {"key": key, "kind": kind, "balance": balance})
            pool, citizen = conn.execute(text("SELECT id FROM voucher_accounts ORDER BY id")).scalars().all()
            conn.execute(text("INSERT INTO voucher_transfers (debit_account_id, credit_account_id, amount, currency, "
                              "kind, reference, at) VALUES (:pool, :citizen, 90, 'time', 'earn-time', 'la-tela: ', "
                              "CURRENT_TIMESTAMP)"), {"pool": pool, "citizen": citizen})
        upgrade()
        balances = dict(db.session.execute(text("SELECT key, balance FROM voucher_accounts")).all())
        report = ledger.verify()
        db.session.remove()
        db.engine.dispose()
    assert balances == {"pool:time": 0, "citizen:1:time": 90, "care:legacy:time": -90}
    assert report.ok, report.problems
