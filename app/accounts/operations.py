"""Accounts: registration, roles, API tokens, passwords and sessions (signing in: signin.py;
reset links: resets.py)."""
import secrets
from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text, update

from ..audit.operations import record
from ..database import transaction, utcnow
from ..errors import Invalid, NotFound
from ..extensions import db
from ..security import token_hash
from .models import ApiToken, PasswordReset, Role, User, UserRole
from .passwords import check_password, hash_password

MIN_PASSWORD_LENGTH = 10
# Any constant of its own: on PostgreSQL, changes that could remove an administrator take turns.
_PG_ADMIN_LOCK_KEY = 0x61646D6E


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def is_official(user) -> bool:
    """A signed-in official or administrator (never an anonymous visitor or None)."""
    return bool(user is not None and getattr(user, "is_authenticated", False)
                and user.has_role(Role.OFFICIAL, Role.ADMIN))


def find_user(email: str) -> User | None:
    return db.session.execute(
        select(User).where(User.email == normalise_email(email))
    ).scalar_one_or_none()


def user_by_email(email: str, field: str = "email") -> User:
    """The account with this email, or a refusal beside the form's `field`."""
    user = find_user(email or "")
    if user is None:
        raise Invalid(_l("No account with the email “%(email)s”: the person must create an account first.",
                         email=email), field=field)
    return user


def user_by_id(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such account."))
    return user


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise Invalid(_l("Choose a password of at least %(n)s characters.", n=MIN_PASSWORD_LENGTH),
                      field="password")


# What other modules do for a new account, inside the transaction that creates it (vouchers:
# deliver the time gifts held for its email). They run before the account's audit entry, so they
# take their row locks before the audit log's lock, as every other write does.
_on_created: list[Callable[[User], None]] = []


def on_account_created(handler: Callable[[User], None]) -> Callable[[User], None]:
    if handler not in _on_created:
        _on_created.append(handler)
    return handler


def _roles_snapshot(user: User) -> list[str]:
    return sorted(user.roles)


def create_user(email: str, password: str | None, *, name: str | None = None,
                roles=(Role.CITIZEN,), organisations=(), locale: str | None = None,
                actor=None) -> User:
    """Create an account with the given roles. The email must be new."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise Invalid(_l("Enter a valid email address."), field="email")
    if password is not None:
        check_password_strength(password)
    with transaction():
        if find_user(email) is not None:
            raise Invalid(_l("An account with this email already exists."), field="email")
        user = User(email=email, name=(name or email.split("@")[0]).strip(),
                    password_hash=hash_password(password) if password else None,
                    locale=locale, active=True, failed_logins=0, auth_version=1)
        user.role_rows = [UserRole(role=Role(r).value) for r in set(roles)]
        user.organisations = list(organisations)
        db.session.add(user)
        db.session.flush()
        for handler in _on_created:
            handler(user)
        record("user.created", user, actor=actor,
               after={"email": email, "roles": sorted(Role(r).value for r in roles),
                      "organisations": [o.slug for o in organisations]})
    return user


def register_citizen(email: str, name: str, password: str, locale: str | None) -> User:
    """Self-registration: a citizen account, nothing more."""
    return create_user(email, password, name=name, roles=(Role.CITIZEN,), locale=locale)


def change_password(user: User, current: str | None, new: str, *, actor=None) -> None:
    """Set a new password: every session of the account ends, its unused reset links are spent
    and a sign-in lock is lifted."""
    if current is not None and not check_password(user.password_hash, current):
        raise Invalid(_l("The current password is not right."), field="current_password")
    check_password_strength(new)
    with transaction():
        user.password_hash = hash_password(new)
        user.auth_version = (user.auth_version or 1) + 1
        user.failed_logins = 0
        user.locked_until = None
        db.session.execute(update(PasswordReset)
                           .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
                           .values(used_at=utcnow()).execution_options(synchronize_session=False))
        record("user.password_changed", user, actor=actor or user)


def end_sessions(user: User, *, everywhere_asked: bool = False) -> None:
    """End every session and remember cookie issued so far for the account, on every device: they
    carry its auth version (User.get_id), which moves on here in one atomic statement, and every
    signed-in request checks it (load_user). `everywhere_asked`: the person chose it on their
    profile (recorded in the audit trail; a plain sign-out is not)."""
    with transaction():
        users = User.__table__  # the table, not the model: what pages show of the account is unchanged
        db.session.execute(update(users).where(users.c.id == user.id).values(auth_version=users.c.auth_version + 1))
        if everywhere_asked:
            record("user.signed_out_everywhere", user, actor=user)
    db.session.expire(user, ["auth_version"])


def update_profile(user: User, name: str, locale: str | None) -> None:
    with transaction():
        before = {"name": user.name, "locale": user.locale}
        user.name = name.strip()
        user.locale = locale or None
        record("user.profile_updated", user, actor=user, before=before,
               after={"name": user.name, "locale": user.locale})


def choose_language(user: User, locale: str) -> None:
    """Remember the language a person chose in the header's switcher, for their pages and emails."""
    if user.locale != locale:
        with transaction():
            user.locale = locale


def _keep_an_active_admin(user: User, *, admin: bool, active: bool) -> None:
    """Refuse to let the last active administrator lose the role or the account: with none left,
    nobody could manage accounts from the web (the shell's `flask user roles` is the way back).
    Runs inside the caller's transaction."""
    if not (user.active and user.has_role(Role.ADMIN)) or (admin and active):
        return
    if db.session.get_bind().dialect.name == "postgresql":
        # Two admins demoting each other at once would each still count the other.
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_ADMIN_LOCK_KEY})
    others = db.session.execute(
        select(func.count()).select_from(User).join(UserRole)
        .where(UserRole.role == Role.ADMIN.value, User.active.is_(True), User.id != user.id)
    ).scalar_one()
    if others:
        return
    if not admin:
        raise Invalid(_l("The city needs at least one active administrator. Make another account "
                         "an administrator before removing this role."), field="roles", code="last_admin")
    raise Invalid(_l("The city needs at least one active administrator. Make another account "
                     "an administrator before deactivating this one."), field="active", code="last_admin")


def update_account(user: User, roles, organisations, active: bool, *, actor) -> None:
    """The administrator's save of an account: roles, memberships and whether it is active, all
    or nothing. set_roles and set_active each keep the city's last active administrator: one
    refusing rolls back the other."""
    with transaction():
        set_roles(user, roles, organisations, actor=actor)
        if active != user.active:
            set_active(user, active, actor=actor)


def set_roles(user: User, roles, organisations, *, actor) -> None:
    """Replace the account's roles and organisation memberships (administrators only); refused if
    it would leave no active administrator."""
    with transaction():
        wanted = {Role(r).value for r in roles}
        _keep_an_active_admin(user, admin=Role.ADMIN.value in wanted, active=user.active)
        before = {"roles": _roles_snapshot(user), "organisations": [o.slug for o in user.organisations]}
        user.role_rows = [row for row in user.role_rows if row.role in wanted] + [
            UserRole(role=r) for r in wanted - {row.role for row in user.role_rows}]
        user.organisations = list(organisations)
        db.session.flush()
        record("user.roles_changed", user, actor=actor, before=before,
               after={"roles": sorted(wanted), "organisations": [o.slug for o in organisations]})


def set_active(user: User, active: bool, *, actor) -> None:
    """Open or close the account (its sessions end); the last active administrator stays open."""
    with transaction():
        _keep_an_active_admin(user, admin=user.has_role(Role.ADMIN), active=active)
        before = user.active
        user.active = active
        user.auth_version = (user.auth_version or 1) + 1
        record("user.activated" if active else "user.deactivated", user, actor=actor,
               before={"active": before}, after={"active": active})


def issue_token(user: User, name: str = "API") -> tuple[str, ApiToken]:
    """Create a bearer token. The token itself is returned once and never stored."""
    token = "pc_" + secrets.token_urlsafe(32)
    with transaction():
        row = ApiToken(user=user, name=(name or "API").strip()[:100], prefix=token[:10],
                       token_hash=token_hash(token))
        db.session.add(row)
        record("api_token.created", row, actor=user, after={"user": user.email, "name": row.name})
    return token, row


def revoke_token(row: ApiToken, *, actor) -> None:
    if row.revoked_at is not None:
        return
    with transaction():
        row.revoked_at = utcnow()
        record("api_token.revoked", row, actor=actor, after={"user": row.user.email})


def tokens_of(user: User) -> list[ApiToken]:
    return db.session.execute(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    ).scalars().all()


def list_users(page: int, per_page: int = 50, query: str = ""):
    stmt = select(User).order_by(User.email)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(func.lower(User.email).like(like) | func.lower(User.name).like(like))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)
