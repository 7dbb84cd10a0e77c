"""Accounts over HTTP: register, sign in and out, profile, tokens, reset, admin."""
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..errors import DomainError
from ..extensions import db
from ..forms import attach_error
from ..organisations.operations import all_organisations
from ..pages import safe_next
from ..security import login_required, public, roles_required
from . import bp, resets
from . import operations as ops
from .forms import ForgotForm, LoginForm, PasswordForm, ProfileForm, RegisterForm, ResetForm, TokenForm, UserRolesForm
from .models import ApiToken, Role
from .signin import authenticate


def _start_session(user, remember=False):
    # A fresh session on every sign-in, so a session planted before it is worthless.
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    login_user(user, remember=remember)


@bp.route("/register", methods=["GET", "POST"])
@public
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            # The account speaks the language the person signed up in (chosen, or their browser's),
            # so that emails reach them in it rather than in the city's default.
            user = ops.register_citizen(form.email.data, form.name.data, form.password.data,
                                        session.get("locale") or str(get_locale()))
        except DomainError as error:
            attach_error(form, error)
        else:
            _start_session(user)
            flash(_("Welcome, %(name)s. Your citizen account is ready.", name=user.name), "success")
            # Back to what sent them to sign in (a letter's activation page, say), else home.
            return redirect(safe_next(request.args.get("next")))
    return render_template("accounts/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data, request.remote_addr or "")
        except DomainError as error:
            attach_error(form, error)
        else:
            _start_session(user, remember=form.remember.data)
            flash(_("You are signed in."), "success")
            return redirect(safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form)


def _end_session():
    """Sign this browser out: the session emptied (its language kept) and the remember cookie
    deleted (Flask-Login's "_remember": "clear", set after the clearing, so it is not wiped)."""
    locale = session.get("locale")
    session.clear()
    logout_user()
    if locale:
        session["locale"] = locale


@bp.route("/logout", methods=["POST"])
@public
def logout():
    if current_user.is_authenticated:
        ops.end_sessions(current_user)
    _end_session()
    flash(_("You are signed out, on this device and every other one."), "info")
    return redirect(url_for("main.home"))


@bp.route("/logout-everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    ops.end_sessions(current_user, everywhere_asked=True)
    _end_session()
    flash(_("Every session of your account has ended, on every device. Sign in again here."), "info")
    return redirect(url_for(".login"))


@bp.route("/", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user if request.method == "GET" else None)
    if form.validate_on_submit():
        ops.update_profile(current_user, form.name.data, form.locale.data)
        if form.locale.data:
            session["locale"] = form.locale.data
        else:
            session.pop("locale", None)
        flash(_("Your profile is saved."), "success")
        return redirect(url_for(".profile"))
    return render_template("accounts/profile.html", form=form, password_form=PasswordForm(),
                           token_form=TokenForm(), tokens=ops.tokens_of(current_user))


@bp.route("/password", methods=["POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            ops.change_password(current_user, form.current_password.data, form.password.data)
        except DomainError as error:
            attach_error(form, error)
        else:
            _start_session(current_user._get_current_object())
            flash(_("Your password is changed. Other devices have been signed out."), "success")
            return redirect(url_for(".profile"))
    return render_template("accounts/profile.html", form=ProfileForm(obj=current_user),
                           password_form=form, token_form=TokenForm(),
                           tokens=ops.tokens_of(current_user)), 422


@bp.route("/tokens", methods=["POST"])
@login_required
def create_token():
    form = TokenForm()
    if form.validate_on_submit():
        token, _row = ops.issue_token(current_user, form.name.data)
        return render_template("accounts/token_created.html", token=token)
    return render_template("accounts/profile.html", form=ProfileForm(obj=current_user),
                           password_form=PasswordForm(), token_form=form,
                           tokens=ops.tokens_of(current_user)), 422


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id):
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    ops.revoke_token(row, actor=current_user)
    flash(_("The token is revoked."), "success")
    return redirect(url_for(".profile"))


@bp.route("/forgot", methods=["GET", "POST"])
@public
def forgot():
    form = ForgotForm()
    if form.validate_on_submit():
        try:
            resets.request_reset(form.email.data, request.remote_addr or "", str(get_locale()))
        except DomainError as error:
            attach_error(form, error)
            return render_template("accounts/forgot.html", form=form, hours=resets.RESET_HOURS), error.status
        # The same page whether or not an account has this email.
        return render_template("accounts/forgot_sent.html", email=form.email.data, hours=resets.RESET_HOURS)
    return render_template("accounts/forgot.html", form=form, hours=resets.RESET_HOURS), 422 if form.errors else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset(token):
    try:
        user = resets.user_for_reset(token)
    except DomainError as error:
        return render_template("accounts/reset_invalid.html", message=str(error)), 410
    form = ResetForm()
    if form.validate_on_submit():
        try:
            user = resets.reset_password(token, form.password.data)
        except DomainError as error:
            if error.status == 410:  # spent meanwhile (another tab)
                return render_template("accounts/reset_invalid.html", message=str(error)), 410
            attach_error(form, error)
        else:
            _start_session(user)
            flash(_("Your new password is set, and you are signed in."), "success")
            return redirect(url_for("main.home"))
    return render_template("accounts/reset.html", form=form, user=user), 422 if form.errors else 200


@bp.route("/admin/users")
@roles_required(Role.ADMIN)
def users():
    query = request.args.get("q", "").strip()
    page = ops.list_users(request.args.get("page", 1, type=int), query=query)
    return render_template("accounts/users.html", page=page, query=query)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_user(user_id):
    user = ops.user_by_id(user_id)
    organisations = all_organisations()
    form = UserRolesForm(data=None if request.method == "POST" else {
        "roles": sorted(user.roles), "organisations": [o.id for o in user.organisations],
        "active": user.active})
    form.roles.choices = [(r.value, r.label) for r in Role]
    form.organisations.choices = [(o.id, o.name) for o in organisations]
    if form.validate_on_submit():
        chosen = [o for o in organisations if o.id in set(form.organisations.data)]
        try:
            ops.update_account(user, form.roles.data, chosen, form.active.data, actor=current_user)
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("The account of %(email)s is saved.", email=user.email), "success")
            return redirect(url_for(".users"))
    return render_template("accounts/edit_user.html", form=form, user=user), 422 if form.errors else 200
