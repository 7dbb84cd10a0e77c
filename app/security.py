"""Who may reach which view.

Every view and API route declares its rule with one of these decorators; the
rule is also attached to the view as `access`, which the role matrix test reads
so that a route without a declared rule fails the build."""
import hashlib
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache, wraps

from flask import abort, g, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import HTTPException

from .accounts.models import ApiToken, Role, User
from .api import api_abort
from .database import autocommit_connection, run_raw
from .extensions import db, login_manager
from .notifications.models import UNREAD_SHOWN
from .notifications.operations import unread_count_of


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
    token_hash: str = ""
    cached: bool = False  # taken from the short cache: the write must re-check it (see api_roles_required)


class _LeanRead:
    """A read on the hottest paths, written once in each driver's parameter style and run raw
    (PostgreSQL: on the thread's autocommit connection, no BEGIN/COMMIT; SQLite: the session's
    connection): neither ORM loading nor statement compilation. `names` are its parameters in the
    order they appear; `{true}` is the dialect's boolean true."""

    def __init__(self, sql: str, *names: str):
        self.names = names
        self.by_style = {"pyformat": sql.format(true="true", **{n: f"%({n})s" for n in names}),
                         "named": sql.format(true="1", **{n: f":{n}" for n in names}),
                         "qmark": sql.format(true="1", **dict.fromkeys(names, "?"))}

    def rows(self, **values) -> list:
        conn = autocommit_connection() if db.engine.dialect.name == "postgresql" else db.session.connection()
        style = conn.dialect.paramstyle
        params = tuple(values[n] for n in self.names) if style == "qmark" else values
        return run_raw(conn, self.by_style[style], params).fetchall()


# The busiest API route (redemption) looks its caller up here. One row per role x organisation.
_IDENTITY = _LeanRead(
    "SELECT u.id, r.role, o.id, o.slug, o.name FROM api_tokens t JOIN users u ON u.id = t.user_id "
    "LEFT JOIN user_roles r ON r.user_id = u.id "
    "LEFT JOIN organisation_members m ON m.user_id = u.id LEFT JOIN organisations o ON o.id = m.organisation_id "
    "WHERE t.token_hash = {h} AND t.revoked_at IS NULL AND u.active = {true}", "h")


def identity_for_token(token: str) -> ApiIdentity | None:
    hashed = token_hash(token)
    rows = _IDENTITY.rows(h=hashed)
    if not rows:
        return None
    roles = frozenset(Role(r[1]) for r in rows if r[1] is not None)
    organisations = {r[2]: ApiOrganisation(r[2], r[3], r[4]) for r in rows if r[2] is not None}
    return ApiIdentity(rows[0][0], roles, tuple(sorted(organisations.values(), key=lambda o: o.name)), hashed)


# Tokens seen valid in the last few seconds (PostgreSQL, identity_only routes): a redemption then
# costs one round trip, its statement re-checking the token, role and membership as it writes
# (vouchers.redemption.redeem's while_token_valid); any refusal re-checks them before answering.
IDENTITY_CACHE_SECONDS = 5.0
_identity_cache: dict[str, tuple[float, ApiIdentity]] = {}


def _cached_identity(token: str) -> ApiIdentity | None:
    hashed = token_hash(token)
    hit = _identity_cache.get(hashed)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    identity = identity_for_token(token)
    if identity is not None:
        if len(_identity_cache) > 10_000:
            _identity_cache.clear()
        _identity_cache[hashed] = (time.monotonic() + IDENTITY_CACHE_SECONDS, replace(identity, cached=True))
    else:
        _identity_cache.pop(hashed, None)
    return identity


def _bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def api_identity(cached: bool = False) -> ApiIdentity | None:
    """The token's lean identity, looked up once per request (from the ORM user if already loaded);
    with `cached`, possibly from the last few seconds' cache (then its `cached` is true)."""
    if "api_identity" not in g:
        user = g.get("api_user")
        if user is not None:
            g.api_identity = ApiIdentity(user.id, frozenset(user.roles), tuple(
                ApiOrganisation(o.id, o.slug, o.name) for o in user.organisations))
        elif "api_user" in g:
            g.api_identity = None
        else:
            token = _bearer_token()
            g.api_identity = None if token is None else (
                _cached_identity(token) if cached and db.engine.dialect.name == "postgresql"
                else identity_for_token(token))
    return g.api_identity


def fresh_api_identity() -> ApiIdentity | None:
    """The token's identity read now, bypassing (and renewing) the cache."""
    token = _bearer_token()
    if token is not None:
        _identity_cache.pop(token_hash(token), None)
    g.api_identity = None if token is None else identity_for_token(token)
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

    With identity_only the check uses the lean api_identity() (no ORM), possibly from its short
    cache on PostgreSQL: the view must use api_identity() too, and, when the identity is cached,
    have its write re-check the token (vouchers.redemption.redeem's while_token_valid). Any
    error answer given on a cached identity is re-checked here against the token as it is now,
    so a revoked token still gets 401 and a lost role 403, as without the cache."""
    wanted = frozenset(Role(r) for r in roles)

    def decorator(view):
        def check(user):
            if user is None:
                api_abort(401, "unauthorized", _l("A valid bearer token is required."))
            if wanted and not (user.roles & wanted):
                api_abort(403, "forbidden", _l("This account may not do this."))

        @wraps(view)
        def wrapped(*args, **kwargs):
            user = api_identity(cached=True) if identity_only else api_user()
            check(user)
            if not getattr(user, "cached", False):
                return view(*args, **kwargs)
            try:
                response = view(*args, **kwargs)
            except HTTPException:
                check(fresh_api_identity())
                raise
            if _status(response) >= 400:
                check(fresh_api_identity())
            return response
        return _declare(wrapped, Access(login=True, roles=wanted, api=True))
    return decorator


api_login_required = api_roles_required()


def _status(response) -> int:
    if isinstance(response, tuple):
        return response[1] if len(response) > 1 and isinstance(response[1], int) else 200
    return getattr(response, "status_code", 200)


@dataclass(frozen=True)
class SessionIdentity:
    """What a signed-in page shows of its user, read without the ORM (see session_identity)."""
    id: int
    auth_version: str
    name: str
    locale: str | None
    roles: frozenset
    unread: int


def session_identity(user_id: str) -> SessionIdentity | None:
    """Who a session's `_user_id` ("id:auth version") is, by load_user's rule (an active user whose
    auth version is the session's), with their roles and unread notifications, in one statement:
    what a page kept for the session (app/pagecache.py:personal_page) is checked against."""
    ident, _, version = user_id.partition(":")
    if not ident.isdigit() or not version.isdigit() or str(int(version)) != version or int(ident) >= 2**31:
        return None
    # Raw, like the API's token lookup: a kept page's whole cost is this check.
    rows = _SESSION.rows(id=int(ident), v=int(version))
    if not rows:
        return None
    return SessionIdentity(id=int(ident), auth_version=version, name=rows[0][0], locale=rows[0][1],
                           roles=frozenset(Role(row[2]) for row in rows if row[2]), unread=rows[0][3])


_SESSION = _LeanRead(
    "SELECT u.name, u.locale, r.role, (SELECT count(*) FROM (SELECT 1 FROM notifications n WHERE n.user_id = {id} "
    "AND n.read_at IS NULL LIMIT " + str(UNREAD_SHOWN + 1) + ") AS unread) "  # as notifications.unread_count
    "FROM users u LEFT JOIN user_roles r ON r.user_id = u.id "
    "WHERE u.id = {id} AND u.auth_version = {v} AND u.active = {true}", "id", "id", "v")


@login_manager.user_loader
def load_user(user_id: str):
    ident, _, version = user_id.partition(":")
    if not ident.isdigit() or int(ident) >= 2**63:
        return None
    found = db.session.execute(_user_statement(), {"user_id": int(ident)}).unique().one_or_none()
    if found is None or not found[0].active or str(found[0].auth_version) != version:
        return None
    g.procomun_unread = (found[0].id, found[1])
    return found[0]


@lru_cache(maxsize=1)
def _user_statement():
    """load_user's select, built once (its values bound at each read): roles, organisations and the
    header bell's count joined in, one round trip instead of four on every signed-in page."""
    user_id = bindparam("user_id")
    return (select(User, unread_count_of(user_id)).where(User.id == user_id)
            .options(joinedload(User.role_rows), joinedload(User.organisations)))


def unread_on_arrival(user) -> int | None:
    """The bell's count as load_user read it at the start of this request (None if it did not)."""
    seen = g.get("procomun_unread")
    return seen[1] if seen is not None and seen[0] == user.id else None


def private_responses(app) -> None:
    """One after-request hook for what only a signed-in visitor's response needs: Flask-Login's
    remember cookie (its own hook, run from here) and `Cache-Control: private, no-store`, so that
    no shared cache keeps a page made for one person. A request that brought no cookie, where
    nobody signed in or out, needs neither: every till's call then skips both (Flask-Login's hook
    reads the session, which marks it accessed: `Vary: Cookie` and the cookie machinery)."""
    hooks = app.after_request_funcs[None]
    update_remember_cookie = login_manager._update_remember_cookie
    hooks.remove(update_remember_cookie)
    refresh = app.config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST", False)
    cookies = (app.config["SESSION_COOKIE_NAME"], app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))

    @app.after_request
    def private_response(response):
        if "HTTP_COOKIE" not in request.environ and "_login_user" not in g:
            return update_remember_cookie(response) if refresh else response
        if "_login_user" in g and not g._login_user.is_authenticated and "_user_id" in session:
            # A session or remember cookie issued before its account signed out (the auth version
            # moved on): the browser drops both, instead of presenting them on every request.
            session.pop("_user_id")
            if cookies[1] in request.cookies:
                session["_remember"] = "clear"
        response = update_remember_cookie(response)
        # The header first: a page that set its own (a kept desk page) needs no user loaded.
        if "Cache-Control" not in response.headers and not request.path.startswith("/static") and (
                "_login_user" in g or any(name in request.cookies for name in cookies)) \
                and getattr(current_user, "is_authenticated", False):
            response.headers["Cache-Control"] = "private, no-store"
        return response
