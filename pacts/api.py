"""JSON API for proposals, pacts and reports: read for all, write by role.

Write bodies are optional field by field: the operations say what is missing,
as the same translated `{"error", "message", "field"}` the pages show."""
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.accounts.models import Role
from app.api import Date, DateTime, api_abort
from app.moderation.shown import hidden_notice, public_text
from app.security import api_login_required, api_public, api_roles_required, api_user

from . import commons_register, lifecycle, register, signing, standard_forms
from . import proposals as proposing
from . import reports as reporting
from .models import CLAUSES
from .naming import public_proposer

blp = Blueprint("pacts_api", __name__, url_prefix="/api/v1/pacts",
                description="Collaboration pacts: proposals, pacts, their clauses and reports.")


class CommonsSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    neighbourhood = fields.String()
    place = fields.String()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    department = fields.String()


class CommonsRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    neighbourhood = fields.String()


class SignatureSchema(Schema):
    party = fields.String()
    name = fields.String()
    signed_at = DateTime()


def _clauses(version) -> dict:
    """A hidden proposal's unsigned clauses say so, each in its place (app/moderation)."""
    if version.hidden_by_moderation:
        return {key: hidden_notice(version.pact.hidden_reason) for key in version.clauses or {}}
    return version.clauses


class VersionSchema(Schema):
    number = fields.Integer()
    clauses = fields.Function(_clauses)
    note = fields.String()
    created_at = DateTime()
    signatures = fields.List(fields.Nested(SignatureSchema))


class ReportSchema(Schema):
    id = fields.Integer()
    due_on = Date()
    activities = fields.Function(lambda report: public_text(report, "activities"))
    volunteer_hours = fields.Float()
    resources_used = fields.Function(lambda report: public_text(report, "resources_used"))
    results = fields.Function(lambda report: public_text(report, "results"))
    submitted_at = DateTime()
    hidden_by_moderation = fields.Function(lambda report: report.is_hidden)


class PactSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    state = fields.String()
    intervention = fields.String()
    track = fields.String()
    proposer = fields.Function(public_proposer)
    what = fields.Function(lambda pact: public_text(pact, "what"))
    why = fields.Function(lambda pact: public_text(pact, "why"))
    participants = fields.Function(lambda pact: public_text(pact, "participants"))
    hidden_by_moderation = fields.Function(lambda pact: pact.is_hidden)
    resources = fields.List(fields.String())
    duration_months = fields.Integer()
    report_every_months = fields.Integer()
    submitted_at = DateTime(allow_none=True)
    answer_due = Date(allow_none=True)
    consultation_ends = Date(allow_none=True)
    starts_on = Date(allow_none=True)
    ends_on = Date(allow_none=True)
    reason = fields.String()
    commons = fields.List(fields.Nested(CommonsRefSchema))
    signed_version = fields.Nested(VersionSchema, allow_none=True)
    latest_version = fields.Nested(VersionSchema, allow_none=True)
    supports = fields.Function(lambda p: len(p.supports))


class PactListQuery(Schema):
    state = fields.String(load_default="")
    kind = fields.String(load_default="")
    commons = fields.Integer(load_default=None, allow_none=True)
    neighbourhood = fields.String(load_default="")
    year = fields.Integer(load_default=None, allow_none=True)
    page = fields.Integer(load_default=1)


class ProposalBody(Schema):
    title = fields.String(load_default="")
    intervention = fields.String(load_default="care")
    track = fields.String(load_default="complex")
    standard_form = fields.Integer(load_default=None, allow_none=True)
    commons = fields.List(fields.Integer(), load_default=list)
    what = fields.String(load_default="")
    why = fields.String(load_default="")
    participants = fields.String(load_default="")
    resources = fields.List(fields.String(), load_default=list)
    duration_months = fields.Integer(load_default=12)
    report_every_months = fields.Integer(load_default=6)
    proposer_kind = fields.String(load_default="individual")
    group_name = fields.String(load_default="")
    locale = fields.String(load_default="en")
    publish_name = fields.Boolean(load_default=False, metadata={
        "description": "A resident proposing alone: whether their name is published (default: no, the public "
                       "reads \"a resident of\" the neighbourhood)."})


class ClausesBody(Schema):
    clauses = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    note = fields.String(load_default="")


class ReportBody(Schema):
    due_on = Date(load_default=None, allow_none=True)
    activities = fields.String(load_default="")
    volunteer_hours = fields.Float(load_default=0)
    resources_used = fields.String(load_default="")
    results = fields.String(load_default="")


class DecisionBody(Schema):
    reason = fields.String(load_default="")


def _page(query, **flags):
    return register.search_pacts(state=query["state"], intervention=query["kind"], commons_id=query["commons"],
                                 neighbourhood=query["neighbourhood"], year=query["year"],
                                 page=max(query["page"], 1), per_page=100, **flags).items


@blp.route("")
@blp.arguments(PactListQuery, location="query")
@blp.response(200, PactSchema(many=True))
@api_public
def pacts(query):
    """Signed pacts (in force or ended), filtered like the public register."""
    return _page(query, signed_only=True)


@blp.route("/proposals")
@blp.arguments(PactListQuery, location="query")
@blp.response(200, PactSchema(many=True))
@api_public
def proposals(query):
    """Proposals on their way: submitted, in consultation, evaluated, co-designed, approved or rejected."""
    return _page(query, proposals_only=True)


@blp.route("/<int:pact_id>")
@blp.response(200, PactSchema)
@api_public
def pact(pact_id):
    """One proposal or pact with its clauses (drafts only for their proposer and officials)."""
    return register.pact_by_id(pact_id, api_user())


@blp.route("/<int:pact_id>/versions")
@blp.response(200, VersionSchema(many=True))
@api_public
def versions(pact_id):
    """Every saved version of the clauses, with its signatures."""
    return register.pact_by_id(pact_id, api_user()).versions


@blp.route("/<int:pact_id>/reports")
@blp.response(200, ReportSchema(many=True))
@api_public
def reports(pact_id):
    """The reports filed on a pact."""
    return register.pact_by_id(pact_id, api_user()).reports


@blp.route("/commons")
@blp.response(200, CommonsSchema(many=True))
@api_public
def commons():
    """The register of urban commons."""
    return commons_register.all_commons()


@blp.route("/proposals", methods=["POST"])
@blp.arguments(ProposalBody, location="json")
@blp.response(201, PactSchema)
@blp.doc(security=[{"bearer": []}], responses={429: {
    "description": "rate_limited: the account wrote PROCOMUN_MODERATION_PROPOSALS_PER_HOUR proposals in the past hour",
    "content": {"application/json": {"schema": "Error"}}}})
@api_login_required
def propose(body):
    """Write a proposal (a draft, sent with .../submit)."""
    standard = standard_forms.standard_form_by_id(body["standard_form"]) if body["standard_form"] else None
    return proposing.propose(actor=api_user(), title=body["title"], intervention=body["intervention"],
                             track=body["track"], standard_form=standard, commons_ids=body["commons"],
                             what=body["what"], why=body["why"], participants=body["participants"],
                             resources=body["resources"], duration_months=body["duration_months"],
                             report_every_months=body["report_every_months"], proposer_kind=body["proposer_kind"],
                             group_name=body["group_name"], locale=body["locale"][:5],
                             publish_name=body["publish_name"])


@blp.route("/<int:pact_id>/submit", methods=["POST"])
@blp.response(200, PactSchema)
@blp.doc(security=[{"bearer": []}])
@api_login_required
def submit(pact_id):
    """The proposer sends a draft to the city."""
    pact = register.pact_by_id(pact_id, api_user())
    lifecycle.submit(pact, actor=api_user())
    return pact


class SupportSchema(Schema):
    supports = fields.Integer()


@blp.route("/<int:pact_id>/support", methods=["POST"])
@blp.response(201, SupportSchema)
@blp.doc(security=[{"bearer": []}])
@api_login_required
def support(pact_id):
    """Support a proposal in public consultation, once each (where the city asks for it, only as a
    verified resident: 403 `resident_verification_required`)."""
    pact = register.pact_by_id(pact_id, api_user())
    proposing.support(pact, actor=api_user())
    return {"supports": proposing.count_supports(pact)}


@blp.route("/<int:pact_id>/clauses", methods=["PUT"])
@blp.arguments(ClausesBody, location="json")
@blp.response(200, VersionSchema)
@blp.doc(security=[{"bearer": []}])
@api_login_required
def clauses(body, pact_id):
    """Save a new version of the clauses (a draft, co-design, or an amendment to sign again)."""
    pact = register.pact_by_id(pact_id, api_user())
    unknown = set(body["clauses"]) - set(CLAUSES)
    if unknown:
        api_abort(422, "invalid", _l("These are not clauses of a pact: %(keys)s.", keys=", ".join(sorted(unknown))))
    return signing.save_version(pact, body["clauses"], actor=api_user(), note=body["note"])


@blp.route("/<int:pact_id>/reports", methods=["POST"])
@blp.arguments(ReportBody, location="json")
@blp.response(201, ReportSchema)
@blp.doc(security=[{"bearer": []}])
@api_login_required
def file_report(body, pact_id):
    """A signatory files the report for one due date of the pact's schedule."""
    pact = register.pact_by_id(pact_id, api_user())
    return reporting.file_report(pact, body["due_on"] or date.min, actor=api_user(), activities=body["activities"],
                                 volunteer_minutes=int(round(body["volunteer_hours"] * 60)),
                                 resources_used=body["resources_used"], results=body["results"])


@blp.route("/<int:pact_id>/decisions/<any(" + ", ".join(lifecycle.DECISIONS) + "):action>", methods=["POST"])
@blp.arguments(DecisionBody, location="json")
@blp.response(200, PactSchema)
@blp.doc(security=[{"bearer": []}])
@api_roles_required(Role.OFFICIAL, Role.ADMIN)
def decide(body, pact_id, action):
    """An official moves the file: consultation, evaluation, co-design, approval, rejection, suspension…"""
    pact = register.pact_by_id(pact_id, api_user())
    lifecycle.decide(pact, action, body["reason"], actor=api_user())
    return pact
