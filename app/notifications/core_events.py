"""The core's own events: an organisation can be followed; its members hear when an
accreditation is suspended or about to expire. Modules do the same in their events.py."""
from datetime import date, timedelta

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import User
from ..accounts.resets import KIND as PASSWORD_RESET
from ..accounts.resets import RESET_HOURS, issue_reset
from ..extensions import db
from ..i18n import day, localised
from ..organisations.models import (
    Accreditation,
    AccreditationStatus,
    Organisation,
    ServiceCategory,
    organisation_members,
)
from .registry import Reminder, register_event, register_reminder, register_subject

EXPIRY_NOTICE_DAYS = 30


def _organisation(org_id: int):
    org = db.session.get(Organisation, org_id)
    return None if org is None else (org.name, url_for("organisations.show", slug=org.slug))


def _members(event):
    return select(organisation_members.c.user_id.label("uid")).where(
        organisation_members.c.organisation_id == event.subject_id)


def _accreditation_values(event) -> dict:
    ctx = event.context
    return {"organisation": ctx.get("organisation", ""),
            "category": localised(ctx.get("category_names", {}), ctx.get("category", "")),
            "reason": ctx.get("reason", ""),
            "valid_until": day(date.fromisoformat(ctx["valid_until"])) if ctx.get("valid_until") else ""}


def _organisation_page(event) -> str:
    return url_for("organisations.show", slug=event.context["slug"])


register_subject("organisation", label=_l("Organisation"), title=_organisation)

register_event(
    "accreditation.suspended", label=_l("An accreditation of your organisation is suspended"),
    sentence=_l("The accreditation of %(organisation)s for %(category)s has been suspended: %(reason)s"),
    link=_organisation_page, audience=_members, params=_accreditation_values)

register_event(
    "accreditation.expiring", label=_l("An accreditation of your organisation expires within 30 days"),
    sentence=_l("The accreditation of %(organisation)s for %(category)s expires on %(valid_until)s."),
    link=_organisation_page, audience=_members, params=_accreditation_values)


register_event(
    PASSWORD_RESET, label=_l("Choose a new password"),
    sentence=_l("Someone, we hope you, asked to choose a new password for your account. Open the link "
                "below within %(hours)s hours to choose it; it works once. If you did not ask, ignore "
                "this email: your password stays as it is."),
    params=lambda event: {"hours": RESET_HOURS},
    # Made when the email is written: the link's nonce goes into the email and never into the outbox.
    link=lambda event, user: url_for("accounts.reset", token=issue_reset(user)),
    audience=lambda event: select(User.id.label("uid")).where(
        User.email == event.context.get("email", ""), User.active.is_(True)),
    personal=True)


def accreditation_context(acc: Accreditation, **extra) -> dict:
    """What the sentences need, frozen at the time of the event (JSON only)."""
    return {"organisation": acc.organisation.name, "slug": acc.organisation.slug,
            "category": acc.category.slug, "category_names": dict(acc.category.names or {}),
            "valid_until": acc.valid_until.isoformat(), **extra}


@register_reminder
def expiring_accreditations(today):
    """Accreditations in force that end within 30 days: one reminder per validity period."""
    rows = db.session.execute(
        select(Accreditation).join(ServiceCategory).where(
            Accreditation.status == AccreditationStatus.ACTIVE.value,
            Accreditation.valid_until >= today,
            Accreditation.valid_until <= today + timedelta(days=EXPIRY_NOTICE_DAYS))
        .order_by(Accreditation.id)).scalars().all()
    for acc in rows:
        yield Reminder(kind="accreditation.expiring", subject_type="organisation",
                       subject_id=acc.organisation_id, recipients=(),
                       key=f"accreditation.expiring:{acc.id}:{acc.valid_until.isoformat()}",
                       context=accreditation_context(acc))
