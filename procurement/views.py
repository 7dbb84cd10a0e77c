"""Social procurement pages: the public register, each process with the actions
its phase allows, the forms of each step, and the office's dashboard."""
from decimal import Decimal

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts import operations as accounts
from app.accounts.models import Role
from app.accounts.operations import is_official
from app.documents import pdf_response
from app.errors import DomainError, NotFound
from app.forms import attach_error, shown_beside_its_field
from app.i18n import city_today, day, money
from app.opendata import licence_name, licence_url
from app.organisations import operations as organisations
from app.pagecache import cached_public_page
from app.security import login_required, public, roles_required

from . import (
    amendments,
    awarding,
    bid_documents,
    bp,
    contracts,
    documents,
    evaluation,
    flags,
    monitoring,
    moves,
    processes,
    releases,
    tenders,
)
from .forms import (
    AmendAwardForm,
    AmendContractForm,
    AmendTenderForm,
    AwardForm,
    CommitmentForm,
    ContractForm,
    CriteriaForm,
    ExtendForm,
    MetricForm,
    MilestoneForm,
    PanelForm,
    PaymentForm,
    ProcessForm,
    PublishForm,
    ReasonForm,
    bid_form,
    score_form,
)
from .models import CriterionKind, Phase, Procedure
from .price_formulas import PRICE_FORMULAS, formula_of

officials = roles_required(Role.OFFICIAL, Role.ADMIN)
org_members = roles_required(Role.ORG_MEMBER)


def _process(process_id):
    return processes.process_by_id(process_id, current_user)


def _back(process):
    return redirect(url_for(".show", process_id=process.id))


def _unless_manager(process):
    """Officials of other departments read the forms' pages but are sent back, told why."""
    if processes.can_manage(current_user, process):
        return None
    flash(_("Only officials of %(department)s may change this process.", department=process.department.name),
          "error")
    return _back(process)


def _done(process, message):
    flash(message, "success")
    return _back(process)


@bp.route("/")
@public
def index():
    args = request.args
    page = processes.search(current_user, phase=args.get("phase", ""), procedure=args.get("procedure", ""),
                            page=args.get("page", 1, type=int))
    return render_template("procurement/index.html", page=page, phases=list(Phase),
                           procedures=list(Procedure), open_tenders=processes.open_tenders())


@bp.route("/dashboard")
@public
@cached_public_page()
def dashboard():
    """Public: how much public money reaches the social economy is the register's promise (#18)."""
    shares = {by: monitoring.social_economy_shares(by) for by in ("year", "department", "category")}
    return render_template("procurement/dashboard.html", shares=shares, phases=monitoring.processes_by_phase(),
                           attention=monitoring.commitments_needing_attention(), today=city_today())


@bp.route("/flags")
@public
@cached_public_page()
def red_flags():
    return render_template("procurement/flags.html", rules=flags.RULES, counts=flags.counts(),
                           page=flags.flags_page(request.args.get("page", 1, type=int)), described=flags.described)


@bp.route("/new", methods=["GET", "POST"])
@officials
def create():
    form = ProcessForm()
    form.department.choices = [(d.id, d.name) for d in processes.departments() if processes.can_manage(current_user, d)]
    if not form.department.choices:
        form.department.description = _("You are not an official of any municipal department, so you cannot "
                                        "open a process; an administrator can add you to yours.")
    form.category.choices = [("", _("None"))] + [(c.slug, c.name) for c in organisations.categories()]
    form.priority_need.choices = [("", _("None"))] + [
        (str(n.id), f"{n.title} ({n.council.name})") for n in processes.council_needs()]
    if form.validate_on_submit():
        try:
            process = tenders.create_process(
                actor=current_user, title=form.title.data, description=form.description.data,
                department=next(d for d in processes.departments() if d.id == form.department.data),
                category=organisations.category_by_slug(form.category.data) if form.category.data else None,
                priority_need_id=int(form.priority_need.data) if form.priority_need.data else None,
                budget_cents=form.budget.cents, procedure=form.procedure.data,
                allow_above_value=form.allow_above_value.data)
        except DomainError as error:
            attach_error(form, error)
        else:
            return _done(process, _("The process %(reference)s is open in planning; set its award criteria.",
                                    reference=process.reference))
    return render_template("procurement/form.html", form=form, process=None, heading=_("New procurement process"))


@bp.route("/<int:process_id>")
@public
def show(process_id):
    return _show_page(_process(process_id))


def _show_page(process, status=200, **submitted):
    """The process page with its step forms; `submitted` is a refused form, shown again with its input."""
    # formdata=None: on a refused POST the other forms must stay empty, not pick up its fields.
    forms = {name: form(formdata=None) for name, form in (
        ("publish", PublishForm), ("extend", ExtendForm), ("cancel", ReasonForm), ("payment", PaymentForm),
        ("metric", MetricForm),
        ("milestone", MilestoneForm), ("commitment", CommitmentForm), ("panel", PanelForm))}
    manager = processes.can_manage(current_user, process)
    return render_template(
        "procurement/show.html", process=process, ranking=evaluation.ranking(process), today=city_today(),
        manager=manager, official=is_official(current_user), moves=moves.moves(process) if manager else [],
        sealed=moves.bidding_open(process), tie_rule=evaluation.TIE_RULE, panel_rule=evaluation.PANEL_RULE,
        formula_of=formula_of, on_panel=evaluation.on_panel(current_user, process),
        progress=evaluation.progress(process), can_open=bid_documents.can_open,
        declaration_texts={code: d.text for code, d in bid_documents.DECLARATIONS.items()},
        scored_criterion_id=next((c.id for c in evaluation.scored_by_evaluators(process)), None),
        amendments=releases.amendments_of(process) if process.published else [],
        amendment_changes=contracts.amendment_changes,
        own_bid=tenders.bid_of(current_user, process), need=processes.council_needs(process.priority_need_id)
        if process.priority_need_id else None,
        reasons=awarding.award_reasons(process.award) if process.award else "",
        accredited=awarding.accredited(process, process.award.supplier) if process.award else None,
        history=processes.process_history(process) if is_official(current_user) else [],
        releases=releases.releases_of(process) if process.published else [],
        flags=flags.flags_of(process), forms=forms | submitted), status


def _on_show_page(process, name, form, operation, message):
    """Run `operation` for a form of the process page. Bad input, or a refusal about one of the
    form's fields, comes back on the page beside that field; any other refusal (not allowed, wrong
    phase) is flashed, since the form may no longer be on the page to carry it."""
    if form.validate_on_submit():
        try:
            operation()
        except DomainError as error:
            if not shown_beside_its_field(form, error):
                flash(str(error), "error")
                return _back(process)
        else:
            return _done(process, message)
    return _show_page(process, 422, **{name: form})


@bp.route("/<int:process_id>/criteria", methods=["GET", "POST"])
@officials
def criteria(process_id):
    process = _process(process_id)
    if (refusal := _unless_manager(process)):
        return refusal
    form = CriteriaForm()
    if request.method == "GET":
        for c in process.criteria:
            getattr(form, f"weight_{c.kind}").data = c.weight
            getattr(form, f"note_{c.kind}").data = c.description
            if c.formula:
                form.price_formula.data = c.formula
    if form.validate_on_submit():
        try:
            tenders.set_criteria(process, form.weights(), actor=current_user)
        except DomainError as error:
            attach_error(form, error)
        else:
            return _done(process, _("The award criteria are saved."))
    return render_template("procurement/criteria.html", form=form, process=process, kinds=list(CriterionKind),
                           formulas=PRICE_FORMULAS.values())


@bp.route("/<int:process_id>/publish", methods=["POST"])
@officials
def publish(process_id):
    process = _process(process_id)
    form = PublishForm()
    return _on_show_page(process, "publish", form, lambda: tenders.publish_tender(
        process, form.deadline.data, actor=current_user), _("The tender is published and open for bids."))


@bp.route("/<int:process_id>/extend-deadline", methods=["POST"])
@officials
def extend(process_id):
    process = _process(process_id)
    form = ExtendForm()
    return _on_show_page(process, "extend", form, lambda: tenders.extend_deadline(
        process, form.deadline.data, form.rationale.data, actor=current_user),
        _("The deadline is extended; the bidders are told."))


@bp.route("/<int:process_id>/<any('close-bidding', 'start-implementation', 'close'):action>", methods=["POST"])
@officials
def move(process_id, action):
    process = _process(process_id)
    operation = {"close-bidding": tenders.close_bidding, "start-implementation": contracts.start_implementation,
                 "close": contracts.close}[action]
    try:
        operation(process, actor=current_user)
    except DomainError as error:
        flash(str(error), "error")
        return _back(process)
    return _done(process, _("The process is now: %(phase)s.", phase=process.phase_enum.label))


@bp.route("/<int:process_id>/cancel", methods=["POST"])
@officials
def cancel(process_id):
    process = _process(process_id)
    form = ReasonForm()
    try:
        tenders.cancel(process, form.reason.data if form.validate_on_submit() else "", actor=current_user)
    except DomainError as error:
        flash(str(error), "error")
        return _back(process)
    return _done(process, _("The process is cancelled."))


@bp.route("/<int:process_id>/bid", methods=["GET", "POST"])
@org_members
def bid(process_id):
    process = _process(process_id)
    own = tenders.bid_of(current_user, process)
    declarations = bid_documents.required_declarations(process)
    form = bid_form(declarations)
    form.organisation.choices = [(o.id, o.name) for o in current_user.organisations]
    if own is not None and request.method == "GET":
        form.organisation.data, form.summary.data = own.organisation_id, own.summary
        form.amount.data = Decimal(own.amount_cents) / 100
    if own is not None:
        form.amount.description = _("Your organisation's bid of %(amount)s counts now; a new one replaces it, "
                                    "with its own declarations and documents.", amount=money(own.amount_cents))
    if form.validate_on_submit():
        try:
            organisation = next(o for o in current_user.organisations if o.id == form.organisation.data)
            tenders.submit_bid(process, organisation, form.amount.cents, summary=form.summary.data,
                               declarations=form.declared(declarations), documents=form.uploads,
                               actor=current_user)
        except DomainError as error:
            attach_error(form, error)
        else:
            return _done(process, _("Your bid is submitted."))
    return render_template("procurement/bid.html", form=form, process=process, declarations=declarations,
                           heading=_("Bid on “%(title)s”", title=process.title))


@bp.route("/bid-documents/<int:document_id>")
@login_required
def bid_document(document_id):
    """A bid's document, for its organisation's members, and for officials once bidding has closed."""
    document, path = bid_documents.document_by_id(document_id, current_user)
    return send_file(path, mimetype=document.content_type, as_attachment=True,
                     download_name=f"{document.bid.process.reference}-{document.id}.pdf", max_age=0)


@bp.route("/bids/<int:bid_id>/withdraw", methods=["POST"])
@org_members
def withdraw(bid_id):
    bid = tenders.bid_by_id(bid_id)
    process = _process(bid.process_id)
    try:
        tenders.withdraw_bid(bid, actor=current_user)
    except DomainError as error:
        flash(str(error), "error")
        return _back(process)
    return _done(process, _("Your bid is withdrawn; you may bid again until the deadline."))


@bp.route("/bids/<int:bid_id>/score", methods=["GET", "POST"])
@officials
def score(bid_id):
    bid = tenders.bid_by_id(bid_id)
    process = bid.process
    if not evaluation.on_panel(current_user, process):
        flash(_("Only the members of the evaluation panel score the bids."), "error")
        return _back(process)
    criteria = evaluation.scored_by_evaluators(process)
    if criteria and bid.score_by(criteria[0].id, current_user.id):
        flash(_("You have already scored this bid; a score once given is not changed."), "info")
        return _back(process)
    form = score_form(criteria)
    if form.validate_on_submit():
        try:
            evaluation.score_bid(bid, {c.id: getattr(form, f"score_{c.id}").data for c in criteria},
                                 notes={c.id: getattr(form, f"note_{c.id}").data for c in criteria},
                                 actor=current_user)
        except DomainError as error:
            if not shown_beside_its_field(form, error):
                flash(str(error), "error")
                return _back(process)
        else:
            return _done(process, _("Your scores of %(name)s are saved.", name=bid.organisation.name))
    return render_template("procurement/form.html", form=form, process=process,
                           heading=_("Score the bid of %(name)s", name=bid.organisation.name),
                           intro=_("Your own scores, given once: the panel's score is the mean of its members'. "
                                   "The price is scored by the published formula, not by hand."))


@bp.route("/<int:process_id>/panel", methods=["POST"])
@officials
def add_evaluator(process_id):
    process = _process(process_id)
    form = PanelForm()
    return _on_show_page(process, "panel", form, lambda: evaluation.add_evaluator(
        process, accounts.user_by_email(form.evaluator.data, field="evaluator"), actor=current_user),
        _("The official is on the evaluation panel."))


@bp.route("/<int:process_id>/panel/<int:user_id>/remove", methods=["POST"])
@officials
def remove_evaluator(process_id, user_id):
    process = _process(process_id)
    try:
        evaluation.remove_evaluator(process, accounts.user_by_id(user_id), actor=current_user)
    except DomainError as error:
        flash(str(error), "error")
        return _back(process)
    return _done(process, _("The official is no longer on the evaluation panel."))


@bp.route("/<int:process_id>/evaluation.pdf")
@officials
def evaluation_pdf(process_id):
    """The evaluation report, for officials (bidders' detailed scores stay with them)."""
    process = _process(process_id)
    if process.phase_enum in (Phase.PLANNING, Phase.TENDER) or not process.bids:  # offers sealed, or none
        raise NotFound(_("This process has no evaluation yet."))
    return pdf_response(documents.evaluation_report(process), f"{process.reference}-evaluation.pdf")


@bp.route("/<int:process_id>/award", methods=["GET", "POST"])
@officials
def award(process_id):
    process = _process(process_id)
    if (refusal := _unless_manager(process)):
        return refusal
    ranking = evaluation.ranking(process)
    form = AwardForm()
    form.bid.choices = [("", _("The top of the ranking"))] + [(str(r.bid.id), r.bid.organisation.name)
                                                               for r in ranking]
    if form.validate_on_submit():
        try:
            chosen = tenders.bid_by_id(int(form.bid.data)) if form.bid.data else None
            evaluation.decide_award(process, bid=chosen, justification=form.justification.data, actor=current_user)
        except DomainError as error:
            attach_error(form, error)
        else:
            return _done(process, _("The award is decided."))
    return render_template("procurement/award.html", form=form, process=process, ranking=ranking)


@bp.route("/<int:process_id>/contract", methods=["GET", "POST"])
@officials
def contract(process_id):
    process = _process(process_id)
    if (refusal := _unless_manager(process)):
        return refusal
    if process.contract is not None:  # a signed contract changes only by an amendment
        return redirect(url_for(".amend_contract", process_id=process.id))
    form = ContractForm()
    form.offer_criteria(process.criteria)
    if request.method == "GET":
        form.signed_on.data = form.period_start.data = city_today()
    if form.validate_on_submit():
        try:
            contracts.record_contract(process, signed_on=form.signed_on.data, period_start=form.period_start.data,
                                      period_end=form.period_end.data, value_cents=form.value.cents,
                                      value_justification=form.value_justification.data,
                                      milestones=form.milestone_rows, commitments=form.commitment_rows,
                                      actor=current_user)
        except DomainError as error:
            attach_error(form, error)
        else:
            return _done(process, _("The contract is recorded."))
    return render_template("procurement/contract.html", form=form, process=process,
                           heading=_("Record the contract of “%(title)s”", title=process.title))


@bp.route("/<int:process_id>/contract/amend", methods=["GET", "POST"])
@officials
def amend_contract(process_id):
    process = _process(process_id)
    if (refusal := _unless_manager(process)):
        return refusal
    form = AmendContractForm()
    if form.validate_on_submit():
        try:
            contracts.amend_contract(process, form.rationale.data, value_cents=form.value.cents,
                                     period_end=form.period_end.data, actor=current_user)
        except DomainError as error:
            attach_error(form, error)
        else:
            return _done(process, _("The amendment is recorded and published."))
    contract = process.contract
    return render_template("procurement/form.html", form=form, process=process,
                           heading=_("Amend the contract of “%(title)s”", title=process.title),
                           intro=_("Now worth %(value)s, until %(end)s.", value=money(contract.value_cents),
                                   end=day(contract.period_end)) if contract else "")


@bp.route("/<int:process_id>/tender/amend", methods=["GET", "POST"])
@officials
def amend_tender(process_id):
    process = _process(process_id)
    if (refusal := _unless_manager(process)):
        return refusal
    form = AmendTenderForm()
    if request.method == "GET":
        form.description.data = process.description
    if form.validate_on_submit():
        try:
            amendments.amend_tender(process, form.rationale.data, description=form.description.data,
                                    budget_cents=form.budget.cents,
                                    actor=current_user)
        except DomainError as error:
            attach_error(form, error)
        else:
            return _done(process, _("The amendment is recorded and published."))
    return render_template("procurement/form.html", form=form, process=process,
                           heading=_("Amend the tender “%(title)s”", title=process.title),
                           intro=_("Now worth %(value)s.", value=money(process.budget_cents)))


@bp.route("/<int:process_id>/award/amend", methods=["GET", "POST"])
@officials
def amend_award(process_id):
    process = _process(process_id)
    if (refusal := _unless_manager(process)):
        return refusal
    form = AmendAwardForm()
    if request.method == "GET" and process.award:
        form.justification.data = process.award.justification
    if form.validate_on_submit():
        try:
            amendments.amend_award(process, form.rationale.data, justification=form.justification.data,
                                   value_cents=form.value.cents,
                                   actor=current_user)
        except DomainError as error:
            attach_error(form, error)
        else:
            return _done(process, _("The amendment is recorded and published."))
    return render_template("procurement/form.html", form=form, process=process,
                           heading=_("Amend the award of “%(title)s”", title=process.title),
                           intro=_("Now awarded for %(value)s.", value=money(process.award.value_cents))
                           if process.award else "")


def _follow_up(process, form, operation, message):
    """For the one-line forms of each milestone and commitment row, which have no field beside which
    to show an error: any problem is flashed on the process page."""
    try:
        if not form.validate_on_submit():
            raise DomainError(" ".join(e for errors in form.errors.values() for e in errors))
        operation()
    except DomainError as error:
        flash(str(error), "error")
        return _back(process)
    return _done(process, message)


@bp.route("/<int:process_id>/payments", methods=["POST"])
@officials
def payment(process_id):
    process = _process(process_id)
    form = PaymentForm()
    return _on_show_page(process, "payment", form, lambda: contracts.record_payment(
        process, form.amount.cents, form.paid_on.data, note=form.note.data, actor=current_user),
        _("The payment is recorded."))


@bp.route("/<int:process_id>/metrics", methods=["POST"])
@officials
def metric(process_id):
    process = _process(process_id)
    form = MetricForm()
    return _on_show_page(process, "metric", form, lambda: contracts.record_metric(
        process, form.name.data, form.value.data, unit=form.unit.data, actor=current_user),
        _("The service metric is recorded."))


@bp.route("/milestones/<int:milestone_id>", methods=["POST"])
@officials
def milestone(milestone_id):
    row = contracts.milestone_by_id(milestone_id)
    form = MilestoneForm()
    return _follow_up(row.contract.process, form, lambda: contracts.report_milestone(
        row, form.report.data, actor=current_user), _("The milestone is reported."))


@bp.route("/commitments/<int:commitment_id>", methods=["POST"])
@officials
def commitment(commitment_id):
    row = contracts.commitment_by_id(commitment_id)
    form = CommitmentForm()
    return _follow_up(row.contract.process, form, lambda: contracts.assess_commitment(
        row, form.status.data, form.note.data, actor=current_user), _("The social commitment is assessed."))


@bp.route("/<int:process_id>/award.pdf")
@public
def award_pdf(process_id):
    process = _process(process_id)
    if process.award is None:
        raise NotFound(_("This process has no award yet."))
    return pdf_response(documents.award_decision(process), f"{process.reference}-award.pdf")


@bp.route("/<int:process_id>/contract.pdf")
@public
def contract_pdf(process_id):
    process = _process(process_id)
    if process.contract is None:
        raise NotFound(_("This process has no contract yet."))
    return pdf_response(documents.contract_summary(process), f"{process.reference}-contract.pdf")


@bp.route("/publication-policy")
@public
def publication_policy():
    """What the open procurement data says, when it is published, how it is corrected, and its licence
    (the OCDS packages' publicationPolicy)."""
    return render_template("procurement/publication_policy.html", licence_url=licence_url(),
                           licence_name=licence_name(), scheme=current_app.config["PROCOMUN_ORGANISATION_SCHEME"],
                           ocid_prefix=processes.ocid_prefix())
