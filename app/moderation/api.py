"""The moderation API: a program (a city app, a neighbourhood bot) reports an item for its user."""
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..security import api_login_required, api_user
from . import reports
from .models import ReportReason

blp = Blueprint("moderation_api", __name__, url_prefix="/api/v1/moderation",
                description="Moderation: report a public text that breaks the rules.")


class ModerationReportBody(Schema):
    subject_type = fields.String(required=True, metadata={
        "description": "What kind of item: pact_proposal, pact_comment, pact_dispute, pact_report, "
                       "council_nomination or organisation_description", "example": "pact_comment"})
    subject_id = fields.Integer(required=True, strict=True, metadata={"description": "The item's id", "example": 12})
    reason = fields.String(required=True, metadata={"enum": [r.value for r in ReportReason], "example": "abuse"})
    details = fields.String(load_default="", metadata={
        "description": "What is wrong with it (at most 2000 characters; required with reason \"other\"). "
                       "Moderators read it; the public log never shows it nor who reported."})


class ModerationReportAnswer(Schema):
    id = fields.Integer()
    subject_type = fields.Function(lambda r: r.case.subject_type)
    subject_id = fields.Function(lambda r: r.case.subject_id)
    reason = fields.String()
    created_at = fields.DateTime()


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": "Error"}}}


REPORT_ANSWERS = {
    401: _error("No valid bearer token"),
    404: _error("not_found: no such item, or not public (a draft)"),
    409: _error("already_reported: this account has reported this item before (once per person and item)"),
    422: _error("unprocessable (a field missing or of the wrong type), or invalid with `field`: subject_type "
                "unknown, reason not one of the list, details too long or missing for \"other\""),
    429: _error("rate_limited: the account has sent PROCOMUN_MODERATION_REPORTS_PER_HOUR reports in the past hour; "
                "the Retry-After header says in how many seconds it may report again"),
}


@blp.route("/reports", methods=["POST"])
@api_login_required
@blp.arguments(ModerationReportBody, location="json")
@blp.response(201, ModerationReportAnswer)
@blp.doc(security=[{"bearer": []}], responses=REPORT_ANSWERS)
def report(body):
    """Report a public item (a proposal, a comment, a dispute, a pact report, a nomination statement,
    an organisation's description) as abusive, spam, personal data, illegal or otherwise wrong.

    201 with the report; enough reports from different people hide the item until a moderator
    reviews it (PROCOMUN_MODERATION_HIDE_AFTER)."""
    return reports.report(api_user(), body["subject_type"], body["subject_id"], body["reason"], body["details"])
