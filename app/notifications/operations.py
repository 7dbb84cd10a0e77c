"""Notifications as plain functions: emit, follow, preferences, the notification centre."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update

from ..database import transaction, utcnow
from ..errors import Invalid, NotFound
from ..extensions import db
from .models import UNREAD_SHOWN, EventAttachment, Follow, MailMessage, Mode, Notification, OutboxEvent, Preference
from .registry import KINDS, SUBJECTS, followable_kinds

# Emitting ------------------------------------------------------------------------------

def emit(kind: str, subject_type: str, subject_id: int, *, actor=None, recipients=(), attachments=(),
         **context) -> OutboxEvent:
    """Record that `kind` happened to a subject: ONE outbox row, in the caller's transaction.

    Nothing is sent here: if the caller's transaction rolls back, the row goes
    with it; once it commits, the worker delivers it. `context` must be JSON
    (the sentence's values); `attachments` are (filename, mimetype, bytes)
    sent with every email of the event; `recipients` are extra user ids."""
    if kind not in KINDS:
        raise KeyError(f"unregistered event kind {kind!r}: call register_event first")
    with transaction():
        event = OutboxEvent(kind=kind, subject_type=subject_type, subject_id=int(subject_id),
                            actor_id=getattr(actor, "id", actor), context=context,
                            recipients=sorted({int(r) for r in recipients}))
        event.attachments = [EventAttachment(filename=name, mimetype=mimetype, content=bytes(content))
                             for name, mimetype, content in attachments]
        db.session.add(event)
    return event


# Follows -------------------------------------------------------------------------------

def _check_subject(subject_type: str, subject_id: int):
    kind = SUBJECTS.get(subject_type)
    found = kind.title(subject_id) if kind else None
    if found is None:
        raise NotFound(_l("There is nothing to follow here."))
    return found


def follow(user, subject_type: str, subject_id: int) -> None:
    """`user` hears about everything that happens to the subject from now on (idempotent).

    Module operations call it for a record's parties, inside their own transaction."""
    user_id = getattr(user, "id", user)
    with transaction():
        exists = db.session.execute(select(Follow.id).where(
            Follow.user_id == user_id, Follow.subject_type == subject_type,
            Follow.subject_id == subject_id)).first()
        if not exists:
            db.session.add(Follow(user_id=user_id, subject_type=subject_type, subject_id=int(subject_id)))


def follow_checked(user, subject_type: str, subject_id: int) -> None:
    """Follow from the follow button: only things that exist can be followed."""
    _check_subject(subject_type, subject_id)
    follow(user, subject_type, subject_id)


def unfollow(user, subject_type: str, subject_id: int) -> None:
    with transaction():
        db.session.execute(delete(Follow).where(
            Follow.user_id == user.id, Follow.subject_type == subject_type, Follow.subject_id == subject_id))


def is_following(user, subject_type: str, subject_id: int) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return db.session.execute(select(Follow.id).where(
        Follow.user_id == user.id, Follow.subject_type == subject_type,
        Follow.subject_id == subject_id)).first() is not None


def followed(user) -> list[tuple[Follow, tuple]]:
    """What `user` follows, with each subject's (title, path); vanished subjects left out."""
    rows = db.session.execute(select(Follow).where(Follow.user_id == user.id)
                              .order_by(Follow.created_at.desc())).scalars().all()
    result = []
    for row in rows:
        kind = SUBJECTS.get(row.subject_type)
        found = kind.title(row.subject_id) if kind else None
        if found:
            result.append((row, found))
    return result


# Preferences ---------------------------------------------------------------------------

def preferences(user) -> dict[str, Mode]:
    """Every registered kind with the mode `user` chose, or the kind's default."""
    chosen = dict(db.session.execute(select(Preference.kind, Preference.mode)
                                     .where(Preference.user_id == user.id)).all())
    return {entry.kind: Mode(chosen.get(entry.kind, entry.default_mode)) for entry in followable_kinds()}


def set_preferences(user, modes: dict[str, str]) -> None:
    """Save the mode per kind; unknown kinds and modes are refused, nothing half-saved."""
    for kind, mode in modes.items():
        if kind not in KINDS or KINDS[kind].personal:
            raise Invalid(_l("Unknown kind of notification."), field="kind")
        if mode not in {m.value for m in Mode}:
            raise Invalid(_l("Choose immediately, daily digest or off."), field=kind)
    with transaction():
        existing = {p.kind: p for p in db.session.execute(
            select(Preference).where(Preference.user_id == user.id)).scalars()}
        for kind, mode in modes.items():
            if kind in existing:
                existing[kind].mode = mode
            else:
                db.session.add(Preference(user_id=user.id, kind=kind, mode=mode))


def turn_off(user_id: int, kinds) -> list[str]:
    """One-click unsubscribe: these kinds go off for that person. Returns the kinds changed."""
    kinds = [k for k in kinds if k in KINDS and not KINDS[k].personal]
    with transaction():
        existing = {p.kind: p for p in db.session.execute(
            select(Preference).where(Preference.user_id == user_id, Preference.kind.in_(kinds))).scalars()}
        for kind in kinds:
            if kind in existing:
                existing[kind].mode = Mode.OFF.value
            else:
                db.session.add(Preference(user_id=user_id, kind=kind, mode=Mode.OFF.value))
    return kinds


# The notification centre ---------------------------------------------------------------

def unread_count(user) -> int:
    """Unread notifications, counted up to UNREAD_SHOWN + 1 (more than UNREAD_SHOWN: "99+")."""
    return db.session.execute(select(unread_count_of(user.id))).scalar_one()


def unread_count_of(user_id: int):
    """unread_count as a column, for a query that reads the person anyway (app/security.py:load_user)."""
    unread = (select(Notification.id).where(Notification.user_id == user_id, Notification.read_at.is_(None))
              .limit(UNREAD_SHOWN + 1).subquery())
    return select(func.count()).select_from(unread).scalar_subquery()


def notifications_of(user, *, page: int = 1, per_page: int = 25, unread_only: bool = False):
    from sqlalchemy.orm import joinedload
    stmt = (select(Notification).options(joinedload(Notification.event))
            .where(Notification.user_id == user.id).order_by(Notification.id.desc()))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def mark_read(user, notification_id: int) -> Notification:
    """Mark one of `user`'s own notifications read; someone else's is 'not found'."""
    with transaction():
        row = db.session.get(Notification, notification_id)
        if row is None or row.user_id != user.id:
            raise NotFound(_l("No such notification."))
        if row.read_at is None:
            row.read_at = utcnow()
    return row


def mark_all_read(user) -> int:
    with transaction():
        result = db.session.execute(update(Notification).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=utcnow()))
    return result.rowcount



def mail_overview(latest: int = 20):
    """For administrators: messages per state, and the latest ones that had a problem."""
    counts = dict(db.session.execute(select(MailMessage.status, func.count(MailMessage.id))
                                     .group_by(MailMessage.status)).all())
    failures = db.session.execute(select(MailMessage).where(MailMessage.last_error != "")
                                  .order_by(MailMessage.id.desc()).limit(latest)).scalars().all()
    return counts, failures
