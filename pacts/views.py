"""Collaboration pacts: the public register, the citizens' proposals and reports,
the officials' desk, and the register of urban commons."""
from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role, User
from app.accounts.operations import is_official
from app.backlinks import backlinks
from app.documents import pdf_response
from app.errors import DomainError, Invalid
from app.forms import attach_error, shown_beside_its_field, validated
from app.i18n import city_today, reader_locale
from app.i18n import day as written_day
from app.organisations.models import Organisation
from app.pagecache import cached_public_page, invalidated_by, personal_page, shared_content
from app.security import login_required, public, roles_required

from . import (
    access,
    attachments,
    bp,
    commons_register,
    disputes,
    lifecycle,
    moves,
    naming,  # noqa: F401  (its template globals: who is named in public, and how)
    proposals,
    register,
    reports,
    signing,
)
from . import standard_forms as standard
from .documents import consultation_pdf, pact_pdf
from .forms import (
    CommentForm,
    CommitteeForm,
    CommonsForm,
    DisputeForm,
    OutcomeForm,
    ProposalForm,
    ReasonForm,
    ReportForm,
    SignForm,
    UploadForm,
    clauses_form,
    clauses_of,
    standard_form_form,
)
from .models import CLAUSES, RESOURCES, CommonsKind, Intervention, Pact, PactState, Party, ProposerKind, Report

officials = roles_required(Role.OFFICIAL, Role.ADMIN)


def _pact(pact_id):
    return register.pact_by_id(pact_id, current_user)


def _back(pact, anchor=""):
    return redirect(url_for(".show", pact_id=pact.id) + anchor)


def _flash_error(error: DomainError):
    flash(str(error), "error")


# The public register --------------------------------------------------------------------

@bp.route("/")
@public
@cached_public_page()
def index():
    args = request.args
    filters = {"state": args.get("state", ""), "intervention": args.get("kind", ""),
               "commons_id": args.get("commons", type=int), "neighbourhood": args.get("neighbourhood", ""),
               "year": args.get("year", type=int)}
    page = register.search_pacts(**filters, page=args.get("page", 1, type=int))
    return render_template("pacts/index.html", page=page, states=list(PactState)[1:],
                           kinds=list(Intervention), commons=commons_register.commons_choices(),
                           neighbourhoods=commons_register.neighbourhoods(), years=register.register_years(),
                           filters={k: v for k, v in args.items() if k != "page"})


@bp.route("/<int:pact_id>")
@public
def show(pact_id):
    return _page(_pact(pact_id))


PAGE_FORMS = {"reason_form": ReasonForm, "comment_form": CommentForm, "dispute_form": DisputeForm,
              "committee_form": CommitteeForm, "outcome_form": OutcomeForm, "sign_form": SignForm}


def _page(pact, status=200, **refused):
    """The pact's page; after a refused post, with that form as it was sent and its error. What the
    visitor may do on the file is decided by the operations and handed to the template as values."""
    forms = {name: refused.get(name) or form_class(formdata=None) for name, form_class in PAGE_FORMS.items()}
    user, today = current_user, city_today()
    return render_template(
        "pacts/show.html", pact=pact, clauses=CLAUSES, resources=RESOURCES, Party=Party,
        schedule=reports.report_schedule(pact, today), overdue=lifecycle.is_overdue(pact, today),
        decisions=lifecycle.decisions_for(pact, user, today), official=is_official(user),
        proposer=access.is_proposer(pact, user), may_write=signing.may_write(pact, user),
        supported=proposals.supported_by(pact, user), report_move=reports.report_move(pact, user, today),
        sign_move=moves.move(pact, "sign", today),
        may_raise_dispute=disputes.may_raise(pact, user), refused_action=refused.get("action"),
        backlinks=backlinks("pact", pact.id), **forms), status


def _refused(pact, name: str, form, error: DomainError, anchor: str, **extra):
    """A refusal about one of the form's fields is shown beside it, with what was typed (422); any
    other (the file moved on meanwhile, an expired form) at the top of the page."""
    if shown_beside_its_field(form, error):
        return _page(pact, 422, **{name: form}, **extra)
    _flash_error(error)
    return _back(pact, anchor)


@bp.route("/<int:pact_id>/versions")
@public
def versions(pact_id):
    pact = _pact(pact_id)
    numbers = [v.number for v in pact.versions]
    left = request.args.get("a", type=int) or (numbers[-2] if len(numbers) > 1 else numbers[0])
    right = request.args.get("b", type=int) or numbers[-1]
    comparison = signing.compare_versions(signing.version_by_number(pact, left),
                                          signing.version_by_number(pact, right))
    return render_template("pacts/versions.html", pact=pact, left=left, right=right, comparison=comparison)


@bp.route("/<int:pact_id>/pact.pdf")
@public
def pdf(pact_id):
    pact = register.pact_for_document(pact_id, current_user)
    if pact.signed_version is None:
        abort(404)
    return pdf_response(pact_pdf(pact, reader_locale()), f"pact-{pact.id}-v{pact.signed_version_number}.pdf")


@bp.route("/<int:pact_id>/consultation.pdf")
@public
def consultation_record(pact_id):
    pact = _pact(pact_id)
    if pact.consultation_ends is None and not pact.comments:
        abort(404)  # never put to public consultation
    return pdf_response(consultation_pdf(pact, reader_locale()), f"pact-{pact.id}-consultation.pdf")


# Citizens -------------------------------------------------------------------------------

@bp.route("/propose", methods=["GET", "POST"])
@login_required
def propose():
    form = ProposalForm()
    offered = standard.standard_forms()
    form.standard_form.choices = [("", _("None"))] + [(str(f.id), f.title) for f in offered]
    form.commons.choices = [(c.id, c.name) for c in commons_register.commons_choices() if c.registered]
    form.organisation.choices = [("", _("None"))] + [(str(o.id), o.name) for o in current_user.organisations]
    if not current_user.organisations:  # nobody may propose for an organisation they do not belong to
        form.proposer_kind.choices = [c for c in form.proposer_kind.choices if c[0] != ProposerKind.ORGANISATION]
    if form.validate_on_submit():
        chosen = next((f for f in offered if str(f.id) == form.standard_form.data), None)
        organisation = next((o for o in current_user.organisations if str(o.id) == form.organisation.data), None)
        fields = {f.name: f.data for f in form
                  if f.name not in ("csrf_token", "standard_form", "commons", "organisation")}
        try:
            pact = proposals.propose(actor=current_user, commons_ids=form.commons.data or [],
                                     standard_form=chosen, organisation=organisation,
                                     locale=str(get_locale() or "en"), **fields)
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("Your proposal is saved as a draft. Check it, then send it to the city."), "success")
            return _back(pact)
    return render_template("pacts/propose.html", form=form)


@bp.route("/<int:pact_id>/submit", methods=["POST"])
@login_required
def submit(pact_id):
    pact = _pact(pact_id)
    try:
        if not SignForm().validate_on_submit():
            raise Invalid(_("The form expired; please try again."))
        lifecycle.submit(pact, actor=current_user)
    except DomainError as error:
        _flash_error(error)
    else:
        flash(_("Your proposal is sent. The city answers by %(day)s.", day=written_day(pact.answer_due)), "success")
    return _back(pact)


@bp.route("/<int:pact_id>/clauses", methods=["GET", "POST"])
@login_required
def clauses(pact_id):
    pact = _pact(pact_id)
    latest = pact.latest_version
    form = clauses_form(prefill=latest.clauses if latest else {})
    if form.validate_on_submit():
        try:
            version = signing.save_version(pact, clauses_of(form), actor=current_user, note=form.note.data)
        except DomainError as error:
            if error.status == 403:
                _flash_error(error)
                return _back(pact)
            attach_error(form, error)
        else:
            flash(_("Version %(number)s is saved.", number=version.number), "success")
            return _back(pact)
    elif request.method == "GET" and pact.state_enum not in signing.EDITABLE:
        flash(_("A pact that is “%(state)s” cannot be edited.", state=pact.state_enum.label), "error")
        return _back(pact)
    return render_template("pacts/clauses.html", pact=pact, form=form, clauses=CLAUSES)


@bp.route("/<int:pact_id>/sign", methods=["POST"])
@login_required
def sign(pact_id):
    pact = _pact(pact_id)
    form = SignForm()
    try:
        if not form.validate_on_submit() or form.party.data not in {p.value for p in Party}:
            raise Invalid(_("Choose for which party you sign."))
        version = int(form.version.data) if (form.version.data or "").isdigit() else None
        signing.sign(pact, form.party.data, actor=current_user, version_number=version)
    except DomainError as error:
        _flash_error(error)
    else:
        flash(_("Your signature is recorded."), "success")
    return _back(pact, "#signatures")


@bp.route("/<int:pact_id>/comment", methods=["POST"])
@login_required
def comment(pact_id):
    pact = _pact(pact_id)
    form = CommentForm()
    try:
        row = proposals.comment(pact, validated(form).body.data, actor=current_user)
    except DomainError as error:
        return _refused(pact, "comment_form", form, error, "#consultation")
    flash(_("Your comment will be shown once a moderator has reviewed it: the first comments of a new account "
            "wait for a review.") if row.is_hidden else _("Your comment is published."), "success")
    return _back(pact, "#consultation")


@bp.route("/<int:pact_id>/support", methods=["POST"])
@login_required
def support(pact_id):
    pact = _pact(pact_id)
    try:
        if not SignForm().validate_on_submit():
            raise Invalid(_("The form expired; please try again."))
        proposals.support(pact, actor=current_user)
    except DomainError as error:
        _flash_error(error)
    else:
        flash(_("Thank you: your support is counted."), "success")
    return _back(pact, "#consultation")


@bp.route("/<int:pact_id>/support/withdraw", methods=["POST"])
@login_required
def withdraw_support(pact_id):
    pact = _pact(pact_id)
    try:
        if not SignForm().validate_on_submit():
            raise Invalid(_("The form expired; please try again."))
        proposals.withdraw_support(pact, actor=current_user)
    except DomainError as error:
        _flash_error(error)
    else:
        flash(_("Your support is withdrawn."), "success")
    return _back(pact, "#consultation")


@bp.route("/<int:pact_id>/reports/new", methods=["GET", "POST"])
@login_required
def report(pact_id):
    pact = _pact(pact_id)
    if not access.is_signatory(pact, current_user):
        flash(_("Only the signatories of this pact report on it."), "error")
        return _back(pact)
    form = ReportForm()
    open_dates = reports.open_due_dates(pact)
    form.due_on.choices = [(d.isoformat(), written_day(d, "long")) for d in open_dates]
    if form.validate_on_submit():
        upload = form.photo.data
        photo = (upload.stream, upload.mimetype) if upload and getattr(upload, "filename", "") else None
        due = next((d for d in open_dates if d.isoformat() == form.due_on.data), None)
        try:
            reports.file_report(pact, due, actor=current_user, activities=form.activities.data,
                                volunteer_minutes=int((form.volunteer_hours.data or 0) * 60),
                                resources_used=form.resources_used.data, results=form.results.data, photo=photo)
        except DomainError as error:
            if error.field == "file":  # the upload's message belongs next to the photo
                form.photo.errors = [str(error)]
            else:
                attach_error(form, error)
        else:
            flash(_("Your report is published with the pact."), "success")
            return _back(pact, "#reports")
    return render_template("pacts/report_form.html", pact=pact, form=form)


@bp.route("/<int:pact_id>/disputes", methods=["POST"])
@login_required
def dispute(pact_id):
    pact = _pact(pact_id)
    form = DisputeForm()
    try:
        disputes.raise_dispute(pact, validated(form).subject.data, actor=current_user)
    except DomainError as error:
        return _refused(pact, "dispute_form", form, error, "#disputes")
    flash(_("The dispute is recorded; a conciliation committee will be formed."), "success")
    return _back(pact, "#disputes")


@bp.route("/mine")
@login_required
def mine():
    pacts = register.pacts_of(current_user)
    overdue = {p.id: reports.overdue_reports(p) for p in pacts}
    return render_template("pacts/mine.html", pacts=pacts, overdue=overdue)


# Officials ------------------------------------------------------------------------------

@bp.route("/<int:pact_id>/decide/<any(" + ", ".join(lifecycle.DECISIONS) + "):action>", methods=["POST"])
@officials
def decide(pact_id, action):
    pact = _pact(pact_id)
    form = ReasonForm()
    try:
        lifecycle.decide(pact, action, validated(form).reason.data or "", actor=current_user)
    except DomainError as error:
        return _refused(pact, "reason_form", form, error, "", action=action)
    flash(_("The file is now “%(state)s”.", state=pact.state_enum.label), "success")
    return _back(pact)


@bp.route("/disputes/<int:dispute_id>/committee", methods=["POST"])
@officials
def committee(dispute_id):
    dispute = disputes.dispute_by_id(dispute_id)
    form = CommitteeForm()
    try:
        validated(form)
        disputes.appoint_committee(dispute, actor=current_user, citizens_member=form.citizens_member.data,
                                   city_member=form.city_member.data, joint_member=form.joint_member.data)
    except DomainError as error:
        return _refused(_pact(dispute.pact_id), "committee_form", form, error, "#disputes")
    flash(_("The conciliation committee is recorded."), "success")
    return _back(dispute.pact, "#disputes")


@bp.route("/disputes/<int:dispute_id>/outcome", methods=["POST"])
@officials
def outcome(dispute_id):
    dispute = disputes.dispute_by_id(dispute_id)
    form = OutcomeForm()
    try:
        disputes.settle_dispute(dispute, validated(form).outcome.data, actor=current_user)
    except DomainError as error:
        return _refused(_pact(dispute.pact_id), "outcome_form", form, error, "#disputes")
    flash(_("The outcome of the conciliation is recorded."), "success")
    return _back(dispute.pact, "#disputes")


# The desk's lists are the same for every official: rendered once for all of them and made anew
# as soon as a pact, a report or a proposer's name is written (app/pagecache.py).
invalidated_by("pacts-desk", Pact, Report, (User, "name"), (Organisation, "name"))


def _desk_lists(today):
    page = register.awaiting_answer(page=request.args.get("page", 1, type=int))
    late_reports = reports.late_reports(today)
    late_answers = {pact.id for pact in page.items if lifecycle.is_overdue(pact, today)}
    return render_template("pacts/_desk_lists.html", page=page, late_answers=late_answers,
                           late_reports=late_reports, more_late=len(late_reports) >= reports.LATE_REPORTS_SHOWN)


@bp.route("/desk")
@personal_page("pacts-desk")
@officials
def desk():
    today = city_today()
    lists = shared_content("pacts-desk", lambda: _desk_lists(today), vary=today.isoformat())
    return render_template("pacts/desk.html", lists=lists)


@bp.route("/forms")
@officials
def standard_forms():
    return render_template("pacts/standard_forms.html", rows=standard.standard_forms(active_only=False))


@bp.route("/forms/new", methods=["GET", "POST"])
@bp.route("/forms/<int:form_id>", methods=["GET", "POST"])
@officials
def standard_form(form_id=None):
    row = standard.standard_form_by_id(form_id) if form_id else None
    form = standard_form_form(prefill=row.clauses if row else None, obj=row)
    if form.validate_on_submit():
        try:
            standard.save_standard_form(actor=current_user, title=form.title.data,
                                        intervention=form.intervention.data, clauses=clauses_of(form),
                                        active=form.active.data, standard_form=row)
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("The standard form is saved."), "success")
            return redirect(url_for(".standard_forms"))
    return render_template("pacts/standard_form.html", form=form, row=row, clauses=CLAUSES)


# The commons register -------------------------------------------------------------------

@bp.route("/commons")
@public
def commons_index():
    args = request.args
    page = commons_register.list_commons(kind=args.get("kind", ""), neighbourhood=args.get("neighbourhood", ""),
                                         page=args.get("page", 1, type=int))
    return render_template("pacts/commons_index.html", page=page, kinds=list(CommonsKind),
                           neighbourhoods=commons_register.neighbourhoods())


@bp.route("/commons/<int:commons_id>")
@public
def commons_show(commons_id):
    commons, pacts = commons_register.commons_page(commons_id, current_user)
    return render_template("pacts/commons_show.html", commons=commons, pacts=pacts, upload_form=UploadForm())


@bp.route("/commons/new", methods=["GET", "POST"])
@bp.route("/commons/<int:commons_id>/edit", methods=["GET", "POST"])
@officials
def commons_edit(commons_id=None):
    commons = commons_register.commons_by_id(commons_id) if commons_id else None
    form = CommonsForm(obj=commons)
    if form.validate_on_submit():
        try:
            commons = commons_register.save_commons(actor=current_user, commons=commons,
                                                    **{f.name: f.data for f in form if f.name != "csrf_token"})
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("%(name)s is saved in the register.", name=commons.name), "success")
            return redirect(url_for(".commons_show", commons_id=commons.id))
    return render_template("pacts/commons_form.html", form=form, commons=commons)


@bp.route("/commons/<int:commons_id>/attachments", methods=["POST"])
@officials
def commons_upload(commons_id):
    commons = commons_register.commons_by_id(commons_id)
    form = UploadForm()
    upload = form.file.data if form.validate_on_submit() else None
    try:
        if not upload or not getattr(upload, "filename", ""):
            raise Invalid(_("Choose a file to upload."))
        attachments.store_attachment(upload.stream, upload.mimetype, form.title.data, actor=current_user,
                                     commons=commons)
    except DomainError as error:
        _flash_error(error)
    else:
        flash(_("The file is added."), "success")
    return redirect(url_for(".commons_show", commons_id=commons.id))


@bp.route("/files/<int:attachment_id>")
@public
def attachment(attachment_id):
    row, path = attachments.attachment_by_id(attachment_id, current_user)
    if row.report is not None and row.report.is_hidden:
        abort(404)  # a report's photo goes with its text when moderation hides it
    # Served under our own name and type; PDFs download rather than render in our origin.
    return send_file(path, mimetype=row.content_type, as_attachment=not row.is_image,
                     download_name=f"{row.id}.{path.suffix.lstrip('.')}", max_age=3600)
