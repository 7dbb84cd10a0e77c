"""Disputes over a pact in force: raised by either party, settled by a conciliation committee
of three (one member named by the citizens, one by the city, one by both)."""
from flask_babel import lazy_gettext as _l

from app.accounts.operations import is_official
from app.audit.operations import record, snapshot
from app.database import transaction, utcnow
from app.errors import Invalid, InvalidTransition, NotAllowed, NotFound
from app.extensions import db
from app.states import StateMachine

from .access import is_signatory, require_official
from .models import Dispute, DisputeState, Pact, PactState

DISPUTES = StateMachine({
    DisputeState.OPEN: {DisputeState.CONCILIATION},
    DisputeState.CONCILIATION: {DisputeState.SETTLED},
    DisputeState.SETTLED: set(),
}, labels={s: s.label for s in DisputeState})

# The states of a pact on which a dispute may be raised: signed and not yet ended.
DISPUTABLE = (PactState.SIGNED, PactState.ACTIVE, PactState.SUSPENDED)


def may_raise(pact: Pact, user) -> bool:
    """Whether `user` may raise a dispute on the pact now (the rule raise_dispute keeps)."""
    return pact.state_enum in DISPUTABLE and (is_signatory(pact, user) or is_official(user))


def raise_dispute(pact: Pact, subject: str, *, actor) -> Dispute:
    """Either party opens a dispute on a signed pact; conciliation follows."""
    if pact.state_enum not in DISPUTABLE:
        raise InvalidTransition(_l("Disputes are raised on pacts in force."))
    if not (is_signatory(pact, actor) or is_official(actor)):
        raise NotAllowed(_l("Only the parties to this pact may raise a dispute."))
    subject = (subject or "").strip()
    if not subject:
        raise Invalid(_l("Say what the dispute is about."), field="subject")
    with transaction():
        dispute = Dispute(pact=pact, subject=subject, raised_by_id=actor.id)
        db.session.add(dispute)
        record("pact.dispute_raised", dispute, actor=actor, after=snapshot(dispute, ["pact_id", "subject"]))
    return dispute


def appoint_committee(dispute: Dispute, *, actor, citizens_member: str, city_member: str,
                      joint_member: str) -> None:
    """Record the conciliation committee: one member named by the citizens, one by
    the city, one by both; three different people."""
    require_official(actor)
    DISPUTES.check(dispute.state_enum, DisputeState.CONCILIATION)
    names = [(n or "").strip() for n in (citizens_member, city_member, joint_member)]
    for name, field in zip(names, ("citizens_member", "city_member", "joint_member")):
        if not name:
            raise Invalid(_l("Name all three members of the committee."), field=field)
    if len({n.lower() for n in names}) != 3:
        raise Invalid(_l("The committee has three different members."), field="joint_member")
    with transaction():
        before = snapshot(dispute, ["state"])
        dispute.citizens_member, dispute.city_member, dispute.joint_member = names
        dispute.state = DisputeState.CONCILIATION.value
        record("pact.dispute_committee", dispute, actor=actor, before=before,
               after=snapshot(dispute, ["state", "citizens_member", "city_member", "joint_member"]))


def settle_dispute(dispute: Dispute, outcome: str, *, actor) -> None:
    """Record the committee's outcome; the dispute is closed."""
    require_official(actor)
    DISPUTES.check(dispute.state_enum, DisputeState.SETTLED)
    outcome = (outcome or "").strip()
    if not outcome:
        raise Invalid(_l("Record the committee's outcome."), field="outcome")
    with transaction():
        before = snapshot(dispute, ["state"])
        dispute.outcome, dispute.state, dispute.settled_at = outcome, DisputeState.SETTLED.value, utcnow()
        record("pact.dispute_settled", dispute, actor=actor, before=before,
               after=snapshot(dispute, ["state", "outcome"]))


def dispute_by_id(dispute_id: int) -> Dispute:
    dispute = db.session.get(Dispute, dispute_id)
    if dispute is None:
        raise NotFound(_l("No such dispute."))
    return dispute
