"""The vouchers API as a till or a citizen's app reads it: a refused request names the
field of the body it sent, in the caller's language, and text no database can store is
refused up front."""
from flask_babel import force_locale
from flask_babel import gettext as _

from app.accounts.models import Role
from app.extensions import db
from vouchers import holders, issuance, time_credits
from vouchers.models import Redemption, Transfer

API = "/api/v1/vouchers"


def test_a_redemption_with_a_lone_surrogate_is_refused_and_moves_nothing(city, api_client):
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)
    client, headers = api_client(city.member)
    body = ('{"code": "%s", "amount": 1, "service_category": "elder-care", "idempotency_key": "\\ud800"}'
            % voucher.code).encode()
    response = client.post(f"{API}/redemptions", data=body, content_type="application/json", headers=headers)
    assert response.status_code == 400, response.get_data()[:300]
    assert response.json["error"] == "bad_request" and "Unicode" in response.json["message"]
    assert db.session.query(Redemption).count() == 0
    assert holders.holder_vouchers(city.citizen)[0].account.balance == 5000


def test_redemption_field_errors_are_whole_sentences_in_the_callers_language(city, api_client):
    client, headers = api_client(city.member)
    response = client.post(f"{API}/redemptions", json={"code": 5, "amount": "ten"},
                           headers={**headers, "Accept-Language": "es"})
    assert response.status_code == 422
    errors = response.json["errors"]
    with force_locale("es"):
        assert errors["code"] == errors["service_category"] == [_("This field is required and must be a string.")]
        assert errors["amount"] == [_("This field is required and must be a whole number of cents.")]


def test_a_time_gift_above_the_balance_names_the_minutes_field(city, make_user, api_client):
    relative = make_user(Role.CITIZEN)
    time_credits.record_time(city.citizen, 30, city.coop, actor=city.member)
    client, headers = api_client(city.citizen)
    transfers = db.session.query(Transfer).count()
    response = client.post(f"{API}/time-credits/gifts", headers=headers,
                           json={"relative_email": relative.email, "minutes": 31, "idempotency_key": "k"})
    assert response.status_code == 409 and response.json["error"] == "insufficient_balance"
    assert response.json["field"] == "minutes"
    assert db.session.query(Transfer).count() == transfers and time_credits.time_balance(city.citizen) == 30
