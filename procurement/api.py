"""The procurement JSON API: published processes for everyone; officials of the
procuring department create processes, publish tenders and decide awards;
organisation members bid. Refusals answer {"error", "message"} with a 4xx."""
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.accounts.models import Role
from app.api import Date
from app.database import transaction
from app.errors import NotFound
from app.organisations import operations as organisations
from app.security import api_public, api_roles_required, api_user

from . import amendments, awarding, contracts, evaluation, processes, releases, tenders
from .models import CriterionKind, Procedure

blp = Blueprint("procurement_api", __name__, url_prefix="/api/v1/procurement",
                description="Social procurement processes: tenders, social criteria, awards and contracts.")


class CriterionSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in CriterionKind]))
    weight = fields.Integer(required=True, validate=validate.Range(min=1, max=100))
    description = fields.String(load_default="")
    social = fields.Function(lambda c: c.kind_enum.social, dump_only=True)


class SupplierSchema(Schema):
    slug = fields.String()
    name = fields.String()
    kind = fields.String()
    social_economy = fields.Boolean(attribute="is_social_economy")


class AwardSchema(Schema):
    supplier = fields.Nested(SupplierSchema)
    supplier_accredited = fields.Function(lambda a: awarding.accredited(a.process, a.supplier), allow_none=True)
    value_cents = fields.Integer()
    score = fields.Function(lambda a: a.total_score / 100)
    decided_on = Date()
    tie = fields.Boolean()
    override = fields.Boolean()
    justification = fields.String()
    ranking = fields.Function(lambda a: [{"organisation": r["organisation"], "score": r["total"] / 100,
                                          "rank": r["rank"]} for r in a.ranking])


class ContractSchema(Schema):
    supplier = fields.Nested(SupplierSchema)
    value_cents = fields.Integer()
    signed_on = Date()
    period_start = Date()
    period_end = Date()
    paid_cents = fields.Integer()


class AmendmentSchema(Schema):
    id = fields.Integer()
    scope = fields.String(metadata={"description": "tender, award or contract"})
    rationale = fields.String()
    date = fields.DateTime()
    amended_by = fields.Function(lambda a: a.amended_by.name if a.amended_by else None)
    before = fields.Dict(metadata={"description": "The fields it changed, as they were."})
    after = fields.Dict(metadata={"description": "The same fields, as they became."})
    release_id = fields.String(metadata={"description": "The OCDS release that published it."})


class ProcessSchema(Schema):
    id = fields.Integer()
    reference = fields.String()
    ocid = fields.Function(lambda p: f"{processes.ocid_prefix()}-{p.reference}")
    title = fields.String()
    description = fields.String()
    department = fields.Nested(SupplierSchema)
    category = fields.Function(lambda p: p.category.slug if p.category else None)
    priority_need_id = fields.Integer(allow_none=True)
    budget_cents = fields.Integer()
    procedure = fields.String()
    allow_above_value = fields.Boolean(metadata={"description": "Whether bids above the budget are accepted."})
    phase = fields.String()
    bid_deadline = Date(allow_none=True)
    criteria = fields.List(fields.Nested(CriterionSchema))
    award = fields.Nested(AwardSchema, allow_none=True)
    contract = fields.Nested(ContractSchema, allow_none=True)
    amendments = fields.Function(lambda p: AmendmentSchema(many=True).dump(releases.amendments_of(p))
                                 if p.published else [])


class ProcessQuery(Schema):
    phase = fields.String(load_default="")
    procedure = fields.String(load_default="")
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))


class NewProcessSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="")
    department = fields.String(required=True, metadata={"description": "The department's slug."})
    category = fields.String(load_default=None, allow_none=True)
    priority_need_id = fields.Integer(load_default=None, allow_none=True)
    budget_cents = fields.Integer(required=True, validate=validate.Range(min=0))
    procedure = fields.String(load_default="open", validate=validate.OneOf([p.value for p in Procedure]))
    allow_above_value = fields.Boolean(load_default=False,
                                       metadata={"description": "Accept bids above the budget (off: refused)."})
    criteria = fields.List(fields.Nested(CriterionSchema), load_default=list)


class TenderSchema(Schema):
    deadline = Date(required=True)


class BidSchema(Schema):
    organisation = fields.String(required=True, metadata={"description": "The bidding organisation's slug."})
    amount_cents = fields.Integer(required=True, validate=validate.Range(min=1))
    summary = fields.String(load_default="")
    declarations = fields.List(fields.String(), load_default=list, metadata={
        "description": "The declarations ticked: no_exclusion_grounds (always required), social_economy "
                       "(required on reserved tenders), wage_ratio (required when a criterion is fair wages). "
                       "Documents are attached on the bid's web page."})


class BidCreatedSchema(Schema):
    id = fields.Integer()
    organisation = fields.Nested(SupplierSchema)
    amount_cents = fields.Integer()
    status = fields.String(metadata={"description": "active, withdrawn, or replaced by a later bid."})
    declarations = fields.List(fields.String())


class DeadlineSchema(Schema):
    deadline = Date(required=True, metadata={"description": "The new deadline for bids, after the current one."})
    rationale = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                              metadata={"description": "Published with the amendment and sent to the bidders."})


class TenderAmendmentSchema(Schema):
    rationale = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=10000))
    budget_cents = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))


class AwardAmendmentSchema(Schema):
    rationale = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    value_cents = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    justification = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class ContractAmendmentSchema(Schema):
    rationale = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    value_cents = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))
    period_end = Date(load_default=None, allow_none=True)


class AwardRequestSchema(Schema):
    bid_id = fields.Integer(load_default=None, allow_none=True)
    justification = fields.String(load_default="")


officials = api_roles_required(Role.OFFICIAL, Role.ADMIN)


@blp.route("/processes")
@api_public
@blp.arguments(ProcessQuery, location="query")
@blp.response(200, ProcessSchema(many=True))
def index(query):
    """Published processes (all of them for an official's token), newest first, 20 a page."""
    return processes.search(api_user(), phase=query["phase"], procedure=query["procedure"], page=query["page"]).items


@blp.route("/processes/<int:process_id>")
@api_public
@blp.response(200, ProcessSchema)
def show(process_id):
    """One process with its criteria, award and contract."""
    return processes.process_by_id(process_id, api_user())


@blp.route("/processes", methods=["POST"])
@officials
@blp.arguments(NewProcessSchema)
@blp.response(201, ProcessSchema)
@blp.doc(security=[{"bearer": []}])
def create(body):
    """Open a process in planning, with its award criteria if given (weights summing to 100)."""
    user = api_user()
    department = organisations.organisation_by_slug(body["department"])
    category = organisations.category_by_slug(body["category"]) if body["category"] else None
    # One transaction: refused criteria leave no half-made process behind.
    with transaction():
        process = tenders.create_process(actor=user, title=body["title"], description=body["description"],
                                         department=department, category=category,
                                         priority_need_id=body["priority_need_id"],
                                         budget_cents=body["budget_cents"], procedure=body["procedure"],
                                         allow_above_value=body["allow_above_value"])
        if body["criteria"]:
            tenders.set_criteria(process, [(c["kind"], c["weight"], c["description"]) for c in body["criteria"]],
                                 actor=user)
    return process


@blp.route("/processes/<int:process_id>/tender", methods=["POST"])
@officials
@blp.arguments(TenderSchema)
@blp.response(200, ProcessSchema)
@blp.doc(security=[{"bearer": []}])
def publish(body, process_id):
    """Publish the tender (planning → tender) with its deadline for bids."""
    process = processes.process_by_id(process_id, api_user())
    tenders.publish_tender(process, body["deadline"], actor=api_user())
    return process


@blp.route("/processes/<int:process_id>/bids", methods=["POST"])
@api_roles_required(Role.ORG_MEMBER)
@blp.arguments(BidSchema)
@blp.response(201, BidCreatedSchema)
@blp.doc(security=[{"bearer": []}])
def bid(body, process_id):
    """Bid on an open tender for an organisation the token's account belongs to, at most the
    tender's value unless it allows more; a new bid of the same organisation before the deadline
    replaces its earlier one (kept, marked replaced)."""
    user = api_user()
    process = processes.process_by_id(process_id, user)
    organisation = next((o for o in user.organisations if o.slug == body["organisation"]), None)
    if organisation is None:
        raise NotFound(_l("You do not belong to that organisation."), field="organisation")
    return tenders.submit_bid(process, organisation, body["amount_cents"], summary=body["summary"],
                              declarations=body["declarations"], actor=user)


@blp.route("/processes/<int:process_id>/bids/<int:bid_id>/withdraw", methods=["POST"])
@api_roles_required(Role.ORG_MEMBER)
@blp.response(200, BidCreatedSchema)
@blp.doc(security=[{"bearer": []}])
def withdraw(process_id, bid_id):
    """Withdraw a bid of the token's organisation before the deadline (kept, marked withdrawn)."""
    bid = tenders.bid_by_id(bid_id)
    # Another organisation's sealed bid does not exist for this account.
    if bid.process_id != processes.process_by_id(process_id, api_user()).id \
            or not api_user().member_of(bid.organisation):
        raise NotFound(_l("No such bid."))
    tenders.withdraw_bid(bid, actor=api_user())
    return bid


@blp.route("/processes/<int:process_id>/award", methods=["POST"])
@officials
@blp.arguments(AwardRequestSchema)
@blp.response(200, ProcessSchema)
@blp.doc(security=[{"bearer": []}])
def award(body, process_id):
    """Decide the award from the computed ranking; a tie or another choice needs a justification."""
    process = processes.process_by_id(process_id, api_user())
    chosen = tenders.bid_by_id(body["bid_id"]) if body["bid_id"] else None
    evaluation.decide_award(process, bid=chosen, justification=body["justification"], actor=api_user())
    return process


@blp.route("/processes/<int:process_id>/deadline", methods=["POST"])
@officials
@blp.arguments(DeadlineSchema)
@blp.response(200, ProcessSchema)
@blp.doc(security=[{"bearer": []}])
def extend(body, process_id):
    """Extend the deadline for bids while bidding is open (409 once it has passed), with a public
    reason: published as a tender amendment and told to the bidders."""
    process = processes.process_by_id(process_id, api_user())
    tenders.extend_deadline(process, body["deadline"], body["rationale"], actor=api_user())
    return process


def _newest_amendment(process):
    return releases.amendments_of(process)[-1]


@blp.route("/processes/<int:process_id>/tender/amendments", methods=["POST"])
@officials
@blp.arguments(TenderAmendmentSchema)
@blp.response(201, AmendmentSchema)
@blp.doc(security=[{"bearer": []}])
def amend_tender(body, process_id):
    """Amend the tender's description or value while bids are accepted (409 afterwards)."""
    process = processes.process_by_id(process_id, api_user())
    amendments.amend_tender(process, body["rationale"], description=body["description"],
                            budget_cents=body["budget_cents"], actor=api_user())
    return _newest_amendment(process)


@blp.route("/processes/<int:process_id>/award/amendments", methods=["POST"])
@officials
@blp.arguments(AwardAmendmentSchema)
@blp.response(201, AmendmentSchema)
@blp.doc(security=[{"bearer": []}])
def amend_award(body, process_id):
    """Amend a decided award's value or justification before its contract is signed (409 otherwise)."""
    process = processes.process_by_id(process_id, api_user())
    amendments.amend_award(process, body["rationale"], value_cents=body["value_cents"],
                           justification=body["justification"], actor=api_user())
    return _newest_amendment(process)


@blp.route("/processes/<int:process_id>/contract/amendments", methods=["POST"])
@officials
@blp.arguments(ContractAmendmentSchema)
@blp.response(201, AmendmentSchema)
@blp.doc(security=[{"bearer": []}])
def amend_contract(body, process_id):
    """Amend a signed contract's value or end date (409 before it is signed or once it is closed)."""
    process = processes.process_by_id(process_id, api_user())
    contracts.amend_contract(process, body["rationale"], value_cents=body["value_cents"],
                             period_end=body["period_end"], actor=api_user())
    return _newest_amendment(process)
