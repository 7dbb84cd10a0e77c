"""Time gifts through an escrow (issue #19): the giver's side is the same whether or not the email
has an account; a held gift is delivered when an account is made with its email, or goes back to
the giver after the hold; a sign-up and the return job racing for one gift never both move it."""
import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.accounts import operations as accounts
from app.audit.models import AuditEntry
from app.database import utcnow
from app.extensions import db
from tests.conftest import PASSWORD, at_once, csrf_token, login, post_form
from vouchers import gifts, ledger, time_credits
from vouchers.models import Account, GiftStatus, TimeGift, Transfer

API = "/api/v1/vouchers"


def _gift(email) -> TimeGift:
    db.session.expire_all()
    return db.session.execute(select(TimeGift).where(TimeGift.recipient_email == email)).scalar_one()


def _age(gift_id: int, days: int) -> None:
    db.session.execute(update(TimeGift).where(TimeGift.id == gift_id)
                       .values(created_at=utcnow() - timedelta(days=days)))
    db.session.commit()


def _givers_side(giver, account_ids):
    """What the giver can see of their last gift: balance, their movements, the audit entry's shape."""
    db.session.expire_all()
    moves = ledger.movements(account_ids).items
    audit = db.session.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()
    return (time_credits.time_balance(giver), [(m.kind, m.amount, m.debit_account_id in account_ids,
                                                m.credit_account_id) for m in moves[:1]],
            audit.action, json.loads(audit.after) if isinstance(audit.after, str) else audit.after, audit.actor_id)


def _giver_account_ids(giver):
    return [db.session.execute(select(Account.id).where(Account.user_id == giver.id)).scalar_one()]


def test_the_giver_sees_the_same_whether_or_not_the_email_has_an_account(city, make_user):
    relative = make_user(email="grandma@example.org")
    time_credits.record_time(city.citizen, 100, city.coop, actor=city.member)
    seen, numbers = [], []
    for email in (relative.email, "nobody@example.org"):
        before = db.session.execute(select(func.max(Transfer.id))).scalar_one()
        gift = gifts.send(city.citizen, email, 30)
        numbers.append(db.session.execute(select(func.max(Transfer.id))).scalar_one() - before)
        balance_change = 100 - 30 * len(seen) - time_credits.time_balance(city.citizen)
        seen.append((balance_change, _givers_side(city.citizen, _giver_account_ids(city.citizen))[1:]))
        assert gift.minutes == 30
    # The same debit, the same movement into the same escrow account, the same audit entry, and
    # the same count of transfers written (the next transfer number tells nothing either).
    assert seen[0] == seen[1] and numbers == [2, 2]
    assert time_credits.time_balance(relative) == 30
    assert _gift(relative.email).status == GiftStatus.DELIVERED
    assert _gift("nobody@example.org").status == GiftStatus.HELD
    assert accounts.find_user("nobody@example.org") is None and ledger.verify().ok


def test_the_givers_page_lists_both_gifts_as_sent(app, city, make_user):
    make_user(email="known@example.org")
    time_credits.record_time(city.citizen, 60, city.coop, actor=city.member)
    holder = app.test_client()
    login(holder, city.citizen.email)
    for email in ("known@example.org", "unknown@example.org"):
        done = post_form(holder, "/vouchers/mine/time", {"email": email, "minutes": "10", "confirm": "yes"},
                         follow_redirects=True)
        assert "they wait 30 days for one, then come back to you." in done.get_data(as_text=True)
    page = holder.get("/vouchers/mine").get_data(as_text=True)
    listed = page.split('id="gifts-heading"')[1].split("</ul>")[0]
    assert listed.count("Sent") == 2 and "known@example.org" in listed and "unknown@example.org" in listed
    assert "Returned" not in listed and time_credits.time_balance(city.citizen) == 40
    assert ledger.verify().ok


def test_a_gift_to_what_is_not_an_email_is_refused_beside_the_field(app, city):
    time_credits.record_time(city.citizen, 60, city.coop, actor=city.member)
    holder = app.test_client()
    login(holder, city.citizen.email)
    for confirm in ("", "yes"):
        answer = post_form(holder, "/vouchers/mine/time", {"email": "grandma.example.org", "minutes": "10",
                                                           "confirm": confirm})
        assert answer.status_code == 422
        assert 'id="email-error">Enter a valid email address.' in answer.get_data(as_text=True)
    assert time_credits.time_balance(city.citizen) == 60
    assert db.session.execute(select(func.count(TimeGift.id))).scalar_one() == 0


def test_a_held_gift_is_delivered_when_the_account_is_made(app, city):
    time_credits.record_time(city.citizen, 60, city.coop, actor=city.member)
    gifts.send(city.citizen, "Newcomer@Example.org ", 25)
    gifts.send(city.citizen, "newcomer@example.org", 5)
    db.session.commit()
    visitor = app.test_client()
    signed_up = post_form(visitor, "/account/register", {"name": "Nuria", "email": "newcomer@example.org",
                                                         "password": PASSWORD, "confirm": PASSWORD})
    assert signed_up.status_code == 302
    db.session.expire_all()
    newcomer = accounts.find_user("newcomer@example.org")
    assert time_credits.time_balance(newcomer) == 30 and time_credits.time_balance(city.citizen) == 30
    held = db.session.execute(select(TimeGift).order_by(TimeGift.id)).scalars().all()
    assert [g.status for g in held] == [GiftStatus.DELIVERED] * 2 and all(g.settle_transfer_id for g in held)
    # The newcomer's page shows the minutes came from the giver.
    page = visitor.get("/vouchers/mine").get_data(as_text=True)
    assert "You have 30 minutes of time credits." in page and city.citizen.name in page
    # Past the hold, a delivered gift is never returned.
    _age(held[0].id, 31)
    assert gifts.return_unclaimed() == (0, 0) and ledger.verify().ok


def test_an_invited_person_receives_the_gifts_held_for_them(city):
    time_credits.record_time(city.citizen, 60, city.coop, actor=city.member)
    gifts.send(city.citizen, "invited@example.org", 15)
    from vouchers import invitations
    invitations.issue_to_email(city.programme, "invited@example.org", 1000, invite=True, actor=city.official)
    invited = accounts.find_user("invited@example.org")
    assert time_credits.time_balance(invited) == 15 and ledger.verify().ok


def test_an_unclaimed_gift_goes_back_after_the_hold(app, city):
    time_credits.record_time(city.citizen, 60, city.coop, actor=city.member)
    early = gifts.send(city.citizen, "nobody@example.org", 20)
    recent = gifts.send(city.citizen, "someone-else@example.org", 10)
    _age(early.id, 31)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["vouchers", "gifts", "expire"])
    assert first.exit_code == 0 and "Returned 1 time gifts; 20 minutes" in first.output, first.output
    again = runner.invoke(args=["vouchers", "gifts", "expire"])
    assert "Returned 0 time gifts" in again.output
    db.session.expire_all()
    assert time_credits.time_balance(city.citizen) == 50
    returned, waiting = _gift("nobody@example.org"), _gift("someone-else@example.org")
    assert returned.status == GiftStatus.RETURNED and returned.settle_transfer_id is not None
    assert db.session.get(Transfer, returned.settle_transfer_id).amount == 20
    assert waiting.status == GiftStatus.HELD and waiting.id == recent.id
    assert ledger.verify().ok
    # An account made afterwards gets only the gift still held.
    late = accounts.register_citizen("nobody@example.org", "Late", PASSWORD, "en")
    assert time_credits.time_balance(late) == 0 and ledger.verify().ok
    # The giver's page says which came back.
    holder = app.test_client()
    login(holder, city.citizen.email)
    listed = holder.get("/vouchers/mine").get_data(as_text=True).split('id="gifts-heading"')[1].split("</ul>")[0]
    assert listed.count("Returned to you on") == 1 and listed.count("Sent") == 1


def test_the_hold_is_a_setting(app, city):
    app.config["PROCOMUN_GIFT_HOLD_DAYS"] = 3
    time_credits.record_time(city.citizen, 60, city.coop, actor=city.member)
    gift = gifts.send(city.citizen, "nobody@example.org", 20)
    _age(gift.id, 2)
    assert gifts.return_unclaimed() == (0, 0)
    _age(gift.id, 4)
    assert gifts.return_unclaimed() == (1, 20) and time_credits.time_balance(city.citizen) == 60


def test_the_api_answers_alike_and_debits_alike(city, make_user, api_client):
    relative = make_user(email="grandma@example.org")
    time_credits.record_time(city.citizen, 60, city.coop, actor=city.member)
    client, headers = api_client(city.citizen)
    answers, balances = [], []
    for email in (relative.email, "nobody@example.org"):
        response = client.post(f"{API}/time-credits/gifts", headers=headers,
                               json={"relative_email": email, "minutes": 30, "idempotency_key": f"to-{email}"})
        answers.append((response.status_code, response.json["note"], response.json["minutes"]))
        db.session.expire_all()
        balances.append(time_credits.time_balance(city.citizen))
    assert answers[0] == answers[1] and answers[0][0] == 202 and balances == [30, 0]
    moves = client.get(f"{API}/movements", headers=headers).json["movements"]
    gift_moves = [(m["kind"], m["amount_out"], m["reference"]) for m in moves if m["kind"] == "give-time"]
    assert gift_moves == [("give-time", 30, "time gift")] * 2 and ledger.verify().ok


@pytest.mark.parametrize("rounds", [4])
def test_a_sign_up_and_the_return_never_both_take_a_gift(app, city, rounds):
    """For each gift past its hold, a person signs up with its email while the return job runs:
    the minutes go to exactly one of them, and the ledger verifies."""
    time_credits.record_time(city.citizen, 400, city.coop, actor=city.member)
    emails = [f"racer{n}@example.org" for n in range(rounds)]
    for email in emails:
        _age(gifts.send(city.citizen, email, 50).id, 31)
    db.session.commit()
    for email in emails:
        barrier = threading.Barrier(2)
        visitor = app.test_client()
        token = csrf_token(visitor)
        db.session.commit()

        def race(n, email=email, barrier=barrier, visitor=visitor, token=token):
            barrier.wait()
            if n == 0:
                visitor.post("/account/register", data={"name": "Racer", "email": email, "password": PASSWORD,
                                                        "confirm": PASSWORD, "csrf_token": token})
            else:
                with app.app_context():
                    gifts.return_unclaimed()
                    db.session.remove()
        at_once(2, race)
        db.session.expire_all()
        racer = accounts.find_user(email)
        gift = _gift(email)
        assert racer is not None
        if gift.status == GiftStatus.DELIVERED:
            assert time_credits.time_balance(racer) == 50
        else:
            assert gift.status == GiftStatus.RETURNED and time_credits.time_balance(racer) == 0
    settled = db.session.execute(select(func.count(TimeGift.id)).where(TimeGift.settle_transfer_id.is_not(None))
                                 ).scalar_one()
    delivered = sum(time_credits.time_balance(accounts.find_user(e)) for e in emails)
    assert settled == rounds and time_credits.time_balance(city.citizen) + delivered == 400
    assert ledger.verify().ok


def test_a_gift_sent_while_its_account_is_made_is_delivered(app, city):
    """A gift to an email and the sign-up with it at the same moment: the gift is delivered
    whichever commits first (neither leaves it held for an account that exists)."""
    time_credits.record_time(city.citizen, 300, city.coop, actor=city.member)
    token = accounts.issue_token(city.citizen, "threads")[0]
    for n in range(3):
        email = f"twin{n}@example.org"
        visitor = app.test_client()
        csrf = csrf_token(visitor)
        db.session.commit()
        barrier = threading.Barrier(2)

        def race(side, email=email, visitor=visitor, csrf=csrf, barrier=barrier):
            barrier.wait()
            if side == 0:
                visitor.post("/account/register", data={"name": "Twin", "email": email, "password": PASSWORD,
                                                        "confirm": PASSWORD, "csrf_token": csrf})
            else:
                app.test_client().post(f"{API}/time-credits/gifts", headers={"Authorization": f"Bearer {token}"},
                                       json={"relative_email": email, "minutes": 40, "idempotency_key": email})
        at_once(2, race)
        db.session.expire_all()
        assert _gift(email).status == GiftStatus.DELIVERED
        assert time_credits.time_balance(accounts.find_user(email)) == 40
    assert time_credits.time_balance(city.citizen) == 180 and ledger.verify().ok


def test_verify_notices_a_held_escrow_that_does_not_match_its_gifts(city):
    time_credits.record_time(city.citizen, 60, city.coop, actor=city.member)
    gift = gifts.send(city.citizen, "nobody@example.org", 20)
    db.session.execute(update(TimeGift).where(TimeGift.id == gift.id).values(status=GiftStatus.DELIVERED.value))
    problems = ledger.verify().problems
    assert any("held escrow" in p for p in problems) and any(f"time gift #{gift.id}" in p for p in problems)


def test_only_the_recipient_is_told_when_the_minutes_are_theirs(city, smtp, make_user):
    from app.notifications.worker import drain
    relative = make_user(email="abuela@example.org", locale="es")
    time_credits.record_time(city.citizen, 60, city.coop, actor=city.member)
    drain()
    smtp.messages.clear()
    gifts.send(city.citizen, relative.email, 30)
    gifts.send(city.citizen, "later@example.org", 20)
    drain()
    [(rcpts, message)] = smtp.messages  # the giver hears nothing, whichever the email
    assert rcpts == [relative.email] and "te ha regalado 30 minutos" in message["Subject"]
    smtp.messages.clear()
    accounts.register_citizen("later@example.org", "Later", PASSWORD, "en")
    drain()
    [(rcpts, message)] = smtp.messages
    assert rcpts == ["later@example.org"] and "gave you 20 minutes of time credits" in message["Subject"]
