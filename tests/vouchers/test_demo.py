"""The demo loads a programme, vouchers in every state, redemptions and a settled period, twice safely."""
from app.extensions import db
from vouchers import ledger
from vouchers.models import Redemption, Settlement, Voucher


def test_demo_is_complete_consistent_and_idempotent(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    vouchers = db.session.query(Voucher).all()
    states = {v.status for v in vouchers} | {"spent" for v in vouchers if v.exhausted}
    assert states >= {"active", "expired", "revoked", "spent"}
    assert db.session.query(Settlement).count() == 1
    assert db.session.query(Redemption).filter(Redemption.settlement_id.is_(None)).count() == 1
    counts = (len(vouchers), db.session.query(Redemption).count())
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert (db.session.query(Voucher).count(), db.session.query(Redemption).count()) == counts
    assert ledger.verify().ok
