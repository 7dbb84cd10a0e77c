"""The pages, through the test client with CSRF on: the steps of a process,
bad input shown next to its field, and who may see and do what."""
import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from app.extensions import db
from app.i18n import city_today
from procurement import tenders
from procurement.models import Payment, Phase, Process, ServiceMetric

from ..conftest import login, post_form
from .conftest import DECLARED, pass_deadline

# Every declaration's box ticked, as a bidder sends the form.
DECLARE = {f"declare_{code}": "y" for code in DECLARED}


def _as(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def test_an_official_opens_a_process_and_sets_its_criteria(app, city):
    client = _as(app, city.official)
    response = post_form(client, "/procurement/new", {
        "title": "Home care", "department": city.department.id, "category": "elder-care", "priority_need": "",
        "budget": "120000.50", "procedure": "reserved"})
    assert response.status_code == 302
    process = db.session.query(Process).one()
    assert process.budget_cents == 12_000_050 and process.phase == Phase.PLANNING
    # Weights that do not add up to 100: the form comes back with the input and the reason.
    page = post_form(client, f"/procurement/{process.id}/criteria",
                     {"weight_price": "50", "weight_social_inclusion": "30"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "add up to 80" in text and 'value="30"' in text
    assert post_form(client, f"/procurement/{process.id}/criteria",
                     {"weight_price": "50", "weight_social_inclusion": "50"}).status_code == 302
    deadline = (city_today() + timedelta(days=20)).isoformat()
    post_form(client, f"/procurement/{process.id}/publish", {"deadline": deadline})
    db.session.refresh(process)
    assert process.phase == Phase.TENDER and [c.weight for c in process.criteria] == [50, 50]


def test_a_bad_budget_is_shown_next_to_the_field(app, city):
    client = _as(app, city.official)
    page = post_form(client, "/procurement/new", {"title": "X", "department": city.department.id,
                                                  "category": "", "priority_need": "", "budget": "lots",
                                                  "procedure": "open"})
    assert page.status_code == 200 and 'id="budget-error"' in page.get_data(as_text=True)
    assert db.session.query(Process).count() == 0


def test_a_company_cannot_bid_on_a_reserved_tender(app, city):
    process = city.process("tender", procedure="reserved")
    client = _as(app, city.company_member)
    page = post_form(client, f"/procurement/{process.id}/bid",
                     {"organisation": city.company.id, "amount": "1000"} | DECLARE)
    assert page.status_code == 200 and "reserved for social-economy" in page.get_data(as_text=True)
    client = _as(app, city.coop_member)
    assert post_form(client, f"/procurement/{process.id}/bid",
                     {"organisation": city.coop.id, "amount": "1000"} | DECLARE).status_code == 302
    db.session.refresh(process)
    assert [b.organisation.slug for b in process.bids] == ["la-tela"]


def test_officials_of_other_departments_read_but_do_not_move(app, city):
    process = city.process("tender")
    client = _as(app, city.outsider)
    assert client.get(f"/procurement/{process.id}").status_code == 200
    response = post_form(client, f"/procurement/{process.id}/cancel", {"reason": "Not ours to cancel"})
    assert response.status_code == 302
    db.session.refresh(process)
    assert process.phase == Phase.TENDER
    page = client.get(f"/procurement/{process.id}", follow_redirects=True).get_data(as_text=True)
    assert "Only officials of Social Services" in page
    assert client.get(f"/procurement/{process.id}/award").status_code == 302


def test_planning_is_internal(app, client, city):
    process = city.process("planning")
    assert client.get(f"/procurement/{process.id}").status_code == 404
    assert _as(app, city.coop_member).get(f"/procurement/{process.id}").status_code == 404
    assert _as(app, city.outsider).get(f"/procurement/{process.id}").status_code == 200
    assert process.title not in client.get("/procurement/").get_data(as_text=True)


def test_bidders_see_their_own_scores_only(app, client, city):
    process = city.process("scored")
    own = _as(app, city.coop_member).get(f"/procurement/{process.id}").get_data(as_text=True)
    assert "Weighted total: 87" in own and "Weighted total: 82.1" not in own
    public = client.get(f"/procurement/{process.id}").get_data(as_text=True)
    assert "Weighted total" not in public and "Verde Lavoro" in public
    official = _as(app, city.outsider).get(f"/procurement/{process.id}").get_data(as_text=True)
    assert "Weighted total: 87" in official and "Weighted total: 82.1" in official
    # Officials also read the audited history of the process; the public does not.
    assert "Bids under evaluation</strong>" in official and "Award criteria set" in official
    assert "Award criteria set" not in public


def test_scoring_awarding_and_the_contract_through_the_pages(app, client, city):
    process = city.process("scored")
    official = _as(app, city.official)
    second = process.bids[1]
    page = post_form(official, f"/procurement/{process.id}/award", {"bid": str(second.id), "justification": ""})
    assert page.status_code == 200 and "needs a written justification" in page.get_data(as_text=True)
    assert post_form(official, f"/procurement/{process.id}/award", {
        "bid": str(second.id), "justification": "Hires from the work-integration list."}).status_code == 302
    today = city_today()
    page = post_form(official, f"/procurement/{process.id}/contract", {
        "signed_on": today.isoformat(), "period_start": today.isoformat(),
        "period_end": (today + timedelta(days=200)).isoformat(),
        "milestones": "not a date | x"})
    assert page.status_code == 200 and "Line 1 is not in the format shown" in page.get_data(as_text=True)
    assert post_form(official, f"/procurement/{process.id}/contract", {
        "signed_on": today.isoformat(), "period_start": today.isoformat(),
        "period_end": (today + timedelta(days=200)).isoformat(),
        "milestones": f"{(today + timedelta(days=7)).isoformat()} | Service starts",
        "commitments-0-criterion": "social_inclusion", "commitments-0-description": "people hired",
        "commitments-0-target": "3", "commitments-0-due_on": (today + timedelta(days=60)).isoformat(),
    }).status_code == 302
    db.session.refresh(process)
    contract = process.contract
    assert contract.supplier.slug == "verde-lavoro"
    assert [(c.kind, c.description, c.target_quantity) for c in contract.commitments] == [
        ("social_inclusion", "people hired", 3)]
    post_form(official, f"/procurement/{process.id}/start-implementation")
    post_form(official, f"/procurement/{process.id}/payments", {"amount": "500", "paid_on": today.isoformat()})
    post_form(official, f"/procurement/{process.id}/metrics",
              {"name": "People served", "value": "30", "unit": "people"})
    post_form(official, f"/procurement/milestones/{contract.milestones[0].id}", {"report": "Started on time."})
    post_form(official, f"/procurement/commitments/{contract.commitments[0].id}",
              {"status": "kept", "note": "Payroll seen."})
    post_form(official, f"/procurement/{process.id}/close")
    db.session.refresh(process)
    assert process.phase == Phase.CLOSED and process.contract.paid_cents == 50_000
    page = client.get(f"/procurement/{process.id}").get_data(as_text=True)
    assert "Verde Lavoro" in page and "Hires from the work-integration list." in page and "People served" in page


def test_award_and_contract_pdfs(client, city):
    process = city.process("contract")
    assert client.get(f"/procurement/{city.process('bids', title='Other').id}/award.pdf").status_code == 404
    award = client.get(f"/procurement/{process.id}/award.pdf")
    assert award.status_code == 200 and award.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(award.data)).pages)
    assert "La Tela" in text and "87" in text and "social economy" in text
    contract = client.get(f"/procurement/{process.id}/contract.pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(contract.data)).pages)
    assert "4 people hired from the" in text and process.reference in text


def test_the_register_filters_by_phase_and_procedure(client, city):
    city.process("tender", title="Open one")
    city.process("tender", procedure="reserved", title="Reserved one")
    page = client.get("/procurement/?procedure=reserved").get_data(as_text=True)
    assert "Reserved one" in page and "Open one" not in page
    page = client.get("/procurement/?phase=award").get_data(as_text=True)
    assert "Reserved one" not in page


@pytest.mark.parametrize("optional", [{}, {"milestones": "  "}, {"commitments-0-criterion": ""}])
def test_a_contract_needs_neither_milestones_nor_commitments(app, city, optional):
    process = city.process("award")
    today = city_today()
    response = post_form(_as(app, city.official), f"/procurement/{process.id}/contract", {
        "signed_on": today.isoformat(), "period_start": today.isoformat(),
        "period_end": (today + timedelta(days=200)).isoformat(), **optional})
    assert response.status_code == 302
    db.session.refresh(process)
    assert process.phase == Phase.CONTRACT
    assert process.contract.milestones == [] and process.contract.commitments == []


def test_an_incomplete_payment_comes_back_with_each_error_beside_its_field(app, city):
    process = city.process("implementation")
    page = post_form(_as(app, city.official), f"/procurement/{process.id}/payments",
                     {"amount": "", "paid_on": "", "note": "First quarter"})
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'id="amount-error"' in text and 'id="paid_on-error"' in text and 'value="First quarter"' in text
    assert db.session.query(Payment).count() == 0


def test_a_missing_or_past_deadline_is_shown_beside_the_field(app, city):
    process = city.process("planning")
    client = _as(app, city.official)
    page = post_form(client, f"/procurement/{process.id}/publish", {"deadline": ""})
    assert page.status_code == 422 and 'id="deadline-error"' in page.get_data(as_text=True)
    yesterday = (city_today() - timedelta(days=1)).isoformat()
    page = post_form(client, f"/procurement/{process.id}/publish", {"deadline": yesterday})
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and 'id="deadline-error"' in text and "must be after today" in text
    assert f'value="{yesterday}"' in text
    db.session.refresh(process)
    assert process.phase == Phase.PLANNING


def test_a_metric_too_large_for_the_register_is_refused_beside_its_field(app, city):
    process = city.process("implementation")
    page = post_form(_as(app, city.official), f"/procurement/{process.id}/metrics",
                     {"name": "People served", "value": "99999999999999999999999999", "unit": "people"})
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'id="value-error"' in text and "too large" in text
    assert 'value="99999999999999999999999999"' in text and 'value="People served"' in text
    assert db.session.query(ServiceMetric).count() == 0


def test_a_payment_before_the_signature_is_refused_beside_its_date(app, city):
    process = city.process("implementation")
    page = post_form(_as(app, city.official), f"/procurement/{process.id}/payments",
                     {"amount": "500", "paid_on": "2000-01-01"})
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'id="paid_on-error"' in text and "before the contract was signed" in text
    assert 'value="2000-01-01"' in text and 'value="500"' in text
    assert db.session.query(Payment).count() == 0


def test_bidding_cannot_be_closed_early_through_the_page_and_offers_stay_sealed(app, city):
    process = city.process("tender")
    tenders.submit_bid(process, city.coop, 9_000_000, actor=city.coop_member, declarations=DECLARED)
    official = _as(app, city.official)
    page = official.get(f"/procurement/{process.id}").get_data(as_text=True)
    assert "1 sealed bid received" in page and "€90,000.00" not in page  # the offer is not shown
    assert "Bidding is open until the end of" in page and "disabled" in page
    response = post_form(official, f"/procurement/{process.id}/close-bidding")
    assert response.status_code == 302
    assert "Bidding is open until" in official.get(response.location).get_data(as_text=True)
    db.session.refresh(process)
    assert process.phase == Phase.TENDER
    pass_deadline(process)
    page = official.get(f"/procurement/{process.id}").get_data(as_text=True)
    assert "sealed" not in page and "€90,000.00" in page  # opened after the deadline
    post_form(official, f"/procurement/{process.id}/close-bidding")
    db.session.refresh(process)
    assert process.phase == Phase.BIDS


def test_no_advice_to_cancel_while_bidding_is_open(app, city):
    process = city.process("tender")
    page = _as(app, city.official).get(f"/procurement/{process.id}").get_data(as_text=True)
    assert "No organisation has bid" not in page and "Extend the deadline" in page


def test_the_deadline_is_extended_through_the_page_with_a_reason_beside_its_field(app, client, city):
    process = city.process("tender")
    official = _as(app, city.official)
    old = process.bid_deadline
    page = post_form(official, f"/procurement/{process.id}/extend-deadline",
                     {"deadline": old.isoformat(), "rationale": "More time"})
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and 'id="deadline-error"' in text and "after the current one" in text
    assert "More time" in text
    new = old + timedelta(days=7)
    assert post_form(official, f"/procurement/{process.id}/extend-deadline",
                     {"deadline": new.isoformat(), "rationale": "A holiday fell in the period."}).status_code == 302
    db.session.refresh(process)
    assert process.bid_deadline == new
    public = client.get(f"/procurement/{process.id}").get_data(as_text=True)
    assert "A holiday fell in the period." in public and "Amendments" in public
    assert "Deadline for bids extended</strong>" in official.get(f"/procurement/{process.id}").get_data(as_text=True)


def test_a_bid_above_the_value_is_refused_beside_its_field_and_a_bid_withdrawn_and_sent_again(app, city):
    process = city.process("tender", budget=1_000_000)
    bidder = _as(app, city.coop_member)
    page = post_form(bidder, f"/procurement/{process.id}/bid",
                     {"organisation": city.coop.id, "amount": "10000.01"} | DECLARE)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="amount-error"' in text and "above the tender&#39;s value" in text
    assert post_form(bidder, f"/procurement/{process.id}/bid",
                     {"organisation": city.coop.id, "amount": "9000"} | DECLARE).status_code == 302
    form = bidder.get(f"/procurement/{process.id}/bid").get_data(as_text=True)
    assert 'value="9000' in form and "a new one replaces it" in form
    assert post_form(bidder, f"/procurement/{process.id}/bid",
                     {"organisation": city.coop.id, "amount": "8500"} | DECLARE).status_code == 302
    db.session.refresh(process)
    assert [b.amount_cents for b in process.bids] == [850_000] and len(process.all_bids) == 2
    page = bidder.get(f"/procurement/{process.id}").get_data(as_text=True)
    assert "Withdraw your bid" in page
    assert post_form(bidder, f"/procurement/bids/{process.bids[0].id}/withdraw").status_code == 302
    db.session.refresh(process)
    assert process.bids == [] and [b.status for b in process.all_bids] == ["replaced", "withdrawn"]


def test_price_is_not_typed_and_each_score_needs_a_justification(app, city):
    process = city.process("bids")
    bid = process.bids[0]
    official = _as(app, city.official)
    # Not on the panel yet: sent back, told why.
    refused = official.get(f"/procurement/bids/{bid.id}/score", follow_redirects=True).get_data(as_text=True)
    assert "Only the members of the evaluation panel score the bids." in refused
    assert post_form(official, f"/procurement/{process.id}/panel",
                     {"evaluator": city.official.email}).status_code == 302
    form = official.get(f"/procurement/bids/{bid.id}/score").get_data(as_text=True)
    price = next(c for c in process.criteria if c.kind == "price")
    assert f'name="score_{price.id}"' not in form and "published formula" in form
    scored = [c for c in process.criteria if c.kind != "price"]
    page = post_form(official, f"/procurement/bids/{bid.id}/score",
                     {f"score_{c.id}": "70" for c in scored} | {f"note_{scored[0].id}": "Good plan."})
    text = page.get_data(as_text=True)
    assert f'id="note_{scored[1].id}-error"' in text and "Good plan." in text
    assert post_form(official, f"/procurement/bids/{bid.id}/score", {f"score_{c.id}": "70" for c in scored}
                     | {f"note_{c.id}": "Good plan." for c in scored}).status_code == 302
    db.session.refresh(bid)
    assert sorted(s.criterion_id for s in bid.scores) == sorted(c.id for c in scored)
    again = official.get(f"/procurement/bids/{bid.id}/score", follow_redirects=True).get_data(as_text=True)
    assert "You have already scored this bid" in again


def test_a_contract_above_its_award_needs_a_reason_and_reopening_leads_to_an_amendment(app, client, city):
    process = city.process("award")  # awarded at €100,000.00
    official = _as(app, city.official)
    today = city_today()
    dates = {"signed_on": today.isoformat(), "period_start": today.isoformat(),
             "period_end": (today + timedelta(days=200)).isoformat()}
    page = post_form(official, f"/procurement/{process.id}/contract", {**dates, "value": "500000"})
    text = page.get_data(as_text=True)
    assert 'id="value_justification-error"' in text and "state why" in text
    db.session.refresh(process)
    assert process.contract is None
    assert post_form(official, f"/procurement/{process.id}/contract", {**dates}).status_code == 302
    # Opening the contract form again: the amendment form, not "cannot move from Contract signed".
    again = official.get(f"/procurement/{process.id}/contract", follow_redirects=True).get_data(as_text=True)
    assert "Amend the contract" in again and "cannot move" not in again
    page = post_form(official, f"/procurement/{process.id}/contract/amend", {"value": "120000", "rationale": ""})
    assert 'id="rationale-error"' in page.get_data(as_text=True)
    assert post_form(official, f"/procurement/{process.id}/contract/amend", {
        "value": "120000", "rationale": "A second site was added."}).status_code == 302
    db.session.refresh(process)
    assert process.contract.value_cents == 12_000_000
    assert process.contract.value_justification == "A second site was added."
    public = client.get(f"/procurement/{process.id}").get_data(as_text=True)
    assert "A second site was added." in public and "€100,000.00 → €120,000.00" in public


def test_social_commitments_are_picked_from_the_tenders_social_criteria(app, city):
    process = city.process("award")
    official = _as(app, city.official)
    form = official.get(f"/procurement/{process.id}/contract").get_data(as_text=True)
    assert 'value="social_inclusion"' in form and 'value="fair_wages"' not in form  # not a criterion here
    assert "| criterion |" not in form
    today = city_today()
    page = post_form(official, f"/procurement/{process.id}/contract", {
        "signed_on": today.isoformat(), "period_start": today.isoformat(),
        "period_end": (today + timedelta(days=200)).isoformat(),
        "commitments-0-criterion": "local_employment", "commitments-0-description": "staff from the district"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Required for a commitment." in text
    db.session.refresh(process)
    assert process.contract is None
