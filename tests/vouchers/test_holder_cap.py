"""A programme's cap of open value per holder (#23): single, batch and eligibility issuance refuse
to bring a holder above it, with a stable code, and two issuances at once cannot both pass it."""
import csv
import io
from datetime import date

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.errors import Invalid
from app.extensions import db
from tests.conftest import at_once, login, post_form
from vouchers import eligibility, issuance, ledger, programme_rules, redemption
from vouchers.models import Programme, Voucher


@pytest.fixture
def capped(city):
    programme_rules.set_rules(city.programme, actor=city.official, refund_window_days=14,
                              max_open_cents_per_holder=10_000)
    return city


def _count():
    return db.session.execute(select(func.count()).select_from(Voucher)).scalar_one()


def test_a_voucher_above_the_cap_is_refused_with_its_code(capped):
    issuance.issue_voucher(capped.programme, capped.citizen, 6_000, actor=capped.official)
    with pytest.raises(Invalid) as refused:
        issuance.issue_voucher(capped.programme, capped.citizen, 4_001, actor=capped.official)
    assert refused.value.code == issuance.HOLDER_CAP and refused.value.field == "amount"
    assert "100.00" in str(refused.value) or "100,00" in str(refused.value)
    issuance.issue_voucher(capped.programme, capped.citizen, 4_000, actor=capped.official)  # exactly the cap
    assert issuance.open_value(capped.programme, capped.citizen) == 10_000


def test_spending_makes_room_under_the_cap(capped):
    voucher = issuance.issue_voucher(capped.programme, capped.citizen, 10_000, actor=capped.official)
    redemption.redeem(voucher.code, 3_000, "elder-care", organisation=capped.coop, actor=capped.member)
    issuance.issue_voucher(capped.programme, capped.citizen, 3_000, actor=capped.official)
    with pytest.raises(Invalid):
        issuance.issue_voucher(capped.programme, capped.citizen, 1, actor=capped.official)


def _lines(rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(issuance.BATCH_HEADER)
    writer.writerows(rows)
    return io.StringIO(out.getvalue())


def test_a_batch_that_brings_one_holder_above_the_cap_issues_nothing(capped):
    issuance.issue_voucher(capped.programme, capped.citizen, 5_000, actor=capped.official)
    rows = [["someone@example.org", "10000", ""], [capped.citizen.email, "5001", ""]]
    with pytest.raises(Invalid) as refused:
        issuance.issue_batch(_lines(rows), capped.programme, actor=capped.official, unknown_holders="invite")
    assert refused.value.code == issuance.HOLDER_CAP and capped.citizen.email in str(refused.value)
    assert _count() == 1
    two_rows = [["new@example.org", "6000", ""], ["new@example.org", "6000", ""]]
    with pytest.raises(Invalid, match="new@example.org"):
        issuance.issue_batch(_lines(two_rows), capped.programme, actor=capped.official,
                             unknown_holders="invite")
    result = issuance.issue_batch(_lines([["new@example.org", "6000", ""], [capped.citizen.email, "5000", ""]]),
                                  capped.programme, actor=capped.official, unknown_holders="invite")
    assert result.issued == 2 and ledger.verify().ok


def test_eligibility_issuance_meets_the_cap(capped, tmp_path):
    capped.programme.scale = [[None, 12_000]]
    db.session.commit()
    lines = io.StringIO(",".join(eligibility.HEADER) + "\nX1234567A,1950-03-01,100,,,it\n")
    eligibility.load_list(lines, capped.programme, actor=capped.official)
    assert eligibility.verify_resident(capped.citizen, "X1234567A", date(1950, 3, 1)) == []
    with pytest.raises(Invalid) as refused:
        eligibility.issue_to_verified(capped.programme, actor=capped.official)
    assert refused.value.code == issuance.HOLDER_CAP and _count() == 0


def test_two_issuances_at_once_cannot_both_pass_the_cap(capped, app, backend):
    programme_id, holder_id = capped.programme.id, capped.citizen.id
    db.session.commit()
    outcomes = []

    def worker(i):
        with app.app_context():
            try:
                issuance.issue_voucher(db.session.get(Programme, programme_id), db.session.get(User, holder_id),
                                       6_000, actor=None)
                outcomes.append("issued")
            except Invalid as error:
                outcomes.append(error.code)
            finally:
                db.session.remove()

    at_once(4, worker)
    assert sorted(outcomes) == ["holder_cap_exceeded"] * 3 + ["issued"]
    assert issuance.open_value(capped.programme, capped.citizen) == 6_000


def test_the_rules_page_sets_the_cap(city, client):
    login(client, city.official.email)
    response = post_form(client, "/vouchers/programmes/home-care-2027/rules",
                         {"refund_window_days": "14", "max_open": "150.00"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Programme, city.programme.id).max_open_cents_per_holder == 15_000
    page = client.get("/vouchers/programmes/home-care-2027/rules").get_data(as_text=True)
    assert 'value="150.00"' in page
    refused = post_form(client, "/vouchers/programmes/home-care-2027/rules",
                        {"refund_window_days": "14", "max_open": "-3"})
    assert refused.status_code == 422
