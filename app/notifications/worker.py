"""The worker: fans events out to their recipients and delivers the emails.

The fan-out and the delivery claim their rows with SELECT … FOR UPDATE SKIP
LOCKED, so several workers share the work on PostgreSQL without ever taking the
same row; the digest's batches take turns on an advisory lock. On SQLite each
step's transaction begins IMMEDIATE, so one worker at a time. Nothing here runs
inside a web request."""
import time
from datetime import datetime, timedelta, timezone

from flask import current_app, render_template
from flask_babel import force_locale, gettext
from sqlalchemy import String, func, insert, literal, or_, select, text, true, union, update
from sqlalchemy.orm import aliased, joinedload, lazyload
from sqlalchemy.sql import Select, Subquery

from ..accounts.models import User
from ..database import UTCDateTime, is_sqlite, transaction, utcnow
from ..extensions import db
from ..i18n import city_timezone
from ..urls import public_request_context
from . import mail
from .models import (
    PENDING,
    EventStatus,
    Follow,
    MailMessage,
    MessageStatus,
    Mode,
    Notification,
    OutboxEvent,
    Preference,
)
from .registry import KINDS

# Serialises the digest's batches on PostgreSQL (SQLite's write lock does): "dige".
_PG_DIGEST_LOCK_KEY = 0x64696765

# Fan-out -------------------------------------------------------------------------------

def _parts(event: OutboxEvent) -> list[Select]:
    """Who hears about `event`, as one-column selects of user ids: its subject's followers, the
    kind's audience and the recipients the emitter named (they may overlap)."""
    kind = KINDS.get(event.kind)
    followers = select(Follow.user_id.label("uid")).where(
        Follow.subject_type == event.subject_type, Follow.subject_id == event.subject_id)
    parts, listed = [followers], set(event.recipients or ())
    extra = kind.audience(event) if kind and kind.audience else None
    if isinstance(extra, Select):
        parts.append(extra)
    elif extra is not None:
        listed |= {int(i) for i in extra}
    if listed:
        parts.append(select(User.id.label("uid")).where(User.id.in_(sorted(listed))))
    return parts


def _next_batch(event: OutboxEvent, after: int, limit: int):
    """(how many, the last id) of the next `limit` recipients above `after`, the actor left out,
    never sorting the whole audience: each part's own next `limit` ids first, so the union sorts
    at most parts × limit rows (a million holders in batches of a thousand would be quadratic).
    Fewer than `limit` means the audience ends with this batch."""
    def first(part: Select) -> Select:
        rows = part.subquery()
        head = select(rows.c[0].label("uid")).where(rows.c[0] > after)
        if event.actor_id is not None:  # inside the part's limit, or it would cut a batch short
            head = head.where(rows.c[0] != event.actor_id)
        return select(head.order_by(rows.c[0]).limit(limit).subquery().c.uid)
    everyone = union(*(first(part) for part in _parts(event))).subquery()
    batch = select(everyone.c.uid).order_by(everyone.c.uid).limit(limit).subquery()
    return db.session.execute(select(func.count(batch.c.uid), func.max(batch.c.uid))).one()


def _recipients(event: OutboxEvent, after: int, last: int) -> Subquery:
    """The batch's recipients (ids in `after` < id <= `last`) who hear about it, with how: active
    people whose preference for the kind (or its default) is not off; personal kinds ignore
    preferences. One row per person, the actor left out."""
    def within(part: Select) -> Select:
        rows = part.subquery()
        return select(rows.c[0].label("uid")).where(rows.c[0] > after, rows.c[0] <= last)
    everyone = union(*(within(part) for part in _parts(event))).subquery()
    kind = KINDS.get(event.kind)
    default = (kind.default_mode if kind else Mode.IMMEDIATE).value
    stmt = select(everyone.c.uid).join(User, (User.id == everyone.c.uid) & User.active.is_(True))
    if kind is not None and kind.personal:  # by email at once, never in the centre (EventKind)
        stmt = stmt.add_columns(literal(Mode.IMMEDIATE.value, String).label("mode"))
    else:
        chosen = aliased(Preference)
        mode = func.coalesce(chosen.mode, default)
        stmt = (stmt.add_columns(mode.label("mode"))
                .outerjoin(chosen, (chosen.user_id == everyone.c.uid) & (chosen.kind == event.kind))
                .where(mode != Mode.OFF.value))
    if event.actor_id is not None:
        stmt = stmt.where(everyone.c.uid != event.actor_id)
    return stmt.subquery()


def fan_out_batch(batch: int | None = None) -> int:
    """Take one pending event (skipping any another worker holds) and turn its next batch of
    recipients into notifications and queued emails. Returns the recipients handled (0: idle).

    Set-based: two INSERT … SELECT per batch, nothing per person in Python. The rows and the
    event's cursor (the last id handled) commit together, so a crash resumes after the last
    whole batch and nobody gets the notice twice or not at all."""
    batch = batch or current_app.config["NOTIFICATIONS_BATCH"]
    with transaction():
        event = db.session.execute(
            select(OutboxEvent).where(OutboxEvent.status == EventStatus.PENDING.value)
            .order_by(OutboxEvent.id).limit(1).with_for_update(skip_locked=True)
            .options(lazyload(OutboxEvent.attachments))  # for the emails; not read here
        ).scalar_one_or_none()
        if event is None:
            return 0
        count, last = _next_batch(event, event.cursor, batch)
        if count < batch:  # the audience's end: the event is done with this batch
            event.status, event.processed_at = EventStatus.DONE.value, utcnow()
        if not count:
            return 1
        kind = KINDS.get(event.kind)
        who = _recipients(event, event.cursor, last)
        # The columns not named take the models' defaults (a message queued, no attempt yet).
        now, event_id = literal(utcnow(), UTCDateTime), literal(event.id)
        if not (kind is not None and kind.personal):
            db.session.execute(insert(Notification.__table__).from_select(
                ["user_id", "event_id", "mode", "created_at"],
                select(who.c.uid, event_id, who.c.mode, now).order_by(who.c.uid)))
        db.session.execute(insert(MailMessage.__table__).from_select(
            ["user_id", "event_id", "next_attempt_at", "created_at"],
            select(who.c.uid, event_id, now, now).where(who.c.mode == Mode.IMMEDIATE.value).order_by(who.c.uid)))
        event.cursor = last
        return count


# Digests -------------------------------------------------------------------------------

def digest_cutoff(now: datetime | None = None) -> datetime:
    """The last digest hour (city time) that has passed: the day's notices go out after it."""
    now = (now or utcnow()).astimezone(city_timezone())
    cutoff = now.replace(hour=current_app.config["NOTIFICATIONS_DIGEST_HOUR"], minute=0, second=0, microsecond=0)
    if cutoff > now:
        cutoff -= timedelta(days=1)
    return cutoff.astimezone(timezone.utc)


def waiting_digest_notices(until: datetime) -> int:
    """How many notices wait for a digest (the digest's progress bar)."""
    return db.session.execute(select(func.count(Notification.id)).where(
        Notification.mode == Mode.DIGEST.value, Notification.digest_message_id.is_(None),
        Notification.created_at < until)).scalar_one()


def queue_digests(until: datetime | None = None, batch: int | None = None, progress=None) -> int:
    """Group each person's waiting digest notices created before `until` into one email.

    Set-based, a batch of people per transaction: one INSERT … SELECT of their messages and one
    UPDATE … FROM of their notices. Batches take turns (an advisory lock on PostgreSQL, the write
    lock on SQLite), so several workers may run it at once: a notice joins one digest only, and
    a person's waiting notices all join the same one. `progress(n)` is told of the notices each
    batch grouped."""
    until = until or digest_cutoff()
    batch = batch or current_app.config["NOTIFICATIONS_BATCH"]
    queued, after = 0, 0
    while True:
        with transaction():
            if not is_sqlite():
                db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_DIGEST_LOCK_KEY})
            # People in id order, each batch after the last one's: a batch that started from the
            # first waiting notice again would step over every notice grouped so far (their old
            # index entries stay until a vacuum), and a million holders' digest grew quadratically.
            waiting = (Notification.mode == Mode.DIGEST.value, Notification.digest_message_id.is_(None),
                       Notification.created_at < until, Notification.user_id > after)
            # The people of the next `batch` waiting notices, with everything waiting for them, so
            # that nobody's day splits into two emails.
            head = select(Notification.user_id).where(*waiting).order_by(Notification.user_id).limit(batch).subquery()
            last = db.session.execute(select(func.max(head.c.user_id))).scalar_one()
            if last is None:
                if after == 0:
                    return queued
                after = 0  # once more from the first person: a notice another worker left behind
                continue
            newest = db.session.execute(select(func.coalesce(func.max(MailMessage.id), 0))).scalar_one()
            now = literal(utcnow(), UTCDateTime)
            people = db.session.execute(insert(MailMessage.__table__).from_select(
                ["user_id", "digest", "next_attempt_at", "created_at"],
                select(Notification.user_id, true(), now, now).where(*waiting, Notification.user_id <= last)
                .group_by(Notification.user_id).order_by(Notification.user_id))
                .execution_options(preserve_rowcount=True)).rowcount
            # Under the lock, the digests above `newest` are this batch's: one per person.
            theirs = select(MailMessage.id, MailMessage.user_id).where(
                MailMessage.digest.is_(True), MailMessage.id > newest).subquery()
            notices = db.session.execute(
                update(Notification).where(*waiting, Notification.user_id <= last,
                                           Notification.user_id == theirs.c.user_id)
                .values(digest_message_id=theirs.c.id).execution_options(synchronize_session=False)).rowcount
            queued, after = queued + people, last
            if progress is not None:
                progress(notices)


# Delivery ------------------------------------------------------------------------------

SWEEP_SECONDS = 60


def _claim(batch: int) -> list[int]:
    """The oldest due messages, claimed (SKIP LOCKED: workers never share one).

    Each app (a worker process) remembers how far its claims went and reads on from there: the
    messages below were sent or are another worker's. Read from the first message instead, a
    claim stepped over every message sent so far (PostgreSQL keeps their old index entries until a
    vacuum, and its statistics may still count them as due): a million queued messages slowed to a
    few hundred a second. Once a minute, and whenever nothing is left beyond, a claim starts from
    the first message again, for a retry come due, a lapsed claim or a late commit."""
    progress = current_app.extensions.setdefault("procomun_outbox_claims", {"after": 0, "swept": None})
    sweep = progress["swept"] is None or time.monotonic() - progress["swept"] > SWEEP_SECONDS
    ids = _claim_after(0 if sweep else progress["after"], batch)
    if not ids and not sweep and progress["after"]:
        sweep, ids = True, _claim_after(0, batch)
    if sweep:
        progress["swept"] = time.monotonic()
    if ids:
        progress["after"] = max(progress["after"], *ids)
    return ids


def _claim_after(after: int, batch: int) -> list[int]:
    now = utcnow()
    with transaction():
        ids = db.session.execute(
            select(MailMessage.id).where(
                # said outright, so that either database can read the index of pending messages only
                MailMessage.status.in_(PENDING), MailMessage.id > after,
                or_((MailMessage.status == MessageStatus.QUEUED.value) & (MailMessage.next_attempt_at <= now),
                    # a worker that died mid-batch: its claim lapses and the message goes out again
                    (MailMessage.status == MessageStatus.SENDING.value) & (MailMessage.claimed_until < now)))
            .order_by(MailMessage.id).limit(batch).with_for_update(skip_locked=True)).scalars().all()
        if ids:
            db.session.execute(update(MailMessage).where(MailMessage.id.in_(ids)).values(
                status=MessageStatus.SENDING.value, attempts=MailMessage.attempts + 1,
                claimed_until=now + timedelta(seconds=current_app.config["NOTIFICATIONS_CLAIM_SECONDS"])))
    return list(ids)


def _absolute(path: str) -> str:
    return current_app.config["PROCOMUN_BASE_URL"].rstrip("/") + path


def _locale(user: User, event: OutboxEvent | None = None) -> str:
    # A personal message (a reset link asked for just now) falls back on the language it was asked in.
    kind = KINDS.get(event.kind) if event is not None else None
    asked = event.context.get("locale") if kind is not None and kind.personal else None
    return user.locale or asked or current_app.config["BABEL_DEFAULT_LOCALE"]


def _render_personal(message: MailMessage, kind):
    """A message about the recipient's own account: its link made now, for them (EventKind.personal)."""
    user, event = message.user, message.event
    values = {"user": user, "subject": str(kind.label), "text": kind.text(event),
              "url": _absolute(kind.link(event, user)), "city_name": current_app.config["PROCOMUN_CITY_NAME"]}
    text = render_template("notifications/email/personal-text.html", **values)
    html = render_template("notifications/email/personal.html", **values)
    email = mail.build(to=user.email, subject=values["subject"], text=text, html=html, unsubscribe_url=None)
    return email, values["subject"]


def render(message: MailMessage, notices: list[Notification]):
    """The email for one message, in its recipient's language."""
    user = message.user
    with force_locale(_locale(user, message.event)):
        if not message.digest and KINDS[message.event.kind].personal:
            return _render_personal(message, KINDS[message.event.kind])
        if message.digest:
            items = [(KINDS[n.event.kind], n.event) for n in notices if n.event.kind in KINDS]
            entries = [{"text": k.text(e), "url": _absolute(k.link(e))} for k, e in items]
            kinds = sorted({k.kind for k, _e in items})
            attachments = []
            template = "digest"
            subject = gettext("Your daily digest: %(count)s notifications", count=len(entries))
        else:
            event = message.event
            kind = KINDS[event.kind]
            entries = [{"text": kind.text(event), "url": _absolute(kind.link(event))}]
            kinds = [kind.kind]
            attachments = [(a.filename, a.mimetype, a.content) for a in event.attachments]
            template = "event"
            subject = entries[0]["text"]
        token = mail.unsubscribe_token(user.id, kinds)
        values = {"user": user, "entries": entries, "subject": subject,
                  "unsubscribe_url": _absolute(f"/notifications/unsubscribe/{token}"),
                  "preferences_url": _absolute("/notifications/preferences"),
                  "city_name": current_app.config["PROCOMUN_CITY_NAME"]}
        text = render_template(f"notifications/email/{template}-text.html", **values)
        html = render_template(f"notifications/email/{template}.html", **values)
    email = mail.build(to=user.email, subject=subject, text=text, html=html,
                       unsubscribe_url=values["unsubscribe_url"], attachments=attachments)
    return email, subject


def _backoff(attempts: int) -> timedelta:
    base = current_app.config["NOTIFICATIONS_RETRY_SECONDS"]
    return timedelta(seconds=min(base * 2 ** (attempts - 1), 6 * 3600))


def deliver_batch(batch: int | None = None) -> int:
    """Claim a batch of due messages, send them, record each outcome.

    Returns how many were settled (sent, or failed for good); messages put back
    for a later attempt do not count, so `drain()` stops while a server is away."""
    batch = batch or current_app.config["MAIL_BATCH"]
    ids = _claim(batch)
    if not ids:
        return 0
    messages = db.session.execute(
        select(MailMessage).options(joinedload(MailMessage.user),
                                    joinedload(MailMessage.event).selectinload(OutboxEvent.attachments))
        .where(MailMessage.id.in_(ids)).order_by(MailMessage.id)).scalars().all()
    digests = [m.id for m in messages if m.digest]
    notices: dict[int, list] = {}
    if digests:
        for notice in db.session.execute(select(Notification).options(joinedload(Notification.event))
                                         .where(Notification.digest_message_id.in_(digests))
                                         .order_by(Notification.id)).scalars():
            notices.setdefault(notice.digest_message_id, []).append(notice)
    outcomes = []
    max_attempts = current_app.config["MAIL_MAX_ATTEMPTS"]
    with mail.transport() as transport:
        for message in messages:
            try:
                if message.event is not None and message.event.kind not in KINDS:
                    raise mail.PermanentError(f"unknown kind of event {message.event.kind!r}")
                email, subject = render(message, notices.get(message.id, []))
                transport.send(email, message.id)
            except mail.PermanentError as error:
                outcomes.append((message.id, MessageStatus.FAILED, str(error), None, ""))
            except mail.TransientError as error:
                if message.attempts >= max_attempts:
                    outcomes.append((message.id, MessageStatus.FAILED, str(error), None, ""))
                else:
                    outcomes.append((message.id, MessageStatus.QUEUED, str(error),
                                     utcnow() + _backoff(message.attempts), ""))
            else:
                outcomes.append((message.id, MessageStatus.SENT, "", None, subject[:300]))
    _record(outcomes)
    return sum(1 for o in outcomes if o[1] != MessageStatus.QUEUED)


def _record(outcomes) -> None:
    now = utcnow()
    with transaction():
        # The usual case, every message sent, is one statement per subject line.
        sent: dict[str, list[int]] = {}
        for message_id, status, error, retry_at, subject in outcomes:
            if status == MessageStatus.SENT:
                sent.setdefault(subject, []).append(message_id)
                continue
            values = {"status": status.value, "last_error": error, "claimed_until": None}
            if retry_at is not None:
                values["next_attempt_at"] = retry_at
            db.session.execute(update(MailMessage).where(MailMessage.id == message_id).values(**values))
        for subject, ids in sent.items():
            db.session.execute(update(MailMessage).where(MailMessage.id.in_(ids)).values(
                status=MessageStatus.SENT.value, last_error="", claimed_until=None, sent_at=now, subject=subject))


# The loop ------------------------------------------------------------------------------

def work_once() -> int:
    """One pass: fan out, queue due digests, deliver. Returns the amount of work done."""
    done = 0
    with public_request_context():
        done += fan_out_batch()
        done += queue_digests()
        done += deliver_batch()
    return done


def drain() -> int:
    """Work until nothing is due (`flask outbox work --once`)."""
    total = 0
    while (done := work_once()):
        total += done
    return total
