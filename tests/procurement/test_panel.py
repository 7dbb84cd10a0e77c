"""Scoring by an evaluation panel (#18): each member scores once with a justification, the panel's
score is the mean, the ranking and the award use it, and the award locks the scores. And the price
formulas, computed with exact numbers."""
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from app.accounts.models import Role
from app.errors import Invalid, NotAllowed
from app.i18n import city_today
from procurement import evaluation, tenders
from procurement.models import Phase

from ..conftest import login, post_form
from .conftest import DECLARED, pass_deadline


def _as(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def _notes(criteria, text="Seen in the proposal."):
    return {c.id: text for c in criteria}


@pytest.fixture
def panel(city, make_user):
    """Three officials of three departments on the panel of a process with the two co-ops' bids."""
    process = city.process("bids")
    third = make_user(Role.OFFICIAL)
    members = [city.official, city.outsider, third]
    for member in members:
        evaluation.add_evaluator(process, member, actor=city.official)
    return process, members


def test_the_panels_score_is_the_mean_of_its_members_rounded_half_up(city, panel):
    process, members = panel
    criteria = evaluation.scored_by_evaluators(process)  # quality 30, social inclusion 20, local 10
    la_tela, verde = process.bids
    for member, quality in zip(members, (70, 75, 76)):
        evaluation.score_bid(la_tela, {c.id: quality for c in criteria}, notes=_notes(criteria), actor=member)
    quality = criteria[0]
    # (70 + 75 + 76) ÷ 3 = 73.666… → 73.67
    assert evaluation.panel_score(la_tela, quality) == Decimal("73.67")
    assert evaluation.panel_score(verde, quality) is None
    ranked = {r.bid.id: r for r in evaluation.ranking(process)}
    # Price: 40 × 100 = 4000 hundredths; each of the others 73.67 × weight: 2210.1 → 2210, 1473.4 → 1473,
    # 736.7 → 737. Total 8420.
    assert [w for _c, _s, w in ranked[la_tela.id].lines] == [4000, 2210, 1473, 737]
    assert ranked[la_tela.id].total == 8420 and ranked[la_tela.id].complete
    assert not ranked[verde.id].complete
    with pytest.raises(Invalid, match="Every member of the panel"):
        evaluation.decide_award(process, actor=city.official)


def test_only_the_panel_scores_once_each_with_a_justification(city, panel, make_user):
    process, members = panel
    criteria = evaluation.scored_by_evaluators(process)
    bid = process.bids[0]
    stranger = make_user(Role.OFFICIAL, organisations=[city.department])  # of the department, not on the panel
    with pytest.raises(NotAllowed, match="evaluation panel"):
        evaluation.score_bid(bid, {c.id: 50 for c in criteria}, notes=_notes(criteria), actor=stranger)
    with pytest.raises(Invalid, match="Justify"):
        evaluation.score_bid(bid, {c.id: 50 for c in criteria}, notes={}, actor=members[1])
    evaluation.score_bid(bid, {c.id: 50 for c in criteria}, notes=_notes(criteria), actor=members[1])
    with pytest.raises(Invalid, match="already scored"):
        evaluation.score_bid(bid, {c.id: 90 for c in criteria}, notes=_notes(criteria), actor=members[1])
    assert [s.score for s in bid.scores] == [50, 50, 50]
    # A member who has scored stays on the panel; one who has not may leave.
    with pytest.raises(Invalid, match="already scored"):
        evaluation.remove_evaluator(process, members[1], actor=city.official)
    evaluation.remove_evaluator(process, members[2], actor=city.official)
    assert [m.user_id for m in process.panel] == [members[0].id, members[1].id]


def test_no_member_of_a_bidder_on_the_panel_and_only_officials(city, make_user):
    process = city.process("bids")
    with pytest.raises(Invalid, match="cannot evaluate"):
        evaluation.add_evaluator(process, make_user(Role.OFFICIAL, organisations=[city.coop]), actor=city.official)
    with pytest.raises(Invalid, match="Only officials"):
        evaluation.add_evaluator(process, city.coop_member, actor=city.official)
    with pytest.raises(NotAllowed):
        evaluation.add_evaluator(process, city.outsider, actor=city.outsider)  # not of the procuring department
    evaluation.add_evaluator(process, city.outsider, actor=city.official)
    with pytest.raises(Invalid, match="already on the panel"):
        evaluation.add_evaluator(process, city.outsider, actor=city.official)


def test_the_award_uses_the_panels_means_and_locks_the_scores(city, panel):
    process, members = panel
    criteria = evaluation.scored_by_evaluators(process)
    la_tela, verde = process.bids  # prices 100,000 and 105,000
    # La Tela: the members disagree (90, 30, 30 → 50); Verde Lavoro: 60 from everyone.
    for member, value in zip(members, (90, 30, 30)):
        evaluation.score_bid(la_tela, {c.id: value for c in criteria}, notes=_notes(criteria), actor=member)
        evaluation.score_bid(verde, {c.id: 60 for c in criteria}, notes=_notes(criteria), actor=member)
    ranked = evaluation.ranking(process)
    # La Tela 4000 + 60 × 50 = 7000; Verde Lavoro 40 × 95.238… = 3809.5 → 3810, + 60 × 60 = 7410.
    assert [(r.bid.organisation.slug, r.total) for r in ranked] == [("verde-lavoro", 7410), ("la-tela", 7000)]
    award = evaluation.decide_award(process, actor=city.official)
    assert award.supplier.slug == "verde-lavoro" and award.total_score == 7410
    with pytest.raises(Invalid, match="locked"):
        evaluation.score_bid(la_tela, {c.id: 100 for c in criteria}, notes=_notes(criteria), actor=members[0])
    with pytest.raises(Invalid, match="until the award"):
        evaluation.add_evaluator(process, city.admin, actor=city.official)


def _priced(city, formula, prices, budget=12_000_000):
    process = tenders.create_process(actor=city.official, title="Meals", department=city.department,
                                     budget_cents=budget, allow_above_value=True)
    tenders.set_criteria(process, [("price", 100, "", formula)], actor=city.official)
    tenders.publish_tender(process, city_today() + timedelta(days=5), actor=city.official)
    for org, price in zip((city.coop, city.coop_b, city.company), prices):
        tenders.submit_bid(process, org, price, actor=city.member(org), declarations=DECLARED)
    pass_deadline(process)
    tenders.close_bidding(process, actor=city.official)
    return process


def test_the_proportional_formula_with_exact_numbers(city):
    process = _priced(city, "proportional", [9_000_000, 10_000_000, 12_000_000])
    lines = {r.bid.amount_cents: r.lines[0] for r in evaluation.ranking(process)}
    # 100 × 90,000 ÷ 100,000 = 90; 100 × 90,000 ÷ 120,000 = 75.
    assert [(lines[p][1], lines[p][2]) for p in (9_000_000, 10_000_000, 12_000_000)] == [
        (Decimal("100.00"), 10000), (Decimal("90.00"), 9000), (Decimal("75.00"), 7500)]


def test_the_linear_formula_with_exact_numbers(city):
    # Value 120,000; lowest 90,000: 100 × (120,000 − 100,000) ÷ 30,000 = 66.666… → 66.67 (6667 hundredths);
    # a price equal to the value gets 0, one above it (allowed here) 0 as well, never less.
    process = _priced(city, "linear", [9_000_000, 10_000_000, 13_000_000])
    lines = {r.bid.amount_cents: r.lines[0] for r in evaluation.ranking(process)}
    assert [(lines[p][1], lines[p][2]) for p in (9_000_000, 10_000_000, 13_000_000)] == [
        (Decimal("100.00"), 10000), (Decimal("66.67"), 6667), (Decimal("0.00"), 0)]
    assert process.criteria[0].formula == "linear"


def test_a_formula_is_chosen_from_the_published_ones_and_only_for_price(city):
    process = tenders.create_process(actor=city.official, title="Meals", department=city.department,
                                     budget_cents=1000)
    with pytest.raises(Invalid, match="Unknown price formula") as refused:
        tenders.set_criteria(process, [("price", 100, "", "cheapest-wins")], actor=city.official)
    assert refused.value.field == "formula"
    with pytest.raises(Invalid, match="Only the price criterion"):
        tenders.set_criteria(process, [("price", 50, ""), ("quality", 50, "", "linear")], actor=city.official)
    tenders.set_criteria(process, [("price", 50, ""), ("quality", 50, "")], actor=city.official)
    assert [c.formula for c in process.criteria] == ["proportional", ""]


def test_the_formula_is_chosen_on_the_criteria_page_and_shown_to_bidders(app, client, city):
    process = city.process("planning")
    official = _as(app, city.official)
    form = {f"weight_{k}": str(w) for k, w, _d in [("price", 60, ""), ("quality", 40, "")]}
    assert post_form(official, f"/procurement/{process.id}/criteria",
                     form | {"price_formula": "linear"}).status_code == 302
    tenders.publish_tender(process, city_today() + timedelta(days=5), actor=city.official)
    page = client.get(f"/procurement/{process.id}").get_data(as_text=True)
    assert "value and the lowest price" in page
    assert "marks × (value − price) ÷ (value − lowest price)" in page
    assert "score is the mean of its members" in page
    italian = client.get(f"/procurement/{process.id}", headers={"Accept-Language": "it"}).get_data(as_text=True)
    assert "marks × (value − price)" not in italian


def test_the_panel_on_the_page_and_the_evaluation_report(app, client, city):
    process = city.process("scored")  # the department's official scored every bid
    official = _as(app, city.official)
    page = official.get(f"/procurement/{process.id}").get_data(as_text=True)
    assert "Evaluation panel" in page and "2 of 2 bids scored" in page
    # A bad email comes back beside its field.
    refused = post_form(official, f"/procurement/{process.id}/panel", {"evaluator": "nobody@example.org"})
    assert refused.status_code == 422 and 'id="evaluator-error"' in refused.get_data(as_text=True)
    response = official.get(f"/procurement/{process.id}/evaluation.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    assert "Evaluation report" in text and city.official.name in text
    assert "User 1 90 Checked against the" in text  # each evaluator's score and justification
    assert "100 × " in text and "95.24" in text  # the price computation of the second bid
    assert "Equal totals are separated" in text
    assert client.get(f"/procurement/{process.id}/evaluation.pdf").status_code in (302, 401, 403)
    assert process.phase == Phase.BIDS
