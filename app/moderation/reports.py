"""Reporting: a signed-in person says that a public text is abusive, spam, personal data,
illegal or otherwise wrong; enough reports from different people hide it until reviewed."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..database import transaction, utcnow
from ..errors import DomainError, Invalid
from ..extensions import db
from .cases import case_for, decide, hide_after, item_of, kind_named, tell_authors, tell_moderators
from .models import Action, CaseState, ModerationReport, ReportReason
from .registry import register_limit
from .screening import lock_account, within_hourly_limit

MAX_DETAILS = 2000

register_limit("report", setting="PROCOMUN_MODERATION_REPORTS_PER_HOUR", author_column=ModerationReport.reporter_id,
               created_column=ModerationReport.created_at, field="reason",
               message=_l("You have sent as many reports as an account may in one hour (%(limit)s). "
                          "You can report again at %(time)s."))


class AlreadyReported(DomainError):
    status = 409
    code = "already_reported"

    def __init__(self):
        super().__init__(_l("You have already reported this. A moderator will look at it."))


def report(actor, subject_type: str, subject_id: int, reason: str, details: str = "") -> ModerationReport:
    """One person's report on one public item: once per person and item (a unique constraint
    says so even for two requests at the same instant), within the hourly limit on reports.

    The item's case is locked while the report is counted, so the report that makes
    PROCOMUN_MODERATION_HIDE_AFTER hides the item, exactly once, however many arrive together."""
    kind = kind_named(subject_type)
    try:
        reason = ReportReason(reason).value
    except ValueError:
        raise Invalid(_l("Choose why you report it."), field="reason") from None
    details = (details or "").strip()
    if len(details) > MAX_DETAILS:
        raise Invalid(_l("Say it in at most %(max)s characters.", max=MAX_DETAILS), field="details")
    if reason == ReportReason.OTHER and not details:
        raise Invalid(_l("Say what is wrong with it."), field="details")
    item = item_of(kind, subject_id, public_only=True)
    try:
        with transaction():
            lock_account(actor)
            case = case_for(kind, subject_id)
            if db.session.execute(select(ModerationReport.id).where(
                    ModerationReport.case_id == case.id, ModerationReport.reporter_id == actor.id)).first():
                raise AlreadyReported()
            row = ModerationReport(case=case, reporter_id=actor.id, reason=reason, details=details)
            db.session.add(row)
            db.session.flush()
            within_hourly_limit(actor, "report")
            was = case.state_enum
            case.open_reports += 1
            case.active_at = utcnow()
            if was == CaseState.CLOSED:
                case.state = CaseState.OPEN.value
            threshold = hide_after()
            if case.state == CaseState.OPEN and 0 < threshold <= case.open_reports:
                decide(case, kind, item, Action.HELD_AFTER_REPORTS, CaseState.HELD, settles_reports=False)
                tell_authors("moderation.held_after_reports", case, kind, item)
            if was == CaseState.CLOSED:
                tell_moderators("moderation.awaiting", case, kind, item)  # no actor: who reported stays unsaid
    except IntegrityError as error:
        if "moderation_reports" not in str(error.orig) and "uq_moderation_reports_once" not in str(error.orig):
            raise
        raise AlreadyReported() from None
    return row
