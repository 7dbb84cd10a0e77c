"""The web desk asks before charging a voucher charged here a moment ago, and a form sent twice
charges once (issue #19: "the same voucher charged twice within seconds at the desk")."""
import re
from datetime import timedelta

import pytest

from app.extensions import db
from tests.conftest import login, post_form
from vouchers import desk, issuance, redemption
from vouchers.models import Redemption


@pytest.fixture
def voucher(city):
    return issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)


@pytest.fixture
def cashier(app, city):
    client = app.test_client()
    login(client, city.member.email)
    return client


def _token(client) -> str:
    html = client.get("/vouchers/desk").get_data(as_text=True)
    found = re.search(r'<input[^>]*name="token"[^>]*>', html).group(0)
    return re.search(r'value="([^"]+)"', found).group(1)


def _charges(voucher) -> int:
    return db.session.query(Redemption).filter_by(voucher_id=voucher.id).count()


def _sale(voucher, token, **extra):
    return {"code": voucher.code, "amount": "10.00", "category": "elder-care", "token": token, **extra}


def test_recent_redemption_is_this_voucher_at_this_coop_within_the_window(app, city, voucher):
    assert desk.recent_redemption(voucher.code, city.coop.id) is None
    redemption.redeem(voucher.code, 1000, "elder-care", city.coop, actor=city.member)
    found = desk.recent_redemption(voucher.code.lower().replace("-", ""), city.coop.id)
    assert found is not None and found.amount_cents == 1000
    assert desk.recent_redemption(voucher.code, city.other.id) is None  # another co-op's desk
    assert desk.recent_redemption(voucher.code, city.coop.id, within=timedelta(0)) is None
    assert desk.recent_redemption("not a code", city.coop.id) is None
    found.at = found.at - timedelta(minutes=6)  # the default window is 5 minutes
    db.session.commit()
    assert desk.recent_redemption(voucher.code, city.coop.id) is None
    assert desk.recent_redemption(voucher.code, city.coop.id, within=timedelta(minutes=10)) is not None


def test_the_desk_asks_before_charging_the_same_voucher_again(app, city, voucher, cashier):
    assert post_form(cashier, "/vouchers/desk", _sale(voucher, _token(cashier))).status_code == 302
    assert _charges(voucher) == 1
    again = post_form(cashier, "/vouchers/desk", _sale(voucher, _token(cashier), amount="7.50"))
    text = again.get_data(as_text=True)
    assert again.status_code == 422
    assert "This voucher was already charged €10.00 here at" in text and "charge it again?" in text
    assert 'name="confirm_repeat"' in text and "Charge it again" in text
    assert 'value="7.50"' in text  # the cashier's input is kept
    assert _charges(voucher) == 1
    token = re.search(r'<input[^>]*name="token"[^>]*value="([^"]+)"', text).group(1)
    confirmed = post_form(cashier, "/vouchers/desk", _sale(voucher, token, amount="7.50", confirm_repeat="y"))
    assert confirmed.status_code == 302
    assert _charges(voucher) == 2
    assert "€32.50 remain" in cashier.get(confirmed.headers["Location"]).get_data(as_text=True)


def test_a_form_sent_twice_charges_once_and_answers_the_first_sale(app, city, voucher, cashier):
    token = _token(cashier)
    first = post_form(cashier, "/vouchers/desk", _sale(voucher, token))
    replayed = post_form(cashier, "/vouchers/desk", _sale(voucher, token))
    assert first.status_code == replayed.status_code == 302
    page = cashier.get(replayed.headers["Location"]).get_data(as_text=True)
    assert "already sent: the voucher was charged once" in page and "€40.00 remain" in page
    assert _charges(voucher) == 1
    # Even a confirmed form sent twice charges once.
    token = _token(cashier)
    post_form(cashier, "/vouchers/desk", _sale(voucher, token, confirm_repeat="y"))
    post_form(cashier, "/vouchers/desk", _sale(voucher, token, confirm_repeat="y"))
    assert _charges(voucher) == 2


def test_a_used_form_sent_for_another_sale_is_renewed_not_charged(app, city, voucher, cashier):
    token = _token(cashier)
    post_form(cashier, "/vouchers/desk", _sale(voucher, token))
    back = post_form(cashier, "/vouchers/desk", _sale(voucher, token, amount="5.00", confirm_repeat="y"))
    text = back.get_data(as_text=True)
    assert back.status_code == 422 and "This form was already used for a sale" in text
    fresh = re.search(r'<input[^>]*name="token"[^>]*value="([^"]+)"', text).group(1)
    assert fresh != token
    assert _charges(voucher) == 1


def test_the_setting_zero_never_asks(app, city, voucher, cashier):
    app.config["PROCOMUN_DESK_REPEAT_MINUTES"] = 0
    post_form(cashier, "/vouchers/desk", _sale(voucher, _token(cashier)))
    assert post_form(cashier, "/vouchers/desk", _sale(voucher, _token(cashier))).status_code == 302
    assert _charges(voucher) == 2


def test_the_api_is_not_asked(app, city, voucher, api_client):
    """The till's guard is its idempotency key: the API redeems the same voucher again a moment
    later under a new key, as before, and replays under the same key."""
    client, headers = api_client(city.member)

    def post(key):
        return client.post("/api/v1/vouchers/redemptions", headers=headers, json={
            "code": voucher.code, "amount": 1000, "service_category": "elder-care", "idempotency_key": key})
    assert post("k1").status_code == 201
    assert post("k2").status_code == 201
    assert post("k2").status_code in (200, 201) and _charges(voucher) == 2
