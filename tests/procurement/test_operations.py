"""The procurement rules, called directly: phases, criteria, bids, ranking, award,
contract and implementation; every transition audited, every refusal tested."""
from datetime import timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.audit.operations import history
from app.database import transaction
from app.errors import Invalid, InvalidTransition, NotAllowed
from app.extensions import db
from app.i18n import city_today
from app.notifications.models import OutboxEvent
from procurement import awarding, contracts, evaluation, monitoring, moves, processes, releases, tenders
from procurement.models import Amendment, Award, CommitmentStatus, Phase

from .conftest import CRITERIA, DECLARED, pass_deadline, score


def test_a_process_walks_every_phase_and_each_move_is_audited(city):
    process = city.process("implementation")
    assert process.phase == Phase.IMPLEMENTATION
    commitment = process.contract.commitments[0]
    contracts.assess_commitment(commitment, "kept", "Four contracts checked at the employment office.",
                                actor=city.official)
    contracts.record_payment(process, 5_000_000, city_today(), actor=city.official)
    contracts.close(process, actor=city.official)
    assert process.phase == Phase.CLOSED
    actions = [e.action for e in history("procurement_processes", process.id)]
    assert actions == ["procurement.created", "procurement.criteria_set", "procurement.tender",
                       "procurement.bids", "procurement.evaluator_added", "procurement.award",
                       "procurement.contract", "procurement.implementation", "procurement.closed"]


@pytest.mark.parametrize("phase, move", [
    ("planning", lambda city, p: tenders.close_bidding(p, actor=city.official)),
    ("planning", lambda city, p: evaluation.decide_award(p, actor=city.official)),
    ("tender", lambda city, p: tenders.publish_tender(p, city_today() + timedelta(days=5), actor=city.official)),
    ("tender", lambda city, p: contracts.start_implementation(p, actor=city.official)),
    ("bids", lambda city, p: contracts.close(p, actor=city.official)),
    ("award", lambda city, p: tenders.cancel(p, "Changed our mind", actor=city.official)),
    ("contract", lambda city, p: contracts.close(p, actor=city.official)),
])
def test_refused_transitions_change_nothing(city, phase, move):
    process = city.process(phase)
    entries = len(history("procurement_processes", process.id))
    with pytest.raises(InvalidTransition):
        move(city, process)
    db.session.refresh(process)
    assert process.phase == phase
    assert len(history("procurement_processes", process.id)) == entries


def test_closed_is_final(city):
    process = city.process("implementation")
    contracts.assess_commitment(process.contract.commitments[0], "missed", "Only two were hired.", actor=city.official)
    contracts.close(process, actor=city.official)
    with pytest.raises(InvalidTransition):
        contracts.start_implementation(process, actor=city.official)


def test_closing_waits_for_every_commitment_to_be_assessed(city):
    process = city.process("implementation")
    with pytest.raises(Invalid, match="Assess every social commitment"):
        contracts.close(process, actor=city.official)
    assert process.phase == Phase.IMPLEMENTATION


@pytest.mark.parametrize("criteria, message", [
    ([("price", 50, ""), ("quality", 40, "")], "add up to 90"),
    ([("price", 60, ""), ("quality", 60, "")], "add up to 120"),
    ([("price", 50, ""), ("price", 50, "")], "once"),
    ([("price", 100, ""), ("quality", 0, "")], "from 1 to 100"),
    ([("astrology", 100, "")], "Unknown criterion"),
])
def test_weights_must_sum_to_100(city, criteria, message):
    process = tenders.create_process(actor=city.official, title="Childcare", department=city.department,
                                     budget_cents=100)
    with pytest.raises(Invalid, match=message):
        tenders.set_criteria(process, criteria, actor=city.official)
    assert process.criteria == []


def test_a_tender_without_criteria_cannot_be_published(city):
    process = tenders.create_process(actor=city.official, title="Childcare", department=city.department,
                                     budget_cents=100)
    with pytest.raises(Invalid, match="award criteria"):
        tenders.publish_tender(process, city_today() + timedelta(days=5), actor=city.official)
    tenders.set_criteria(process, CRITERIA, actor=city.official)
    with pytest.raises(Invalid, match="after today"):
        tenders.publish_tender(process, city_today(), actor=city.official)
    assert not process.published


def test_criteria_are_frozen_once_published(city):
    process = city.process("tender")
    with pytest.raises(Invalid, match="only change while"):
        tenders.set_criteria(process, [("price", 100, "")], actor=city.official)


def test_reserved_tenders_refuse_ordinary_companies(city):
    process = city.process("tender", procedure="reserved")
    with pytest.raises(NotAllowed, match="reserved"):
        tenders.submit_bid(process, city.company, 1000, actor=city.company_member, declarations=DECLARED)
    # a work-integration co-op may
    tenders.submit_bid(process, city.coop_b, 1000, actor=city.coop_b_member, declarations=DECLARED)
    assert [b.organisation.slug for b in process.bids] == ["verde-lavoro"]


def test_a_second_bid_replaces_the_first_which_is_kept_and_audited(city):
    process = city.process("tender")
    first = tenders.submit_bid(process, city.company, 1000, actor=city.company_member, declarations=DECLARED)
    second = tenders.submit_bid(process, city.company, 900, actor=city.company_member, declarations=DECLARED)
    db.session.refresh(first)
    assert first.status == "replaced" and first.withdrawn_at is not None
    assert [(b.id, b.amount_cents) for b in process.bids] == [(second.id, 900)]
    assert [b.id for b in process.all_bids] == [first.id, second.id]
    assert [e.action for e in history("procurement_bids", first.id)] == ["procurement.bid_submitted",
                                                                        "procurement.bid_replaced"]


def test_a_bid_is_withdrawn_before_the_deadline_only_by_its_organisation(city):
    process = city.process("tender")
    bid = tenders.submit_bid(process, city.coop, 1000, actor=city.coop_member, declarations=DECLARED)
    with pytest.raises(NotAllowed):
        tenders.withdraw_bid(bid, actor=city.company_member)
    tenders.withdraw_bid(bid, actor=city.coop_member)
    assert bid.status == "withdrawn" and process.bids == []
    with pytest.raises(Invalid, match="already been withdrawn"):
        tenders.withdraw_bid(bid, actor=city.coop_member)
    again = tenders.submit_bid(process, city.coop, 1200, actor=city.coop_member, declarations=DECLARED)  # may bid again
    pass_deadline(process)
    with pytest.raises(Invalid, match="until the deadline"):
        tenders.withdraw_bid(again, actor=city.coop_member)
    db.session.refresh(again)
    assert again.status == "active"


def test_a_bid_above_the_tenders_value_is_refused_unless_the_tender_allows_it(city):
    process = city.process("tender", budget=1_000_000)
    with pytest.raises(Invalid, match="above the tender's value") as refused:
        tenders.submit_bid(process, city.coop, 1_000_001, actor=city.coop_member, declarations=DECLARED)
    assert refused.value.field == "amount" and process.bids == []
    # the value itself is fine
    tenders.submit_bid(process, city.coop, 1_000_000, actor=city.coop_member, declarations=DECLARED)
    generous = tenders.create_process(actor=city.official, title="Open-ended", department=city.department,
                                      budget_cents=1_000_000, allow_above_value=True)
    tenders.set_criteria(generous, CRITERIA, actor=city.official)
    tenders.publish_tender(generous, city_today() + timedelta(days=3), actor=city.official)
    above = tenders.submit_bid(generous, city.coop, 1_200_000, actor=city.coop_member, declarations=DECLARED)
    assert above.amount_cents == 1_200_000


def test_only_members_bid_for_their_organisation(city):
    process = city.process("tender")
    with pytest.raises(NotAllowed):
        tenders.submit_bid(process, city.coop, 1000, actor=city.company_member, declarations=DECLARED)


def test_no_bids_after_the_deadline_or_before_the_tender(city):
    planning = city.process("planning")
    with pytest.raises(Invalid, match="not accepting"):
        tenders.submit_bid(planning, city.coop, 1000, actor=city.coop_member, declarations=DECLARED)
    process = city.process("tender")
    process.bid_deadline = city_today() - timedelta(days=1)
    db.session.commit()
    with pytest.raises(Invalid, match="not accepting"):
        tenders.submit_bid(process, city.coop, 1000, actor=city.coop_member, declarations=DECLARED)


def test_bidding_cannot_close_before_the_deadline_which_is_the_end_of_its_day(city):
    process = city.process("tender")
    tenders.submit_bid(process, city.coop, 1000, actor=city.coop_member, declarations=DECLARED)
    with pytest.raises(Invalid, match="Bidding is open until"):
        tenders.close_bidding(process, actor=city.official)
    with transaction():
        process.bid_deadline = city_today()  # bids are taken all of the deadline day
    with pytest.raises(Invalid, match="Bidding is open until"):
        tenders.close_bidding(process, actor=city.official)
    assert process.phase == Phase.TENDER
    pass_deadline(process)
    tenders.close_bidding(process, actor=city.official)
    assert process.phase == Phase.BIDS


def test_the_moves_say_what_is_allowed_and_why_not(city):
    process = city.process("tender")
    shown = {m.name: m for m in moves.moves(process)}
    assert list(shown) == ["extend_deadline", "amend_tender", "close_bidding", "cancel"]
    assert shown["extend_deadline"].allowed and shown["cancel"].allowed
    # Before the deadline no advice to cancel for want of bids: bidding is still open.
    assert not shown["close_bidding"].allowed and "open until" in str(shown["close_bidding"].reason)
    assert "No organisation" not in str(shown["close_bidding"].reason)
    pass_deadline(process)
    shown = {m.name: m for m in moves.moves(process)}
    assert "No organisation has bid" in str(shown["close_bidding"].reason)
    assert not shown["extend_deadline"].allowed
    with pytest.raises(Invalid, match="No organisation has bid"):
        tenders.close_bidding(process, actor=city.official)


def test_an_extension_is_a_published_amendment_told_to_the_bidders(city):
    process = city.process("tender")
    tenders.submit_bid(process, city.coop, 1000, actor=city.coop_member, declarations=DECLARED)
    old = process.bid_deadline
    with pytest.raises(Invalid, match="reason"):
        tenders.extend_deadline(process, old + timedelta(days=7), " ", actor=city.official)
    with pytest.raises(Invalid, match="after the current one") as refused:
        tenders.extend_deadline(process, old, "Holidays", actor=city.official)
    assert refused.value.field == "deadline"
    with pytest.raises(NotAllowed):
        tenders.extend_deadline(process, old + timedelta(days=7), "Holidays", actor=city.outsider)
    tenders.extend_deadline(process, old + timedelta(days=7), "A holiday fell in the period.", actor=city.official)
    assert process.bid_deadline == old + timedelta(days=7)
    amendment = db.session.execute(select(Amendment)).scalar_one()
    assert amendment.rationale == "A holiday fell in the period." and amendment.amended_by_id == city.official.id
    assert amendment.before == {"bid_deadline": old.isoformat()}
    assert amendment.after == {"bid_deadline": (old + timedelta(days=7)).isoformat()}
    release = releases.releases_of(process)[-1]
    assert release.tags == ["tenderAmendment"] and release.release_id == amendment.release_id
    event = db.session.execute(select(OutboxEvent).where(OutboxEvent.kind == "procurement.deadline_extended")
                               ).scalar_one()
    assert event.context["rationale"] == "A holiday fell in the period."
    pass_deadline(process)
    with pytest.raises(Invalid, match="has passed"):
        tenders.extend_deadline(process, city_today() + timedelta(days=7), "Too late", actor=city.official)


def test_only_the_procuring_department_moves_a_process(city):
    process = city.process("tender")
    tenders.submit_bid(process, city.coop, 1000, actor=city.coop_member, declarations=DECLARED)
    with pytest.raises(NotAllowed, match="Social Services"):
        tenders.close_bidding(process, actor=city.outsider)
    with pytest.raises(NotAllowed):
        tenders.close_bidding(process, actor=city.coop_member)
    with pytest.raises(NotAllowed):
        tenders.create_process(actor=city.outsider, title="X", department=city.department, budget_cents=1)
    pass_deadline(process)
    tenders.close_bidding(process, actor=city.admin)  # admins may
    assert process.phase == Phase.BIDS


def test_scores_must_cover_every_criterion_within_0_to_100_with_a_justification(city):
    process = city.process("bids")
    bid = process.bids[0]
    ids = [c.id for c in evaluation.scored_by_evaluators(process)]  # quality and the two social ones
    notes = {i: "Seen in the proposal." for i in ids}
    evaluation.add_evaluator(process, city.official, actor=city.official)
    with pytest.raises(Invalid, match="0 to 100"):
        evaluation.score_bid(bid, {ids[0]: 50}, notes=notes, actor=city.official)
    with pytest.raises(Invalid, match="0 to 100"):
        evaluation.score_bid(bid, dict(zip(ids, [50, 50, 101])), notes=notes, actor=city.official)
    with pytest.raises(Invalid, match="Justify") as refused:
        evaluation.score_bid(bid, dict(zip(ids, [50, 50, 50])), notes={ids[0]: "Fine."}, actor=city.official)
    assert refused.value.field == f"note_{ids[1]}"
    assert bid.scores == []
    with pytest.raises(Invalid, match="score every bid"):
        evaluation.decide_award(process, actor=city.official)


def test_ranking_weighs_the_scores_and_computes_the_price_score(city):
    # The typed price scores (80, 70, 90) are ignored: the price score is 100 × lowest ÷ price.
    process = city.process("scored", bidders=[city.coop, city.coop_b, city.company])
    ranked = evaluation.ranking(process)
    # Prices 100,000, 105,000 and 110,000: price scores 100, 95.24 and 90.91.
    assert [r.lines[0][1] for r in ranked] == [Decimal("100.00"), Decimal("95.24"), Decimal("90.91")]
    # la-tela: 40×100 + 30×90 + 20×70 + 10×60 = 8700; verde-lavoro: 3810+1800+1800+800 = 8210;
    # serviplus: 3636+1500+200+200 = 5536.
    assert [(r.bid.organisation.slug, r.total, r.rank) for r in ranked] == [
        ("la-tela", 8700, 1), ("verde-lavoro", 8210, 2), ("serviplus", 5536, 3)]
    award = evaluation.decide_award(process, actor=city.official)
    assert award.supplier.slug == "la-tela" and award.total_score == 8700
    assert award.value_cents == 10_000_000 and not award.tie and not award.override
    assert "87" in awarding.award_reasons(award) and "82.1" in awarding.award_reasons(award)
    with force_locale("it"):  # points as an Italian writes them
        assert "ottenuti 82,1." in awarding.award_reasons(award)
    assert [r["organisation"] for r in award.ranking] == ["la-tela", "verde-lavoro", "serviplus"]


def _equal_prices(city, quality=(50, 50), social=(50, 50)):
    """Two co-ops bidding the same price, scored (quality, social inclusion, local employment)."""
    process = city.process("tender")
    for org in (city.coop, city.coop_b):
        tenders.submit_bid(process, org, 5_000_000, actor=city.member(org), declarations=DECLARED)
    pass_deadline(process)
    tenders.close_bidding(process, actor=city.official)
    for bid, q, s in zip(process.bids, quality, social):
        score(process, bid, [0, q, s, 50], city.official)
    return process


def test_equal_totals_are_separated_by_the_published_rule(city):
    # Same price, same total (30×60 + 20×40 = 30×40 + 20×70 = 2600 + the rest), more social points wins.
    process = _equal_prices(city, quality=(60, 40), social=(40, 70))
    ranked = evaluation.ranking(process)
    assert ranked[0].total == ranked[1].total
    assert [(r.bid.organisation.slug, r.rank) for r in ranked] == [("verde-lavoro", 1), ("la-tela", 2)]
    award = evaluation.decide_award(process, actor=city.official)
    assert award.supplier.slug == "verde-lavoro" and not award.tie


def test_a_tie_needs_a_choice_and_a_justification(city):
    process = _equal_prices(city)
    assert [r.rank for r in evaluation.ranking(process)] == [1, 1]
    with pytest.raises(Invalid, match="tied"):
        evaluation.decide_award(process, actor=city.official)
    second = process.bids[1]
    with pytest.raises(Invalid, match="justification"):
        evaluation.decide_award(process, actor=city.official, bid=second)
    assert db.session.query(Award).count() == 0
    award = evaluation.decide_award(process, actor=city.official, bid=second,
                                    justification="Verde Lavoro hires from the work-integration list.")
    assert award.tie and award.supplier.slug == "verde-lavoro"


def test_an_override_needs_a_justification(city):
    process = city.process("scored")
    runner_up = next(b for b in process.bids if b.organisation.slug == "verde-lavoro")
    with pytest.raises(Invalid, match="justification"):
        evaluation.decide_award(process, actor=city.official, bid=runner_up)
    award = evaluation.decide_award(process, actor=city.official, bid=runner_up, justification="The winner withdrew.")
    assert award.override and "withdrew" in awarding.award_reasons(award)
    entry = history("procurement_processes", process.id)[-1]
    assert entry.action == "procurement.award" and "withdrew" in entry.after


def test_contract_dates_and_commitments_are_checked(city):
    process = city.process("award")
    today = city_today()
    with pytest.raises(Invalid, match="end after"):
        contracts.record_contract(process, actor=city.official, signed_on=today, period_start=today,
                                  period_end=today - timedelta(days=1))
    with pytest.raises(Invalid, match="social criteria"):
        contracts.record_contract(process, actor=city.official, signed_on=today, period_start=today,
                                  period_end=today + timedelta(days=30),
                                  commitments=[("price", "Cheap", today + timedelta(days=5), 1)])
    with pytest.raises(Invalid, match="social criteria"):  # a social criterion, but not one of this tender
        contracts.record_contract(process, actor=city.official, signed_on=today, period_start=today,
                                  period_end=today + timedelta(days=30),
                                  commitments=[("fair_wages", "Staff paid", today + timedelta(days=5), 1)])
    with pytest.raises(Invalid, match="measurable target"):
        contracts.record_contract(process, actor=city.official, signed_on=today, period_start=today,
                                  period_end=today + timedelta(days=30),
                                  commitments=[("social_inclusion", "people hired", today + timedelta(days=5), 0)])
    with pytest.raises(Invalid, match="milestone"):
        contracts.record_contract(process, actor=city.official, signed_on=today, period_start=today,
                                  period_end=today + timedelta(days=30),
                                  milestones=[("Late", today + timedelta(days=60))])
    assert process.contract is None and process.phase == Phase.AWARD
    contract = contracts.record_contract(process, actor=city.official, signed_on=today, period_start=today,
                                         period_end=today + timedelta(days=30))
    assert contract.value_cents == process.award.value_cents and contract.supplier.slug == "la-tela"


def test_a_contract_value_above_the_award_or_budget_needs_a_stated_reason(city):
    process = city.process("award")  # awarded at 100,000.00 on a budget of 120,000.00
    today = city_today()
    dates = dict(signed_on=today, period_start=today, period_end=today + timedelta(days=30))
    with pytest.raises(Invalid, match="state why") as refused:
        contracts.record_contract(process, actor=city.official, value_cents=50_000_000, **dates)
    assert refused.value.field == "value_justification" and process.contract is None
    contract = contracts.record_contract(process, actor=city.official, value_cents=10_500_000,
                                         value_justification="Two more weekly visits agreed at signature.", **dates)
    assert contract.value_justification == "Two more weekly visits agreed at signature."
    assert contract.value_above_award_or_budget


def test_a_signed_contract_changes_only_by_an_amendment(city):
    process = city.process("contract")
    contract = process.contract
    with pytest.raises(InvalidTransition, match="not possible"):
        contracts.record_contract(process, actor=city.official, signed_on=contract.signed_on,
                                  period_start=contract.period_start, period_end=contract.period_end)
    with pytest.raises(Invalid, match="reason"):
        contracts.amend_contract(process, "", value_cents=11_000_000, actor=city.official)
    with pytest.raises(Invalid, match="changes nothing"):
        contracts.amend_contract(process, "Nothing", actor=city.official)
    with pytest.raises(Invalid, match="cannot end before"):
        contracts.amend_contract(process, "Shorter", period_end=contract.period_start, actor=city.official)
    with pytest.raises(NotAllowed):
        contracts.amend_contract(process, "Mine", value_cents=1, actor=city.outsider)
    contracts.amend_contract(process, "A second centre opened in March.", value_cents=11_000_000,
                             actor=city.official)
    assert contract.value_cents == 11_000_000
    assert contract.value_justification == "A second centre opened in March."  # above the award: flagged
    amendment = releases.amendments_of(process)[-1]
    assert (amendment.scope, amendment.amended_by_id) == ("contract", city.official.id)
    assert amendment.before["value_cents"] == 10_000_000 and amendment.after["value_cents"] == 11_000_000
    assert releases.releases_of(process)[-1].tags == ["contractAmendment"]
    assert [c[1:] for c in contracts.amendment_changes(amendment)] == [("€100,000.00", "€110,000.00")]
    contracts.record_payment(process, 9_000_000, city_today(), actor=city.official)
    with pytest.raises(Invalid, match="already paid"):
        contracts.amend_contract(process, "Less", value_cents=8_000_000, actor=city.official)


def test_payments_may_not_exceed_the_contract(city):
    process = city.process("implementation")
    value = process.contract.value_cents
    contracts.record_payment(process, value - 100, city_today(), actor=city.official)
    with pytest.raises(Invalid, match="exceed"):
        contracts.record_payment(process, 101, city_today(), actor=city.official)
    assert process.contract.paid_cents == value - 100


def test_milestones_metrics_and_commitments_during_implementation(city):
    process = city.process("implementation")
    milestone = process.contract.milestones[0]
    with pytest.raises(Invalid):
        contracts.report_milestone(milestone, "  ", actor=city.official)
    contracts.report_milestone(milestone, "Started with 40 people.", actor=city.official)
    assert milestone.met_on == city_today()
    contracts.record_metric(process, "People served", 40, unit="people", actor=city.official)
    with pytest.raises(Invalid):
        contracts.assess_commitment(process.contract.commitments[0], "maybe", "x", actor=city.official)
    with pytest.raises(NotAllowed):
        contracts.assess_commitment(process.contract.commitments[0], "kept", "x", actor=city.outsider)
    contracts.assess_commitment(process.contract.commitments[0], "missed", "Only two hired.", actor=city.official)
    assert process.contract.commitments[0].status == CommitmentStatus.MISSED
    assert monitoring.commitments_needing_attention() == [process.contract.commitments[0]]


def test_overdue_commitments_need_attention(city):
    process = city.process("implementation")
    later = city_today() + timedelta(days=91)
    assert monitoring.commitments_needing_attention() == []
    assert monitoring.commitments_needing_attention(later) == process.contract.commitments


def test_cancelling_needs_a_reason_and_makes_the_process_public(city):
    process = city.process("planning")
    with pytest.raises(Invalid, match="reason"):
        tenders.cancel(process, " ", actor=city.official)
    tenders.cancel(process, "The service is now run in-house.", actor=city.official)
    assert process.phase == Phase.CANCELLED and process.published


def test_unpublished_processes_are_hidden_from_the_public(city):
    planning = city.process("planning")
    tender = city.process("tender", title="Childcare")
    assert processes.can_read(None, tender) and not processes.can_read(None, planning)
    assert not processes.can_read(city.coop_member, planning)
    assert processes.can_read(city.outsider, planning)  # the office sees everything
    assert [p.id for p in processes.search(None).items] == [tender.id]
    assert {p.id for p in processes.search(city.outsider).items} == {planning.id, tender.id}


def test_a_stale_copy_cannot_move_a_process_twice(city):
    # Another official's request awarded the process meanwhile: the stored phase decides.
    process = city.process("scored")
    from sqlalchemy import update

    from procurement.models import Process
    db.session.execute(update(Process).where(Process.id == process.id).values(phase="cancelled")
                       .execution_options(synchronize_session=False))
    assert process.phase == Phase.BIDS  # this copy has not seen the change
    with pytest.raises(InvalidTransition):
        evaluation.decide_award(process, actor=city.official)
    assert db.session.query(Award).count() == 0


def test_a_payment_cannot_precede_the_signature(city):
    process = city.process("implementation")
    signed = process.contract.signed_on
    with pytest.raises(Invalid, match="before the contract was signed") as refused:
        contracts.record_payment(process, 100, signed - timedelta(days=1), actor=city.official)
    assert refused.value.field == "paid_on" and process.contract.payments == []
    contracts.record_payment(process, 100, signed, actor=city.official)
    assert process.contract.paid_cents == 100


def test_a_metric_must_fit_the_register(city):
    process = city.process("implementation")
    with pytest.raises(Invalid, match="too large") as refused:
        contracts.record_metric(process, "People served", contracts.METRIC_LIMIT + 1, actor=city.official)
    assert refused.value.field == "value" and process.contract.metrics == []
    contracts.record_metric(process, "People served", contracts.METRIC_LIMIT, actor=city.official)
    assert process.contract.metrics[0].value == contracts.METRIC_LIMIT
