"""The fan-out and the digest are set-based (INSERT … SELECT in batches): on a mixed audience they
write what the per-person rules say, resume after a crash without a duplicate or a loss, and two
workers at once never group a notice twice."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.accounts.models import User
from app.database import transaction, utcnow
from app.extensions import db
from app.notifications import operations as notes
from app.notifications import worker
from app.notifications.models import EventStatus, Follow, MailMessage, Notification, OutboxEvent, Preference
from app.notifications.registry import KINDS, register_event
from app.notifications.worker import drain, fan_out_batch, queue_digests
from app.organisations.models import organisation_members

from ..conftest import at_once

SUSPENDED = "accreditation.suspended"
CONTEXT = {"organisation": "Green Coop", "slug": "green-coop", "category": "elder-care",
           "category_names": {"en": "Elder care", "it": "Assistenza anziani", "es": "Cuidado de mayores",
                              "ca": "Atenció a la gent gran"},
           "reason": "Late report", "valid_until": "2030-01-01"}


@pytest.fixture
def crowd(make_org, make_user):
    """An organisation's members, its followers and people named by the emitter, overlapping:
    four languages, preferences off / digest / immediate / none, two people deactivated, the actor."""
    org = make_org("green-coop", name="Green Coop")

    def person(name, locale=None, member=False, follows=False, mode=None, active=True):
        user = make_user("org_member" if member else "citizen", email=f"{name}@example.org", name=name.title(),
                         organisations=[org] if member else [], locale=locale)
        if follows:
            notes.follow(user, "organisation", org.id)
        if mode:
            notes.set_preferences(user, {SUSPENDED: mode})
        if not active:
            with transaction():
                db.session.execute(update(User).where(User.id == user.id).values(active=False))
        return user
    people = {
        "chiara": person("chiara", "it", member=True, follows=True),
        "lucia": person("lucia", "es", member=True, mode="immediate"),
        "pau": person("pau", "ca", follows=True),
        "jo": person("jo", member=True),
        "dana": person("dana", "es", member=True, mode="digest"),
        "marta": person("marta", "ca", follows=True, mode="digest"),
        "quiet": person("quiet", "it", member=True, follows=True, mode="off"),
        "gone": person("gone", member=True, mode="immediate", active=False),
        "left": person("left", "es", follows=True, active=False),
        "named": person("named", "it"),
        "actor": person("actor", member=True, follows=True),
    }
    return org, people


def per_person(event: OutboxEvent) -> tuple[set, set]:
    """What the per-person rules give, person by person in Python: (notices as (user, mode),
    immediate emails' users). The audience is the followers, the kind's audience and the named
    recipients but the actor; the active among them hear, in their mode unless it is off;
    a personal kind sends everyone an email at once and writes no notice."""
    kind = KINDS[event.kind]
    audience = set(db.session.execute(select(Follow.user_id).where(
        Follow.subject_type == event.subject_type, Follow.subject_id == event.subject_id)).scalars())
    audience |= set(db.session.execute(kind.audience(event)).scalars()) | set(event.recipients)
    audience.discard(event.actor_id)
    notices, emails = set(), set()
    for user_id in audience:
        user = db.session.get(User, user_id)
        if user is None or not user.active:
            continue
        if kind.personal:
            emails.add(user_id)
            continue
        chosen = db.session.get(Preference, (user_id, event.kind))
        mode = chosen.mode if chosen else kind.default_mode.value
        if mode == "off":
            continue
        notices.add((user_id, mode))
        if mode == "immediate":
            emails.add(user_id)
    return notices, emails


def written(event: OutboxEvent) -> tuple[list, list]:
    notices = db.session.execute(select(Notification.user_id, Notification.mode)
                                 .where(Notification.event_id == event.id)).all()
    emails = db.session.execute(select(MailMessage.user_id).where(MailMessage.event_id == event.id)).scalars().all()
    return sorted(notices), sorted(emails)


def fan_out(event: OutboxEvent, batch: int) -> None:
    while db.session.get(OutboxEvent, event.id).status == EventStatus.PENDING.value:
        fan_out_batch(batch)
    db.session.expire_all()


def test_a_mixed_audience_gets_what_the_per_person_rules_say_in_each_language(app, smtp, crowd):
    org, people = crowd
    event = notes.emit(SUSPENDED, "organisation", org.id, actor=people["actor"],
                       recipients=[people["named"].id, people["pau"].id, people["left"].id, 10**6], **CONTEXT)
    db.session.commit()
    expected_notices, expected_emails = per_person(event)
    assert {people[n].id for n in ("chiara", "lucia", "pau", "jo", "named")} == expected_emails
    fan_out(event, batch=3)  # batches that split the overlapping parts
    notices, emails = written(event)
    assert notices == sorted(expected_notices) and emails == sorted(expected_emails)
    assert db.session.get(OutboxEvent, event.id).cursor == max(people[n].id for n in people if n != "actor")

    drain()
    mails = {rcpts[0]: message for rcpts, message in smtp.messages}
    assert sorted(mails) == sorted(f"{n}@example.org" for n in ("chiara", "lucia", "pau", "jo", "named"))
    assert "sospeso" in mails["chiara@example.org"]["Subject"]
    assert "Assistenza anziani" in mails["named@example.org"]["Subject"]
    assert "suspendida" in mails["lucia@example.org"]["Subject"]
    assert "Atenció a la gent gran" in mails["pau@example.org"]["Subject"]
    assert "suspended" in mails["jo@example.org"]["Subject"]

    smtp.messages.clear()
    assert queue_digests(utcnow()) == 2
    drain()
    digests = {rcpts[0]: message for rcpts, message in smtp.messages}
    assert sorted(digests) == ["dana@example.org", "marta@example.org"]
    assert "Cuidado de mayores" in digests["dana@example.org"].get_body(("plain",)).get_content()


def test_the_actor_in_a_batch_does_not_end_the_event_early(app, make_org, make_user):
    org = make_org("small-coop")
    actor, *others = (make_user("org_member", organisations=[org]) for _ in range(5))
    event = notes.emit(SUSPENDED, "organisation", org.id, actor=actor, **CONTEXT)
    db.session.commit()
    assert actor.id < min(o.id for o in others)
    assert fan_out_batch(2) == 2  # the two after the actor: a full batch, not one
    assert db.session.get(OutboxEvent, event.id).status == EventStatus.PENDING.value
    fan_out(event, batch=2)
    assert written(event)[1] == sorted(o.id for o in others)


def test_a_personal_kind_ignores_preferences_and_writes_no_notice(app, crowd, monkeypatch):
    org, people = crowd
    monkeypatch.setitem(KINDS, "test.personal", None)  # so that the kind goes away after the test
    register_event("test.personal", sentence="About your account", personal=True,
                   link=lambda event, user: "/account", audience=lambda event: select(
                       organisation_members.c.user_id).where(organisation_members.c.organisation_id == org.id))
    event = notes.emit("test.personal", "organisation", org.id, recipients=[people["pau"].id])
    db.session.commit()
    _none, expected = per_person(event)
    assert people["quiet"].id in expected and people["gone"].id not in expected
    fan_out(event, batch=2)
    assert written(event) == ([], sorted(expected))


def test_a_crash_mid_way_resumes_without_a_duplicate_or_a_loss(app, crowd, monkeypatch):
    org, people = crowd
    event = notes.emit(SUSPENDED, "organisation", org.id, recipients=[people["named"].id], **CONTEXT)
    db.session.commit()
    expected = per_person(event)
    worker_insert, inserts = worker.insert, []

    def failing_insert(table):
        inserts.append(getattr(table, "__table__", table))
        if inserts.count(MailMessage.__table__) == 2:
            raise RuntimeError("the worker dies in its second batch, after writing the notices")
        return worker_insert(table)
    monkeypatch.setattr(worker, "insert", failing_insert)
    assert fan_out_batch(3) == 3
    with pytest.raises(RuntimeError):
        fan_out_batch(3)
    db.session.rollback()
    # The first batch stands with its cursor; the second left nothing behind.
    cursor = db.session.get(OutboxEvent, event.id).cursor
    assert written(event) == (sorted(n for n in expected[0] if n[0] <= cursor),
                              sorted(u for u in expected[1] if u <= cursor))
    assert any(u > cursor for u, _m in expected[0])
    monkeypatch.setattr(worker, "insert", worker_insert)
    fan_out(event, batch=3)
    notices, emails = written(event)
    assert notices == sorted(expected[0]) and emails == sorted(expected[1])


def _events(n: int) -> list[OutboxEvent]:
    return [notes.emit(SUSPENDED, "organisation", 1, **CONTEXT) for _ in range(n)]


def _waiting_notices(events, users, at) -> None:
    with transaction():
        db.session.add_all(Notification(user_id=user.id, event_id=event.id, mode="digest", created_at=at)
                           for user in users for event in events)


def test_the_digest_takes_each_persons_waiting_notices_into_one_email(app, make_user):
    events = _events(6)
    many, one, later, immediate = (make_user() for _ in range(4))
    yesterday, until = utcnow() - timedelta(days=1), utcnow() - timedelta(hours=1)
    _waiting_notices(events[:5], [many], yesterday)  # more than a batch: still one email
    _waiting_notices(events[:1], [one, later], yesterday)
    _waiting_notices(events[1:3], [later], utcnow())  # after the cutoff: tomorrow's digest
    with transaction():
        db.session.add(Notification(user_id=immediate.id, event_id=events[0].id, mode="immediate",
                                    created_at=yesterday))
        # one already grouped by an earlier digest stays in it
        earlier = MailMessage(user_id=one.id, digest=True)
        db.session.add(earlier)
        db.session.flush()
        db.session.add(Notification(user_id=one.id, event_id=events[5].id, mode="digest", created_at=yesterday,
                                    digest_message_id=earlier.id))
    grouped = []
    assert queue_digests(until, batch=2, progress=grouped.append) == 3
    assert sum(grouped) == 7
    assert queue_digests(until, batch=2) == 0
    digests = db.session.execute(select(MailMessage.id, MailMessage.user_id)
                                 .where(MailMessage.digest, MailMessage.id != earlier.id)).all()
    assert sorted(u for _m, u in digests) == sorted([many.id, one.id, later.id])
    rows = db.session.execute(select(Notification.user_id, Notification.digest_message_id, Notification.created_at)
                              .where(Notification.mode == "digest")).all()
    theirs = dict((u, m) for m, u in digests)
    for user_id, message_id, created_at in rows:
        if created_at >= until:
            assert message_id is None
        elif message_id != earlier.id:
            assert message_id == theirs[user_id]
    assert db.session.execute(select(func.count(Notification.id)).where(
        Notification.digest_message_id == earlier.id)).scalar_one() == 1


def test_a_notice_that_arrives_behind_the_digests_progress_is_still_grouped(app, make_user):
    """The digest walks people in id order, each batch after the last; a waiting notice that appears
    behind it (another worker's, committed late) is taken by one sweep from the first person."""
    events = _events(2)
    users = sorted((make_user() for _ in range(5)), key=lambda user: user.id)
    yesterday = utcnow() - timedelta(days=1)
    _waiting_notices(events[:1], users, yesterday)
    batches = []

    def behind(grouped):
        batches.append(grouped)
        if len(batches) == 2:  # the walk is past the first people: one of theirs arrives now
            with transaction():
                db.session.add(Notification(user_id=users[0].id, event_id=events[1].id, mode="digest",
                                            created_at=yesterday))
    assert queue_digests(utcnow(), batch=2, progress=behind) == 6
    assert batches == [2, 2, 1, 1]
    assert db.session.execute(select(func.count(Notification.id))
                              .where(Notification.digest_message_id.is_(None))).scalar_one() == 0
    assert db.session.execute(select(func.count(MailMessage.id))
                              .where(MailMessage.digest, MailMessage.user_id == users[0].id)).scalar_one() == 2


def test_two_digests_at_once_group_every_notice_once(app, make_user):
    users = [make_user() for _ in range(60)]
    _waiting_notices(_events(2), users, utcnow() - timedelta(days=1))
    db.session.commit()
    until, counts, errors = utcnow(), [0, 0], []

    def run(i):
        try:
            with app.app_context():
                counts[i] = queue_digests(until, batch=7)
        except Exception as error:  # surfaced below: a thread's exception would vanish otherwise
            errors.append(error)
    at_once(2, run)
    assert not errors
    assert sum(counts) == 60
    per_user = db.session.execute(select(MailMessage.user_id, func.count(MailMessage.id))
                                  .where(MailMessage.digest).group_by(MailMessage.user_id)).all()
    assert len(per_user) == 60 and {n for _u, n in per_user} == {1}
    assert db.session.execute(select(func.count(Notification.id))
                              .where(Notification.digest_message_id.is_(None))).scalar_one() == 0
    # every digest has its person's two notices, and only theirs
    assert db.session.execute(
        select(func.count()).select_from(MailMessage).join(Notification, Notification.digest_message_id
                                                           == MailMessage.id)
        .where(Notification.user_id == MailMessage.user_id)).scalar_one() == 120
