"""Who may reach which view.

Every view and API route declares its rule with one of these decorators; the
rule is also attached to the view as `access`, which the role matrix test reads
so that a route without a declared rule fails the build."""
import hashlib
from dataclasses import dataclass, field
from functools import wraps

from flask import abort, g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .accounts.models import ApiToken, Role, User
from .database import autocommit_connection, run_raw
from .extensions import db, login_manager


@dataclass(frozen=True)
class Access:
    login: bool = False
    roles: frozenset = field(default_factory=frozenset)
    api: bool = False

    def allows(self, roles: set) -> bool:
        if not self.login:
            return True
        if roles is None:
            return False
        return not self.roles or bool(self.roles & roles)


def _declare(view, access):
    view.access = access
    return view


def public(view):
    """Anyone, signed in or not."""
    return _declare(view, Access())


def roles_required(*roles: Role):
    """Signed-in users holding any of `roles` (any signed-in user if none given).
    Anonymous visitors go to the login page; others get 403."""
    wanted = frozenset(Role(r) for r in roles)

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if wanted and not (current_user.roles & wanted):
                abort(403)
            return view(*args, **kwargs)
        return _declare(wrapped, Access(login=True, roles=wanted))
    return decorator


login_required = roles_required()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_for_token(token: str) -> User | None:
    # Roles and organisations joined in: one round trip instead of three on every API call.
    return db.session.execute(
        select(User).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None),
               User.active.is_(True))
        .options(joinedload(User.role_rows), joinedload(User.organisations))
    ).unique().scalar_one_or_none()


@dataclass(frozen=True)
class ApiOrganisation:
    """An organisation as the lean identity carries it: what a redemption needs of it."""
    id: int
    slug: str
    name: str


@dataclass(frozen=True)
class ApiIdentity:
    """The account behind a bearer token without the ORM: id, roles and organisations (by name,
    as User.organisations). Enough for role checks and for operations that need only ids."""
    id: int
    roles: frozenset
    organisations: tuple


# Written once, run raw on the session's connection: the busiest API routes (redemption) pay
# for neither ORM loading nor statement compilation. One row per role x organisation.
_IDENTITY_SQL = (
    "SELECT u.id, r.role, o.id, o.slug, o.name FROM api_tokens t JOIN users u ON u.id = t.user_id "
    "LEFT JOIN user_roles r ON r.user_id = u.id "
    "LEFT JOIN organisation_members m ON m.user_id = u.id LEFT JOIN organisations o ON o.id = m.organisation_id "
    "WHERE t.token_hash = {h} AND t.revoked_at IS NULL AND u.active = {true}")
_IDENTITY_BY_STYLE = {"pyformat": _IDENTITY_SQL.format(h="%(h)s", true="true"),
                      "named": _IDENTITY_SQL.format(h=":h", true="1"),
                      "qmark": _IDENTITY_SQL.format(h="?", true="1")}


def identity_for_token(token: str) -> ApiIdentity | None:
    # PostgreSQL: outside any transaction (no BEGIN/COMMIT); SQLite: the session's connection.
    conn = autocommit_connection() if db.engine.dialect.name == "postgresql" else db.session.connection()
    style = conn.dialect.paramstyle
    params = (token_hash(token),) if style == "qmark" else {"h": token_hash(token)}
    rows = run_raw(conn, _IDENTITY_BY_STYLE[style], params).fetchall()
    if not rows:
        return None
    roles = frozenset(Role(r[1]) for r in rows if r[1] is not None)
    organisations = {r[2]: ApiOrganisation(r[2], r[3], r[4]) for r in rows if r[2] is not None}
    return ApiIdentity(rows[0][0], roles, tuple(sorted(organisations.values(), key=lambda o: o.name)))


def api_identity() -> ApiIdentity | None:
    """The token's lean identity, looked up once per request (from the ORM user if already loaded)."""
    if "api_identity" not in g:
        user = g.get("api_user")
        if user is not None:
            g.api_identity = ApiIdentity(user.id, frozenset(user.roles), tuple(
                ApiOrganisation(o.id, o.slug, o.name) for o in user.organisations))
        elif "api_user" in g:
            g.api_identity = None
        else:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            g.api_identity = (identity_for_token(token.strip()) if scheme.lower() == "bearer" and token.strip()
                              else None)
    return g.api_identity


def api_user() -> User | None:
    """The account behind the request's bearer token, looked up once per request."""
    if "api_user" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        g.api_user = user_for_token(token.strip()) if scheme.lower() == "bearer" and token else None
    return g.api_user


def api_public(view):
    return _declare(view, Access(api=True))


def api_roles_required(*roles: Role, identity_only: bool = False):
    """API routes: 401 without a valid bearer token, 403 without one of `roles`.

    With identity_only the check uses the lean api_identity() (one raw statement, no ORM) and
    the view must use it too, not api_user()."""
    wanted = frozenset(Role(r) for r in roles)

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            from .api import api_abort  # the API module imports this one
            user = api_identity() if identity_only else api_user()
            if user is None:
                api_abort(401, "unauthorized", _l("A valid bearer token is required."))
            if wanted and not (user.roles & wanted):
                api_abort(403, "forbidden", _l("This account may not do this."))
            return view(*args, **kwargs)
        return _declare(wrapped, Access(login=True, roles=wanted, api=True))
    return decorator


api_login_required = api_roles_required()


@login_manager.user_loader
def load_user(user_id: str):
    ident, _, version = user_id.partition(":")
    if not ident.isdigit():
        return None
    user = db.session.get(User, int(ident))
    if user is None or not user.active or str(user.auth_version) != version:
        return None
    return user
