"""The ledger as a transparency log (app/books, leaves from vouchers/ledger.py): every transfer
enters the log in order at a checkpoint, its inclusion proves against the signed root, and a
transfer altered with raw SQL after a checkpoint is reported by `ledger verify` with its id."""
import base64
import json

from sqlalchemy import select, text

from app.books import merkle
from app.books import operations as books
from app.extensions import db
from vouchers import issuance, redemption
from vouchers.models import Redemption, Transfer


def _b(value):
    return base64.b64decode(value)


def _movements(city, n=3):
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)
    for _ in range(n):
        redemption.redeem(voucher.code, 500, "elder-care", city.coop, actor=city.member)
    return voucher


def _transfer_ids():
    return db.session.execute(select(Transfer.id).order_by(Transfer.id)).scalars().all()


def test_every_transfer_is_a_leaf_whose_inclusion_proves_against_the_signed_root(city):
    _movements(city, 2)
    first = books.checkpoint()
    _movements(city, 3)
    last = books.checkpoint()
    ids = _transfer_ids()
    assert last.ledger_size == len(ids) and first.ledger_size < last.ledger_size
    for position, transfer_id in enumerate(ids):
        answer = books.inclusion_proof("ledger", transfer_id, last.ledger_size)
        leaf = _b(answer["leaf_data"])
        fields = json.loads(leaf)
        row = db.session.get(Transfer, transfer_id)
        assert fields["id"] == transfer_id and fields["amount"] == row.amount and fields["kind"] == row.kind
        assert fields["debit"] == row.debit_account_id and fields["credit"] == row.credit_account_id
        assert answer["index"] == position
        assert merkle.verify_inclusion(position, last.ledger_size, merkle.leaf_hash(leaf),
                                       [_b(h) for h in answer["proof"]], bytes(last.ledger_root))
    proof = books.consistency_proof("ledger", first.ledger_size, last.ledger_size)
    assert merkle.verify_consistency(first.ledger_size, last.ledger_size, bytes(first.ledger_root),
                                     bytes(last.ledger_root), [_b(h) for h in proof["proof"]])


def test_a_transfer_altered_after_a_checkpoint_is_reported_by_ledger_verify(city, app):
    voucher = _movements(city, 3)
    books.checkpoint()
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["ledger", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "match the signed tree head" in ok.output
    target = db.session.execute(select(Redemption.transfer_id).where(Redemption.voucher_id == voucher.id)
                                .order_by(Redemption.id)).scalars().first()
    # An insider moves the amount of one redemption (and both balances, so the sums still agree).
    db.session.execute(text("UPDATE voucher_transfers SET amount = 50 WHERE id = :id"), {"id": target})
    row = db.session.get(Transfer, target)
    db.session.execute(text("UPDATE voucher_accounts SET balance = balance + 450 WHERE id = :id"),
                       {"id": row.debit_account_id})
    db.session.execute(text("UPDATE voucher_accounts SET balance = balance - 450 WHERE id = :id"),
                       {"id": row.credit_account_id})
    db.session.execute(text("UPDATE voucher_redemptions SET amount_cents = 50 WHERE transfer_id = :id"), {"id": target})
    db.session.commit()
    result = books.verify_log("ledger")
    assert not result.ok and result.first_entry == target
    cli = runner.invoke(args=["ledger", "verify"])
    assert cli.exit_code == 1 and f"entry {target}" in cli.output and "ALTERED" in cli.output
    # And its inclusion proof no longer holds: the leaf served is the altered row.
    last = books.latest_checkpoint()
    answer = books.inclusion_proof("ledger", target, last.ledger_size)
    assert not merkle.verify_inclusion(answer["index"], last.ledger_size, merkle.leaf_hash(_b(answer["leaf_data"])),
                                       [_b(h) for h in answer["proof"]], bytes(last.ledger_root))


def test_a_deleted_transfer_is_reported_missing(city):
    _movements(city, 2)
    books.checkpoint()
    newest = _transfer_ids()[-1]
    db.session.execute(text("DELETE FROM voucher_redemptions WHERE transfer_id = :id"), {"id": newest})
    db.session.execute(text("DELETE FROM voucher_transfers WHERE id = :id"), {"id": newest})
    db.session.commit()
    result = books.verify_log("ledger")
    assert not result.ok and result.first_entry == newest and "missing" in result.problem


def test_the_statement_pdf_carries_its_checkpoint_and_pages_link_to_the_proofs(app, city):
    import io
    from datetime import timedelta

    from pypdf import PdfReader

    from app.database import utcnow
    from tests.conftest import login
    from vouchers import settlement
    from vouchers.models import SettlementLine

    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)
    result = redemption.redeem(voucher.code, 1200, "elder-care", city.coop, actor=city.member)
    db.session.get(Redemption, result.redemption_id).at = utcnow() - timedelta(days=2)
    db.session.commit()
    day = city.today - timedelta(days=2)
    cleared, _ = settlement.settle(day, day, actor=city.official)  # signs a checkpoint at once
    line = db.session.execute(select(SettlementLine).where(SettlementLine.settlement_id == cleared.id)).scalar_one()
    place = books.leaf_place("ledger", line.transfer_id)
    assert place is not None and place.first.ledger_size > place.index
    member = app.test_client()
    login(member, city.member.email)
    pdf = member.get(f"/vouchers/settlements/{cleared.id}/la-tela.pdf")
    content = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert f"signed in checkpoint {place.first.id}" in " ".join(content.split())
    statements = member.get("/vouchers/statements").get_data(as_text=True)
    assert f"/books/transfers/{line.transfer_id}" in statements
    holder = app.test_client()
    login(holder, city.citizen.email)
    page = holder.get(f"/vouchers/mine/{voucher.id}").get_data(as_text=True)
    assert f"/books/transfers/{db.session.get(Redemption, result.redemption_id).transfer_id}" in page
    proof_page = app.test_client().get(f"/books/transfers/{line.transfer_id}").get_data(as_text=True)
    assert f"leaf={line.transfer_id}" in proof_page and f"size={place.latest.ledger_size}" in proof_page
