"""Pages that belong to the platform as a whole: home, the open-data register,
the language switcher, health, and the HTML error pages."""
import re
from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from .accounts import operations as accounts
from .config import LOCALES
from .extensions import db
from .opendata import licence_name, licence_url
from .security import public

bp = Blueprint("main", __name__)


@bp.route("/")
@public
def home():
    return render_template("home.html", modules=current_app.extensions["procomun_modules"])


@bp.route("/open-data/")
@public
def open_data():
    return render_template("open_data.html", datasets=current_app.extensions["procomun_datasets"],
                           licence_url=licence_url(), licence_name=licence_name())


# A character that ends or splits a header line, or that a browser reads as a slash.
_UNSAFE_IN_PATH = re.compile(r"[\x00-\x20\x7f\\]")


def same_site_path(target: str | None) -> str | None:
    """`target` if it is a plain path on this site ("/pacts/3?tab=x"), else None: never a host
    ("//evil", "/\\evil", "https:…", "javascript:…"), never a character that would break the
    Location header (CR, LF, NUL) or that a browser reads as a slash (a backslash)."""
    if not target or len(target) > 2000 or not target.startswith("/") or _UNSAFE_IN_PATH.search(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    return target


def safe_next(target: str | None, referrer: str | None = None) -> str:
    """Where to send a visitor after a form: `target` when it is a plain same-site path, else the
    referring page of this site (its path), else the home page. What anything else names is
    ignored, so a crafted `next` can neither leave the site nor fail the answer."""
    path = same_site_path(target)
    if path is None and referrer:
        parts = urlsplit(referrer) if _UNSAFE_IN_PATH.search(referrer) is None else None
        if parts is not None and parts.scheme in ("http", "https") and parts.netloc == request.host:
            path = same_site_path(parts.path + (f"?{parts.query}" if parts.query else ""))
    return path or url_for("main.home")


@bp.route("/locale", methods=["POST"])
@public
def set_locale():
    locale = request.form.get("locale", "")
    if locale in LOCALES:
        session["locale"] = locale
        if current_user.is_authenticated:
            accounts.choose_language(current_user, locale)
    return redirect(safe_next(request.form.get("next"), request.referrer))


@bp.route("/healthz")
@public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        return jsonify(status="ok", database="reachable")
    except Exception as exc:  # the point is to report any failure, not raise it
        db.session.rollback()
        current_app.logger.warning("health check: database unreachable: %s", exc)
        return jsonify(status="error", database="unreachable"), 503
