"""Rendered HTML shared by the gunicorn workers for a short time: whole public pages
for anonymous visitors, and the part of a signed-in page that is the same for everyone
who may see it (the officials' desk).

Copies are files in instance/page-cache, keyed by host, path, query string and
language, written atomically and rebuilt by one worker at a time under a file lock.

`cached_public_page()`: the public register, a council's page and the vouchers' open
books are the same for every anonymous visitor speaking the same language, and at a
national scale each render reads a large register. Their copy lives for
PROCOMUN_PUBLIC_PAGE_CACHE_SECONDS (production 30, development and tests 0: off).
Only anonymous GET/HEAD requests without flashed messages are served from it or
stored in it; a signed-in user always gets a fresh page. A copy is of one version of
PUBLIC_CONTENT: hiding an item (app/moderation) makes every older copy obsolete. Every page carries the
visitor's own CSRF token (the language form): the stored copy holds a placeholder
that is replaced by the requester's token, so the answer is private to that visitor
(`Cache-Control: private, no-cache`: no shared proxy keeps it, and a browser asks
again, e.g. right after signing in). While one worker rebuilds an expired page the
others keep serving the previous copy instead of all rendering it at once.

`shared_content()`: a signed-in page's content block, rendered once for every user the
view has already let in (the view's access rule runs first, and the copy holds nothing
of the user: no CSRF token, no name), for PROCOMUN_SHARED_CONTENT_CACHE_SECONDS
(production 30, development and tests 0). The page around it (header, CSRF tokens,
flashed messages) is rendered fresh for each request. Besides its lifetime, the copy has
a version: `invalidated_by()` names the models (or columns) it shows, and the commit of
any transaction that wrote one of them bumps the version, so whoever acted sees the
result on their next request, and a copy of an older version is never served, not even
while another worker rebuilds it. The lifetime bounds what no session on this host
writes (raw SQL, another host, the date).

`personal_page()`: the whole of such a page, kept for the session it was given to, for
PROCOMUN_PERSONAL_PAGE_CACHE_SECONDS (production 30, development and tests 0), as long as
nothing it shows has changed: the shared content's version, the user's name, roles,
language and unread notifications, the session's CSRF secret and language, the request's
Accept-Language, the city's date. On a hit the user is checked by one statement with the
rule every signed-in request applies (`security.session_identity`) and nothing is rendered;
anything else (a flashed message, no CSRF secret yet, a user the check refuses) goes
through the view as usual."""
import fcntl
import hashlib
import os
import secrets
import tempfile
import time
from functools import wraps
from itertools import chain
from pathlib import Path

from flask import after_this_request, current_app, g, has_app_context, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from .extensions import db

CSRF_PLACEHOLDER = "__procomun_csrf_token__"
# The version of what every public page and export may show of moderated text: a hidden or restored
# item bumps it (see invalidated_by), so no cached copy shows it as it was, not even for a moment.
PUBLIC_CONTENT = "public-content"
FOLDER = "page-cache"
# Query strings are the visitor's to choose: past this many copies, expired ones are swept and,
# if the folder is still full, pages are served uncached rather than filling the disk.
MAX_COPIES = 5000


def cacheable_request() -> bool:
    return (request.method in ("GET", "HEAD") and not current_user.is_authenticated
            and not session.get("_flashes"))


def _folder() -> Path:
    return Path(current_app.instance_path) / FOLDER


def _store(path: Path, text: str) -> None:
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False)
    with handle:
        handle.write(text)
    os.replace(handle.name, path)  # atomic: readers see the old copy or the new one


def _room_for_one_more(folder: Path, ttl: int) -> bool:
    copies = [entry for entry in os.scandir(folder) if entry.name.endswith(".html")]
    if len(copies) < MAX_COPIES:
        return True
    now = time.time()
    for entry in copies:
        try:
            if now - entry.stat().st_mtime >= ttl:
                os.unlink(entry.path)
                Path(entry.path).with_suffix(".lock").unlink(missing_ok=True)
        except OSError:
            pass  # another worker swept it first
    return sum(1 for entry in os.scandir(folder) if entry.name.endswith(".html")) < MAX_COPIES


def _read(page: Path, ttl: int, version: str, fresh_only: bool) -> str | None:
    """The stored copy if it is of `version` (and, with fresh_only, younger than `ttl`)."""
    try:
        age = time.time() - page.stat().st_mtime
        if fresh_only and age >= ttl:
            return None
        stamp, _, html = page.read_text(encoding="utf-8").partition("\n")
    except OSError:
        return None
    return html if stamp == version else None


def _through_cache(identity: str, ttl: int, render, version: str = ""):
    """("hit" or "stale", the stored HTML), or ("miss", the first of what `render()` returned).
    `render()` returns (its result, the HTML to store or None to store nothing)."""
    folder = _folder()
    page = folder / (hashlib.sha256(identity.encode()).hexdigest()[:32] + ".html")
    html = _read(page, ttl, version, fresh_only=True)
    if html is not None:
        return "hit", html
    folder.mkdir(parents=True, exist_ok=True)
    with open(page.with_suffix(".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            stale = _read(page, ttl, version, fresh_only=False)
            if stale is not None:  # another worker is rebuilding it: the previous copy will do
                return "stale", stale
            fcntl.flock(lock, fcntl.LOCK_EX)  # the first render of this version: wait for it
        html = _read(page, ttl, version, fresh_only=True)
        if html is not None:
            return "hit", html
        result, html = render()
        if html is not None and (page.exists() or _room_for_one_more(folder, ttl)):
            _store(page, f"{version}\n{html}")
        return "miss", result


def _private(response, status: str):
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.update(("Cookie", "Accept-Language"))
    response.headers["X-Page-Cache"] = status
    return response


def cached_public_page(seconds: int | None = None):
    """Decorate a public HTML view; `seconds` caps the configured lifetime for this page."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            ttl = current_app.config.get("PROCOMUN_PUBLIC_PAGE_CACHE_SECONDS", 0)
            if seconds is not None:
                ttl = min(ttl, seconds)
            if not ttl or not cacheable_request():
                return view(*args, **kwargs)

            def render():
                response = current_app.make_response(view(*args, **kwargs))
                if response.status_code != 200 or response.mimetype != "text/html" or response.is_streamed \
                        or session.get("_flashes"):
                    return response, None
                html = response.get_data(as_text=True)
                token = g.get("csrf_token")
                return _private(response, "miss"), html.replace(token, CSRF_PLACEHOLDER) if token else html

            identity = f"{request.host_url}|{request.path}|{request.query_string.decode()}|{get_locale()}"
            status, answer = _through_cache(identity, ttl, render, current_version(PUBLIC_CONTENT))
            if status == "miss":
                return answer
            return _private(current_app.response_class(answer.replace(CSRF_PLACEHOLDER, generate_csrf()),
                                                       mimetype="text/html"), status)
        return wrapped
    return decorator


# Shared content of signed-in pages -------------------------------------------------------

_WATCHERS: list[tuple[str, type, tuple[str, ...]]] = []  # (content name, model, columns or () for any)
_CHANGED = "procomun_shared_content_changed"
# Versions matter only while some copy is kept: public pages, shared content, kept pages, exports.
_CACHES = ("PROCOMUN_PUBLIC_PAGE_CACHE_SECONDS", "PROCOMUN_SHARED_CONTENT_CACHE_SECONDS",
           "PROCOMUN_PERSONAL_PAGE_CACHE_SECONDS", "PROCOMUN_OPEN_DATA_CACHE_SECONDS")


def invalidated_by(name: str, *watched) -> None:
    """Declare what shared content `name` shows: each item a model (any row added, changed or
    deleted) or a tuple (model, column, …): a row deleted or those columns changed (a new row
    of such a model shows only once a watched row refers to it)."""
    for item in watched:
        model, *columns = item if isinstance(item, tuple) else (item,)
        _WATCHERS.append((name, model, tuple(columns)))


def _version_file(name: str) -> Path:
    return _folder() / f"{name}.version"


def current_version(name: str) -> str:
    try:
        return _version_file(name).read_text(encoding="utf-8")
    except OSError:
        return "0"


def bump(name: str) -> None:
    """Make every stored copy of `name` obsolete (each worker sees it at its next request)."""
    path = _version_file(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    _store(path, secrets.token_hex(8))


@event.listens_for(Session, "after_flush")
def _note_written_rows(flushing, flush_context):
    if not _WATCHERS:
        return
    changed = flushing.info.setdefault(_CHANGED, set())
    for row in chain(flushing.new, flushing.dirty, flushing.deleted):
        for name, model, columns in _WATCHERS:
            if name in changed or not isinstance(row, model):
                continue
            if columns and (row in flushing.new or (row in flushing.dirty and not any(
                    inspect(row).attrs[column].history.has_changes() for column in columns))):
                continue
            changed.add(name)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_statements(state):
    if (state.is_insert or state.is_update or state.is_delete) and state.bind_mapper is not None:
        written = state.bind_mapper.class_
        names = {name for name, model, _ in _WATCHERS if issubclass(written, model)}
        if names:
            state.session.info.setdefault(_CHANGED, set()).update(names)


@event.listens_for(Session, "after_commit")
def _bump_after_commit(committed):
    # A savepoint's release is not the commit: until the outer transaction commits, no one else
    # can read the rows, and a copy rebuilt now would show the old ones under the new version.
    if committed.in_nested_transaction():
        return
    names = committed.info.pop(_CHANGED, None)
    if names and has_app_context() and any(current_app.config.get(setting) for setting in _CACHES):
        for name in names:
            bump(name)


def shared_content(name: str, render, *, vary: str = "") -> Markup:
    """The HTML `render()` returns, shared by every worker and every user who reached the view
    (call it only after the access check): for this host, path, query string, language and
    `vary` (e.g. the date it depends on). Rendered fresh when caching is off, for a request
    other than GET/HEAD, or when the render turned out to hold the user's CSRF token."""
    ttl = current_app.config.get("PROCOMUN_SHARED_CONTENT_CACHE_SECONDS", 0)
    if not ttl or request.method not in ("GET", "HEAD"):
        return Markup(render())
    version = current_version(name)

    def build():
        # Read what is committed now, after the version was read: a read transaction already
        # open in the session (SQLite keeps the snapshot of its first statement) could show
        # rows older than `version`.
        reading = db.session()
        if reading.in_transaction() and not (reading.new or reading.dirty or reading.deleted):
            reading.rollback()
        html = str(render())
        token = g.get("csrf_token")
        return html, None if token and token in html else html

    identity = f"{name}|{request.host_url}|{request.path}|{request.query_string.decode()}|{get_locale()}|{vary}"
    status, html = _through_cache(identity, ttl, build, version)

    @after_this_request
    def mark(response):
        response.headers["X-Page-Cache"] = f"content {status}"
        return response
    return Markup(html)


# Whole signed-in pages, kept per session -------------------------------------------------

def personal_page(name: str):
    """Decorate a signed-in HTML view, above its access decorator (whose roles a kept page is served
    to), whose page shows the shared content `name` and, of its user, only what session_identity reads."""
    from .i18n import city_today
    from .security import session_identity

    def decorator(view):
        access = getattr(view, "access", None)
        if access is None or not access.login or not access.roles:
            raise TypeError(f"personal_page({name!r}) goes above a view's roles_required(...)")
        wanted = access.roles

        @wraps(view)
        def wrapped(*args, **kwargs):
            ttl = current_app.config.get("PROCOMUN_PERSONAL_PAGE_CACHE_SECONDS", 0)
            secret = session.get("csrf_token")
            if not ttl or request.method not in ("GET", "HEAD") or not secret or session.get("_flashes") \
                    or "_user_id" not in session:
                return view(*args, **kwargs)
            user = session_identity(session["_user_id"])
            if user is None or not user.roles & wanted:
                return view(*args, **kwargs)  # the view's own check answers (sign in, 403)

            def render():
                response = current_app.make_response(view(*args, **kwargs))
                # Kept only if rendered for this very session as it came (tokens from its secret).
                keep = (response.status_code == 200 and response.mimetype == "text/html" and not response.is_streamed
                        and not session.get("_flashes") and not session.modified)
                return response, response.get_data(as_text=True) if keep else None

            identity = "|".join(map(str, (
                "personal", name, request.host_url, request.path, request.query_string.decode(), user.id,
                user.auth_version, user.name, sorted(user.roles), user.locale, user.unread, session.get("locale"),
                request.headers.get("Accept-Language", ""), secret, city_today().isoformat())))
            status, answer = _through_cache(identity, ttl, render, current_version(name))
            if status == "miss":
                return answer
            response = current_app.response_class(answer, mimetype="text/html")
            response.headers["Cache-Control"] = "private, no-store"
            response.vary.add("Cookie")
            response.headers["X-Page-Cache"] = f"page {status}"
            return response
        return wrapped
    return decorator
