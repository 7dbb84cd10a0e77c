"""Vouchers tell their holders and co-ops: received (one outbox row per batch), redeemed, expiring, settled."""
import io
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select

from app.accounts.models import Role
from app.database import utcnow
from app.extensions import db
from app.notifications import operations as notes
from app.notifications.models import OutboxEvent
from app.notifications.reminders import send_reminders
from app.notifications.worker import drain
from vouchers import bank, issuance, redemption, sepa, settlement
from vouchers.models import Redemption


def _outbox_rows() -> int:
    return db.session.execute(select(func.count(OutboxEvent.id))).scalar_one()


def _by_recipient(smtp) -> dict:
    return {rcpts[0]: message for rcpts, message in smtp.messages}


def _unsubscribe(client, message, user, kind):
    """The email's one-click link: the GET page asks, the POST turns the kind off."""
    path = urlsplit(message["List-Unsubscribe"].strip().strip("<>")).path
    assert client.get(path).status_code == 200
    assert notes.preferences(user)[kind] == "immediate"
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert notes.preferences(user)[kind] == "off"


def test_an_issued_voucher_reaches_its_holder_in_their_language(city, client, smtp, make_user):
    holder = make_user(Role.CITIZEN, email="giulia@example.org", name="Giulia", locale="it")
    voucher = issuance.issue_voucher(city.programme, holder, 5000, actor=city.official)
    assert _outbox_rows() == 1 and smtp.messages == []
    drain()
    [(rcpts, message)] = smtp.messages  # the official who issued it hears nothing
    assert rcpts == ["giulia@example.org"]
    assert "Hai ricevuto un buono" in message["Subject"] and "Home care 2027" in message["Subject"]
    html = message.get_body(("html",)).get_content()
    assert f"/vouchers/mine/{voucher.id}" in html
    _unsubscribe(client, message, holder, "voucher.received")
    issuance.issue_voucher(city.programme, holder, 1000, actor=city.official)
    drain()
    assert len(smtp.messages) == 1  # turned off: nothing more


def test_a_batch_run_is_two_outbox_rows_whatever_the_number_of_holders(city, smtp, make_user):
    make_user(Role.CITIZEN, email="pere@example.org", locale="ca")
    for holders in (3, 40):
        rows = ["holder_email,amount_cents,valid_until", "pere@example.org,1000,"]
        rows += [f"holder{holders}-{n}@example.org,1000," for n in range(holders - 1)]
        text = "\n".join(rows) + "\n"
        before = _outbox_rows()
        result = issuance.issue_batch(lambda: io.StringIO(text), city.programme, actor=city.official,
                                      unknown_holders="invite")
        assert result.issued == holders
        assert _outbox_rows() == before + 2  # the vouchers received, and the invitations to the new holders
    # A voucher issued after the runs is not in their audience.
    issuance.issue_voucher(city.programme, city.citizen, 1000, actor=city.official)
    drain()
    recipients = [rcpts[0] for rcpts, _m in smtp.messages]
    assert len(recipients) == 3 + 40 + 1 + (2 + 39)  # each new holder is also invited once
    assert recipients.count("pere@example.org") == 2 and recipients.count(city.citizen.email) == 1
    catalan = _by_recipient(smtp)["pere@example.org"]
    assert "Has rebut un bo" in catalan["Subject"]


def test_a_redemption_tells_the_holder_with_one_outbox_row(city, client, smtp, make_user):
    holder = make_user(Role.CITIZEN, email="holder@example.org", locale="ca")
    voucher = issuance.issue_voucher(city.programme, holder, 5000, actor=city.official)
    drain()
    smtp.messages.clear()
    before = _outbox_rows()
    redemption.redeem(voucher.code, 1200, "elder-care", city.coop, actor=city.member)
    assert _outbox_rows() == before + 1
    drain()
    [(rcpts, message)] = smtp.messages  # the co-op member who redeemed hears nothing
    assert rcpts == ["holder@example.org"]
    subject = message["Subject"]
    assert "S'han bescanviat" in subject and "La Tela" in subject and voucher.code in subject
    _unsubscribe(client, message, holder, "voucher.redeemed")


def test_a_settlement_tells_the_coop_members(app, city, client, smtp, make_user):
    colleague = make_user(Role.ORG_MEMBER, email="colleague@example.org", organisations=[city.coop], locale="es")
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)
    result = redemption.redeem(voucher.code, 1500, "elder-care", city.coop, actor=city.member)
    db.session.get(Redemption, result.redemption_id).at = utcnow() - timedelta(days=3)
    db.session.commit()
    drain()
    smtp.messages.clear()
    cleared, _ = settlement.settle(city.today - timedelta(days=7), city.today - timedelta(days=1),
                                   actor=city.official)
    drain()
    # The statement first: the money has not moved yet, and the notice does not say it has.
    mails = _by_recipient(smtp)
    assert set(mails) == {city.member.email, "colleague@example.org"}  # not the other co-op, not the official
    assert "cobrará" in mails["colleague@example.org"]["Subject"]
    assert "will be paid" in mails[city.member.email]["Subject"]
    assert "has been paid" not in mails[city.member.email]["Subject"]
    assert "/vouchers/statements" in mails[city.member.email].get_body(("html",)).get_content()
    _unsubscribe(client, mails["colleague@example.org"], colleague, "voucher.settlement_statement")

    # Paid when the city records the day its bank executed the transfer.
    app.config.update(PROCOMUN_CITY_IBAN="IT45 U030 6909 6061 0000 0063 245", PROCOMUN_CITY_BIC="BCITITMMXXX",
                      PROCOMUN_CITY_ACCOUNT_NAME="Comune di Villanova")
    account = bank.request_account(city.coop, "IT60 X054 2811 1010 0000 0123 456", "BPPIITRRXXX", "La Tela",
                                   actor=city.member)
    bank.approve_account(account.id, actor=city.official)
    sepa.settlement_file(cleared.id, actor=city.official)
    drain()
    smtp.messages.clear()
    sepa.mark_paid(cleared.id, city.today, actor=city.official)
    drain()
    mails = _by_recipient(smtp)
    assert set(mails) == {city.member.email, "colleague@example.org"}  # unsubscribed from statements only
    assert "has been paid" in mails[city.member.email]["Subject"]
    assert "ha cobrado" in mails["colleague@example.org"]["Subject"]


def test_the_expiry_reminder_goes_once_to_holders_with_money_left(city, smtp, make_user):
    soon = city.today + timedelta(days=20)
    spent_holder = make_user(Role.CITIZEN, email="spent@example.org")
    kept = issuance.issue_voucher(city.programme, city.citizen, 3000, actor=city.official, valid_until=soon)
    spent = issuance.issue_voucher(city.programme, spent_holder, 1000, actor=city.official, valid_until=soon)
    issuance.issue_voucher(city.programme, make_user(Role.CITIZEN, email="later@example.org"), 1000,
                           actor=city.official)  # ends with the programme, months away
    redemption.redeem(spent.code, 1000, "elder-care", city.coop, actor=city.member)
    drain()
    smtp.messages.clear()
    assert send_reminders(city.today) == 1
    assert send_reminders(city.today) == 0
    drain()
    [(rcpts, message)] = smtp.messages
    assert rcpts == [city.citizen.email] and kept.holder_id == city.citizen.id
    assert "expires on" in message["Subject"] and "Home care 2027" in message["Subject"]
