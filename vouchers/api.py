"""The vouchers JSON API: redemption from a co-op's own system, and the
citizen's and organisation's views."""
import marshmallow as ma
from flask import request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from app.accounts.models import Role
from app.accounts.operations import find_user
from app.api import DateTime, api_abort, domain_error_response
from app.errors import DomainError, Invalid, NotFound
from app.extensions import db
from app.organisations import operations as organisations
from app.security import api_identity, api_login_required, api_roles_required, api_user
from app.urls import external_url

from . import contributions, gifts, holders, invitations, ledger, programmes, redemption, refunds, time_credits
from .api_schemas import (
    ISSUANCE_FIELDS,
    ContributionBody,
    ContributionOut,
    ContributionsOut,
    IssuanceBody,
    IssuanceOut,
    MovementsOut,
    ReversalBody,
    ReversalOut,
    TimeCreditBody,
    TimeCreditOut,
    TimeGiftBody,
    TimeGiftOut,
    WholeNumber,
    WriteBody,
)
from .idempotency import caller_scope, once
from .models import MAX_CENTS, Transfer

blp = Blueprint("vouchers_api", __name__, url_prefix="/api/v1/vouchers",
                description="Social vouchers: redemption by accredited organisations, holders' balances.")


class RedemptionBody(ma.Schema):
    """What a till sends (for the OpenAPI document: the view checks the body by hand, this being the
    platform's busiest write)."""
    code = ma.fields.String(required=True, metadata={"example": "ABCD-EFGH-JKMN", "description":
                            "The voucher's code; case, spaces and dashes are forgiven"})
    amount = ma.fields.Integer(required=True, metadata={"description": "Cents, above zero", "example": 1500})
    service_category = ma.fields.String(required=True, metadata={"example": "elder-care"})
    idempotency_key = ma.fields.String(required=True, metadata={"description": "At most 100 characters; a retry "
                                       "with the same key and request answers the first answer"})
    organisation = ma.fields.String(metadata={"description": "The organisation's slug, for a member of several"})
    pin = ma.fields.String(metadata={"description": "The holder's PIN, when the voucher has one"})


class RedemptionAnswer(ma.Schema):
    redemption_id = ma.fields.Integer()
    code = ma.fields.String()
    amount_cents = ma.fields.Integer()
    remaining_cents = ma.fields.Integer()
    organisation = ma.fields.String()
    service_category = ma.fields.String()
    at = DateTime()


def _json(schema) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


REDEMPTION_ANSWERS = {
    201: {"description": "Redeemed; a retry with the same key and request answers the first answer again, "
                         "with the header Idempotent-Replayed: true", **_json(RedemptionAnswer)},
    **{status: {"description": description, **_json("Error")} for status, description in {
        400: "The body is not readable JSON (nested too deep, not Unicode)",
        401: "No valid bearer token",
        403: "not_accredited, category_not_covered, wrong_pin, pin_locked (five PINs typed for the voucher in "
             "15 minutes), not_member, or not an organisation's member",
        404: "unknown_code",
        409: "amount_exceeds_remaining or exhausted",
        410: "expired or revoked",
        422: "unprocessable (a field missing or of the wrong type), bad_code (mistyped: the check character "
             "fails), bad_amount, or idempotency_key_reused (the key was used for another request)",
    }.items()}}

# The hand check reads its fields from RedemptionBody, so the document and the check cannot drift apart.
_KINDS = {ma.fields.String: str, ma.fields.Integer: int}
REDEMPTION_FIELDS = {name: _KINDS[type(f)] for name, f in RedemptionBody().fields.items() if f.required}
REDEMPTION_OPTIONAL_FIELDS = {name: _KINDS[type(f)] for name, f in RedemptionBody().fields.items() if not f.required}
REDEMPTION_FIELD_ERRORS = {str: _l("This field is required and must be a string."),
                           int: _l("This field is required and must be a whole number of cents.")}
OPTIONAL_FIELD_ERRORS = {str: _l("This field must be a string.")}


def _redemption_request() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        api_abort(422, "unprocessable", _l("Send a JSON object with code, amount, service_category and "
                                           "idempotency_key."))
    errors = {}
    for name, kind in REDEMPTION_FIELDS.items():
        value = body.get(name)
        if value is None or isinstance(value, bool) or not isinstance(value, kind) or value == "":
            errors[name] = [str(REDEMPTION_FIELD_ERRORS[kind])]
    if "idempotency_key" not in errors and len(body["idempotency_key"]) > 100:
        errors["idempotency_key"] = [str(_l("At most 100 characters."))]
    for name, kind in REDEMPTION_OPTIONAL_FIELDS.items():
        if body.get(name) is not None and not isinstance(body[name], kind):
            errors[name] = [str(OPTIONAL_FIELD_ERRORS[kind])]
    if errors:
        api_abort(422, "unprocessable", _l("The request is not valid."), errors=errors)
    return body


@blp.route("/redemptions", methods=["POST"])
@blp.doc(security=[{"bearer": []}], requestBody={"required": True, **_json(RedemptionBody)},
         responses=REDEMPTION_ANSWERS)
@api_roles_required(Role.ORG_MEMBER, identity_only=True)
def redeem():
    """Redeem part of a voucher for a service given by the token's organisation.

    Body: {code, amount (cents), service_category, idempotency_key, organisation?, pin?}.
    201 with the redemption; 401 without a token; 403 not accredited for the category today
    (or not this organisation's member); 404 unknown code; 409 amount above what remains;
    410 expired or revoked; 422 malformed request or check character failing. Retrying with
    the same idempotency_key returns the first answer (with Idempotent-Replayed: true) and moves
    nothing; the same key with another code, amount or service_category is refused (422
    idempotency_key_reused)."""
    user = api_identity()  # lean: ids, roles and organisations without the ORM (maybe cached: see below)
    body = _redemption_request()
    try:
        organisation = organisations.organisation_for_member(user, body.get("organisation"))
        result = redemption.redeem(body["code"], body["amount"], body["service_category"], organisation, actor=user,
                                   pin=body.get("pin"), idempotency_key=body["idempotency_key"],
                                   while_token_valid=user.token_hash if user.cached else None)
    except DomainError as error:
        return domain_error_response(error)
    return result.as_json(), 201, ({"Idempotent-Replayed": "true"} if result.replayed else {})


def _voucher_json(voucher) -> dict:
    return {"code": voucher.code, "programme": voucher.programme.slug, "value_cents": voucher.value_cents,
            "remaining_cents": voucher.account.balance, "status": voucher.status,
            "exhausted": voucher.exhausted, "valid_until": voucher.valid_until.isoformat(),
            "service_categories": voucher.programme.categories}


class VoucherHeld(ma.Schema):
    code = ma.fields.String()
    programme = ma.fields.String(metadata={"description": "The programme's slug"})
    value_cents = ma.fields.Integer()
    remaining_cents = ma.fields.Integer()
    status = ma.fields.String()
    exhausted = ma.fields.Boolean()
    valid_until = ma.fields.String(metadata={"format": "date"})
    service_categories = ma.fields.List(ma.fields.String(), metadata={"description": "Where it may be spent"})


class MineAnswer(ma.Schema):
    vouchers = ma.fields.List(ma.fields.Nested(VoucherHeld))
    remaining_cents = ma.fields.Integer(metadata={"description": "What remains on the active vouchers, in cents"})
    time_credit_minutes = ma.fields.Integer()


class OrganisationRedemption(ma.Schema):
    redemption_id = ma.fields.Integer()
    code = ma.fields.String()
    amount_cents = ma.fields.Integer()
    service_category = ma.fields.String()
    at = ma.fields.String(metadata={"format": "date-time"})
    settlement_id = ma.fields.Integer(allow_none=True, metadata={"description": "Null until the city settles it"})


class OrganisationAnswer(ma.Schema):
    organisation = ma.fields.String(metadata={"description": "The organisation's slug"})
    unsettled_cents = ma.fields.Integer()
    older = ma.fields.String(allow_none=True, metadata={"description": "before=<this> reads the older redemptions"})
    newer = ma.fields.String(allow_none=True, metadata={"description": "after=<this> reads the newer redemptions"})
    page = ma.fields.Integer(metadata={"description": "The page asked for with `page` (1 otherwise)"})
    pages = ma.fields.Integer(metadata={"description": "Only when `page` was asked: how many pages there are"})
    redemptions = ma.fields.List(ma.fields.Nested(OrganisationRedemption))


# A history's place (app/paging.py keyset_page): the cursor an answer's `older` or `newer` gave.
CURSOR = validate.Regexp(r"^\d{1,18}(\.\d{1,18})?$", error=_l("Give the cursor an answer's older or newer field gave."))


class HistoryQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    before = fields.String(validate=CURSOR, metadata={"description": "An answer's `older`: the rows before it"})
    after = fields.String(validate=CURSOR, metadata={"description": "An answer's `newer`: the rows after it"})
    # The numbered pages the API answered before the cursors: still read (each costs the rows before it).
    page = fields.Integer(validate=validate.Range(min=1, max=100_000), metadata={
        "description": "Deprecated: page n, 50 rows a page (use before/after); with it the answer also has page"})


@blp.route("/mine")
@blp.response(200, MineAnswer)
@blp.doc(security=[{"bearer": []}])
@api_login_required
def mine():
    """The token holder's vouchers with what remains on each, and their time credits (minutes)."""
    user = api_user()
    vouchers = holders.holder_vouchers(user)
    return {"vouchers": [_voucher_json(v) for v in vouchers],
            "remaining_cents": sum(v.account.balance for v in vouchers if v.status == "active"),
            "time_credit_minutes": time_credits.time_balance(user)}


@blp.route("/organisation")
@blp.response(200, OrganisationAnswer)
@blp.doc(security=[{"bearer": []}])
@api_roles_required(Role.ORG_MEMBER)
@blp.arguments(HistoryQuery, location="query")
def organisation(place):
    """The token's organisation: redeemed value not yet settled, and its latest redemptions.

    Query: organisation=<slug> when the account belongs to several; before=<older> or after=<newer>
    (the cursors of a previous answer), 50 redemptions an answer, newest first."""
    user = api_user()
    try:
        org = organisations.organisation_for_member(user, request.args.get("organisation"))
    except DomainError as error:
        return domain_error_response(error)
    page = redemption.organisation_redemptions(org, **place)
    answer = {"organisation": org.slug, "unsettled_cents": redemption.organisation_balance(org),
              "older": page.older, "newer": page.newer, "page": place.get("page", 1),
              "redemptions": [{"redemption_id": r.id, "code": r.code, "amount_cents": r.amount_cents,
                               "service_category": r.category, "at": r.at.isoformat(),
                               "settlement_id": r.settlement_id} for r in page.items]}
    if "page" in place:  # a client of the numbered pages: it is told how many (a count only it pays for)
        answer["pages"] = -(-redemption.organisation_redemption_count(org) // page.per_page)
    return answer


# Contributions, reversals and time credits -----------------------------------------------
# Every write takes an idempotency key (vouchers/idempotency.py): a retry answers the first
# answer and moves nothing. Refusals are DomainErrors, answered by the app's JSON handler.
# The role check comes before the body's validation: a caller without the right gets 401/403, not 422.

REFUSALS = {401: "No valid bearer token.", 403: "This account may not do this.",
            409: "Refused by the ledger: see `error` for the reason.",
            422: "Malformed request, or an idempotency key reused for a different request."}


def _answer(answer, status, replayed):
    return answer, status, ({"Idempotent-Replayed": "true"} if replayed else {})


def _written_at(transfer_id: int) -> str:
    return db.session.get(Transfer, transfer_id).at.isoformat()


def _contribution_json(contribution) -> dict:
    return {"contribution_id": contribution.id, "amount_cents": contribution.amount_cents,
            "organisation": contribution.organisation.slug if contribution.organisation_id else None,
            "at": contribution.at.isoformat(),
            "returned_at": contribution.reversal.at.isoformat() if contribution.reversal else None,
            "receipt_url": external_url("vouchers.receipt", contribution_id=contribution.id)}


@blp.route("/programmes/<slug>/vouchers", methods=["POST"])
@api_roles_required(Role.OFFICIAL, Role.ADMIN)
@blp.arguments(IssuanceBody, location="json")
@blp.response(201, IssuanceOut)
@blp.doc(security=[{"bearer": []}], responses={
    **{s: {"description": d} for s, d in REFUSALS.items()},
    404: {"description": "No such programme."},
    422: {"description": "unknown_person: no account has holder_email and the body did not ask to invite "
                         "(\"invite\": true); invalid: the amount, date or PIN refused (see `field`); "
                         "unprocessable: a malformed body; or an idempotency key reused."}})
def issue_voucher(body, slug):
    """Officials: issue one voucher of a programme to the account with holder_email.

    With no such account the request is refused (422 unknown_person) unless it asks to invite
    the person; then their account is opened and an invitation to choose a password is sent, as
    on the programme's page. A retry with the same idempotency_key issues nothing twice."""
    user = api_user()
    programme = programmes.programme_by_slug(slug)

    def produce():
        try:
            voucher, invited = invitations.issue_to_email(
                programme, body["holder_email"], body["amount_cents"], invite=body["invite"], actor=user,
                locale=str(get_locale() or "en"), valid_until=body["valid_until"], pin=body["pin"],
                income_cents=body["income_cents"])
        except invitations.NoAccount:
            raise Invalid(_l("No account has this email. Correct it, or send \"invite\": true to open an "
                             "account and invite the person."), field="holder_email", code="unknown_person") from None
        except DomainError as error:  # named as the body names its fields
            error.field = ISSUANCE_FIELDS.get(error.field, error.field)
            raise
        return {"voucher_id": voucher.id, "code": voucher.code, "programme": programme.slug,
                "holder_email": voucher.holder.email, "value_cents": voucher.value_cents,
                "valid_until": voucher.valid_until.isoformat(), "invited": invited}
    return _answer(*once(caller_scope(user, "issuance"), body["idempotency_key"],
                         {**body, "valid_until": body["valid_until"] and body["valid_until"].isoformat(),
                          "programme": slug}, produce))


@blp.route("/contributions", methods=["POST"])
@api_login_required
@blp.arguments(ContributionBody, location="json")
@blp.response(201, ContributionOut)
@blp.doc(security=[{"bearer": []}], responses={s: {"description": d} for s, d in REFUSALS.items()})
def contribute(body):
    """Contribute to the collective pool, as yourself or for your organisation; the answer links the receipt."""
    user = api_user()

    def produce():
        organisation = (organisations.organisation_for_member(user, body["organisation"]) if body["organisation"]
                        else None)
        return _contribution_json(contributions.contribute(body["amount_cents"], actor=user,
                                                           organisation=organisation))
    return _answer(*once(caller_scope(user, "contribution"), body["idempotency_key"], body, produce))


@blp.route("/contributions", endpoint="contributions")  # the function takes another name than its file's
@api_login_required
@blp.response(200, ContributionsOut)
@blp.doc(security=[{"bearer": []}])
def contribution_list():
    """Your contributions and your organisations', newest first, with their receipts."""
    return {"contributions": [_contribution_json(c) for c in contributions.contributions_of(api_user())]}


@blp.route("/transfers/<int:transfer_id>/reversal", methods=["POST"])
@api_roles_required(Role.OFFICIAL, Role.ADMIN)
@blp.arguments(ReversalBody, location="json")
@blp.response(201, ReversalOut)
@blp.doc(security=[{"bearer": []}], responses={**{s: {"description": d} for s, d in REFUSALS.items()},
                                               404: {"description": "No such transfer."}})
def reverse_transfer(body, transfer_id):
    """Officials: correct a mistaken transfer by moving its amount back (the original stays).

    409 when it is already reversed, is itself a reversal, is a settled redemption, or the
    amount is no longer there to move back; 422 without a reason."""
    user = api_user()
    original = ledger.transfer_by_id(transfer_id)

    def produce():
        reversal_id = ledger.reverse(original.id, actor=user, reason=body["reason"])
        # What moved back: a redemption its co-op partly refunded is reversed only for the rest.
        moved = db.session.get(Transfer, reversal_id).amount
        return {"reversal_id": reversal_id, "reverses": original.id, "amount": moved,
                "currency": original.currency, "reversed_kind": original.kind, "reason": body["reason"].strip(),
                "at": _written_at(reversal_id)}
    return _answer(*once(caller_scope(user, "reversal"), body["idempotency_key"],
                         {**body, "transfer_id": transfer_id}, produce))


class RefundBody(WriteBody):
    amount = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_CENTS),
                         metadata={"description": "Cents to give back to the voucher, above zero.", "example": 500})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=refunds.REASON_MAX))


class RefundOut(Schema):
    refund_id = fields.Integer()
    remaining_cents = fields.Integer(metadata={
        "description": "What is still refundable of this redemption after this refund: its amount less every "
                       "refund of it so far (0 once refunded in full). Not the voucher's balance: see "
                       "voucher_remaining_cents."})
    redemption_id = fields.Integer()
    amount_cents = fields.Integer()
    voucher_remaining_cents = fields.Integer(metadata={"description": "The voucher's balance after this refund."})
    returned_to_programme = fields.Boolean(metadata={
        "description": "True when the voucher had expired or been revoked: the value went on to its programme."})
    at = fields.String()


@blp.route("/redemptions/<int:redemption_id>/refund", methods=["POST"])
@api_roles_required(Role.ORG_MEMBER)
@blp.arguments(RefundBody, location="json")
@blp.response(201, RefundOut)
@blp.doc(security=[{"bearer": []}], responses={
    401: {"description": "No valid bearer token."},
    403: {"description": "not_your_redemption: another organisation redeemed it (or the account is no member)."},
    404: {"description": "No such redemption."},
    409: {"description": "refund_window_closed (the programme's refund window after the redemption has ended), "
                         "settled (the co-op has been paid for it), or reversed (an official reversed it)."},
    422: {"description": "amount_exceeds_refundable (more than is left to refund of it), a field missing or "
                         "malformed, or idempotency_key_reused."}})
def refund(body, redemption_id):
    """A co-op gives back all or part of a redemption it made, within its programme's refund window
    and before it is settled; the value goes back to the voucher and its holder is told.

    Several partial refunds never add up to more than the redemption. A retry with the same
    idempotency_key answers the first answer (Idempotent-Replayed: true) and moves nothing."""
    return _answer(*refunds.refund_once(redemption_id, body["amount"], body["reason"], actor=api_user(),
                                        idempotency_key=body["idempotency_key"]))


@blp.route("/time-credits", methods=["POST"])
@api_roles_required(Role.ORG_MEMBER)
@blp.arguments(TimeCreditBody, location="json")
@blp.response(201, TimeCreditOut)
@blp.doc(security=[{"bearer": []}], responses={**{s: {"description": d} for s, d in REFUSALS.items()},
                                               404: {"description": "No account has the volunteer's email."}})
def record_time(body):
    """An organisation records the minutes of care a volunteer gave; the volunteer earns them."""
    user = api_user()

    def produce():
        organisation = organisations.organisation_for_member(user, body["organisation"])
        volunteer = find_user(body["volunteer_email"])
        if volunteer is None:
            raise NotFound(_l("No account has this email."), field="volunteer_email", code="unknown_person")
        transfer_id = time_credits.record_time(volunteer, body["minutes"], organisation, actor=user, note=body["note"])
        return {"transfer_id": transfer_id, "minutes": body["minutes"], "volunteer_email": volunteer.email,
                "organisation": organisation.slug, "note": body["note"], "at": _written_at(transfer_id)}
    return _answer(*once(caller_scope(user, "time-credit"), body["idempotency_key"], body, produce))


@blp.route("/time-credits/gifts", methods=["POST"])
@api_login_required
@blp.arguments(TimeGiftBody, location="json")
@blp.response(202, TimeGiftOut)
@blp.doc(security=[{"bearer": []}], responses={s: {"description": d} for s, d in REFUSALS.items()})
def give_time(body):
    """Give some of your time credits to a relative's account; 409 when you hold fewer minutes.

    202 with the same answer whether or not the email has an account, as on the web page: your
    minutes leave your account alike; with no account for the email they wait for one
    PROCOMUN_GIFT_HOLD_DAYS days, then come back. Never 404."""
    user = api_user()

    def produce():
        try:
            gifts.send(user, body["relative_email"], body["minutes"])
        except DomainError as error:
            if error.field == "email":  # the web form's field; here the body's
                error.field = "relative_email"
            raise
        return {"minutes": body["minutes"], "relative_email": body["relative_email"].strip().lower(),
                "note": _("The minutes are on their way. If no account here has this email yet, they wait "
                          "%(days)s days for one, then come back to you.", days=gifts.hold_days())}
    return _answer(*once(caller_scope(user, "time-gift"), body["idempotency_key"], body, produce, status=202))


@blp.route("/movements")
@api_login_required
@blp.arguments(HistoryQuery, location="query")
@blp.response(200, MovementsOut)
@blp.doc(security=[{"bearer": []}])
def movements(query):
    """Every movement on your accounts (vouchers, time credits, contributions), newest first, 50 an
    answer; before=<older> or after=<newer> (the cursors of a previous answer) read on."""
    account_ids = {a.id for a in holders.holder_accounts(api_user())}
    page = ledger.movements(list(account_ids), **query)
    answer = {"older": page.older, "newer": page.newer, "page": query.get("page", 1), "movements": [
        {"transfer_id": t.id, "at": t.at.isoformat(), "kind": t.kind, "currency": t.currency,
         "amount_in": t.amount if t.credit_account_id in account_ids else 0,
         "amount_out": t.amount if t.debit_account_id in account_ids else 0,
         "reference": t.reference, "reverses": t.reverses_id} for t in page.items]}
    if "page" in query:  # a client of the numbered pages: it is told how many (a count only it pays for)
        answer["total"] = ledger.movement_count(list(account_ids))
        answer["pages"] = -(-answer["total"] // page.per_page)
    return answer
