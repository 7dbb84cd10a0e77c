"""Public pages rendered once and served to every anonymous visitor for a short time.

The public register, a council's page and the vouchers' open books are the same for
every anonymous visitor speaking the same language, and at a national scale each
render reads a large register. `cached_public_page()` keeps the rendered HTML in a
file shared by every gunicorn worker (instance/page-cache), keyed by host, path,
query string and language, for PROCOMUN_PUBLIC_PAGE_CACHE_SECONDS (production 30,
development and tests 0: off).

Only anonymous GET/HEAD requests without flashed messages are served from it or
stored in it; a signed-in user always gets a fresh page. Every page carries the
visitor's own CSRF token (the language form): the stored copy holds a placeholder
that is replaced by the requester's token, so the answer is private to that visitor
(`Cache-Control: private, no-cache`: no shared proxy keeps it, and a browser asks
again, e.g. right after signing in). While one worker rebuilds an expired page the
others keep serving the previous copy instead of all rendering it at once."""
import fcntl
import hashlib
import os
import tempfile
import time
from functools import wraps
from pathlib import Path

from flask import current_app, g, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

CSRF_PLACEHOLDER = "__procomun_csrf_token__"
FOLDER = "page-cache"
# Query strings are the visitor's to choose: past this many copies, expired ones are swept and,
# if the folder is still full, pages are served uncached rather than filling the disk.
MAX_COPIES = 5000


def cacheable_request() -> bool:
    return (request.method in ("GET", "HEAD") and not current_user.is_authenticated
            and not session.get("_flashes"))


def _answer(html: str, status: str):
    response = current_app.response_class(html.replace(CSRF_PLACEHOLDER, generate_csrf()),
                                          mimetype="text/html")
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.update(("Cookie", "Accept-Language"))
    response.headers["X-Page-Cache"] = status
    return response


def _store(path: Path, html: str) -> None:
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False)
    with handle:
        handle.write(html)
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
            identity = f"{request.host_url}|{request.path}|{request.query_string.decode()}|{get_locale()}"
            folder = Path(current_app.instance_path) / FOLDER
            page = folder / (hashlib.sha256(identity.encode()).hexdigest()[:32] + ".html")

            def read(fresh_only: bool):
                try:
                    age = time.time() - page.stat().st_mtime
                    if fresh_only and age >= ttl:
                        return None
                    return page.read_text(encoding="utf-8")
                except OSError:
                    return None

            html = read(fresh_only=True)
            if html is not None:
                return _answer(html, "hit")
            folder.mkdir(parents=True, exist_ok=True)
            with open(page.with_suffix(".lock"), "w") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    stale = read(fresh_only=False)
                    if stale is not None:  # another worker is rebuilding it: the previous copy will do
                        return _answer(stale, "stale")
                    fcntl.flock(lock, fcntl.LOCK_EX)  # the very first render: wait for it
                html = read(fresh_only=True)
                if html is not None:
                    return _answer(html, "hit")
                response = current_app.make_response(view(*args, **kwargs))
                if response.status_code != 200 or response.mimetype != "text/html" or response.is_streamed \
                        or session.get("_flashes"):
                    return response
                html = response.get_data(as_text=True)
                token = g.get("csrf_token")
                if page.exists() or _room_for_one_more(folder, ttl):
                    _store(page, html.replace(token, CSRF_PLACEHOLDER) if token else html)
                response.headers["Cache-Control"] = "private, no-cache"
                response.vary.update(("Cookie", "Accept-Language"))
                response.headers["X-Page-Cache"] = "miss"
                return response
        return wrapped
    return decorator
