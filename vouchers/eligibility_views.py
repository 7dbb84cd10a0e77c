"""Pages for eligibility lists (officials) and for residents who verify their account (#23)."""
import codecs

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm

from app.accounts.models import Role
from app.errors import DomainError, Invalid
from app.forms import attach_error
from app.security import login_required, roles_required

from . import bp, eligibility, programmes
from .forms import EligibilityListForm, ResidentVerificationForm

officials = roles_required(Role.OFFICIAL, Role.ADMIN)


@bp.route("/programmes/<slug>/eligibility", methods=["GET", "POST"])
@officials
def eligibility_list(slug):
    """Load a programme's eligibility list, or preview it with a dry run."""
    item = programmes.programme_by_slug(slug)
    form = EligibilityListForm()
    check = None
    if form.validate_on_submit():
        try:
            check = eligibility.load_list(codecs.iterdecode(form.file.data.stream, "utf-8-sig"), item,
                                          actor=current_user, dry_run=form.dry_run.data)
        except (DomainError, UnicodeDecodeError) as error:
            attach_error(form, error if isinstance(error, DomainError) else Invalid(
                _("The file is not UTF-8 text."), field="file"))
    return render_template("vouchers/eligibility.html", programme=item, form=form, check=check,
                           issue_form=FlaskForm(), size=eligibility.list_size(item)), 422 if form.errors else 200


@bp.route("/programmes/<slug>/eligibility/issue", methods=["POST"])
@officials
def eligibility_issue(slug):
    """Issue the programme's voucher to the verified residents on its list who have not had it."""
    item = programmes.programme_by_slug(slug)
    try:
        issued = eligibility.issue_to_verified(item, actor=current_user)
    except DomainError as error:
        flash(str(error), "error")
    else:
        flash(ngettext("%(num)s voucher issued to verified residents.",
                       "%(num)s vouchers issued to verified residents.", issued), "success")
    return redirect(url_for(".eligibility_list", slug=item.slug))


@bp.route("/verify", methods=["GET", "POST"])
@login_required
def verify_resident():
    """A resident proves they are on the city's lists with their identifier and date of birth."""
    form = ResidentVerificationForm()
    verified = eligibility.verification_of(current_user)
    if verified is None and form.validate_on_submit():
        try:
            issued = eligibility.verify_resident(current_user, form.identifier.data, form.birth_date.data)
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("Your account is verified as a resident."), "success")
            if issued:
                flash(ngettext("%(num)s voucher was issued to you.", "%(num)s vouchers were issued to you.",
                               len(issued)), "success")
            return redirect(url_for(".mine"))
    return render_template("vouchers/verify.html", form=form, verified=verified), 422 if form.errors else 200
