"""What pacts tell people: a proposal's way through the office, signing, reports, closing.

The proposer and the signatories follow their pact; anyone may follow a pact or
a commons, and a commons' followers hear of the proposals that concern it."""
from datetime import date

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.i18n import day
from app.notifications.models import Follow
from app.notifications.registry import Reminder, register_event, register_reminder, register_subject

from . import reports
from .models import Commons, Pact, PactState, PactVersion, pact_commons


def _pact(pact_id: int):
    pact = db.session.get(Pact, pact_id)
    if pact is None or pact.state == PactState.DRAFT:  # drafts are private to their proposer
        return None
    return pact.title, url_for("pacts.show", pact_id=pact.id)


def _commons(commons_id: int):
    commons = db.session.get(Commons, commons_id)
    return None if commons is None else (commons.name, url_for("pacts.commons_show", commons_id=commons.id))


def _commons_followers(event):
    """Who follows any commons the pact concerns."""
    return select(Follow.user_id.label("uid")).where(
        Follow.subject_type == "commons",
        Follow.subject_id.in_(select(pact_commons.c.commons_id).where(pact_commons.c.pact_id == event.subject_id)))


def _page(event) -> str:
    return url_for("pacts.show", pact_id=event.subject_id)


def _values(event) -> dict:
    ctx = event.context
    values = dict(ctx)
    if ctx.get("due_on"):
        values["due_on"] = day(date.fromisoformat(ctx["due_on"]))
    if ctx.get("consultation_ends"):
        values["consultation_ends"] = day(date.fromisoformat(ctx["consultation_ends"]))
    return values


def _decision(event) -> dict:
    values = _values(event)
    values["decision"] = str(_l("approved") if event.context["decision"] == PactState.APPROVED else _l("rejected"))
    return values


def _closing(event) -> dict:
    values = _values(event)
    values["outcome"] = str({PactState.COMPLETED: _l("completed"), PactState.TERMINATED: _l("terminated"),
                             PactState.EXPIRED: _l("expired")}.get(event.context["outcome"], event.context["outcome"]))
    return values


register_subject("pact", label=_l("Pact"), title=_pact)
register_subject("commons", label=_l("Commons"), title=_commons)

register_event(
    "pact.proposal_published", label=_l("A proposal concerning a commons you follow is published"),
    sentence=_l("A new proposal for a pact, “%(title)s”, has been published."),
    link=_page, audience=_commons_followers, params=_values)

register_event(
    "pact.consultation_opened", label=_l("A proposal you follow opens for public consultation"),
    sentence=_l("The proposal “%(title)s” is open for comments and support until %(consultation_ends)s."),
    link=_page, audience=_commons_followers, params=_values)

register_event(
    "pact.evaluation_decided", label=_l("The city decides on a proposal you follow"),
    sentence=_l("The city has %(decision)s the proposal “%(title)s”. %(reason)s"),
    link=_page, params=_decision)

register_event(
    "pact.signed", label=_l("A pact you follow is signed"),
    sentence=_l("The pact “%(title)s” has been signed by the citizens and the city."),
    link=_page, params=_values)

register_event(
    "pact.report_submitted", label=_l("A report on a pact you follow is submitted"),
    sentence=_l("A report on the pact “%(title)s” for %(due_on)s has been submitted."),
    link=_page, params=_values)

register_event(
    "pact.report_overdue", label=_l("A report on your pact is overdue"),
    sentence=_l("The report on the pact “%(title)s” due on %(due_on)s has not been submitted yet."),
    link=lambda event: url_for("pacts.report", pact_id=event.subject_id), params=_values)

register_event(
    "pact.closed", label=_l("A pact you follow is closed"),
    sentence=_l("The pact “%(title)s” has ended: %(outcome)s. %(reason)s"),
    link=_page, params=_closing)

# A move to one of these states tells the pact's followers (see lifecycle.move).
STATE_EVENTS = {PactState.SUBMITTED: "pact.proposal_published", PactState.CONSULTATION: "pact.consultation_opened",
                PactState.APPROVED: "pact.evaluation_decided", PactState.REJECTED: "pact.evaluation_decided",
                PactState.SIGNED: "pact.signed", PactState.COMPLETED: "pact.closed",
                PactState.TERMINATED: "pact.closed", PactState.EXPIRED: "pact.closed"}


def state_context(pact: Pact, target: PactState) -> dict:
    """What the sentence of a state change needs (JSON only)."""
    context = {"title": pact.title, "reason": pact.reason if target in (
        PactState.REJECTED, PactState.TERMINATED) else ""}
    if target in (PactState.APPROVED, PactState.REJECTED):
        context["decision"] = target.value
    if target in (PactState.COMPLETED, PactState.TERMINATED, PactState.EXPIRED):
        context["outcome"] = target.value
    if target == PactState.CONSULTATION and pact.consultation_ends:
        context["consultation_ends"] = pact.consultation_ends.isoformat()
    return context


def responsible_people(pact: Pact) -> set[int]:
    """The proposer and everyone who signed a version, for the citizens or for the city."""
    return {pact.proposer_id} | {s.user_id for v in pact.versions for s in v.signatures}


@register_reminder
def overdue_reports(today):
    """Each report past its due date, once, to the signatories and the officials who signed."""
    pacts = db.session.execute(
        select(Pact).options(selectinload(Pact.reports),
                             selectinload(Pact.versions).selectinload(PactVersion.signatures))
        .where(Pact.state.in_([PactState.ACTIVE.value, PactState.SUSPENDED.value])).order_by(Pact.id)).scalars().all()
    for pact in pacts:
        for scheduled in reports.overdue_reports(pact, today):
            yield Reminder(kind="pact.report_overdue", subject_type="pact", subject_id=pact.id,
                           recipients=sorted(responsible_people(pact)),
                           key=f"pact.report_overdue:{pact.id}:{scheduled.due_on.isoformat()}",
                           context={"title": pact.title, "due_on": scheduled.due_on.isoformat()})
