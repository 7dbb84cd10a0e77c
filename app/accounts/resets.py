"""Password-reset links: a random nonce whose SHA-256 alone is stored, good once, for
RESET_HOURS. Asked for by the person (the forgotten-password form, by email through the outbox)
or printed for them by an administrator (`flask user reset-link`)."""
import hashlib
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ..database import transaction, utcnow
from ..errors import DomainError, Invalid
from ..extensions import db
from ..notifications.operations import emit
from ..security import token_hash
from . import throttles
from .models import PasswordReset, User
from .operations import change_password, check_password_strength, normalise_email

RESET_HOURS = 24
# Reset requests within an hour: from one client address (refused beyond, the same for any
# email), and for one email (beyond, nothing more is sent and nothing says so).
REQUESTS_PER_ADDRESS = 10
REQUESTS_PER_EMAIL = 3
REQUEST_WINDOW = timedelta(hours=1)
KIND = "account.password_reset"


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_requests"


def _refused() -> Invalid:
    return Invalid(_l("This password-reset link is not valid any more. Ask for a new one."), status=410)


def issue_reset(user: User) -> str:
    """A new reset link's nonce for `user`: returned once, never stored (only its hash is)."""
    nonce = secrets.token_urlsafe(32)
    with transaction():
        db.session.add(PasswordReset(user_id=user.id, nonce_hash=token_hash(nonce),
                                     expires_at=utcnow() + timedelta(hours=RESET_HOURS)))
    return nonce


def user_for_reset(nonce: str) -> User:
    """The account a reset link opens, if the link is unused and unexpired; else Invalid (410)."""
    user = db.session.execute(
        select(User).join(PasswordReset, PasswordReset.user_id == User.id)
        .where(PasswordReset.nonce_hash == token_hash(nonce or ""), PasswordReset.used_at.is_(None),
               PasswordReset.expires_at > utcnow(), User.active.is_(True))
    ).scalar_one_or_none()
    if user is None:
        raise _refused()
    return user


def reset_password(nonce: str, password: str) -> User:
    """Spend the link and set the new password, in one transaction: the link is claimed by one
    atomic UPDATE, so two tabs sending it at once set one password and the other is refused. A
    password too short leaves the link unspent. The new password ends every session, spends the
    account's other links and lifts a sign-in lock (change_password)."""
    check_password_strength(password)
    now = utcnow()
    with transaction():
        user_id = db.session.execute(
            update(PasswordReset)
            .where(PasswordReset.nonce_hash == token_hash(nonce or ""), PasswordReset.used_at.is_(None),
                   PasswordReset.expires_at > now)
            .values(used_at=now).returning(PasswordReset.user_id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        user = db.session.get(User, user_id) if user_id is not None else None
        if user is None or not user.active:
            raise _refused()
        change_password(user, None, password, actor=user)
    return user


def _hashed(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def request_reset(email: str, address: str, locale: str | None) -> None:
    """Someone asked for a reset link for `email`. The same work and the same answer whether an
    account has this email or not: two counters bumped and one outbox row written; the worker
    finds the account, if any, and emails it a fresh link in its language (the request's if it
    has none). Too many requests from the address: TooManyRequests, whatever the email. Too many
    for the email: nothing more is sent, and the answer does not change."""
    email = normalise_email(email)
    with transaction():
        if throttles.bump(f"reset:address:{address or '-'}", REQUEST_WINDOW) > REQUESTS_PER_ADDRESS:
            raise TooManyRequests(_l("Too many reset requests from this connection. Try again in an hour."))
        if throttles.bump(f"reset:email:{_hashed(email)}", REQUEST_WINDOW) > REQUESTS_PER_EMAIL:
            return
        emit(KIND, "account", 0, email=email, locale=locale)
