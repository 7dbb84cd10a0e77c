"""Pages for letters by post (#23): officials print a programme's letters; whoever received one
activates it on their account."""
import tempfile

from flask import flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm

from app.accounts.models import Role
from app.errors import DomainError
from app.forms import attach_error
from app.security import login_required, roles_required

from . import bp, letters, programmes
from .forms import LetterActivationForm

officials = roles_required(Role.OFFICIAL, Role.ADMIN)


@bp.route("/programmes/<slug>/letters.pdf", methods=["POST"])
@officials
def programme_letters(slug):
    """The programme's letters as one PDF, written to a temporary file (never held in memory)."""
    item = programmes.programme_by_slug(slug)
    if not FlaskForm().validate_on_submit():
        flash(_("The form expired: try again."), "error")
        return redirect(url_for(".eligibility_list", slug=item.slug))
    handle = tempfile.TemporaryFile()
    try:
        _printed, issued = letters.print_letters(item, handle, actor=current_user)
    except DomainError as error:
        handle.close()
        flash(str(error), "error")
        return redirect(url_for(".eligibility_list", slug=item.slug))
    if issued.over_budget:  # shown on the next page the official opens; the download is this answer
        flash(ngettext("%(num)s person on the list got no letter: the programme's budget ran out.",
                       "%(num)s people on the list got no letter: the programme's budget ran out.",
                       issued.over_budget), "error")
    handle.seek(0)

    return send_file(handle, mimetype="application/pdf", download_name=f"letters-{item.slug}.pdf",
                     as_attachment=True)


@bp.route("/activate", methods=["GET", "POST"])
@login_required
def activate_letter():
    """Whoever received a voucher by post attaches it to their account and may set its PIN."""
    form = LetterActivationForm()
    if form.validate_on_submit():
        try:
            voucher = letters.activate(current_user, form.code.data, form.pin.data or None)
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("The voucher %(code)s is now in your account.", code=voucher.code), "success")
            return redirect(url_for(".voucher", voucher_id=voucher.id))
    return render_template("vouchers/activate.html", form=form), 422 if form.errors else 200
