"""What procurement tells people: a tender the co-ops may bid on, the award, the contract.

A tender's audience is the member accounts of every organisation accredited
for its service (social-economy ones only when it is reserved): a Select the
worker pages through, so publishing costs the request one outbox row."""
from datetime import date

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.models import Role, UserRole
from app.extensions import db
from app.i18n import city_today, day, localised, money
from app.notifications.registry import register_event, register_subject
from app.organisations.models import (
    SOCIAL_ECONOMY,
    Accreditation,
    AccreditationStatus,
    Organisation,
    organisation_members,
)

from .models import Bid, Process


def _process(process_id: int):
    row = db.session.get(Process, process_id)
    if row is None or not row.published:  # an unpublished process does not exist for the public
        return None
    return row.title, url_for("procurement.show", process_id=row.id)


def _org_members(organisation_ids):
    """The org_member accounts of these organisations (a Select of organisation ids)."""
    return (select(organisation_members.c.user_id.label("uid"))
            .join(UserRole, (UserRole.user_id == organisation_members.c.user_id)
                  & (UserRole.role == Role.ORG_MEMBER.value))
            .where(organisation_members.c.organisation_id.in_(organisation_ids)))


def _accredited_members(event):
    """Members of the organisations accredited today for the tender's category."""
    on = city_today()
    orgs = select(Accreditation.organisation_id).where(
        Accreditation.category_id == event.context["category_id"],
        Accreditation.status == AccreditationStatus.ACTIVE.value,
        Accreditation.valid_from <= on, Accreditation.valid_until >= on)
    if event.context.get("reserved"):
        orgs = orgs.join(Organisation, Organisation.id == Accreditation.organisation_id).where(
            Organisation.kind.in_([k.value for k in SOCIAL_ECONOMY]))
    return _org_members(orgs)


def _bidders(event):
    return _org_members(select(Bid.organisation_id).where(Bid.process_id == event.subject_id))


def _supplier(event):
    return _org_members(select(Organisation.id).where(Organisation.id == event.context["supplier_id"]))


def _page(event) -> str:
    return url_for("procurement.show", process_id=event.subject_id)


def _values(event) -> dict:
    ctx = event.context
    values = dict(ctx)
    values["category"] = (localised(ctx.get("category_names") or {}, ctx.get("category", ""))
                          or str(_l("municipal services")))
    if ctx.get("deadline"):
        values["deadline"] = day(date.fromisoformat(ctx["deadline"]))
    if "value_cents" in ctx:
        values["value"] = money(ctx["value_cents"])
    return values


register_subject("procurement", label=_l("Procurement process"), title=_process)

register_event(
    "procurement.tender_published", label=_l("A tender your organisation may bid on is published"),
    sentence=_l("A tender for %(category)s is open: “%(title)s” (%(reference)s); bids until %(deadline)s."),
    link=_page, audience=_accredited_members, params=_values)

register_event(
    "procurement.award_decided", label=_l("A tender you bid on is awarded"),
    sentence=_l("The tender “%(title)s” (%(reference)s) has been awarded to %(supplier)s for %(value)s."),
    link=_page, audience=_bidders, params=_values)

register_event(
    "procurement.contract_signed", label=_l("Your organisation's contract is signed"),
    sentence=_l("The contract for “%(title)s” (%(reference)s) with %(supplier)s is signed, worth %(value)s."),
    link=_page, audience=_supplier, params=_values)


def process_context(process: Process, **extra) -> dict:
    """What the sentences need, frozen at the time of the event (JSON only)."""
    category = process.category
    return {"title": process.title, "reference": process.reference,
            "category": category.slug if category else "", "category_id": category.id if category else None,
            "category_names": dict(category.names or {}) if category else {}, **extra}

register_event(
    "procurement.deadline_extended", label=_l("A tender you bid on or follow has a new deadline"),
    sentence=_l("The deadline for bids on “%(title)s” (%(reference)s) is extended to %(deadline)s: "
                "%(rationale)s"),
    link=_page, audience=_bidders, params=_values)

register_event(
    "procurement.tender_amended", label=_l("A tender you bid on or follow is amended"),
    sentence=_l("The tender “%(title)s” (%(reference)s) is amended: %(rationale)s"),
    link=_page, audience=_bidders, params=_values)
