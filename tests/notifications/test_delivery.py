"""The outbox end to end: a real change, the worker, a real SMTP server."""
import threading
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, update

from app.database import transaction, utcnow
from app.extensions import db
from app.i18n import city_today
from app.notifications import operations as notes
from app.notifications.models import MailMessage, MessageStatus, Notification, OutboxEvent
from app.notifications.registry import KINDS, register_event
from app.notifications.worker import deliver_batch, drain, fan_out_batch
from app.organisations import operations as orgs

from ..conftest import login


@pytest.fixture
def coop(make_org, make_category, make_user):
    """A co-op accredited for elder care, with an Italian-speaking member and an English one."""
    org = make_org("green-coop", name="Green Coop")
    category = make_category("elder-care", it="Assistenza anziani", es="Cuidado de mayores")
    acc = orgs.accredit(org, category, city_today() + timedelta(days=365), met_all=True)
    chiara = make_user("org_member", email="chiara@example.org", name="Chiara", organisations=[org], locale="it")
    jo = make_user("org_member", email="jo@example.org", name="Jo", organisations=[org])
    official = make_user("official", email="official@example.org")
    return org, acc, chiara, jo, official


def due_now():
    """Let the back-off pass: every queued message becomes due."""
    with transaction():
        db.session.execute(update(MailMessage).where(MailMessage.status == "queued")
                           .values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def _by_recipient(smtp):
    return {rcpts[0]: message for rcpts, message in smtp.messages}


def test_a_suspension_reaches_each_member_in_their_language(app, client, smtp, coop):
    org, acc, chiara, jo, official = coop
    orgs.suspend(acc, "Missing insurance certificate", actor=official)
    # The request wrote one outbox row and sent nothing.
    assert db.session.execute(select(func.count(OutboxEvent.id))).scalar_one() == 1
    assert smtp.messages == []

    drain()
    mails = _by_recipient(smtp)
    assert set(mails) == {"chiara@example.org", "jo@example.org"}  # not the official who acted
    italian, english = mails["chiara@example.org"], mails["jo@example.org"]
    assert italian["To"] == "chiara@example.org"  # one recipient per message, nobody else's address
    assert "sospeso" in italian["Subject"] and "Assistenza anziani" in italian["Subject"]
    assert "suspended" in english["Subject"] and "Elder Care" in english["Subject"]
    assert italian["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = italian.get_body(("plain",)).get_content()
    html = italian.get_body(("html",)).get_content()
    assert "Ciao Chiara" in text and "Missing insurance certificate" in text
    assert "/organisations/green-coop" in html and "jo@example.org" not in text + html

    # The one-click unsubscribe works without signing in and without a CSRF token.
    url = italian["List-Unsubscribe"].strip().strip("<>")
    response = client.post(urlsplit(url).path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert notes.preferences(chiara)["accreditation.suspended"] == "off"
    assert notes.preferences(jo)["accreditation.suspended"] == "immediate"
    sent = db.session.execute(select(MailMessage)).scalars().all()
    assert {m.status for m in sent} == {"sent"} and all(m.sent_at for m in sent)


def test_a_rolled_back_change_sends_nothing(app, smtp, coop):
    _org, acc, _chiara, _jo, official = coop
    with pytest.raises(RuntimeError):
        with transaction():
            orgs.suspend(acc, "Late report", actor=official)
            raise RuntimeError("something later in the same operation failed")
    assert db.session.execute(select(func.count(OutboxEvent.id))).scalar_one() == 0
    assert drain() == 0
    assert smtp.messages == []
    assert db.session.get(type(acc), acc.id).status == "active"


@pytest.mark.parametrize("trouble", ["refuse", "drop", "down"])
def test_a_server_in_trouble_leaves_the_message_queued_until_it_is_back(app, smtp, coop, trouble):
    _org, acc, chiara, _jo, official = coop
    notes.turn_off(_jo.id, ["accreditation.suspended"])
    orgs.suspend(acc, "Late report", actor=official)
    if trouble == "down":
        smtp.stop()
    else:
        smtp.mode = trouble
    drain()
    message = db.session.execute(select(MailMessage)).scalar_one()
    assert message.status == MessageStatus.QUEUED and message.attempts == 1
    assert message.last_error, "the reason is recorded"
    assert smtp.messages == []
    assert drain() == 0  # not due again before its back-off
    due_now()
    drain()  # still in trouble: a second attempt, still queued
    db.session.refresh(message)
    assert message.status == MessageStatus.QUEUED and message.attempts == 2

    if trouble == "down":
        smtp.start()
    smtp.mode = "accept"
    due_now()
    drain()
    db.session.refresh(message)
    assert message.status == MessageStatus.SENT and message.last_error == ""
    assert [r for r, _m in smtp.messages] == [[chiara.email]]


def test_retries_back_off_and_finally_fail_with_the_reason(app, smtp, coop):
    _org, acc, _chiara, jo, official = coop
    app.config.update(MAIL_MAX_ATTEMPTS=2)
    notes.turn_off(jo.id, ["accreditation.suspended"])
    orgs.suspend(acc, "Late report", actor=official)
    smtp.mode = "refuse"
    drain()
    message = db.session.execute(select(MailMessage)).scalar_one()
    wait = message.next_attempt_at - message.created_at
    assert timedelta(seconds=50) < wait < timedelta(seconds=120)
    assert deliver_batch() == 0  # not due yet
    due_now()
    drain()
    db.session.refresh(message)
    assert message.status == MessageStatus.FAILED and message.attempts == 2
    assert "421" in message.last_error


def test_two_workers_never_send_a_message_twice(app, smtp, make_user, make_org):
    org = make_org("big-coop")
    users = [make_user(email=f"follower{i}@example.org") for i in range(300)]
    with transaction():
        for user in users:
            notes.follow(user, "organisation", org.id)
    event_kind_check = notes.emit("accreditation.suspended", "organisation", org.id,
                                  organisation="Big Coop", slug="big-coop", category="elder-care",
                                  category_names={"en": "Elder care"}, reason="Audit", valid_until="2030-01-01")
    app.config["MAIL_BATCH"] = 20
    app.config["NOTIFICATIONS_BATCH"] = 50
    db.session.commit()
    errors = []

    def worker():
        try:
            with app.app_context():
                drain()
        except Exception as error:  # surfaced below: a thread's exception would vanish otherwise
            errors.append(error)
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    drain()
    recipients = [r[0] for r, _m in smtp.messages]
    assert len(recipients) == 300 and len(set(recipients)) == 300
    assert db.session.execute(select(func.count(Notification.id))).scalar_one() == 300
    assert db.session.get(OutboxEvent, event_kind_check.id).status == "done"


def test_preference_off_means_nothing_and_digest_means_one_daily_email(app, smtp, coop, make_category):
    org, acc, chiara, jo, official = coop
    notes.set_preferences(chiara, {"accreditation.suspended": "off"})
    notes.set_preferences(jo, {"accreditation.suspended": "digest"})
    other = orgs.accredit(org, make_category("home-care"), city_today() + timedelta(days=200), met_all=True)
    orgs.suspend(acc, "Late report", actor=official)
    orgs.suspend(other, "Missing insurance", actor=official)
    drain()
    assert smtp.messages == []  # off: nothing; digest: waits for the day's email
    assert db.session.execute(select(Notification).where(Notification.user_id == chiara.id)).first() is None
    assert db.session.execute(select(func.count(Notification.id))
                              .where(Notification.user_id == jo.id)).scalar_one() == 2

    from app.notifications.worker import queue_digests
    assert queue_digests(utcnow()) == 1
    assert queue_digests(utcnow()) == 0  # a notice joins one digest only
    drain()
    [(rcpts, digest)] = smtp.messages
    assert rcpts == [jo.email]
    text = digest.get_body(("plain",)).get_content()
    assert "Late report" in text and "Missing insurance" in text
    assert "2 notifications" in digest["Subject"]


def test_followers_hear_the_actor_does_not(app, smtp, coop, make_user):
    org, acc, chiara, jo, official = coop
    citizen = make_user(email="neighbour@example.org")
    notes.follow(citizen, "organisation", org.id)
    notes.follow(official, "organisation", org.id)
    orgs.suspend(acc, "Late report", actor=official)
    drain()
    assert {r[0] for r, _m in smtp.messages} == {chiara.email, jo.email, citizen.email}


def test_an_event_carries_its_attachment_to_every_email(app, smtp, make_user, make_org, monkeypatch):
    monkeypatch.setitem(KINDS, "test.meeting_convened", None)  # so that the kind goes away after the test
    register_event("test.meeting_convened", sentence="Meeting of %(title)s convened",
                   link=lambda event: "/", audience=lambda event: event.recipients)
    people = [make_user(email=f"member{i}@example.org") for i in range(2)]
    ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    notes.emit("test.meeting_convened", "council", 7, recipients=[p.id for p in people], title="Council",
               attachments=[("meeting.ics", "text/calendar", ics)])
    drain()
    assert len(smtp.messages) == 2
    for _r, message in smtp.messages:
        [part] = list(message.iter_attachments())
        assert part.get_filename() == "meeting.ics" and part.get_content_type() == "text/calendar"
        assert "BEGIN:VCALENDAR" in part.get_content()


def test_without_a_mail_server_messages_become_files_an_admin_can_read(app, coop, make_user):
    _org, acc, _chiara, _jo, official = coop
    app.config["MAIL_SERVER"] = ""
    orgs.suspend(acc, "Late report", actor=official)
    drain()
    files = sorted((Path(app.instance_path) / "mail").glob("*.eml"))
    assert len(files) == 2
    admin = make_user("admin", email="admin@example.org")
    client = app.test_client()
    login(client, admin.email)
    page = client.get("/notifications/mail").get_data(as_text=True)
    assert files[0].name in page and files[1].name in page
    raw = client.get(f"/notifications/mail/{files[0].name}").get_data(as_text=True)
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw
    assert client.get("/notifications/mail/..%2Fsecret_key").status_code == 404


def test_the_request_costs_one_row_however_many_follow(app, make_user, make_org):
    org = make_org("popular-coop")
    with transaction():
        for i in range(200):
            notes.follow(make_user(email=f"fan{i}@example.org"), "organisation", org.id)
    before = db.session.execute(select(func.count(MailMessage.id))).scalar_one()
    notes.emit("accreditation.suspended", "organisation", org.id, organisation="Popular", slug="popular-coop",
               category="x", category_names={}, reason="r", valid_until="2030-01-01")
    assert db.session.execute(select(func.count(MailMessage.id))).scalar_one() == before == 0
    app.config["NOTIFICATIONS_BATCH"] = 64
    assert fan_out_batch() == 64  # recipients come in batches, never all at once


def test_claims_read_on_from_the_last_and_sweep_back_for_a_retry(app, make_user, monkeypatch):
    """A worker's claims go on from the last one it made, not from the first message (which would
    step over every message sent so far); a retry come due behind it is taken once nothing is left
    beyond, or at the minute's sweep, whichever is first."""
    from app.notifications import worker
    person = make_user()
    with transaction():
        messages = [MailMessage(user_id=person.id, subject=f"m{i}") for i in range(3)]
        db.session.add_all(messages)
    first, second, third = (m.id for m in messages)

    def retry(message_id):
        with transaction():
            db.session.execute(update(MailMessage).where(MailMessage.id == message_id).values(
                status=MessageStatus.QUEUED.value, next_attempt_at=utcnow() - timedelta(seconds=1)))
    assert worker._claim(1) == [first]
    retry(first)
    assert worker._claim(1) == [second]   # on from the last claim: the retry waits
    assert worker._claim(1) == [third]
    assert worker._claim(1) == [first]    # nothing beyond: from the first message again
    assert worker._claim(1) == []
    retry(second)
    retry(third)
    monkeypatch.setattr(worker, "SWEEP_SECONDS", -1)  # the minute has passed: oldest first again
    assert worker._claim(1) == [second]
