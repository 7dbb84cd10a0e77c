"""Pages that belong to the platform as a whole: home, the open-data register,
the language switcher, health, and the HTML error pages."""
from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from .config import LOCALES
from .database import transaction
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


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never bounce a visitor to another host.
    if not target:
        return url_for("main.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("main.home")
    return target


@bp.route("/locale", methods=["POST"])
@public
def set_locale():
    locale = request.form.get("locale", "")
    if locale in LOCALES:
        session["locale"] = locale
        if current_user.is_authenticated and current_user.locale != locale:
            with transaction():
                current_user.locale = locale
    return redirect(_safe_next(request.form.get("next") or request.referrer))


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


ERROR_TITLES = {
    400: lambda: _("Bad request"),
    403: lambda: _("Not allowed"),
    404: lambda: _("Page not found"),
    405: lambda: _("Method not allowed"),
    409: lambda: _("This cannot be done now"),
    410: lambda: _("No longer available"),
    422: lambda: _("This cannot be done"),
    413: lambda: _("Upload too large"),
    429: lambda: _("Too many attempts"),
    500: lambda: _("Something went wrong"),
}


def html_error(error: HTTPException, message=None):
    status = error.code or 500
    title = ERROR_TITLES.get(status, ERROR_TITLES[500] if status >= 500 else ERROR_TITLES[400])()
    return render_template("error.html", status=status, title=title, message=message), status
