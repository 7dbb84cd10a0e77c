"""The nightly expiry is set-based (issue #25): chunks of vouchers a transaction, each voucher
still with its expire transfer and its own audit entry, the books and the audit chain intact."""
from datetime import timedelta

from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.audit.operations import verify as verify_audit
from app.extensions import db
from vouchers import closing, issuance, ledger, redemption
from vouchers.models import Transfer, TransferKind


def test_expiry_in_chunks_writes_what_one_by_one_did(city, monkeypatch):
    monkeypatch.setattr(closing, "EXPIRY_CHUNK", 2)  # five vouchers: three chunks
    vouchers = [issuance.issue_voucher(city.programme, city.citizen, 1000, actor=city.official) for _ in range(5)]
    redemption.redeem(vouchers[0].code, 1000, "elder-care", city.coop, actor=city.member)  # nothing left
    redemption.redeem(vouchers[1].code, 400, "elder-care", city.coop, actor=city.member)
    programme_before = ledger.balance(city.programme.account)
    seen = []
    count, returned = closing.expire_vouchers(actor=city.official, on=city.today + timedelta(days=400),
                                              progress=seen.append)
    assert (count, returned) == (5, 600 + 3 * 1000)
    assert sum(seen) == 5 and len(seen) == 3
    db.session.expire_all()
    assert {v.status for v in vouchers} == {"expired"}
    assert all(ledger.balance(v.account) == 0 for v in vouchers)
    assert ledger.balance(city.programme.account) == programme_before + 3600
    expires = db.session.execute(select(Transfer.amount).where(Transfer.kind == TransferKind.EXPIRE.value)
                                 .order_by(Transfer.id)).scalars().all()
    assert expires == [600, 1000, 1000, 1000]  # none for the voucher spent in full
    entries = db.session.execute(select(AuditEntry).where(AuditEntry.action == "voucher.expired")
                                 .order_by(AuditEntry.id)).scalars().all()
    assert [e.object_id for e in entries] == [str(v.id) for v in vouchers]
    assert '"returned_cents":600' in entries[1].after and entries[0].actor_id == city.official.id
    assert ledger.verify().ok and verify_audit().ok
    assert closing.expire_vouchers(on=city.today + timedelta(days=400)) == (0, 0)
    assert db.session.execute(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "voucher.expired")).scalar_one() == 5
