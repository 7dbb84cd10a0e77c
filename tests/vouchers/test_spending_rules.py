"""A programme's spending rules (earliest day, weekdays, service hours), met at the desk and through the
API, and its refund window (issue #23)."""
from datetime import time, timedelta

import pytest

from app.database import utcnow
from app.errors import DomainError
from app.extensions import db
from app.i18n import city_timezone
from vouchers import issuance, ledger, programme_rules, redemption
from vouchers.models import Programme

from ..conftest import login, post_form


@pytest.fixture
def voucher(city):
    return issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)


def _now_minute():
    local = utcnow().astimezone(city_timezone())
    return local, local.hour * 60 + local.minute


def _hours_without_now():
    """A stretch of service hours that does not hold this minute (nor the next few)."""
    _local, minute = _now_minute()
    return (time(0, 0), time(1, 0)) if minute >= 120 else (time(22, 0), time(23, 59))


def _rules(city, **rules):
    return programme_rules.set_rules(db.session.get(Programme, city.programme.id), actor=city.official,
                                     refund_window_days=rules.pop("refund_window_days", 14), **rules)


def _redeem(city, voucher, amount=100):
    return redemption.redeem(voucher.code, amount, "elder-care", city.coop, actor=city.member)


def test_each_rule_refuses_with_its_own_code_and_moves_nothing(city, voucher):
    local, _minute = _now_minute()
    cases = [
        ({"spend_from": city.today + timedelta(days=3)}, "not_yet_spendable", "can be spent from"),
        ({"weekdays": [str(d) for d in range(1, 8) if d != local.isoweekday()]}, "closed_day",
         "can be spent only on these days"),
        (dict(zip(("hours_from", "hours_until"), _hours_without_now())), "outside_service_hours",
         "can be spent only from"),
    ]
    for rules, code, words in cases:
        _rules(city, **rules)
        with pytest.raises(DomainError) as refused:
            _redeem(city, voucher)
        assert (refused.value.status, refused.value.code) == (409, code)
        assert words in str(refused.value) and refused.value.field == "code"
        _rules(city)  # no rule: the sale goes through
    assert ledger.balance(voucher.account) == 5000
    assert _redeem(city, voucher).remaining_cents == 4900
    assert ledger.verify().ok


def test_a_sale_within_every_rule_goes_through(city, voucher):
    local, minute = _now_minute()
    start, end = max(minute - 60, 0), min(minute + 60, 24 * 60 - 1)
    _rules(city, spend_from=city.today, weekdays=[str(local.isoweekday())],
           hours_from=time(start // 60, start % 60), hours_until=time(end // 60, end % 60))
    assert _redeem(city, voucher).remaining_cents == 4900


def test_the_weekday_refusal_names_the_days_in_the_readers_language(city, voucher, app):
    local, _minute = _now_minute()
    allowed = [d for d in (1, 3) if d != local.isoweekday()] or [5]
    _rules(city, weekdays=[str(d) for d in allowed])
    with app.test_request_context(headers={"Accept-Language": "es"}):
        with pytest.raises(DomainError) as refused:
            _redeem(city, voucher)
        message = str(refused.value)
    names = {1: "lunes", 3: "miércoles", 5: "viernes"}
    assert all(names[d] in message for d in allowed), message


def test_the_api_answers_the_rules_code(city, voucher, api_client):
    _rules(city, spend_from=city.today + timedelta(days=1))
    client, headers = api_client(city.member)
    response = client.post("/api/v1/vouchers/redemptions", headers=headers, json={
        "code": voucher.code, "amount": 100, "service_category": "elder-care", "idempotency_key": "k1"})
    assert (response.status_code, response.json["error"]) == (409, "not_yet_spendable")


def test_the_desk_says_why_beside_the_code(city, voucher, client):
    _rules(city, **dict(zip(("hours_from", "hours_until"), _hours_without_now())))
    login(client, "member@example.org")
    response = post_form(client, "/vouchers/desk", {"code": voucher.code, "amount": "1.00",
                                                    "category": "elder-care", "organisation": "la-tela"})
    assert response.status_code == 422
    assert "can be spent only from" in response.get_data(as_text=True)


def test_the_rules_are_checked_when_set(city):
    for rules, field in (({"refund_window_days": 400}, "refund_window_days"),
                         ({"weekdays": ["8"]}, "weekdays"),
                         ({"hours_from": time(9)}, "hours_until"),
                         ({"hours_from": time(18), "hours_until": time(9)}, "hours_until")):
        with pytest.raises(DomainError) as refused:
            _rules(city, **rules)
        assert refused.value.field == field


def test_a_window_of_no_days_stops_refunds_at_once(city, voucher):
    from vouchers import refunds
    _rules(city, refund_window_days=0)
    sale = _redeem(city, voucher)
    with pytest.raises(DomainError) as refused:
        refunds.refund(sale.redemption_id, 100, "too late", actor=city.member)
    assert refused.value.code == "refund_window_closed"


def test_officials_set_the_rules_on_the_programmes_page(city, client):
    login(client, "official@example.org")
    url = f"/vouchers/programmes/{city.programme.slug}/rules"
    assert "Days a co-op may refund a sale" in client.get(url).get_data(as_text=True)
    wrong = post_form(client, url, {"refund_window_days": "7", "hours_from": "18:00", "hours_until": "09:00"})
    assert wrong.status_code == 422
    assert "The closing time must come after the opening time." in wrong.get_data(as_text=True)
    done = post_form(client, url, {"refund_window_days": "7", "weekdays": ["1", "2"], "hours_from": "09:00",
                                   "hours_until": "13:30"})
    assert done.status_code == 302
    programme = db.session.get(Programme, city.programme.id)
    assert (programme.refund_window_days, programme.spend_weekdays, programme.spend_minutes_from,
            programme.spend_minutes_until) == (7, "12", 540, 810)
