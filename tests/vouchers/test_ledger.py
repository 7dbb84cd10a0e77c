"""The ledger: balances follow transfers, currencies sum to zero, transfers never change."""
from datetime import timedelta

import pytest
from flask import current_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, update

from app.errors import DomainError
from app.extensions import db
from vouchers import closing, contributions, issuance, ledger, redemption, time_credits
from vouchers.models import LedgerImmutable, Redemption, Transfer


def test_a_programme_is_funded_from_the_pool_and_the_books_balance(city):
    assert ledger.balance(city.programme.account) == 1_000_000
    assert ledger.balance(ledger.pool()) == -1_000_000
    report = ledger.verify()
    assert report.ok, report.problems
    assert report.totals == {"voucher": 0}


def test_transfers_cannot_be_edited_or_deleted(city):
    row = db.session.query(Transfer).first()
    row.amount = 1
    with pytest.raises(LedgerImmutable):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(LedgerImmutable):
        db.session.execute(update(Transfer).values(amount=2))
    db.session.rollback()
    with pytest.raises(LedgerImmutable):
        db.session.execute(delete(Transfer))
    db.session.rollback()
    row = db.session.query(Transfer).first()
    db.session.delete(row)
    with pytest.raises(LedgerImmutable):
        db.session.flush()
    db.session.rollback()
    assert ledger.verify().ok


def test_a_reversal_corrects_and_keeps_the_original(city):
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)
    result = redemption.redeem(voucher.code, 2000, "elder-care", city.coop, actor=city.member)
    transfer_id = db.session.get(Redemption, result.redemption_id).transfer_id
    reversal = ledger.reverse(transfer_id, actor=city.official, reason="wrong amount")
    assert ledger.balance(voucher.account) == 5000
    assert db.session.get(Transfer, transfer_id).amount == 2000
    assert db.session.get(Transfer, reversal).reverses_id == transfer_id
    with pytest.raises(DomainError):
        ledger.reverse(transfer_id, actor=city.official, reason="again")
    assert ledger.verify().ok


def test_ledger_reverse_cli(app, city):
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)
    issue_id = db.session.query(Transfer).filter_by(kind="issue").one().id
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ledger", "reverse", str(issue_id), "--reason", "wrong holder",
                                 "--actor", city.official.email])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert ledger.balance(voucher.account) == 0
    result = runner.invoke(args=["ledger", "reverse", str(issue_id), "--reason", "again",
                                 "--actor", city.official.email])
    assert result.exit_code == 1 and "already been reversed" in result.output
    assert ledger.verify().ok


def test_verify_catches_a_tampered_balance(city):
    from vouchers.models import Account
    db.session.execute(update(Account).where(Account.id == city.programme.account_id).values(balance=7))
    db.session.commit()
    report = ledger.verify()
    assert not report.ok
    assert any("programme" in p for p in report.problems)


def test_ledger_verify_cli_exit_codes(city, app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    from vouchers.models import Account
    db.session.execute(update(Account).where(Account.id == city.programme.account_id).values(balance=7))
    db.session.commit()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert "balance 7" in result.output


operations = st.lists(st.tuples(
    st.sampled_from(["issue", "redeem", "expire", "revoke", "contribute", "earn", "spend", "give", "reverse"]),
    st.integers(min_value=1, max_value=400_000), st.integers(min_value=0, max_value=5)),
    min_size=1, max_size=25)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations)
def test_invariants_hold_under_any_sequence_of_operations(city, make_user, steps):
    citizens = [city.citizen, city.official]
    vouchers, transfers = [], []
    current_app.config["PROCOMUN_TIME_CREDITS_DAILY_CAP_MINUTES"] = 10**9  # the examples add up over one day
    for citizen in citizens:
        time_credits.set_pin(citizen, "2468")
    for op, amount, pick in steps:
        try:
            if op == "issue":
                vouchers.append(issuance.issue_voucher(city.programme, citizens[pick % 2], amount, actor=city.official))
            elif op == "redeem" and vouchers:
                v = vouchers[pick % len(vouchers)]
                redemption.redeem(v.code, amount, "elder-care", city.coop, actor=city.member)
            elif op == "expire" and vouchers:
                closing.expire_vouchers(actor=city.official, on=city.today + timedelta(days=400))
            elif op == "revoke" and vouchers:
                closing.revoke_voucher(vouchers[pick % len(vouchers)], "test", actor=city.official)
            elif op == "contribute":
                contributions.contribute(amount, actor=citizens[pick % 2])
            elif op == "earn":
                transfers.append(time_credits.record_time(citizens[pick % 2], amount % 1440 + 1, city.coop,
                                                          actor=city.member))
            elif op == "spend":
                time_credits.spend_time(citizens[pick % 2], amount % 300 + 1, city.coop, actor=city.member,
                                        pin="2468")
            elif op == "give":
                time_credits.give_time(citizens[pick % 2], citizens[(pick + 1) % 2], amount % 300 + 1)
            elif op == "reverse" and transfers:
                ledger.reverse(transfers.pop(), actor=city.official, reason="correction")
        except DomainError:
            pass
        report = ledger.verify()
        assert report.ok, (op, report.problems)
        assert all(total == 0 for total in report.totals.values())
        for v in vouchers:
            db.session.refresh(v.account)
            assert 0 <= v.account.balance <= v.value_cents
    # Hypothesis reuses the fixture: undo this example's vouchers so the next one starts from the budget.
    closing.expire_vouchers(actor=city.official, on=city.today + timedelta(days=400))


def test_many_payments_into_one_account_keep_each_transfers_guarantees(city):
    """ledger.transfer_many (a settlement's thousand co-ops at once): one transfer per payment, in
    order, each debit applied, the credit once; a debit short of its amount stops them all."""
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)
    redemption.redeem(voucher.code, 2000, "elder-care", city.coop, actor=city.member)
    redemption.redeem(voucher.code, 1500, "elder-care", city.other, actor=city.other_member)
    accounts = ledger.organisation_accounts([city.coop.id, city.other.id])
    assert accounts[city.coop.id].id == ledger.organisation_account(city.coop).id
    pool_before = ledger.balance(ledger.pool())
    ids = ledger.transfer_many([(accounts[city.coop.id], 1200), (accounts[city.other.id], 1500)], ledger.pool(),
                               "settle", reference="settlement test")
    assert [db.session.get(Transfer, i).debit_account_id for i in ids] == [accounts[city.coop.id].id,
                                                                          accounts[city.other.id].id]
    assert ledger.balance(accounts[city.coop.id]) == 800 and ledger.balance(accounts[city.other.id]) == 0
    assert ledger.balance(ledger.pool()) == pool_before + 2700
    count = db.session.query(Transfer).count()
    with pytest.raises(ledger.InsufficientBalance):
        ledger.transfer_many([(accounts[city.coop.id], 800), (accounts[city.other.id], 1)], ledger.pool(), "settle")
    db.session.rollback()
    assert db.session.query(Transfer).count() == count and ledger.balance(accounts[city.coop.id]) == 800
    assert ledger.verify().ok
