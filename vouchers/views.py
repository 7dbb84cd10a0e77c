"""Social vouchers: pages for citizens, co-op front desks and officials."""
import codecs
from datetime import time
from decimal import Decimal

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, format_time, get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role
from app.accounts.operations import find_user
from app.backlinks import backlinks
from app.documents import pdf_response
from app.errors import DomainError, Invalid
from app.forms import attach_error, validated
from app.i18n import city_today, money
from app.organisations import operations as organisations
from app.pagecache import cached_public_page
from app.security import login_required, public, roles_required

from . import (
    allowances,
    books,
    bp,
    closing,
    contributions,
    documents,
    eligibility_views,  # noqa: F401 (its routes: eligibility lists and verified residents)
    gifts,
    holders,
    idempotency,
    invitations,
    issuance,
    ledger,
    letter_views,  # noqa: F401  (its routes: a programme's letters by post, activating one)
    offline_views,  # noqa: F401  (the offline desk's routes, on this blueprint)
    programme_rules,
    programmes,
    redemption,
    refunds,
    time_credits,
)
from . import desk as vouchers_desk
from .forms import (
    BatchForm,
    ContributionForm,
    GiveTimeForm,
    IssueForm,
    ProgrammeForm,
    ProgrammeRulesForm,
    ReasonForm,
    RedeemForm,
    RefundForm,
    ReversalForm,
    TimeForm,
    TimePinForm,
)
from .models import TRANSFER_LABELS, TransferKind
from .view_helpers import cursor as _cursor
from .view_helpers import desk_organisation as _desk_organisation
from .view_helpers import desk_organisation_or_403 as _desk_organisation_or_403
from .view_helpers import locale as _locale

officials = roles_required(Role.OFFICIAL, Role.ADMIN)
members = roles_required(Role.ORG_MEMBER)
statement_readers = roles_required(Role.OFFICIAL, Role.ADMIN, Role.ORG_MEMBER)


@bp.app_template_filter("transfer_reference")
def transfer_reference(transfer):
    return books.reference_text(transfer)


@bp.app_template_filter("transfer_references")
def transfer_references(transfers):
    """A page of movements' references, read together (books.reference_texts)."""
    return books.reference_texts(transfers)


@bp.app_template_filter("transfer_labels")
def transfer_labels(transfers):
    """A page of movements' kinds in the reader's words, each kind translated once for the page."""
    words: dict = {}
    return [words.get(t.kind) or words.setdefault(t.kind, str(TRANSFER_LABELS[TransferKind(t.kind)]))
            for t in transfers]


@bp.route("/")
@public
def index():
    return render_template("vouchers/index.html", programmes=programmes.programmes(), pool=books.pool_figures())


@bp.route("/directory")
@public
def directory():
    category, hood = request.args.get("category", ""), request.args.get("neighbourhood", "").strip()
    return render_template("vouchers/directory.html", rows=books.accredited_directory(category, hood),
                           categories=organisations.categories(), category=category, neighbourhood=hood)


@bp.route("/open-books")
@public
@cached_public_page()
def open_books():
    return render_template("vouchers/open_books.html", rows=books.open_books(), pool=books.pool_figures(),
                           programme_names={p.slug: p.name for p in programmes.programmes()})


# Citizens -------------------------------------------------------------------------------

@bp.route("/mine")
@login_required
def mine():
    return _mine(GiveTimeForm(formdata=None))


def _mine(give_form, status=200, *, confirming=False, pin_form=None):
    accounts = holders.holder_accounts(current_user)
    page = ledger.movements([a.id for a in accounts], **_cursor())
    time_account = time_credits.time_account_among(accounts, current_user)
    has_pin = time_account is not None and time_account.pin_hash is not None
    return render_template("vouchers/mine.html", vouchers=holders.holder_vouchers(current_user), movements=page,
                           account_ids={a.id for a in accounts}, minutes=time_account.balance if time_account else 0,
                           contributions=contributions.contributions_of(current_user), give_form=give_form,
                           confirming=confirming, pin_form=pin_form or TimePinForm(formdata=None),
                           has_pin=has_pin, gifts=gifts.sent_by(current_user)), status


@bp.route("/mine/<int:voucher_id>")
@login_required
def voucher(voucher_id):
    item = holders.voucher_for_holder(voucher_id, current_user)
    movements = ledger.movements([item.account_id], **_cursor())
    redemptions = holders.voucher_redemptions(item, [m.id for m in movements.items])
    return render_template("vouchers/voucher.html", voucher=item, redemptions=redemptions,
                           spendable=item.state_on(city_today()) == "active", revoke_form=ReasonForm(),
                           allowance=allowances.allowance_for(item),
                           movements=movements,
                           reversed=books.reversed_among([t.id for t in movements.items]))


def _spendable_voucher(voucher_id: int):
    """The holder's voucher if a desk would take it today, else None (404 if it is not theirs)."""
    item = holders.voucher_for_holder(voucher_id, current_user)
    return item if item.state_on(city_today()) == "active" else None


@bp.route("/mine/<int:voucher_id>/qr.svg")
@login_required
def voucher_qr(voucher_id):
    item = _spendable_voucher(voucher_id)
    if item is None:
        abort(404)
    # The code and a freshly signed offline allowance: opening the page online refreshes it.
    svg = '<?xml version="1.0" encoding="utf-8"?>' + documents.qr_svg(allowances.qr_text(item), scale=6).replace(
        "<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    return Response(svg, mimetype="image/svg+xml")


@bp.route("/mine/<int:voucher_id>/voucher.pdf")
@login_required
def voucher_pdf(voucher_id):
    item = _spendable_voucher(voucher_id)
    if item is None:  # a printed voucher that no desk would take would only mislead
        flash(_("This voucher can no longer be spent, so it is not printed."), "error")
        return redirect(url_for(".voucher", voucher_id=voucher_id))
    return pdf_response(documents.voucher_pdf(item, _locale()), f"voucher-{item.code}.pdf")


@bp.route("/mine/time", methods=["POST"])
@login_required
def give_time():
    """Asked, then confirmed; a gift's answer is the same whether or not the email has an account."""
    form = GiveTimeForm()
    try:
        validated(form)
        if form.confirm.data != "yes":
            time_credits.check_gift(current_user, form.email.data, form.minutes.data)
            return _mine(form, confirming=True)
        if form.email.data:
            gifts.send(current_user, form.email.data, form.minutes.data)
        else:
            time_credits.donate_time(current_user, form.minutes.data)
    except DomainError as error:
        attach_error(form, error)
        return _mine(form, 422)
    if form.email.data:
        flash(_("Your %(minutes)s minutes are on their way to %(email)s. If no account here has that email "
                "yet, they wait %(days)s days for one, then come back to you.",
                email=form.email.data, minutes=form.minutes.data, days=gifts.hold_days()), "success")
    else:
        flash(_("You donated %(minutes)s minutes to the shared time pool.", minutes=form.minutes.data), "success")
    return redirect(url_for(".mine"))


@bp.route("/mine/time-pin", methods=["POST"])
@login_required
def time_pin():
    form = TimePinForm()
    try:
        validated(form)
        time_credits.set_pin(current_user, form.pin.data)
    except DomainError as error:
        attach_error(form, error)
        return _mine(GiveTimeForm(formdata=None), 422, pin_form=form)
    flash(_("Your time-credit PIN is set."), "success")
    return redirect(url_for(".mine"))


@bp.route("/contribute", methods=["GET", "POST"])
@login_required
def contribute():
    form = ContributionForm()
    form.organisation.choices = [("", _("Myself"))] + [(o.slug, o.name) for o in current_user.organisations]
    if form.validate_on_submit():
        try:
            org = organisations.organisation_by_slug(form.organisation.data) if form.organisation.data else None
            contribution = contributions.contribute(form.amount.cents, actor=current_user, organisation=org)
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("Thank you: your contribution is in the pool. Your receipt is ready."), "success")
            return redirect(url_for(".receipt", contribution_id=contribution.id))
    return render_template("vouchers/contribute.html", form=form), 422 if form.errors else 200


@bp.route("/contributions/<int:contribution_id>/receipt.pdf")
@login_required
def receipt(contribution_id):
    contribution = contributions.contribution_for_contributor(contribution_id, current_user)
    return pdf_response(documents.receipt_pdf(contribution, _locale()), f"receipt-C{contribution.id}.pdf")


# Front desk -----------------------------------------------------------------------------

@bp.route("/desk", methods=["GET", "POST"])
@members
def desk():
    form = _redeem_form()
    organisation = _desk_organisation_or_403(form)
    if form.validate_on_submit():
        try:
            organisation = _desk_organisation(form)
            result = _desk_redeem(form, organisation)
        except idempotency.KeyReused:
            # The back button's copy of a form already used, sent for another sale: a fresh form.
            form.token.data = None
            attach_error(form, Invalid(_("This form was already used for a sale. Check the voucher and the amount, "
                                         "and redeem again.")))
        except DomainError as error:
            attach_error(form, error)
        else:
            if result is not None:
                if result.replayed:
                    flash(_("This form was already sent: the voucher was charged once."), "info")
                flash(_("Redeemed %(amount)s on %(code)s; %(left)s remain.", amount=money(result.amount_cents),
                        code=result.voucher_code, left=money(result.remaining_cents)), "success")
                return redirect(url_for(".desk", organisation=organisation.slug))
    if not form.token.data:
        form.token.data = vouchers_desk.new_form_token()
    return _desk_page(organisation, form, TimeForm(formdata=None, organisation=organisation.slug))


def _desk_redeem(form, organisation):
    """The sale, or None when the desk asks first: this voucher was charged here a moment ago.
    A form already sent replays its sale, confirmed or not."""
    token = form.token.data or None
    if not form.confirm_repeat.data and not vouchers_desk.form_already_sent(organisation.id, token):
        earlier = vouchers_desk.recent_redemption(form.code.data, organisation.id)
        if earlier is not None:
            form.confirm_repeat.errors = [_("This voucher was already charged %(amount)s here at %(time)s: "
                                            "charge it again?", amount=money(earlier.amount_cents),
                                            time=format_time(earlier.at, "short"))]
            return None
    return redemption.redeem(form.code.data, form.amount.cents, form.category.data, organisation,
                             actor=current_user, pin=form.pin.data or None,
                             idempotency_key=vouchers_desk.form_key(token))


def _redeem_form(**kwargs) -> RedeemForm:
    form = RedeemForm(**kwargs)
    form.category.choices = organisations.category_choices()
    return form


def _desk_page(organisation, form, time_form):
    page = redemption.organisation_redemptions(organisation, **_cursor())
    return render_template("vouchers/desk.html", form=form, organisation=organisation, redemptions=page,
                           refundable=refunds.refundable_ids(page.items),
                           unsettled=redemption.organisation_balance(organisation), time_form=time_form,
                           city_key=allowances.public_key_text()
                           ), 422 if form.errors or time_form.errors else 200


@bp.route("/desk/time", methods=["POST"])
@members
def desk_time():
    """Care recorded (the volunteer earns) or received (the holder spends, with their PIN); a refusal
    comes back beside its field."""
    form = TimeForm()
    organisation = _desk_organisation_or_403(form)
    try:
        validated(form)
        person = find_user(form.email.data)
        if person is None:
            raise Invalid(_("No account has this email."), field="email")
        if form.direction.data == "earn":
            time_credits.record_time(person, form.minutes.data, organisation, actor=current_user,
                                     note=form.note.data or "")
        else:
            time_credits.spend_time(person, form.minutes.data, organisation, actor=current_user,
                                    pin=form.pin.data or None)
    except DomainError as error:
        attach_error(form, error)
        redeem_form = _redeem_form(formdata=None, organisation=organisation.slug)
        redeem_form.organisation.choices = form.organisation.choices
        return _desk_page(organisation, redeem_form, form)
    flash(_("The time credits are recorded."), "success")
    return redirect(url_for(".desk", organisation=organisation.slug))


@bp.route("/desk/redemptions/<int:redemption_id>/refund", methods=["GET", "POST"])
@members
def refund(redemption_id):
    """The co-op gives back part or all of a sale (vouchers/refunds.py); a refusal comes back beside its field."""
    try:
        item = refunds.redemption_for_member(redemption_id, current_user)
    except DomainError:
        abort(404)  # another co-op's sale is not shown, as its statements are not
    form = RefundForm()
    if form.validate_on_submit():
        try:
            answer, _status, replayed = refunds.refund_once(
                item.id, form.amount.cents, form.reason.data, actor=current_user,
                idempotency_key=vouchers_desk.form_key(form.token.data) or vouchers_desk.new_form_token())
        except DomainError as error:
            attach_error(form, error)
        else:
            if replayed:
                flash(_("This form was already sent: the sale was refunded once."), "info")
            flash(_("Refunded %(amount)s to voucher %(code)s.", amount=money(answer["amount_cents"]),
                    code=item.voucher.code), "success")
            if answer["returned_to_programme"] or item.voucher.state_on(city_today()) == "expired":
                flash(_("This voucher is no longer valid: the value goes back to the programme, not to the holder."),
                      "warning")
            return redirect(url_for(".refund", redemption_id=item.id))
    if not form.token.data:
        form.token.data = vouchers_desk.new_form_token()
    return render_template("vouchers/refund.html", redemption=item, form=form, refunds=refunds.refunds_of(item),
                           refusal=refunds.refusal(item), closes_at=refunds.refund_closes_at(item)
                           ), 422 if form.errors else 200


# Officials ------------------------------------------------------------------------------

# Views named after an operation file take another name; their endpoints keep the plain one.
@bp.route("/programmes", methods=["GET", "POST"], endpoint="programmes")
@officials
def programme_list():
    form = ProgrammeForm()
    form.categories.choices = organisations.category_choices()
    if request.form.get("add_rows"):  # more rows for the scale: the form comes back as typed
        form.add_scale_rows()
    elif form.validate_on_submit():
        try:
            programme = programmes.create_programme(
                form.slug.data, form.name.data, form.budget.cents, form.categories.data, form.valid_until.data,
                valid_from=form.valid_from.data, eligibility=form.eligibility.data or "",
                scale=form.scale_rows, actor=current_user)
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("The programme %(name)s is open.", name=programme.name), "success")
            return redirect(url_for(".programme", slug=programme.slug))
    rows = [(p, ledger.balance(p.account)) for p in programmes.programmes()]
    return render_template("vouchers/programmes.html", form=form, rows=rows), 422 if form.errors else 200


@bp.route("/programmes/<slug>", methods=["GET", "POST"])
@officials
def programme(slug):
    item = programmes.programme_by_slug(slug)
    form = IssueForm()
    no_account = False
    if form.validate_on_submit():
        try:
            if form.amount.data is None and form.income.data is None:
                raise Invalid(_("Give the amount, or the household's income to apply the scale."),
                              field="amount")
            issued, invited = invitations.issue_to_email(
                item, form.holder_email.data, form.amount.cents, invite=form.invite.data, actor=current_user,
                locale=str(get_locale()), valid_until=form.valid_until.data, pin=form.pin.data or None,
                income_cents=form.income.cents)
        except DomainError as error:
            no_account = isinstance(error, invitations.NoAccount)
            attach_error(form, error)
        else:
            flash(_("Voucher %(code)s issued to %(email)s.", code=issued.code, email=issued.holder.email), "success")
            if invited:
                flash(_("An account was opened for %(email)s, and an invitation to choose a password is on its "
                        "way.", email=issued.holder.email), "success")
            return redirect(url_for(".programme", slug=item.slug))
    # The invitation is offered only once no account has the email: never ticked by habit.
    issue_fields = [f.name for f in form if f.name != "invite" or no_account or form.invite.data]
    page = holders.search_vouchers(programme_id=item.id, status=request.args.get("status", ""),
                                   query=request.args.get("q", "").strip(), page=request.args.get("page", 1, type=int))
    return render_template("vouchers/programme.html", programme=item, form=form, issue_fields=issue_fields,
                           batch_form=BatchForm(),
                           figures=programmes.programme_figures(item), vouchers=page,
                           backlinks=backlinks("programme", item.slug)), 422 if form.errors else 200


@bp.route("/programmes/<slug>/rules", methods=["GET", "POST"])
@officials
def programme_rules_page(slug):
    """A programme's refund window and spending rules."""
    item = programmes.programme_by_slug(slug)
    form = ProgrammeRulesForm(data=None if request.method == "POST" else {
        "refund_window_days": item.refund_window_days, "spend_from": item.spend_from,
        "weekdays": list(item.spend_weekdays or ""),
        "hours_from": _time_of(item.spend_minutes_from), "hours_until": _time_of(item.spend_minutes_until),
        "max_open": None if item.max_open_cents_per_holder is None
        else Decimal(item.max_open_cents_per_holder).scaleb(-2)})
    if form.validate_on_submit():
        try:
            programme_rules.set_rules(item, actor=current_user, refund_window_days=form.refund_window_days.data,
                                      spend_from=form.spend_from.data, weekdays=form.weekdays.data,
                                      hours_from=form.hours_from.data, hours_until=form.hours_until.data,
                                      max_open_cents_per_holder=form.max_open.cents)
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("The programme's rules are saved."), "success")
            return redirect(url_for(".programme_rules_page", slug=item.slug))
    return render_template("vouchers/programme_rules.html", programme=item, form=form), 422 if form.errors else 200


def _time_of(minutes):
    return None if minutes is None else time(minutes // 60, minutes % 60)


@bp.route("/programmes/<slug>/batch", methods=["POST"])
@officials
def batch(slug):
    item = programmes.programme_by_slug(slug)
    form = BatchForm()
    check = result = None
    if form.validate_on_submit():
        upload = form.file.data

        def open_lines():
            upload.stream.seek(0)
            return codecs.iterdecode(upload.stream, "utf-8-sig")
        try:
            result = issuance.issue_batch(open_lines, item, actor=current_user, skip_bad_rows=form.skip_bad_rows.data,
                                          unknown_holders=form.unknown_holders.data or "ask",
                                          preview=bool(request.form.get("preview")), locale=_locale())
        except (issuance.BatchRefused, issuance.HoldersWithoutAccount) as refused:
            check = refused.check
            attach_error(form, refused)
        except (DomainError, UnicodeDecodeError) as error:
            attach_error(form, error if isinstance(error, DomainError) else Invalid(
                _("The file is not UTF-8 text."), field="file"))
        else:
            check = result.check
    return render_template("vouchers/batch.html", programme=item, form=form, check=check,
                           result=result), 422 if form.errors else 200


@bp.route("/vouchers/<int:voucher_id>/revoke", methods=["POST"])
@officials
def revoke(voucher_id):
    item = holders.voucher_for_holder(voucher_id, current_user)
    form = ReasonForm()
    try:
        if not form.validate_on_submit():
            raise Invalid(_("Give the reason for revoking the voucher."), field="reason")
        closing.revoke_voucher(item, form.reason.data, actor=current_user)
    except DomainError as error:
        flash(str(error), "error")
    else:
        flash(_("The voucher is revoked; what remained is back in the programme."), "success")
    return redirect(url_for(".voucher", voucher_id=item.id))


@bp.route("/transfers/<int:transfer_id>", methods=["GET", "POST"])
@officials
def transfer(transfer_id):
    """One transfer, both its accounts, and its reversal: asked with a reason, then confirmed."""
    item = ledger.transfer_by_id(transfer_id)
    form = ReversalForm()
    confirming = False
    if form.validate_on_submit():
        try:
            if form.confirm.data != "yes":
                ledger.check_reversible(item)
                confirming = True
            else:
                reversal_id = ledger.reverse(item.id, actor=current_user, reason=form.reason.data)
        except DomainError as error:
            attach_error(form, error)
        else:
            if not confirming:
                flash(_("Transfer #%(id)s is reversed by transfer #%(reversal)s.", id=item.id, reversal=reversal_id),
                      "success")
                return redirect(url_for(".transfer", transfer_id=item.id))
    refusal = None
    try:
        ledger.check_reversible(item)
    except DomainError as error:
        refusal = str(error)
    return render_template("vouchers/transfer.html", transfer=item, form=form, confirming=confirming,
                           refusal=refusal, reversal=ledger.reversal_of(item.id),
                           debit_label=books.account_label(item.debit_account),
                           credit_label=books.credit_label(item)), 422 if form.errors else 200


@bp.route("/accounts/<int:account_id>")
@officials
def account(account_id):
    """Every movement of one account, each leading to its transfer (and its reversal)."""
    item = books.account_by_id(account_id)
    page = ledger.movements([item.id], **_cursor())
    return render_template("vouchers/account.html", account=item, label=books.account_label(item), movements=page,
                           reversed=books.reversed_among([t.id for t in page.items]))


@bp.route("/expire", methods=["POST"])
@officials
def expire():
    count, returned = closing.expire_vouchers(actor=current_user)
    # `count`, not `num`: Flask-Babel's ngettext takes num itself, unformatted (1000, not 1,000).
    flash(ngettext("%(count)s voucher expired; %(amount)s returned to its programme.",
                   "%(count)s vouchers expired; %(amount)s returned to their programmes.", count,
                   count=format_decimal(count), amount=money(returned)), "success")
    return redirect(url_for(".settlements"))


from . import settlement_views  # noqa: E402, F401  (paying the co-ops: its routes, on this blueprint)
