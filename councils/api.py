"""JSON API: councils, memberships, meetings, votes and priority needs. Anyone
reads; officials configure; members vote for themselves with their own token."""
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.accounts.models import Role
from app.accounts.operations import user_by_email
from app.api import AwareDateTime, Date, DateTime, api_abort
from app.i18n import city_today
from app.organisations import operations as organisations
from app.security import api_public, api_roles_required, api_user

from . import meetings, motions, needs, seats, terms
from . import operations as ops
from .models import HAND_OPTIONS, CountingRule, Jurisdiction, Side, TieRule, VoteRule

# Write routes check the token before parsing the body, so strangers learn nothing from validation.
blp = Blueprint("councils_api", __name__, url_prefix="/api/v1/councils",
                description="Joint councils: composition, Chair rotation, meetings, votes, priority needs.")


class TermSchema(Schema):
    number = fields.Integer()
    start = Date()
    end = Date()
    chair_side = fields.Function(lambda t: t.chair_side.value)
    vice_chair_side = fields.Function(lambda t: t.vice_chair_side.value)


class CouncilSchema(Schema):
    slug = fields.String()
    name = fields.String()
    jurisdiction = fields.String()
    area = fields.String()
    mandate = fields.String()
    seats_per_side = fields.Integer()
    term_months = fields.Integer()
    first_term_start = Date()
    first_chair_side = fields.String()
    vote_rule = fields.String()
    tie_rule = fields.String()
    current_term = fields.Function(lambda c: TermSchema().dump(t) if (t := terms.term_on(c, city_today())) else None)


class CouncilCreateSchema(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)
    seats_per_side = fields.Integer(required=True)
    first_term_start = Date(required=True)
    first_chair_side = fields.String(required=True, validate=validate.OneOf([s.value for s in Side]))
    jurisdiction = fields.String(load_default=Jurisdiction.CITY.value)
    area = fields.String(load_default="")
    mandate = fields.String(load_default="")
    term_months = fields.Integer(load_default=24)
    vote_rule = fields.String(load_default=VoteRule.SIMPLE.value)
    tie_rule = fields.String(load_default=TieRule.REJECTED.value)
    counting_rule = fields.String(load_default=CountingRule.ONE_VOTE.value)


class MembershipSchema(Schema):
    id = fields.Integer()
    person = fields.Function(lambda m: {"id": m.user_id, "name": m.user.name})
    side = fields.String()
    seat_number = fields.Integer()
    organisation = fields.Function(lambda m: m.organisation.slug if m.organisation else None)
    start_date = Date()
    end_date = Date(allow_none=True)


class SeatSchema(Schema):
    email = fields.Email(required=True)
    side = fields.String(required=True, validate=validate.OneOf([s.value for s in Side]))
    on = Date(load_default=None)
    organisation = fields.String(load_default=None)


class MeetingSchema(Schema):
    id = fields.Integer()
    council = fields.Function(lambda m: m.council.slug)
    title = fields.String()
    starts_at = DateTime()
    duration_minutes = fields.Integer()
    location = fields.String()
    locale = fields.String()
    status = fields.String()
    agenda = fields.Function(lambda m: [i.title for i in m.agenda])
    motions = fields.Function(lambda m: [{"id": x.id, "title": x.title, "status": x.status} for x in m.motions])
    minutes = fields.String()


class MeetingCreateSchema(Schema):
    title = fields.String(required=True)
    starts_at = AwareDateTime(required=True)
    duration_minutes = fields.Integer(load_default=120)
    location = fields.String(load_default="")
    locale = fields.String(load_default=None)
    agenda = fields.List(fields.String(), load_default=list)


class VoteSchema(Schema):
    person = fields.Function(lambda v: {"id": v.mandate.user_id, "name": v.mandate.user.name})
    side = fields.Function(lambda v: v.mandate.side)
    option = fields.String()
    by_hand = fields.Boolean()


class HandCountSchema(Schema):
    yes = fields.Integer(load_default=0, validate=validate.Range(min=0))
    no = fields.Integer(load_default=0, validate=validate.Range(min=0))
    abstain = fields.Integer(load_default=0, validate=validate.Range(min=0))


class MotionVotesSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    status = fields.String()
    counts = fields.Function(lambda m: m.counts())
    hands = fields.Function(lambda m: {h.side: HandCountSchema().dump(h) for h in m.hand_counts})
    votes = fields.List(fields.Nested(VoteSchema))


class CloseVoteSchema(Schema):
    confirm = fields.Boolean(load_default=False, metadata={
        "description": "Count the members present who have not voted as abstaining; without it, a 409 lists them."})
    hands = fields.Dict(keys=fields.String(validate=validate.OneOf([s.value for s in Side])),
                        values=fields.Nested(HandCountSchema), load_default=dict,
                        metadata={"description": "Hands counted per side, for the members present who did not vote."})
    names = fields.Dict(keys=fields.Integer(), values=fields.String(validate=validate.OneOf(list(HAND_OPTIONS))),
                        load_default=dict,
                        metadata={"description": "By mandate id, each vote by hand (where names are wanted)."})


class CastVoteSchema(Schema):
    option = fields.String(required=True, validate=validate.OneOf(["yes", "no", "abstain"]))


class PriorityNeedSchema(Schema):
    id = fields.Integer()
    council = fields.Function(lambda n: n.council.slug)
    category = fields.Function(lambda n: n.category.slug)
    neighbourhood = fields.String()
    rank = fields.Integer()
    rationale = fields.String()
    adopted_on = Date()
    title = fields.String()
    current = fields.Boolean()


class NeedsQuery(Schema):
    category = fields.String(load_default=None)
    current_only = fields.Boolean(load_default=True)


def _council(slug):
    return ops.council_by_slug(slug)  # NotFound becomes a JSON 404


@blp.route("")
@blp.response(200, CouncilSchema(many=True))
@api_public
def index():
    """Every council, with its running term and the Chair's side."""
    return ops.all_councils()


@blp.route("", methods=["POST"])
@blp.doc(security=[{"bearer": []}])
@api_roles_required(Role.OFFICIAL, Role.ADMIN)
@blp.arguments(CouncilCreateSchema)
@blp.response(201, CouncilSchema)
def create(body):
    """Set up a council (officials)."""
    return ops.create_council(body.pop("slug"), body.pop("name"), actor=api_user(), **body)


@blp.route("/<slug>")
@blp.response(200, CouncilSchema)
@api_public
def show(slug):
    return _council(slug)


@blp.route("/<slug>/memberships")
@blp.response(200, MembershipSchema(many=True))
@api_public
def memberships(slug):
    """Every mandate, past and present."""
    return seats.mandate_history(_council(slug))


@blp.route("/<slug>/memberships", methods=["POST"])
@blp.doc(security=[{"bearer": []}])
@api_roles_required(Role.OFFICIAL, Role.ADMIN)
@blp.arguments(SeatSchema)
@blp.response(201, MembershipSchema)
def seat(body, slug):
    """Seat a member in a free seat of a side (officials)."""
    council = _council(slug)
    org = organisations.organisation_by_slug(body["organisation"]) if body["organisation"] else None
    return seats.seat_member(council, user_by_email(body["email"]), body["side"], actor=api_user(),
                             on=body["on"], organisation=org)


@blp.route("/<slug>/meetings", endpoint="meetings")
@blp.response(200, MeetingSchema(many=True))
@api_public
def council_meetings(slug):
    return meetings.all_meetings(_council(slug))


@blp.route("/<slug>/meetings", methods=["POST"])
@blp.doc(security=[{"bearer": []}])
@api_roles_required(Role.OFFICIAL, Role.ADMIN)
@blp.arguments(MeetingCreateSchema)
@blp.response(201, MeetingSchema)
def schedule_meeting(body, slug):
    """Schedule a meeting (officials)."""
    return meetings.schedule_meeting(_council(slug), body.pop("title"), body.pop("starts_at"), actor=api_user(), **body)


@blp.route("/meetings/<int:meeting_id>")
@blp.response(200, MeetingSchema)
@api_public
def meeting(meeting_id):
    return meetings.meeting_detail(meeting_id)


@blp.route("/motions/<int:motion_id>/votes")
@blp.response(200, MotionVotesSchema)
@api_public
def votes(motion_id):
    """A motion's result and every member's vote."""
    return motions.motion_detail(motion_id)


@blp.route("/motions/<int:motion_id>/votes", methods=["POST"])
@blp.doc(security=[{"bearer": []}])
@api_roles_required(Role.COUNCIL_MEMBER)
@blp.arguments(CastVoteSchema)
@blp.response(200, MotionVotesSchema)
def cast_vote(body, motion_id):
    """The token's owner votes for themself (members present at the meeting only)."""
    motion = motions.motion_by_id(motion_id)
    motions.cast_vote(motion, body["option"], actor=api_user())
    return motion


@blp.route("/motions/<int:motion_id>/close", methods=["POST"])
@blp.doc(security=[{"bearer": []}])
@api_roles_required(Role.COUNCIL_MEMBER)
@blp.arguments(CloseVoteSchema)
@blp.response(200, MotionVotesSchema)
def close_vote(body, motion_id):
    """The Chair or Vice-Chair closes the vote, with a show of hands if any. Members present who
    have not voted count as abstaining: unless `confirm` is true, a 409 (`unvoted`) lists them."""
    motion = motions.motion_detail(motion_id)
    hands = motions.ShowOfHands(counts=body["hands"], names=body["names"]) if body["hands"] or body["names"] else None
    try:
        motions.close_vote(motion, actor=api_user(), confirm=body["confirm"], hands=hands)
    except motions.UnvotedMembers as error:
        api_abort(409, error.code, error.message, members=[
            {"mandate": m.id, "person": {"id": m.user_id, "name": m.user.name}, "side": m.side} for m in error.members])
    return motions.motion_detail(motion_id)


@blp.route("/priority-needs")
@blp.arguments(NeedsQuery, location="query")
@blp.response(200, PriorityNeedSchema(many=True))
@api_public
def priority_needs(query):
    """Priority needs adopted by the councils, most urgent first."""
    return needs.priority_needs(category_slug=query["category"], current_only=query["current_only"])


