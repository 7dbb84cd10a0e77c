"""Who each moderation route is for (read by tests/test_role_matrix.py). Object-level rules (only
the author appeals, the moderator who hid it does not decide its appeal) are in test_decisions.py."""
from app.accounts.models import Role
from app.moderation import decisions, reports

from ..matrix import ANY_USER, PUBLIC, roles

MODERATORS = roles("moderator")

EXPECTED = {
    "moderation.report": ANY_USER,
    "moderation.appeal": ANY_USER,
    "moderation.mine": ANY_USER,
    "moderation.queue": MODERATORS,
    "moderation.case": MODERATORS,
    "moderation.decide": MODERATORS,
    "moderation.redact": MODERATORS,
    "moderation.log": PUBLIC,
    "moderation.moderation_json": PUBLIC,
    "moderation_api.report": ANY_USER,
}


def samples(ctx) -> dict:
    """An organisation's description, reported and hidden by a moderator (not one of the matrix's)."""
    org = ctx.make_org("matrix-moderated", description="We mend bicycles; call Piero on 333 000 1111.")
    ctx.make_user(Role.ORG_MEMBER, organisations=[org], email="matrix-moderation-member@example.org")
    reporter = ctx.make_user(Role.CITIZEN, email="matrix-moderation-reporter@example.org")
    moderator = ctx.make_user(Role.MODERATOR, email="matrix-moderation-moderator@example.org")
    case = reports.report(reporter, "organisation_description", org.id, "personal_data").case
    decisions.hide(case, "A private phone number.", actor=moderator)
    return {
        "moderation.report": {"subject_type": "organisation_description", "subject_id": org.id},
        "moderation.appeal": {"case_id": case.id},
        "moderation.case": {"case_id": case.id},
        "moderation.decide": {"case_id": case.id, "action": "restore"},
        "moderation.redact": {"case_id": case.id},
    }
