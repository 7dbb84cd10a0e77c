"""Every transition of a pact's file, every refused one with its message, and
the audit entry each one leaves."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.errors import Invalid, InvalidTransition, NotAllowed
from app.extensions import db
from app.i18n import city_today
from pacts import lifecycle, proposals
from pacts.models import PactEvent, PactState

from .conftest import FULL_CLAUSES


def audit_actions(pact):
    return [e.action for e in db.session.execute(
        select(AuditEntry).where(AuditEntry.object_type == "pacts", AuditEntry.object_id == str(pact.id))
        .order_by(AuditEntry.id)).scalars()]


def test_complex_pact_goes_through_every_state_and_each_step_is_audited(world):
    pact = world.propose()
    assert pact.state == PactState.DRAFT and pact.latest_version.number == 1
    world.walk(pact, PactState.ACTIVE)
    lifecycle.suspend(pact, "Works on the square", actor=world.official)
    assert pact.state == PactState.SUSPENDED and pact.reason == "Works on the square"
    lifecycle.resume(pact, actor=world.official)
    lifecycle.complete(pact, actor=world.official)
    assert pact.state == PactState.COMPLETED
    assert audit_actions(pact) == [
        "pact.proposed", "pact.submitted", "pact.consultation", "pact.evaluation", "pact.co_design",
        "pact.version_saved", "pact.approved", "pact.version_signed", "pact.version_signed",
        "pact.signed", "pact.active", "pact.suspended", "pact.resumed", "pact.completed"]
    history = [e.to_state for e in pact.events]
    assert history == ["draft", "submitted", "consultation", "evaluation", "co_design", "approved",
                       "signed", "active", "suspended", "active", "completed"]


def test_ordinary_pact_skips_co_design_and_takes_its_clauses_from_the_standard_form(world):
    pact = world.propose(track="ordinary")
    assert pact.latest_version.clauses == FULL_CLAUSES
    world.walk(pact, PactState.EVALUATION)
    with pytest.raises(Invalid, match="skip co-design"):
        lifecycle.start_co_design(pact, actor=world.official)
    lifecycle.approve(pact, actor=world.official)
    assert pact.state == PactState.APPROVED


def test_complex_pact_cannot_be_approved_without_co_design(world):
    pact = world.walk(world.propose(), PactState.EVALUATION)
    with pytest.raises(Invalid, match="start the co-design first"):
        lifecycle.approve(pact, actor=world.official)


def test_rejection_needs_a_reason_the_proposer_reads(world):
    pact = world.walk(world.propose(), PactState.EVALUATION)
    with pytest.raises(Invalid, match="Give the reason"):
        lifecycle.reject(pact, "  ", actor=world.official)
    lifecycle.reject(pact, "The square is being rebuilt next year.", actor=world.official)
    assert pact.state == PactState.REJECTED
    assert pact.events[-1].reason == "The square is being rebuilt next year."
    with pytest.raises(InvalidTransition, match="cannot move from “Rejected” to “Approved"):
        lifecycle.approve(pact, actor=world.official)


@pytest.mark.parametrize("state, move, message", [
    (PactState.DRAFT, lambda w, p: lifecycle.open_consultation(p, actor=w.official),
     "from “Draft” to “In public consultation”"),
    (PactState.DRAFT, lambda w, p: lifecycle.approve(p, actor=w.official), "from “Draft” to “Approved"),
    (PactState.SUBMITTED, lambda w, p: lifecycle.submit(p, actor=w.citizen), "from “Submitted” to “Submitted”"),
    (PactState.SUBMITTED, lambda w, p: lifecycle.close_consultation(p, actor=w.official),
     "from “Submitted” to “Under evaluation”"),
    (PactState.CONSULTATION, lambda w, p: lifecycle.reject(p, "no", actor=w.official),
     "from “In public consultation” to “Rejected”"),
    (PactState.EVALUATION, lambda w, p: lifecycle.activate(p, actor=w.official), "from “Under evaluation” to “Active”"),
    (PactState.APPROVED, lambda w, p: lifecycle.suspend(p, "why", actor=w.official),
     "from “Approved, awaiting signatures” to “Suspended”"),
    (PactState.SIGNED, lambda w, p: lifecycle.complete(p, actor=w.official),
     "from “Signed by both parties” to “Completed”"),
    (PactState.ACTIVE, lambda w, p: lifecycle.resume(p, actor=w.official), "Only a suspended pact can resume"),
    (PactState.ACTIVE, lambda w, p: lifecycle.start_co_design(p, actor=w.official), "from “Active” to “In co-design”"),
])
def test_refused_transitions_say_why(world, state, move, message):
    pact = world.walk(world.propose(), state)
    before = len(audit_actions(pact))
    with pytest.raises(InvalidTransition, match=message):
        move(world, pact)
    db.session.rollback()
    assert pact.state == state
    assert len(audit_actions(pact)) == before


@pytest.mark.parametrize("target", [PactState.TERMINATED, PactState.EXPIRED])
def test_end_states_are_final(world, target):
    pact = world.walk(world.propose(), PactState.ACTIVE)
    if target == PactState.TERMINATED:
        with pytest.raises(Invalid, match="Give the reason"):
            lifecycle.terminate(pact, "", actor=world.official)
        lifecycle.terminate(pact, "The group dissolved.", actor=world.official)
    else:
        started, expired = lifecycle.expire_and_start(pact.ends_on + timedelta(days=1))
        assert (started, expired) == (0, 1)
    assert pact.state == target
    with pytest.raises(InvalidTransition):
        lifecycle.suspend(pact, "late", actor=world.official)
    assert audit_actions(pact)[-1] == f"pact.{target.value}"


def test_signed_pact_starts_on_its_first_day_by_the_daily_sweep(world):
    pact = world.walk(world.propose(), PactState.SIGNED)
    assert pact.starts_on == city_today()
    assert lifecycle.expire_and_start(city_today()) == (1, 0)
    assert pact.state == PactState.ACTIVE


def test_only_officials_decide_and_only_the_proposer_submits(world):
    pact = world.propose()
    with pytest.raises(NotAllowed):
        lifecycle.submit(pact, actor=world.other)
    lifecycle.submit(pact, actor=world.citizen)
    for move in (lambda: lifecycle.open_consultation(pact, actor=world.citizen),
                 lambda: lifecycle.reject(pact, "no", actor=world.citizen),
                 lambda: lifecycle.suspend(pact, "no", actor=world.citizen)):
        with pytest.raises(NotAllowed, match="Only a city official"):
            move()


def test_consultation_cannot_close_before_its_last_day(world, app):
    app.config["PACTS_CONSULTATION_DAYS"] = 20
    pact = world.walk(world.propose(), PactState.CONSULTATION)
    assert pact.consultation_ends == city_today() + timedelta(days=20)
    with pytest.raises(Invalid, match="runs until"):
        lifecycle.close_consultation(pact, actor=world.official, today=pact.consultation_ends - timedelta(days=1))
    lifecycle.close_consultation(pact, actor=world.official, today=pact.consultation_ends)
    assert pact.state == PactState.EVALUATION


def test_comments_and_supports_only_during_consultation_and_once_each(world):
    pact = world.walk(world.propose(), PactState.SUBMITTED)
    with pytest.raises(InvalidTransition, match="only during the public consultation"):
        proposals.comment(pact, "Great idea", actor=world.other)
    lifecycle.open_consultation(pact, actor=world.official)
    proposals.comment(pact, "Great idea", actor=world.other)
    proposals.support(pact, actor=world.other)
    with pytest.raises(Invalid, match="already support"):
        proposals.support(pact, actor=world.other)
    with pytest.raises(Invalid, match="Write your comment"):
        proposals.comment(pact, " ", actor=world.other)
    lifecycle.close_consultation(pact, actor=world.official, today=pact.consultation_ends)
    # Comments stay with the file after the consultation.
    assert [c.body for c in pact.comments] == ["Great idea"]
    assert proposals.count_supports(pact) == 1


def test_proposal_validation(world, make_org):
    with pytest.raises(Invalid) as error:
        world.propose(track="ordinary", standard_form=None)
    assert error.value.field == "standard_form"
    with pytest.raises(Invalid) as error:
        world.propose(proposer_kind="organisation", organisation=make_org())
    assert error.value.field == "organisation"
    with pytest.raises(Invalid) as error:
        world.propose(commons_ids=[])
    assert error.value.field == "commons"
    pact = world.propose(commons_ids=[], new_commons_name="The old laundry", new_commons_place="Via Roma 3")
    assert pact.commons[0].name == "The old laundry" and not pact.commons[0].registered
    assert db.session.execute(select(PactEvent).where(PactEvent.pact_id == pact.id)).scalars().one()


def test_every_move_outside_the_table_is_refused_with_both_states_named(app):
    refused = 0
    for current in PactState:
        for target in PactState:
            if lifecycle.LIFECYCLE.allowed(current, target):
                continue
            with pytest.raises(InvalidTransition) as error:
                lifecycle.LIFECYCLE.check(current, target)
            assert str(error.value) == f"This record cannot move from “{current.label}” to “{target.label}”."
            refused += 1
    assert refused == len(PactState) ** 2 - sum(len(t) for t in lifecycle.LIFECYCLE.transitions.values())


@pytest.mark.parametrize("start, move, target", [
    (PactState.SUBMITTED, lambda w, p: lifecycle.reject(p, "Out of scope", actor=w.official), PactState.REJECTED),
    (PactState.CO_DESIGN, lambda w, p: lifecycle.reject(p, "No agreement", actor=w.official), PactState.REJECTED),
    (PactState.SIGNED, lambda w, p: lifecycle.terminate(p, "Withdrawn", actor=w.official), PactState.TERMINATED),
    (PactState.SUSPENDED, lambda w, p: lifecycle.terminate(p, "Never resumed", actor=w.official), PactState.TERMINATED),
    (PactState.SUSPENDED, lambda w, p: lifecycle.expire_and_start(p.ends_on + timedelta(days=1)), PactState.EXPIRED),
])
def test_the_other_moves_of_the_table_are_audited_too(world, start, move, target):
    pact = world.propose()
    if start == PactState.SUSPENDED:
        world.walk(pact, PactState.ACTIVE)
        lifecycle.suspend(pact, "Works", actor=world.official)
    else:
        world.walk(pact, start)
    move(world, pact)
    assert pact.state == target
    assert audit_actions(pact)[-1] == f"pact.{target.value}"
    assert pact.events[-1].from_state == start.value and pact.events[-1].to_state == target.value


# What the file's page offers an official in each state, by track: the buttons the page always showed.
OFFERED = {
    PactState.SUBMITTED: {"complex": ["open_consultation", "reject"], "ordinary": ["open_consultation", "reject"]},
    PactState.CONSULTATION: {"complex": ["close_consultation"], "ordinary": ["close_consultation"]},
    PactState.EVALUATION: {"complex": ["start_co_design", "reject"], "ordinary": ["approve", "reject"]},
    PactState.CO_DESIGN: {"complex": ["approve", "reject"], "ordinary": ["approve", "reject"]},
    PactState.SIGNED: {"complex": ["activate", "terminate"], "ordinary": ["activate", "terminate"]},
    PactState.ACTIVE: {"complex": ["suspend", "complete", "terminate"],
                       "ordinary": ["suspend", "complete", "terminate"]},
    PactState.SUSPENDED: {"complex": ["resume", "terminate"], "ordinary": ["resume", "terminate"]},
}


@pytest.mark.parametrize("track", ["complex", "ordinary"])
def test_the_decisions_offered_are_the_moves_the_lifecycle_allows_now(world, track):
    pact = world.propose(track=track)
    for state in PactState:
        pact.state = state.value
        offered = [decision for decision, _move in lifecycle.decisions_for(pact, world.official)]
        assert [d.action for d in offered] == OFFERED.get(state, {}).get(track, []), state
        assert all(lifecycle.LIFECYCLE.allowed(state, d.target) for d in offered)
        # Only officials decide: a citizen, even the proposer, and a visitor are offered nothing.
        assert lifecycle.decisions_for(pact, world.citizen) == [] and lifecycle.decisions_for(pact, None) == []


def test_a_decision_is_taken_by_its_name_with_its_reason(world):
    pact = world.walk(world.propose(), PactState.SUBMITTED)
    with pytest.raises(Invalid, match="Give the reason"):
        lifecycle.decide(pact, "reject", "  ", actor=world.official)
    lifecycle.decide(pact, "reject", "Out of scope.", actor=world.official)
    assert pact.state == PactState.REJECTED and pact.reason == "Out of scope."
