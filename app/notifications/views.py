"""The notification centre, preferences, follow buttons, one-click unsubscribe,
and the administrators' view of the outgoing mail."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.models import Role
from ..errors import DomainError
from ..extensions import csrf
from ..forms import attach_error
from ..pages import safe_next
from ..security import login_required, public, roles_required, unread_on_arrival
from . import bp, mail
from . import operations as ops
from .forms import modes_from, preferences_form
from .models import UNREAD_SHOWN
from .registry import KINDS, followable_kinds


@bp.route("/")
@login_required
def index():
    page = ops.notifications_of(current_user, page=request.args.get("page", 1, type=int))
    return render_template("notifications/index.html", page=page, kinds=KINDS)


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id):
    ops.mark_read(current_user, notification_id)
    return redirect(safe_next(request.form.get("next")) if request.form.get("next")
                    else url_for("notifications.index"))


@bp.route("/read", methods=["POST"])
@login_required
def mark_all_read():
    ops.mark_all_read(current_user)
    flash(_("Every notification is marked as read."), "success")
    return redirect(url_for("notifications.index"))


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    kinds = followable_kinds()
    form = preferences_form(kinds, ops.preferences(current_user),
                            formdata=request.form if request.method == "POST" else None)
    if form.validate_on_submit():
        try:
            ops.set_preferences(current_user, modes_from(form, kinds))
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("Your notification preferences are saved."), "success")
            return redirect(url_for("notifications.preferences"))
    return render_template("notifications/preferences.html", form=form, kinds=kinds,
                           followed=ops.followed(current_user))


@bp.route("/follow/<subject_type>/<int:subject_id>", methods=["POST"])
@login_required
def follow(subject_type, subject_id):
    ops.follow_checked(current_user, subject_type, subject_id)
    flash(_("You will hear about what happens here."), "success")
    return redirect(safe_next(request.form.get("next"), request.referrer))


@bp.route("/unfollow/<subject_type>/<int:subject_id>", methods=["POST"])
@login_required
def unfollow(subject_type, subject_id):
    ops.unfollow(current_user, subject_type, subject_id)
    flash(_("You no longer follow this."), "success")
    return redirect(safe_next(request.form.get("next"), request.referrer))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # mail clients post the one-click unsubscribe without a session: the signed token is the proof
@public
def unsubscribe(token):
    found = mail.read_unsubscribe_token(token)
    if found is None:
        abort(404)
    user_id, kinds = found
    labels = [KINDS[k].label for k in kinds if k in KINDS]
    if request.method == "POST":
        ops.turn_off(user_id, kinds)
        return render_template("notifications/unsubscribed.html", labels=labels)
    return render_template("notifications/unsubscribe.html", labels=labels, token=token)


@bp.route("/mail")
@roles_required(Role.ADMIN)
def mail_outbox():
    counts, failures = ops.mail_overview()
    return render_template("notifications/mail.html", counts=counts, failures=failures,
                           files=mail.eml_files()[:200], server=current_app.config["MAIL_SERVER"])


@bp.route("/mail/<name>")
@roles_required(Role.ADMIN)
def mail_file(name):
    files = {path.name: path for path in mail.eml_files()}
    if name not in files:
        abort(404)
    return current_app.response_class(files[name].read_bytes(), mimetype="text/plain")


@bp.app_template_global()
def unread_notifications() -> int:
    """The header's bell: the signed-in person's unread count (up to unread_shown + 1), as the
    request found it (read with the person: marking read answers with a redirect, never a page)."""
    if not current_user.is_authenticated:
        return 0
    seen = unread_on_arrival(current_user)
    return ops.unread_count(current_user) if seen is None else seen


bp.add_app_template_global(UNREAD_SHOWN, "unread_shown")


@bp.app_template_global()
def follow_state(subject_type, subject_id):
    """For the follow button macro (imported without context): None for visitors."""
    if not current_user.is_authenticated:
        return None
    return {"following": ops.is_following(current_user, subject_type, subject_id), "next": request.full_path}
