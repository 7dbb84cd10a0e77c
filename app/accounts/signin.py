"""Signing in with a password, throttled so that guessing does not pay and nobody can lock the
administrator out.

Three counters, each bumped by one atomic statement before the password is checked (so parallel
attempts each get their own number and none is lost):
- per account (users.failed_logins): the Nth attempt within a lock period locks the account for
  PROCOMUN_LOGIN_LOCK_MINUTES, and only that attempt writes the `user.locked` audit entry;
- per client address (every account it tried): more than PROCOMUN_LOGIN_MAX_FAILURES_PER_ADDRESS
  failures in the window and the address is refused;
- site-wide: past PROCOMUN_LOGIN_SITE_CEILING failures in the window (an attack from many
  addresses), an address that has failed once is refused, and locked accounts take no exception.
A locked account still signs in from a client address that has not failed in the window (its
owner's, not the guesser's), one attempt per such address, or through a reset link. An attempt
counts as failed until it succeeds, so the address and site counters are taken back on success."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, update

from ..audit.operations import record
from ..database import transaction, utcnow
from ..errors import Invalid
from ..extensions import db
from . import throttles
from .models import User
from .operations import find_user
from .passwords import check_password, hash_password, needs_rehash

SITE_KEY = "sign-in:site"
# Statements on the table, not the model: a counter is not a change of what pages show of an
# account (an ORM update of User would make the officials' desk cache start again, pagecache.py).
USERS = User.__table__


class LoginRefused(Invalid):
    status = 401
    code = "login_refused"


@dataclass(frozen=True)
class Limits:
    per_account: int
    per_address: int
    site: int
    window: timedelta

    @classmethod
    def configured(cls) -> "Limits":
        cfg = current_app.config
        return cls(cfg["PROCOMUN_LOGIN_MAX_FAILURES"], cfg["PROCOMUN_LOGIN_MAX_FAILURES_PER_ADDRESS"],
                   cfg["PROCOMUN_LOGIN_SITE_CEILING"], timedelta(minutes=cfg["PROCOMUN_LOGIN_LOCK_MINUTES"]))


def address_key(address: str) -> str:
    return f"sign-in:address:{address or '-'}"


def _refused() -> LoginRefused:
    # One message for every refusal: it never tells whether an email has an account or is locked.
    return LoginRefused(_l("Wrong email or password, or too many attempts. "
                           "Check them, or wait a few minutes and try again."))


def _take_account_attempt(user: User, now: datetime, limits: Limits) -> tuple[int, datetime | None]:
    """Count one attempt on the account; the attempt that reaches the limit locks it. Returns the
    attempt's number within the lock period and the lock's end (None: not locked). A lock that has
    passed starts a new period at 1."""
    lock_end = now + limits.window
    passed = USERS.c.locked_until <= now
    statement = (
        update(USERS).where(USERS.c.id == user.id)
        .values(failed_logins=case((passed, 1), else_=USERS.c.failed_logins + 1),
                locked_until=case(
                    (passed, lock_end if limits.per_account <= 1 else None),
                    (USERS.c.locked_until.is_(None) & (USERS.c.failed_logins + 1 >= limits.per_account), lock_end),
                    else_=USERS.c.locked_until))
        .returning(USERS.c.failed_logins, USERS.c.locked_until))
    attempt, locked_until = db.session.execute(statement).one()
    return attempt, locked_until


def authenticate(email: str, password: str, address: str = "") -> User:
    """The account if the password is right and throttling lets the attempt through (see the
    module's docstring); else LoginRefused, the same for every reason. `address` is the client's
    address (behind PROCOMUN_TRUSTED_PROXIES proxies, the one they saw)."""
    limits = Limits.configured()
    now = utcnow()
    user = find_user(email)
    if user is not None and not user.active:
        user = None
    with transaction():
        site_failures = throttles.bump(SITE_KEY, limits.window, now)
        if site_failures == 1:
            throttles.prune(now)  # a new window: yesterday's counters go
        address_failures = throttles.bump(address_key(address), limits.window, now)
        attempt, locked_until = _take_account_attempt(user, now, limits) if user is not None else (0, None)
    under_siege = site_failures > limits.site
    if address_failures > (1 if under_siege else limits.per_address) or user is None:
        check_password(None, password)  # the same time as a real check: nothing to learn from timing
        raise _refused()
    locks_now = locked_until is not None and attempt == limits.per_account
    exception = locked_until is not None and not locks_now
    if exception and (address_failures > 1 or under_siege):
        check_password(None, password)
        raise _refused()
    if not check_password(user.password_hash, password):
        if locks_now:
            with transaction():
                record("user.locked", user, after={"locked_until": locked_until, "attempts": attempt})
        raise _refused()
    with transaction():
        throttles.forgive(SITE_KEY, address_key(address))
        if not exception:  # a sign-in past the lock from a clean address leaves the lock for the others
            db.session.execute(update(USERS).where(USERS.c.id == user.id).values(failed_logins=0, locked_until=None))
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
    db.session.expire(user, ["failed_logins", "locked_until"])
    return user
