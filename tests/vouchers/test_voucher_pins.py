"""A voucher's PIN protects a found or stolen voucher: it is kept keyed by the site's secret (a copy
of the database alone does not let anyone try the 10^4 PINs offline), and five PINs typed for one
voucher within a quarter of an hour lock it, whichever desks or tills they come from, at once."""
import hashlib
import threading

from sqlalchemy import update

from app.database import transaction
from app.errors import DomainError
from app.extensions import db
from tests.conftest import at_once, login, post_form
from vouchers import issuance, ledger, redemption
from vouchers.models import Redemption, Voucher

from .test_desk_repeats import _sale, _token

URL = "/api/v1/vouchers/redemptions"


def _post(client, headers, code, pin, key):
    return client.post(URL, json={"code": code, "amount": 100, "service_category": "elder-care",
                                  "idempotency_key": key, "pin": pin}, headers=headers)


def _count():
    return db.session.query(Redemption).count()


def test_the_stored_pin_is_keyed_by_the_site_secret(app, city):
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official, pin="4321")
    assert voucher.pin_hash != hashlib.sha256(f"{voucher.code}:4321".encode()).hexdigest()
    assert "4321" not in voucher.pin_hash
    # Another secret, another hash: the database alone is not enough to try PINs.
    stored = voucher.pin_hash
    app.config["SECRET_KEY"] = "another-secret-key-that-is-long-enough-for-tests"
    assert Voucher.hash_pin(voucher.code, "4321") != stored


def test_a_voucher_whose_pin_was_kept_unkeyed_still_takes_it(city, api_client):
    """Vouchers issued before PINs were keyed keep their old hash (nobody can re-key it without
    the PIN): their holder's PIN still works, and a wrong one is still refused."""
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)
    with transaction():
        db.session.execute(update(Voucher).where(Voucher.id == voucher.id)
                           .values(pin_hash=Voucher.legacy_pin_hash(voucher.code, "2468")))
    client, headers = api_client(city.member)
    assert _post(client, headers, voucher.code, "1357", "a").json["error"] == "wrong_pin"
    response = _post(client, headers, voucher.code, "2468", "b")
    assert response.status_code == 201, response.json


def test_five_wrong_pins_lock_the_voucher_even_for_the_right_one(city, api_client):
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official, pin="4321")
    client, headers = api_client(city.member)
    for i in range(5):
        response = _post(client, headers, voucher.code, f"000{i}", f"k{i}")
        assert (response.status_code, response.json["error"]) == (403, "wrong_pin")
    response = _post(client, headers, voucher.code, "4321", "right")
    assert (response.status_code, response.json["error"]) == (403, "pin_locked"), response.json
    assert response.json["message"] and _count() == 0
    assert ledger.verify().ok


def test_right_pins_take_their_try_back(city, api_client):
    """A holder who spends often with the right PIN is never locked out by their own purchases."""
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official, pin="4321")
    client, headers = api_client(city.member)
    for i in range(8):
        assert _post(client, headers, voucher.code, "4321", f"k{i}").status_code == 201
    assert _post(client, headers, voucher.code, "0000", "wrong").json["error"] == "wrong_pin"
    assert _post(client, headers, voucher.code, "4321", "after").status_code == 201


def test_the_desk_counts_the_same_tries_as_the_tills(app, city, api_client):
    """Tries at the web desk and through the API are one count: a cashier cannot go on where a
    till stopped."""
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official, pin="4321")
    till, headers = api_client(city.member)
    for i in range(4):
        assert _post(till, headers, voucher.code, f"000{i}", f"k{i}").json["error"] == "wrong_pin"
    desk = app.test_client()
    login(desk, city.member.email)
    page = post_form(desk, "/vouchers/desk", _sale(voucher, _token(desk), pin="0009"))
    assert page.status_code == 422 and "PIN is not right" in page.get_data(as_text=True)
    page = post_form(desk, "/vouchers/desk", _sale(voucher, _token(desk), pin="4321"))
    assert page.status_code in (403, 422) and "Too many wrong PINs" in page.get_data(as_text=True)
    assert _count() == 0


def test_parallel_guesses_get_five_tries_in_all(app, city, backend):
    """Thirty guesses sent at once from many tills: five are weighed, the rest are refused as
    locked, none gets through (one atomic counter, not a count read and written back)."""
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official, pin="4321")
    code, coop_id, member_id = voucher.code, city.coop.id, city.member.id
    db.session.commit()
    outcomes, barrier = [], threading.Barrier(30)

    def guess(i):
        with app.app_context(), app.test_request_context():
            from app.accounts.models import User
            from app.organisations.models import Organisation
            org, member = db.session.get(Organisation, coop_id), db.session.get(User, member_id)
            db.session.commit()
            barrier.wait()
            try:
                redemption.redeem(code, 100, "elder-care", org, actor=member, pin=f"{1000 + i}",
                                  idempotency_key=f"g{i}")
                outcomes.append("redeemed")
            except DomainError as refusal:
                outcomes.append(refusal.code)
            finally:
                db.session.remove()

    at_once(30, guess)
    assert outcomes.count("wrong_pin") == 5 and outcomes.count("pin_locked") == 25, outcomes
    assert _count() == 0
