"""The desk that keeps working offline (issue #24): its web app manifest and service worker, the
endpoint its queued sales are sent to when the connection returns, and the officials' pages of
offline terms and conflicts. Routes on the vouchers blueprint (vouchers/views.py imports this file)."""
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role
from app.errors import DomainError, Invalid
from app.forms import attach_error
from app.organisations import operations as organisations
from app.security import public, roles_required

from . import allowances, bp, programmes
from .forms import OfflineTermsForm

officials = roles_required(Role.OFFICIAL, Role.ADMIN)
members = roles_required(Role.ORG_MEMBER)

# What the service worker keeps for the desk to open offline: its page (as last seen, in the language it
# was seen in), its scripts and styles. Bump the version when this list changes.
WORKER_VERSION = "desk-v2"
DESK_STATIC = ["css/procomun.css", "js/qr-scan.js", "desk/offline-desk.js", "vendor/jsqr/jsQR.js",
               "desk/icon.svg", "favicon.svg"]


@bp.app_template_global("offline_reason")
def offline_reason(reason: str) -> str:
    return allowances.reason_text(reason)


@bp.route("/desk.webmanifest")
@public
def desk_manifest():
    manifest = {
        "name": _("Front desk"), "short_name": _("Desk"), "start_url": url_for(".desk"), "scope": url_for(".desk"),
        "display": "standalone", "background_color": "#ffffff", "theme_color": "#1f5f8b",
        "icons": [{"src": url_for("static", filename="desk/icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    response = current_app.response_class(current_app.json.dumps(manifest), mimetype="application/manifest+json")
    return response


@bp.route("/desk-sw.js")
@public
def desk_worker():
    """Served from /vouchers/, so that its scope covers /vouchers/desk (a worker's scope is its folder)."""
    body = render_template("vouchers/desk-sw.js", version=WORKER_VERSION, desk=url_for(".desk"),
                           assets=[url_for("static", filename=name) for name in DESK_STATIC])
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/desk/ping")
@public
def desk_ping():
    """What the desk asks before a scanned sale: a connection the device calls up may still not reach
    this server (a captive portal, a router without uplink); then the sale is kept offline instead."""
    response = current_app.response_class(status=204)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/desk/offline-sales", methods=["POST"])
@members
def offline_sales():
    """One queued sale (JSON, with the session's CSRF token in X-CSRFToken), settled once by its key."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="bad_request", message=_("Send the sale as JSON.")), 400
    try:
        organisation = organisations.organisation_for_member(current_user, body.get("organisation") or None)
        sale, replayed = allowances.record_offline_sale(
            organisation, actor=current_user, allowance_text=str(body.get("allowance") or ""),
            amount_cents=body.get("amount_cents"), category=str(body.get("category") or ""),
            key=body.get("key"), offline_at=_instant(body.get("offline_at")))
    except DomainError as error:
        return jsonify(error=error.code or "refused", message=str(error), field=getattr(error, "field", None)), \
            error.status
    return jsonify(allowances.sale_answer(sale, replayed)), 200 if replayed else 201


def _instant(value) -> datetime:
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(_("The time of the offline sale is not a time it could have been made."),
                      field="offline_at") from None
    if at.tzinfo is None:
        raise Invalid(_("The time of the offline sale is not a time it could have been made."), field="offline_at")
    return at


@bp.route("/offline")
@officials
def offline():
    return render_template("vouchers/offline.html", programmes=allowances.programme_figures(),
                           organisations=allowances.organisation_figures(),
                           conflicts=allowances.conflicts(page=request.args.get("page", 1, type=int)),
                           repeated=allowances.repeated_conflicts())


@bp.route("/programmes/<slug>/offline", methods=["GET", "POST"])
@officials
def programme_offline(slug):
    item = programmes.programme_by_slug(slug)
    form = OfflineTermsForm(obj=None if request.method == "POST" else _terms(item))
    if form.validate_on_submit():
        try:
            allowances.set_offline_terms(item, allowance_cents=form.allowance.cents,
                                         sales_per_day=form.sales_per_day.data, validity_days=form.validity_days.data,
                                         risk_budget_cents=form.risk_budget.cents, actor=current_user)
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("The offline terms of %(name)s are saved.", name=item.name), "success")
            return redirect(url_for(".offline"))
    return render_template("vouchers/programme_offline.html", programme=item, form=form,
                           paid=allowances.risk_paid(item)), 422 if form.errors else 200


def _terms(programme) -> SimpleNamespace:
    """The form's starting values: the programme's terms now."""
    return SimpleNamespace(allowance=Decimal(programme.offline_allowance_cents) / 100,
                           sales_per_day=programme.offline_sales_per_day,
                           validity_days=programme.offline_validity_days,
                           risk_budget=Decimal(programme.offline_risk_budget_cents) / 100)
