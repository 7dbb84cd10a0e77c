"""Paying the co-ops: settlements (each with its SEPA file and the day the bank paid it), the
statements co-ops read, and the bank accounts they are paid into, approved or turned down by an
official. Routes on the vouchers blueprint (vouchers/views.py imports this file)."""
from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role
from app.documents import pdf_response
from app.errors import DomainError
from app.forms import attach_error, validated
from app.i18n import city_today
from app.opendata import csv_response
from app.organisations import operations as organisations
from app.security import roles_required

from . import bank, bp, documents, sepa, settlement
from .forms import BankAccountForm, PaidForm, ReasonForm, SettlementForm
from .view_helpers import cursor, desk_organisation, desk_organisation_or_403, locale

officials = roles_required(Role.OFFICIAL, Role.ADMIN)
members = roles_required(Role.ORG_MEMBER)
statement_readers = roles_required(Role.OFFICIAL, Role.ADMIN, Role.ORG_MEMBER)


@bp.route("/settlements", methods=["GET", "POST"])
@officials
def settlements():
    form = SettlementForm()
    if form.validate_on_submit():
        try:
            cleared, created = settlement.settle(form.period_start.data, form.period_end.data, actor=current_user)
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("The period is settled.") if created else _("This period was already settled; nothing changed."),
                  "success" if created else "info")
            return redirect(url_for(".settlement", settlement_id=cleared.id))
    return render_template("vouchers/settlements.html", form=form, page=settlement.settlements(
        request.args.get("page", 1, type=int)), today=city_today()), 422 if form.errors else 200


@bp.route("/settlements/<int:settlement_id>", endpoint="settlement")
@officials
def settlement_detail(settlement_id, paid_form=None):
    item = settlement.settlement_by_id(settlement_id)
    missing, names = sepa.unpaid(item)
    return render_template("vouchers/settlement.html", settlement=item,
                           unpaid=missing and sepa.unpaid_reason(missing, names),
                           lines=settlement.settlement_lines(item, **cursor()),
                           paid_form=paid_form or PaidForm(formdata=None)), 422 if paid_form else 200


@bp.route("/settlements/<int:settlement_id>/transfer.xml")
@officials
def settlement_file(settlement_id):
    """The settlement's SEPA credit transfer (pain.001), made once: the same bytes at every download."""
    try:
        content = sepa.settlement_file(settlement_id, actor=current_user)
    except sepa.CannotPay as error:
        flash(str(error), "error")
        return redirect(url_for(".settlement", settlement_id=settlement_id))
    item = settlement.settlement_by_id(settlement_id)
    return Response(content, mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{item.reference}.xml"'})


@bp.route("/settlements/<int:settlement_id>/paid", methods=["POST"])
@officials
def settlement_paid(settlement_id):
    """Record the day the city's bank executed the settlement's transfer."""
    form = PaidForm()
    try:
        validated(form)
        sepa.mark_paid(settlement_id, form.paid_on.data, actor=current_user)
    except DomainError as error:
        attach_error(form, error)
        return settlement_detail(settlement_id, paid_form=form)
    flash(_("The settlement is marked paid."), "success")
    return redirect(url_for(".settlement", settlement_id=settlement_id))


@bp.route("/desk/bank-account", methods=["GET", "POST"])
@members
def bank_account():
    """The co-op's bank account for its settlements, and a change of it for an official to approve."""
    form = BankAccountForm()
    organisation = desk_organisation_or_403(form)
    if form.validate_on_submit():
        try:
            organisation = desk_organisation(form)
            bank.request_account(organisation, form.iban.data, form.bic.data, form.holder_name.data,
                                 actor=current_user)
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("The bank account is registered; it is used once an official approves it."), "success")
            return redirect(url_for(".bank_account", organisation=organisation.slug))
    return render_template("vouchers/bank_account.html", form=form, organisation=organisation,
                           current=bank.current_account(organisation), pending=bank.pending_account(organisation),
                           rejected=bank.last_rejection(organisation)), 422 if form.errors else 200


@bp.route("/bank-accounts")
@officials
def bank_accounts():
    """Registered or changed bank accounts waiting for an official's approval."""
    return render_template("vouchers/bank_accounts.html", rows=bank.pending_accounts(), reject_form=ReasonForm(),
                           rejecting=None)


@bp.route("/bank-accounts/<int:account_id>/approve", methods=["POST"])
@officials
def approve_bank_account(account_id):
    try:
        row = bank.approve_account(account_id, actor=current_user)
    except DomainError as error:
        flash(str(error), "error")
    else:
        flash(_("The bank account of %(name)s is approved.", name=row.organisation.name), "success")
    return redirect(url_for(".bank_accounts"))


@bp.route("/bank-accounts/<int:account_id>/reject", methods=["POST"])
@officials
def reject_bank_account(account_id):
    form = ReasonForm()
    try:
        validated(form)
        row = bank.reject_account(account_id, form.reason.data, actor=current_user)
    except DomainError as error:
        attach_error(form, error)
        return render_template("vouchers/bank_accounts.html", rows=bank.pending_accounts(), reject_form=form,
                               rejecting=account_id), error.status
    flash(_("The bank account of %(name)s is not approved; its members are told why.", name=row.organisation.name),
          "success")
    return redirect(url_for(".bank_accounts"))


def _statement_line(settlement_id, slug):
    item = settlement.settlement_by_id(settlement_id)
    return item, settlement.statement_line(item, organisations.organisation_by_slug(slug), current_user)


@bp.route("/settlements/<int:settlement_id>/<slug>.pdf")
@statement_readers
def statement_pdf(settlement_id, slug):
    item, line = _statement_line(settlement_id, slug)
    return pdf_response(documents.statement_pdf(item, line, locale()), f"statement-S{item.id}-{slug}.pdf")


@bp.route("/settlements/<int:settlement_id>/<slug>.csv")
@statement_readers
def statement_csv(settlement_id, slug):
    item, line = _statement_line(settlement_id, slug)
    return csv_response(documents.STATEMENT_HEADER, list(documents.statement_rows(item, line)),
                        f"statement-S{item.id}-{slug}.csv")


@bp.route("/statements")
@members
def statements():
    """A co-op's own settlement lines, newest first, a page at a time."""
    return render_template("vouchers/statements.html", lines=settlement.statement_lines_for(current_user, **cursor()))
