"""Reversal from the web: an official opens a transfer from a voucher's movements, gives the
reason, confirms, and the reversal shows in both accounts' movements; refusals beside the field."""
import re
from datetime import timedelta

import pytest

from app.audit.models import AuditEntry
from app.database import utcnow
from app.extensions import db
from tests.conftest import login, post_form
from vouchers import issuance, ledger, redemption, settlement
from vouchers.models import Redemption, Transfer


@pytest.fixture
def redeemed(city):
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)
    result = redemption.redeem(voucher.code, 1500, "elder-care", city.coop, actor=city.member)
    return voucher, db.session.get(Redemption, result.redemption_id).transfer_id


def _as(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def _transfers():
    db.session.expire_all()
    return db.session.query(Transfer).count()


def test_an_official_reverses_a_redemption_from_the_voucher_page(app, city, redeemed):
    voucher, transfer_id = redeemed
    official = _as(app, city.official)
    page = official.get(f"/vouchers/mine/{voucher.id}").get_data(as_text=True)
    assert f'href="/vouchers/transfers/{transfer_id}"' in page and f"Reverse transfer #{transfer_id}" in page

    url = f"/vouchers/transfers/{transfer_id}"
    detail = official.get(url).get_data(as_text=True)
    assert "La Tela" in detail and voucher.code in detail and "Reverse…" in detail
    # First the reason, then a confirmation: nothing moves until it is confirmed.
    transfers = _transfers()
    asked = post_form(official, url, {"reason": "charged for a visit that did not happen"})
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Yes, reverse it" in text and "cannot be undone" in text
    assert 'value="charged for a visit that did not happen"' in text
    assert _transfers() == transfers

    done = post_form(official, url, {"reason": "charged for a visit that did not happen", "confirm": "yes"})
    assert done.status_code == 302 and done.headers["Location"].endswith(url)
    assert _transfers() == transfers + 1
    reversal = ledger.reversal_of(transfer_id)
    assert reversal.reverses_id == transfer_id and "did not happen" in reversal.reference
    assert ledger.balance(voucher.account) == 5000 and redemption.organisation_balance(city.coop) == 0
    after = official.get(url).get_data(as_text=True)
    assert f"Transfer #{reversal.id}" in after and "already been reversed" in after
    # Both accounts show it: the voucher's and the co-op's.
    assert "Reversal" in official.get(f"/vouchers/mine/{voucher.id}").get_data(as_text=True)
    coop_account = reversal.debit_account_id
    coop_page = official.get(f"/vouchers/accounts/{coop_account}").get_data(as_text=True)
    assert "La Tela" in coop_page and f"/vouchers/transfers/{reversal.id}" in coop_page and "Reversed" in coop_page
    # The holder sees it in their own movements.
    holder = _as(app, city.citizen).get("/vouchers/mine").get_data(as_text=True)
    assert "Reversal" in holder
    entry = db.session.query(AuditEntry).filter_by(action="voucher_transfer.reversed").one()
    assert entry.actor_id == city.official.id
    assert ledger.verify().ok


@pytest.mark.parametrize("case, message", [
    ("no-reason", "This field is required"),
    ("already", "already been reversed"),
    ("reversal", "cannot itself be reversed"),
    ("settled", "already settled"),
])
def test_refusals_are_shown_beside_the_reason_and_keep_the_input(app, city, redeemed, case, message):
    voucher, transfer_id = redeemed
    reason = "" if case == "no-reason" else "my reason"
    if case in ("already", "reversal"):
        reversal_id = ledger.reverse(transfer_id, actor=city.official, reason="first")
        if case == "reversal":
            transfer_id = reversal_id
    elif case == "settled":
        db.session.query(Redemption).one().at = utcnow() - timedelta(days=1)
        db.session.commit()
        settlement.settle(city.today - timedelta(days=1), city.today - timedelta(days=1), actor=city.official)
    official = _as(app, city.official)
    transfers = _transfers()
    for confirm in ("", "yes"):
        response = post_form(official, f"/vouchers/transfers/{transfer_id}", {"reason": reason, "confirm": confirm})
        text = response.get_data(as_text=True)
        assert response.status_code == 422
        error = re.search(r'<p class="error" id="reason-error">([^<]*)</p>', text)
        assert error and message in error.group(1), text[-3000:]
        assert f'value="{reason}"' in text or (not reason and 'name="reason"' in text)
        assert "Yes, reverse it" not in text
    assert _transfers() == transfers


def test_only_officials_reach_the_reversal(app, city, redeemed):
    _voucher, transfer_id = redeemed
    for user in (city.citizen, city.member):
        client = _as(app, user)
        assert client.get(f"/vouchers/transfers/{transfer_id}").status_code == 403
        assert post_form(client, f"/vouchers/transfers/{transfer_id}",
                         {"reason": "x", "confirm": "yes"}).status_code == 403
    holder_page = _as(app, city.citizen).get(f"/vouchers/mine/{_voucher.id}").get_data(as_text=True)
    assert "/vouchers/transfers/" not in holder_page
    official = _as(app, city.official)
    assert official.get("/vouchers/transfers/999999").status_code == 404
    assert official.get(f"/vouchers/transfers/{10**30}").status_code == 404
    # Without the CSRF token the form is refused and nothing moves.
    transfers = _transfers()
    response = official.post(f"/vouchers/transfers/{transfer_id}", data={"reason": "x", "confirm": "yes"})
    assert response.status_code == 400 and _transfers() == transfers
