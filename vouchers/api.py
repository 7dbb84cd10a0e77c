"""The vouchers JSON API: redemption from a co-op's own system, and the
citizen's and organisation's views."""
from flask import request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from app.accounts.models import Role
from app.api import api_abort, domain_error_response
from app.errors import DomainError
from app.security import api_identity, api_login_required, api_roles_required, api_user

from . import operations as ops

blp = Blueprint("vouchers_api", __name__, url_prefix="/api/v1/vouchers",
                description="Social vouchers: redemption by accredited organisations, holders' balances.")

REDEMPTION_FIELDS = {"code": str, "amount": int, "service_category": str, "idempotency_key": str}


def _redemption_request() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        api_abort(422, "unprocessable", _l("Send a JSON object with code, amount, service_category and "
                                           "idempotency_key."))
    errors = {}
    for name, kind in REDEMPTION_FIELDS.items():
        value = body.get(name)
        if value is None or isinstance(value, bool) or not isinstance(value, kind) or value == "":
            errors[name] = [str(_l("This field is required and must be a %(kind)s.",
                                   kind="string" if kind is str else "whole number"))]
    if "idempotency_key" not in errors and len(body["idempotency_key"]) > 100:
        errors["idempotency_key"] = [str(_l("At most 100 characters."))]
    for optional in ("organisation", "pin"):
        if body.get(optional) is not None and not isinstance(body[optional], str):
            errors[optional] = [str(_l("This field must be a string."))]
    if errors:
        api_abort(422, "unprocessable", _l("The request is not valid."), errors=errors)
    return body


@blp.route("/redemptions", methods=["POST"])
@blp.doc(security=[{"bearer": []}])
@api_roles_required(Role.ORG_MEMBER, identity_only=True)
def redeem():
    """Redeem part of a voucher for a service given by the token's organisation.

    Body: {code, amount (cents), service_category, idempotency_key, organisation?, pin?}.
    201 with the redemption; 401 without a token; 403 not accredited for the category today
    (or not this organisation's member); 404 unknown code; 409 amount above what remains;
    410 expired or revoked; 422 malformed request or check character failing. Retrying with
    the same idempotency_key returns the first answer and moves nothing."""
    user = api_identity()  # lean: ids, roles and organisations without the ORM (maybe cached: see below)
    body = _redemption_request()
    try:
        organisation = ops.organisation_for_member(user, body.get("organisation"))
        result = ops.redeem(body["code"], body["amount"], body["service_category"], organisation, actor=user,
                            pin=body.get("pin"), idempotency_key=body["idempotency_key"],
                            while_token_valid=user.token_hash if user.cached else None)
    except DomainError as error:
        return domain_error_response(error)
    return result.as_json(), 201


def _voucher_json(voucher) -> dict:
    return {"code": voucher.code, "programme": voucher.programme.slug, "value_cents": voucher.value_cents,
            "remaining_cents": voucher.account.balance, "status": voucher.status,
            "exhausted": voucher.exhausted, "valid_until": voucher.valid_until.isoformat(),
            "service_categories": voucher.programme.categories}


@blp.route("/mine")
@blp.doc(security=[{"bearer": []}])
@api_login_required
def mine():
    """The token holder's vouchers with what remains on each, and their time credits (minutes)."""
    user = api_user()
    vouchers = ops.holder_vouchers(user)
    return {"vouchers": [_voucher_json(v) for v in vouchers],
            "remaining_cents": sum(v.account.balance for v in vouchers if v.status == "active"),
            "time_credit_minutes": ops.time_balance(user)}


@blp.route("/organisation")
@blp.doc(security=[{"bearer": []}])
@api_roles_required(Role.ORG_MEMBER)
def organisation():
    """The token's organisation: redeemed value not yet settled, and its latest redemptions.

    Query: organisation=<slug> when the account belongs to several; page=<n>."""
    user = api_user()
    try:
        org = ops.organisation_for_member(user, request.args.get("organisation"))
    except DomainError as error:
        return domain_error_response(error)
    page = ops.organisation_redemptions(org, page=max(request.args.get("page", 1, type=int), 1))
    return {"organisation": org.slug, "unsettled_cents": ops.organisation_balance(org),
            "page": page.page, "pages": page.pages,
            "redemptions": [{"redemption_id": r.id, "code": r.voucher.code, "amount_cents": r.amount_cents,
                             "service_category": r.category, "at": r.at.isoformat(),
                             "settlement_id": r.settlement_id} for r in page.items]}
