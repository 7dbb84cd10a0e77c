"""Time credits by the rules of the scheme (issue #17): each path the attacker used, refused through
the operations, the JSON API and the desk page; the PIN that consents to spending; the daily cap
and the balances that hold under parallel clients; gifts that ask first and reveal no account (#19)."""
import threading

import pytest
from flask import current_app
from markupsafe import escape
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.errors import Invalid, NotAllowed
from app.extensions import db
from app.organisations import operations as organisations
from tests.conftest import at_once, csrf_token, login, post_form
from vouchers import ledger, time_credits
from vouchers.models import Account, Currency, Transfer

API = "/api/v1/vouchers"
PIN = "4826"


def _transfers():
    return db.session.execute(select(func.count(Transfer.id))).scalar_one()


def _audited(action):
    return db.session.execute(select(func.count(AuditEntry.id)).where(AuditEntry.action == action)).scalar_one()


@pytest.fixture
def company(city, make_org, make_user):
    """A for-profit company with no accreditation, and its member."""
    acme = make_org("acme", kind="company", name="Acme Care Ltd")
    return acme, make_user(Role.ORG_MEMBER, email="acme@example.org", organisations=[acme])


# Earning ---------------------------------------------------------------------------------

def test_an_organisation_cannot_credit_its_own_member(city):
    with pytest.raises(NotAllowed) as refused:
        time_credits.record_time(city.member, 60, city.coop, actor=city.member)
    assert refused.value.code == "own_member"
    # Another accredited organisation may: the member volunteered there, from outside.
    time_credits.record_time(city.member, 60, city.other, actor=city.other_member)
    assert time_credits.time_balance(city.member) == 60


def test_only_an_organisation_accredited_for_a_time_credit_service_records_time(city, company, make_org,
                                                                                 make_user, make_category):
    acme, acme_member = company
    with pytest.raises(NotAllowed) as refused:
        time_credits.record_time(city.citizen, 60, acme, actor=acme_member)
    assert refused.value.code == "not_accredited"
    catering = make_category("catering")  # accredited, but not for a time-credit service
    kitchen = make_org("kitchen")
    organisations.accredit(kitchen, catering, city.today.replace(year=city.today.year + 1), met_all=True)
    cook = make_user(Role.ORG_MEMBER, organisations=[kitchen])
    with pytest.raises(NotAllowed):
        time_credits.record_time(city.citizen, 60, kitchen, actor=cook)
    assert time_credits.time_balance(city.citizen) == 0 and _transfers() == 1  # the programme's funding only


def test_a_volunteer_earns_at_most_the_daily_cap_across_organisations(city):
    assert current_app.config["PROCOMUN_TIME_CREDITS_DAILY_CAP_MINUTES"] == 480
    time_credits.record_time(city.citizen, 300, city.coop, actor=city.member)
    time_credits.record_time(city.citizen, 120, city.other, actor=city.other_member)
    with pytest.raises(time_credits.DailyCapReached) as refused:
        time_credits.record_time(city.citizen, 61, city.coop, actor=city.member)
    assert "60" in str(refused.value)
    time_credits.record_time(city.citizen, 60, city.coop, actor=city.member)
    assert time_credits.time_balance(city.citizen) == 480


def test_earned_minutes_come_from_the_organisations_care_account_not_the_pool(city):
    time_credits.record_time(city.citizen, 90, city.coop, actor=city.member)
    assert ledger.balance(ledger.care_account(city.coop)) == -90
    assert ledger.balance(ledger.pool(Currency.TIME)) == 0
    assert ledger.verify().ok


# Spending --------------------------------------------------------------------------------

def test_spending_needs_the_holders_pin(city):
    time_credits.record_time(city.citizen, 60, city.coop, actor=city.member)
    with pytest.raises(NotAllowed) as refused:
        time_credits.spend_time(city.citizen, 60, city.other, actor=city.other_member, pin=None)
    assert refused.value.code == "no_pin"
    time_credits.set_pin(city.citizen, PIN)
    for wrong in (None, "0000", "48260"):
        with pytest.raises(NotAllowed) as refused:
            time_credits.spend_time(city.citizen, 60, city.other, actor=city.other_member, pin=wrong)
        assert refused.value.code == "wrong_pin"
    assert time_credits.time_balance(city.citizen) == 60
    time_credits.spend_time(city.citizen, 60, city.other, actor=city.other_member, pin=PIN)
    assert time_credits.time_balance(city.citizen) == 0
    assert _audited("vouchers.time_spent") == 1


def test_a_pin_is_locked_after_five_wrong_tries(city):
    time_credits.record_time(city.citizen, 60, city.coop, actor=city.member)
    time_credits.set_pin(city.citizen, PIN)
    for _ in range(time_credits.PIN_TRIES):
        with pytest.raises(NotAllowed):
            time_credits.spend_time(city.citizen, 10, city.coop, actor=city.member, pin="1111")
    with pytest.raises(NotAllowed) as refused:
        time_credits.spend_time(city.citizen, 10, city.coop, actor=city.member, pin=PIN)
    assert refused.value.code == "pin_locked" and time_credits.time_balance(city.citizen) == 60


def test_the_pin_is_kept_keyed_and_never_as_typed(city):
    time_credits.set_pin(city.citizen, PIN)
    stored = db.session.execute(select(Account.pin_hash).where(Account.user_id == city.citizen.id)).scalar_one()
    assert PIN not in stored and len(stored) == 64
    with pytest.raises(Invalid):
        time_credits.set_pin(city.citizen, "12")


# Balances --------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["pool:time", "citizen"])
def test_the_database_refuses_a_negative_time_balance(city, key):
    time_credits.record_time(city.citizen, 30, city.coop, actor=city.member)
    time_credits.donate_time(city.citizen, 10)
    key = f"citizen:{city.citizen.id}:time" if key == "citizen" else key
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE voucher_accounts SET balance = -1 WHERE key = :key"), {"key": key})
        db.session.flush()
    db.session.rollback()


def test_every_move_is_audited(city, make_user):
    relative = make_user()
    time_credits.record_time(city.citizen, 60, city.coop, actor=city.member)
    time_credits.give_time(city.citizen, relative, 20)
    time_credits.donate_time(city.citizen, 10)
    time_credits.set_pin(city.citizen, PIN)
    time_credits.spend_time(city.citizen, 30, city.coop, actor=city.member, pin=PIN)
    assert [_audited(f"vouchers.time_{what}") for what in ("earned", "given", "donated", "pin_set", "spent")] \
        == [1, 1, 1, 1, 1]


# Through the JSON API --------------------------------------------------------------------

def test_the_api_refuses_a_member_crediting_themself(city, api_client):
    client, headers = api_client(city.member)
    for attempt in range(3):
        answer = client.post(f"{API}/time-credits", headers=headers, json={
            "volunteer_email": city.member.email, "minutes": 1440, "idempotency_key": f"mint-{attempt}"})
        assert answer.status_code == 403 and answer.json["error"] == "own_member", answer.json
    assert time_credits.time_balance(city.member) == 0


def test_the_api_refuses_an_unaccredited_company(city, company, api_client):
    _acme, acme_member = company
    client, headers = api_client(acme_member)
    answer = client.post(f"{API}/time-credits", headers=headers, json={
        "volunteer_email": city.citizen.email, "minutes": 60, "idempotency_key": "k"})
    assert answer.status_code == 403 and answer.json["error"] == "not_accredited", answer.json
    assert time_credits.time_balance(city.citizen) == 0


def test_the_api_keeps_the_daily_cap(city, api_client):
    client, headers = api_client(city.member)
    for n in range(4):
        assert client.post(f"{API}/time-credits", headers=headers, json={
            "volunteer_email": city.citizen.email, "minutes": 120, "idempotency_key": f"k{n}"}).status_code == 201
    answer = client.post(f"{API}/time-credits", headers=headers, json={
        "volunteer_email": city.citizen.email, "minutes": 1, "idempotency_key": "over"})
    assert answer.status_code == 409 and answer.json["error"] == "daily_cap_reached", answer.json
    assert time_credits.time_balance(city.citizen) == 480


def _at_once(count, send):
    barrier, answers = threading.Barrier(count), []

    def worker(n):
        barrier.wait()
        answers.append(send(n))
    at_once(count, worker)
    return sorted(a.status_code for a in answers)


def test_parallel_desks_cannot_pass_the_daily_cap(city, app, make_user):
    """Eight desks (each its own client, app context and connection) record 120 minutes for one
    volunteer at once: four fit in the cap of 480, four are refused."""
    from app.accounts import operations as accounts
    desks = [make_user(Role.ORG_MEMBER, organisations=[city.coop]) for _ in range(8)]
    tokens = [accounts.issue_token(desk, "threads")[0] for desk in desks]
    email = city.citizen.email
    db.session.commit()
    statuses = _at_once(8, lambda n: app.test_client().post(
        f"{API}/time-credits", headers={"Authorization": f"Bearer {tokens[n]}"},
        json={"volunteer_email": email, "minutes": 120, "idempotency_key": "visit"}))
    assert statuses == [201] * 4 + [409] * 4
    db.session.expire_all()
    assert time_credits.time_balance(city.citizen) == 480 and ledger.verify().ok


def test_parallel_gifts_never_overdraw(city, app, make_user):
    """Six gifts of the holder's whole 60 minutes sent at once: one goes, five are refused, and
    the balance is never below zero."""
    from app.accounts import operations as accounts
    time_credits.record_time(city.citizen, 60, city.coop, actor=city.member)
    relatives = [make_user() for _ in range(6)]
    token = accounts.issue_token(city.citizen, "threads")[0]
    emails = [r.email for r in relatives]
    db.session.commit()
    statuses = _at_once(6, lambda n: app.test_client().post(
        f"{API}/time-credits/gifts", headers={"Authorization": f"Bearer {token}"},
        json={"relative_email": emails[n], "minutes": 60, "idempotency_key": f"gift-{n}"}))
    assert statuses == [202] + [409] * 5
    db.session.expire_all()
    assert time_credits.time_balance(city.citizen) == 0
    assert sum(time_credits.time_balance(r) for r in relatives) == 60 and ledger.verify().ok


def test_parallel_desk_spends_never_overdraw(city, app, make_user):
    """Four desks spend the holder's 60 minutes at once, each with the right PIN: one does."""
    time_credits.record_time(city.citizen, 60, city.other, actor=city.other_member)
    time_credits.set_pin(city.citizen, PIN)
    desks = []
    for _ in range(4):
        member = make_user(Role.ORG_MEMBER, organisations=[city.coop])
        desk = app.test_client()
        login(desk, member.email)
        desks.append(desk)
    sent = {"email": city.citizen.email, "minutes": "60", "direction": "spend", "pin": PIN, "organisation": "la-tela"}
    tokens = [csrf_token(desk) for desk in desks]
    db.session.commit()
    statuses = _at_once(4, lambda n: desks[n].post("/vouchers/desk/time", data={**sent, "csrf_token": tokens[n]}))
    assert statuses == [302] + [422] * 3
    db.session.expire_all()
    assert time_credits.time_balance(city.citizen) == 0 and ledger.verify().ok


# Through the desk page -------------------------------------------------------------------

def _desk(app, user):
    desk = app.test_client()
    login(desk, user.email)
    return desk


def test_the_desk_refuses_crediting_its_own_member_beside_the_email(app, city):
    desk = _desk(app, city.member)
    answer = post_form(desk, "/vouchers/desk/time", {"email": city.member.email, "minutes": "1440",
                                                     "direction": "earn", "organisation": "la-tela"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert f'id="email-error">{escape("An organisation cannot give time credits to its own members.")}' in page
    assert time_credits.time_balance(city.member) == 0


def test_the_desk_of_an_unaccredited_company_records_nothing(app, city, company):
    _acme, acme_member = company
    answer = post_form(_desk(app, acme_member), "/vouchers/desk/time", {
        "email": city.citizen.email, "minutes": "60", "direction": "earn", "organisation": "acme"})
    assert answer.status_code == 422
    assert "Only an organisation accredited for a time-credit service" in answer.get_data(as_text=True)
    assert time_credits.time_balance(city.citizen) == 0


def test_the_desk_spends_a_holders_minutes_only_with_their_pin(app, city):
    time_credits.record_time(city.citizen, 60, city.other, actor=city.other_member)
    desk = _desk(app, city.member)
    sent = {"email": city.citizen.email, "minutes": "60", "direction": "spend", "organisation": "la-tela"}
    no_pin = post_form(desk, "/vouchers/desk/time", sent)
    assert no_pin.status_code == 422 and 'id="time_pin-error">' in no_pin.get_data(as_text=True)
    time_credits.set_pin(city.citizen, PIN)
    wrong = post_form(desk, "/vouchers/desk/time", {**sent, "pin": "9999"})
    message = escape("The holder's PIN is not right.")
    assert wrong.status_code == 422 and f'id="time_pin-error">{message}' in wrong.get_data(as_text=True)
    assert time_credits.time_balance(city.citizen) == 60
    assert post_form(desk, "/vouchers/desk/time", {**sent, "pin": PIN}).status_code == 302
    assert time_credits.time_balance(city.citizen) == 0


def test_a_citizen_sets_their_pin_on_their_page(app, city):
    holder = _desk(app, city.citizen)
    assert "No PIN yet" in holder.get("/vouchers/mine").get_data(as_text=True)
    differ = post_form(holder, "/vouchers/mine/time-pin", {"pin": PIN, "pin_again": "4827"})
    assert differ.status_code == 422 and "The two PINs differ." in differ.get_data(as_text=True)
    assert "No PIN yet" in holder.get("/vouchers/mine").get_data(as_text=True)
    letters = post_form(holder, "/vouchers/mine/time-pin", {"pin": "abcd", "pin_again": "abcd"})
    assert letters.status_code == 422 and "A PIN is four to six digits." in letters.get_data(as_text=True)
    assert post_form(holder, "/vouchers/mine/time-pin", {"pin": PIN, "pin_again": PIN}).status_code == 302
    assert "No PIN yet" not in holder.get("/vouchers/mine").get_data(as_text=True)
    assert time_credits.hash_pin(time_credits._time_account(city.citizen), PIN) == \
        time_credits._time_account(city.citizen).pin_hash


# Gifts (#19) -----------------------------------------------------------------------------

def test_a_gift_asks_to_confirm_before_anything_moves(app, city, make_user):
    relative = make_user(email="grandma@example.org")
    time_credits.record_time(city.citizen, 60, city.coop, actor=city.member)
    holder = _desk(app, city.citizen)
    asked = post_form(holder, "/vouchers/mine/time", {"email": relative.email, "minutes": "45"})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and 'id="confirm-gift"' in page and "grandma@example.org" in page
    assert time_credits.time_balance(city.citizen) == 60
    done = post_form(holder, "/vouchers/mine/time", {"email": relative.email, "minutes": "45", "confirm": "yes"})
    assert done.status_code == 302
    assert time_credits.time_balance(city.citizen) == 15 and time_credits.time_balance(relative) == 45


@pytest.mark.parametrize("minutes", ["0", "-5"])
def test_a_gift_says_at_least_one_minute(app, city, minutes):
    holder = _desk(app, city.citizen)
    answer = post_form(holder, "/vouchers/mine/time", {"email": "", "minutes": minutes})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "Give at least 1 minute." in page and "greater than" not in page


def test_a_gift_answers_the_same_whether_or_not_the_email_has_an_account(app, city, make_user):
    make_user(email="known@example.org")
    time_credits.record_time(city.citizen, 60, city.coop, actor=city.member)
    holder = _desk(app, city.citizen)
    pages = []
    for email in ("known@example.org", "unknown@example.org"):
        asked = post_form(holder, "/vouchers/mine/time", {"email": email, "minutes": "10"})
        done = post_form(holder, "/vouchers/mine/time", {"email": email, "minutes": "10", "confirm": "yes"},
                         follow_redirects=True)
        pages.append((asked.status_code, done.status_code,
                      asked.get_data(as_text=True).replace(email, "EMAIL").count("EMAIL"),
                      done.get_data(as_text=True).replace(email, "EMAIL").split('class="flashes"')[1][:300]))
    assert pages[0][:3] == pages[1][:3] and pages[0][3] and pages[0][3] == pages[1][3], pages
    assert "No account" not in str(pages)
