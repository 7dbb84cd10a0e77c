"""`flask reminders send`: due reminders go out once, however often it runs."""
from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.i18n import city_today
from app.notifications.models import OutboxEvent, ReminderSent
from app.notifications.reminders import send_reminders
from app.organisations import operations as orgs


def test_an_expiring_accreditation_reminds_the_members_once(app, smtp, make_org, make_category, make_user):
    today = city_today()
    soon = make_org("soon-coop", name="Soon Coop")
    later = make_org("later-coop")
    orgs.accredit(soon, make_category("elder-care"), today + timedelta(days=20), met_all=True)
    orgs.accredit(later, make_category("elder-care"), today + timedelta(days=90), met_all=True)
    member = make_user("org_member", email="member@example.org", organisations=[soon], locale="es")
    make_user("org_member", email="other@example.org", organisations=[later])

    assert send_reminders(today) == 1
    assert send_reminders(today) == 0  # the same day again: nothing new
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 0 and "Sent 0 reminders" in result.output
    assert db.session.execute(select(func.count(OutboxEvent.id))).scalar_one() == 1
    assert db.session.execute(select(func.count(ReminderSent.key))).scalar_one() == 1

    result = runner.invoke(args=["outbox", "work", "--once"])
    assert result.exit_code == 0, result.output
    [(rcpts, message)] = smtp.messages
    assert rcpts == [member.email]
    assert "Soon Coop" in message["Subject"] and "vence" in message["Subject"]


def test_a_renewal_brings_a_new_reminder_for_the_new_period(app, make_org, make_category):
    today = city_today()
    org = make_org()
    category = make_category("elder-care")
    orgs.accredit(org, category, today + timedelta(days=10), met_all=True)
    assert send_reminders(today) == 1
    orgs.accredit(org, category, today + timedelta(days=25), met_all=True)
    assert send_reminders(today) == 1
    assert send_reminders(today + timedelta(days=1)) == 0


def test_the_daily_digest_waits_for_the_digest_hour(app):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from app.notifications.worker import digest_cutoff
    app.config.update(NOTIFICATIONS_DIGEST_HOUR=7, PROCOMUN_TIMEZONE="Europe/Rome")
    rome = ZoneInfo("Europe/Rome")
    before = digest_cutoff(datetime(2026, 3, 10, 6, 30, tzinfo=rome))
    after = digest_cutoff(datetime(2026, 3, 10, 7, 30, tzinfo=rome))
    assert before.astimezone(rome) == datetime(2026, 3, 9, 7, 0, tzinfo=rome)
    assert after.astimezone(rome) == datetime(2026, 3, 10, 7, 0, tzinfo=rome)


def test_the_digest_command_queues_one_email_per_person(app, make_user, make_org):
    from app.notifications import operations as notes
    org = make_org()
    people = [make_user() for _ in range(2)]
    for person in people:
        notes.follow(person, "organisation", org.id)
        notes.set_preferences(person, {"accreditation.suspended": "digest"})
    for reason in ("One", "Two"):
        notes.emit("accreditation.suspended", "organisation", org.id, organisation="O", slug=org.slug,
                   category="c", category_names={}, reason=reason, valid_until="2030-01-01")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["outbox", "work", "--once"]).exit_code == 0
    result = runner.invoke(args=["outbox", "digest", "--now"])
    assert "Queued 2 digest emails" in result.output
    assert "Queued 0 digest emails" in runner.invoke(args=["outbox", "digest", "--now"]).output


def test_digests_are_queued_a_batch_at_a_time_each_notice_in_its_own_persons(app, make_user, make_org):
    """Set-based digests (issue #25): one message per person per batch, each notice joined to its
    own person's message, even when the batch is smaller than the people waiting."""
    from sqlalchemy import select

    from app.database import utcnow
    from app.extensions import db
    from app.notifications import operations as notes
    from app.notifications.models import MailMessage, Notification
    from app.notifications.worker import drain, queue_digests
    org = make_org()
    people = [make_user() for _ in range(5)]
    for person in people:
        notes.follow(person, "organisation", org.id)
        notes.set_preferences(person, {"accreditation.suspended": "digest"})
    for reason in ("One", "Two", "Three"):
        notes.emit("accreditation.suspended", "organisation", org.id, organisation="O", slug=org.slug,
                   category="c", category_names={}, reason=reason, valid_until="2030-01-01")
    with app.test_request_context():
        drain()
    seen = []
    assert queue_digests(utcnow(), batch=4, progress=seen.append) == 5
    assert sum(seen) == 15
    pairs = db.session.execute(select(Notification.user_id, MailMessage.user_id, MailMessage.digest)
                               .join(MailMessage, MailMessage.id == Notification.digest_message_id)).all()
    assert len(pairs) == 15 and all(mine == theirs and digest for mine, theirs, digest in pairs)
    assert queue_digests(utcnow()) == 0
