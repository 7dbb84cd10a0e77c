"""Spam held back: hourly limits on what one account may post, and a new account's first posts
held for a moderator when the city turns that on (PROCOMUN_MODERATION_HOLD_FIRST_POSTS)."""
from datetime import timedelta

from flask import current_app
from flask_babel import format_time
from sqlalchemy import func, select

from ..accounts.models import Role, User
from ..database import utcnow
from ..errors import DomainError
from ..extensions import db
from .cases import case_for, decide, tell_authors, tell_moderators
from .models import Action, CaseState
from .registry import KINDS, LIMITS

# Staff accounts are known people: their posts are never held for review.
TRUSTED = (Role.OFFICIAL, Role.ADMIN, Role.MODERATOR)


class TooMany(DomainError):
    """A posting limit reached: 429 in the API (with Retry-After), the message beside the field on a form."""
    status = 429
    code = "rate_limited"

    def __init__(self, message, *, field: str, retry_after: int):
        super().__init__(message, field=field)
        self.retry_after = retry_after


def screen(actor, subject_type: str, item) -> None:
    """Call in the operation that adds a post, inside its transaction, once the row is added and
    before the audit entry (the account's lock comes before the audit trail's, in every writer):
    refuses it (TooMany: the transaction rolls back) past the account's hourly limit, and holds
    it for review if it is one of a new account's first posts."""
    db.session.flush()
    kind = KINDS[subject_type]
    if kind.limit:
        within_hourly_limit(actor, kind.limit)
    if kind.holdable and _among_first_posts(actor, kind):
        case = case_for(kind, item.id)
        decide(case, kind, item, Action.HELD_NEW_ACCOUNT, CaseState.HELD, settles_reports=False)
        tell_authors("moderation.held_new_account", case, kind, item)
        tell_moderators("moderation.awaiting", case, kind, item)


def within_hourly_limit(actor, name: str) -> None:
    """Refuse the post just flushed if it makes more than the limit in the last hour.

    The account's row is locked first (FOR NO KEY UPDATE: the new row's own foreign key check
    does not conflict with it), so one account's posts are counted one at a time and parallel
    requests cannot all slip under the limit; the count sees the committed posts of whoever held
    the lock before. On SQLite the write transaction already runs alone."""
    limit = LIMITS[name]
    allowed = int(current_app.config[limit.setting])
    if allowed <= 0:
        return
    lock_account(actor)
    since = utcnow() - timedelta(hours=1)
    times = db.session.execute(
        select(limit.created_column).where(limit.author_column == actor.id, limit.created_column > since)
        .order_by(limit.created_column.desc()).limit(allowed + 1)).scalars().all()
    if len(times) <= allowed:
        return
    # Possible again once the oldest of the last `allowed` earlier posts is an hour old.
    again = times[-1] + timedelta(hours=1)
    wait = max(int((again - utcnow()).total_seconds()) + 1, 1)
    raise TooMany(str(limit.message) % {"limit": allowed, "time": format_time(again, "short")},
                  field=limit.field, retry_after=wait)


def lock_account(actor) -> None:
    """Lock the account's row until the transaction ends (FOR NO KEY UPDATE; nothing on SQLite).
    Taken before an item's case and before the audit trail's lock, in every writer, so that
    no two transactions wait for each other."""
    db.session.execute(select(User.id).where(User.id == actor.id).with_for_update(key_share=True))


def _among_first_posts(actor, kind) -> bool:
    first = int(current_app.config["PROCOMUN_MODERATION_HOLD_FIRST_POSTS"])
    if first <= 0 or actor.has_role(*TRUSTED):
        return False
    limit = LIMITS[kind.limit] if kind.limit else None
    if limit is None:
        return False
    posted = db.session.execute(select(func.count()).where(limit.author_column == actor.id)).scalar_one()
    return posted <= first
