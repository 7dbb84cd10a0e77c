"""Moderation pages: the Report form, the moderators' queue and case pages, the author's appeal,
and the public log."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.models import Role
from ..errors import DomainError
from ..forms import shown_beside_its_field, validated
from ..pagecache import cached_public_page
from ..security import login_required, public, roles_required
from . import bp, decisions, reading, reports
from .cases import may_decide
from .forms import AppealForm, HideForm, ReportForm, RestoreForm, field_of, redaction_form, redaction_of
from .models import CaseState
from .registry import KINDS
from .shown import hidden_notice

moderators = roles_required(Role.MODERATOR)


def _status(error: DomainError) -> int:
    return 429 if error.status == 429 else 422


# Anyone signed in: report -------------------------------------------------------------------

@bp.route("/report/<subject_type>/<int:subject_id>", methods=["GET", "POST"])
@login_required
def report(subject_type, subject_id):
    if subject_type not in KINDS:
        abort(404)
    kind, item = reading.subject(subject_type, subject_id)
    form = ReportForm()
    if form.is_submitted():
        try:
            reports.report(current_user, subject_type, subject_id, validated(form).reason.data, form.details.data)
        except DomainError as error:
            if shown_beside_its_field(form, error):
                return _report_page(kind, item, form, _status(error))
            flash(str(error), "info" if error.code == "already_reported" else "error")
            return redirect(kind.link(item))
        flash(_("Thank you: your report is sent to the moderators. Nobody else will know you sent it."), "success")
        return redirect(kind.link(item))
    return _report_page(kind, item, form)


def _report_page(kind, item, form, status=200):
    return render_template("moderation/report.html", kind=kind, item=item, form=form,
                           texts=[] if item.is_hidden else kind.texts(item).values()), status


# The author: appeal ------------------------------------------------------------------------

@bp.route("/cases/<int:case_id>/appeal", methods=["GET", "POST"])
@login_required
def appeal(case_id):
    case = reading.case_by_id(case_id)
    item = reading.items_of([case])[case.id]
    if not reading.is_author(case, item, current_user):
        abort(404)  # nobody else learns that this person's text was moderated
    form = AppealForm()
    if form.is_submitted():
        try:
            decisions.appeal(case, validated(form).text.data, actor=current_user)
        except DomainError as error:
            if shown_beside_its_field(form, error):
                return _appeal_page(case, item, form, 422)
            flash(str(error), "error")
        else:
            flash(_("Your appeal is sent. A moderator other than the one who hid it will decide."), "success")
        return redirect(url_for(".appeal", case_id=case.id))
    return _appeal_page(case, item, form)


def _appeal_page(case, item, form, status=200):
    kind = KINDS[case.subject_type]
    hiding = next((d for d in reversed(case.decisions) if d.action in ("hidden", "appeal_rejected")), None)
    return render_template("moderation/appeal.html", case=case, kind=kind, item=item, form=form, hiding=hiding,
                           texts=kind.texts(item).values(), appealed=case.appeals and case.appeals[-1]), status


@bp.route("/mine")
@login_required
def mine():
    cases = reading.moderated_for(current_user)
    return render_template("moderation/mine.html", cases=cases, kinds=KINDS, items=reading.items_of(cases))


# Moderators --------------------------------------------------------------------------------

@bp.route("/")
@moderators
def queue():
    page = reading.waiting(page=request.args.get("page", 1, type=int))
    appeals = reading.appeals_waiting()
    cases = [*appeals, *page.items]
    return render_template("moderation/queue.html", page=page, appeals=appeals, kinds=KINDS,
                           items=reading.items_of(cases), reasons=reading.waiting_reasons(cases))


@bp.route("/cases/<int:case_id>")
@moderators
def case(case_id):
    return _case_page(reading.case_by_id(case_id))


def _case_page(case, status=200, **forms):
    item = reading.items_of([case])[case.id]
    if item is None:
        abort(404)
    kind = KINDS[case.subject_type]
    return render_template("moderation/case.html", case=case, kind=kind, item=item, texts=kind.texts(item),
                           hide_form=forms.get("hide_form") or HideForm(formdata=None),
                           restore_form=forms.get("restore_form") or RestoreForm(formdata=None),
                           refusal=_refusal(case, kind, item), CaseState=CaseState), status


def _refusal(case, kind, item) -> str | None:
    """Why the signed-in moderator may not decide this case, if they may not."""
    try:
        may_decide(case, kind, item, current_user)
    except DomainError as error:
        return str(error)
    return None


@bp.route("/cases/<int:case_id>/<any(hide, restore):action>", methods=["POST"])
@moderators
def decide(case_id, action):
    case = reading.case_by_id(case_id)
    form = HideForm() if action == "hide" else RestoreForm()
    try:
        if action == "hide":
            decisions.hide(case, validated(form).reason.data, actor=current_user)
        else:
            decisions.restore(case, actor=current_user, reason=validated(form).note.data)
    except DomainError as error:
        if action == "restore" and error.field == "reason":
            error.field = "note"
        if shown_beside_its_field(form, error):
            return _case_page(case, 422, **{f"{action}_form": form})
        flash(str(error), "error")
        return redirect(url_for(".case", case_id=case.id))
    flash(_("It is hidden, and its author is told why.") if action == "hide"
          else _("It is shown, and the reports on it are settled."), "success")
    return redirect(url_for(".queue"))


@bp.route("/cases/<int:case_id>/redact", methods=["GET", "POST"])
@moderators
def redact(case_id):
    case = reading.case_by_id(case_id)
    item = reading.items_of([case])[case.id]
    if item is None:
        abort(404)
    kind = KINDS[case.subject_type]
    texts = kind.texts(item)
    form = redaction_form(texts)
    if form.is_submitted():
        try:
            validated(form)
            decisions.redact(case, redaction_of(form, texts), form.reason.data, actor=current_user)
        except DomainError as error:
            error.field = field_of(texts, error.field)
            if not shown_beside_its_field(form, error):
                flash(str(error), "error")
                return redirect(url_for(".case", case_id=case.id))
            return render_template("moderation/redact.html", case=case, kind=kind, item=item, form=form), 422
        flash(_("The personal data is removed and the text is shown again. The original is kept out of sight "
                "until the retention period ends."), "success")
        return redirect(url_for(".queue"))
    return render_template("moderation/redact.html", case=case, kind=kind, item=item, form=form)


# Everyone: the public log --------------------------------------------------------------------

@bp.route("/log")
@public
@cached_public_page()
def log():
    page = reading.public_log(page=request.args.get("page", 1, type=int))
    cases = [decision.case for decision in page.items]
    return render_template("moderation/log.html", page=page, kinds=KINDS, items=reading.items_of(cases))


@bp.app_template_global("hidden_notice")
def hidden_notice_global(reason):
    return hidden_notice(reason)


@bp.app_template_global()
def report_url(subject_type: str, subject_id: int) -> str | None:
    """Where the signed-in reader reports an item; None for visitors (the Report link is for accounts)."""
    if not current_user.is_authenticated:
        return None
    return url_for("moderation.report", subject_type=subject_type, subject_id=subject_id)


@bp.app_template_global()
def appeal_url(subject_type: str, item) -> str | None:
    """For the author of a text a moderator hid: where to appeal (or see the appeal). One statement,
    only for a hidden item seen by a signed-in reader."""
    if not current_user.is_authenticated or item.hidden_reason is None or subject_type not in KINDS \
            or current_user.id not in KINDS[subject_type].authors(item):
        return None
    case = reading.case_of(subject_type, item.id)
    if case is None or case.state not in (CaseState.HIDDEN, CaseState.APPEALED):
        return None
    return url_for("moderation.appeal", case_id=case.id)
