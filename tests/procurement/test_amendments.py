"""Tenders and awards change only by amendment (#18): who, when, why, before and after, published
as OCDS amendments in a new release, listed on the process page; through the pages and the API
(409 when the process's state does not allow it, 422 for bad input)."""
import json
from datetime import timedelta

import pytest

from app.errors import Invalid, InvalidTransition
from app.extensions import db
from app.i18n import city_today
from procurement import amendments, contracts, releases, tenders
from procurement.models import Amendment

from ..conftest import login, post_form
from .conftest import DECLARED, pass_deadline


def _as(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def _latest(process) -> dict:
    return json.loads(releases.releases_of(process)[-1].body)


def test_a_tender_is_amended_while_bids_are_accepted_and_never_below_a_bid(city):
    process = city.process("tender")
    tenders.submit_bid(process, city.coop, 9_000_000, actor=city.coop_member, declarations=DECLARED)
    with pytest.raises(Invalid, match="reason"):
        amendments.amend_tender(process, " ", budget_cents=10_000_000, actor=city.official)
    with pytest.raises(Invalid, match="cannot fall below") as refused:
        amendments.amend_tender(process, "Fewer hours.", budget_cents=8_000_000, actor=city.official)
    assert refused.value.field == "budget"
    with pytest.raises(Invalid, match="changes nothing"):
        amendments.amend_tender(process, "Nothing.", actor=city.official)
    amendments.amend_tender(process, "Two more neighbourhoods.", budget_cents=15_000_000,
                            description="Home care in five neighbourhoods.", actor=city.official)
    row = db.session.query(Amendment).one()
    assert (row.scope, row.rationale, row.amended_by_id) == ("tender", "Two more neighbourhoods.", city.official.id)
    assert row.before["budget_cents"] == 12_000_000 and row.after["budget_cents"] == 15_000_000
    release = _latest(process)
    assert release["tag"] == ["tenderAmendment"] and release["tender"]["value"]["amount"] == 150_000
    assert release["tender"]["amendments"][0]["rationale"] == "Two more neighbourhoods."
    pass_deadline(process)
    with pytest.raises(Invalid, match="no longer") as late:
        amendments.amend_tender(process, "Too late.", budget_cents=16_000_000, actor=city.official)
    assert late.value.status == 409


def test_an_award_is_amended_before_the_contract_never_overwritten(city):
    process = city.process("award")  # la-tela, €100,000.00, on a €120,000.00 budget
    with pytest.raises(Invalid, match="above the tender's value"):
        amendments.amend_award(process, "Typo.", value_cents=12_500_000, actor=city.official)
    amendments.amend_award(process, "The price excluded the Saturday service, agreed in the bid.",
                           value_cents=10_400_000, actor=city.official)
    assert process.award.value_cents == 10_400_000
    row = db.session.query(Amendment).one()
    assert (row.scope, row.before, row.after) == ("award", {"value_cents": 10_000_000, "justification": ""},
                                                  {"value_cents": 10_400_000, "justification": ""})
    release = _latest(process)
    assert release["tag"] == ["awardUpdate"] and release["awards"][0]["value"]["amount"] == 104_000
    assert release["awards"][0]["amendments"][0]["description"] == "value_cents: 10000000 → 10400000"
    today = city_today()
    contracts.record_contract(process, actor=city.official, signed_on=today, period_start=today,
                              period_end=today + timedelta(days=30))
    with pytest.raises(InvalidTransition):
        amendments.amend_award(process, "Later.", value_cents=10_000_000, actor=city.official)


def test_the_history_of_amendments_on_the_page(app, client, city):
    process = city.process("award")
    official = _as(app, city.official)
    page = post_form(official, f"/procurement/{process.id}/award/amend", {"value": "104000", "rationale": ""})
    assert page.status_code == 200 and 'id="rationale-error"' in page.get_data(as_text=True)
    assert post_form(official, f"/procurement/{process.id}/award/amend", {
        "value": "104000", "rationale": "Saturday service included."}).status_code == 302
    public = client.get(f"/procurement/{process.id}").get_data(as_text=True)
    assert "Saturday service included." in public and city.official.name in public
    assert "Awarded value: €100,000.00 → €104,000.00" in public
    assert "Award amended" in official.get(f"/procurement/{process.id}").get_data(as_text=True)


def test_the_tender_amendment_page(app, city):
    process = city.process("tender")
    official = _as(app, city.official)
    assert "Amend the tender" in official.get(f"/procurement/{process.id}").get_data(as_text=True)
    assert post_form(official, f"/procurement/{process.id}/tender/amend", {
        "description": process.description, "budget": "130000", "rationale": "Wider area."}).status_code == 302
    db.session.refresh(process)
    assert process.budget_cents == 13_000_000


def test_the_deadline_through_the_api(api_client, city):
    process = city.process("tender")
    api, headers = api_client(city.official)
    url = f"/api/v1/procurement/processes/{process.id}/deadline"
    later = (process.bid_deadline + timedelta(days=7)).isoformat()
    missing = api.post(url, json={"deadline": later}, headers=headers)
    assert missing.status_code == 422
    earlier = api.post(url, json={"deadline": city_today().isoformat(), "rationale": "x"}, headers=headers)
    assert earlier.status_code == 422 and earlier.get_json()["field"] == "deadline"
    before = process.bid_deadline.isoformat()
    done = api.post(url, json={"deadline": later, "rationale": "A holiday fell in the period."}, headers=headers)
    assert done.status_code == 200 and done.get_json()["bid_deadline"] == later
    assert [(a["before"], a["after"]) for a in done.get_json()["amendments"]] == [
        ({"bid_deadline": before}, {"bid_deadline": later})]
    pass_deadline(process)
    late = api.post(url, json={"deadline": later, "rationale": "Again."}, headers=headers)
    assert late.status_code == 409 and late.get_json()["error"] == "refused"
    other, other_headers = api_client(city.outsider)
    assert other.post(url, json={"deadline": later, "rationale": "x"}, headers=other_headers).status_code == 403


def test_award_and_contract_amendments_through_the_api(api_client, city):
    process = city.process("award")
    api, headers = api_client(city.official)
    base = f"/api/v1/procurement/processes/{process.id}"
    too_early = api.post(f"{base}/contract/amendments", json={"rationale": "x", "value_cents": 1}, headers=headers)
    assert too_early.status_code == 409 and too_early.get_json()["error"] == "invalid_transition"
    bad = api.post(f"{base}/award/amendments", json={"value_cents": 10_400_000}, headers=headers)
    assert bad.status_code == 422
    amended = api.post(f"{base}/award/amendments", json={"rationale": "Saturdays.", "value_cents": 10_400_000},
                       headers=headers)
    assert amended.status_code == 201
    assert amended.get_json()["scope"] == "award" and amended.get_json()["after"]["value_cents"] == 10_400_000
    today = city_today()
    contracts.record_contract(process, actor=city.official, signed_on=today, period_start=today,
                              period_end=today + timedelta(days=30))
    assert api.post(f"{base}/award/amendments", json={"rationale": "x", "value_cents": 1},
                    headers=headers).status_code == 409
    refused = api.post(f"{base}/contract/amendments", json={"rationale": "Nothing."}, headers=headers)
    assert refused.status_code == 422 and refused.get_json()["field"] == "value"
    longer = (today + timedelta(days=60)).isoformat()
    done = api.post(f"{base}/contract/amendments", json={"rationale": "A second month.", "period_end": longer},
                    headers=headers)
    assert done.status_code == 201 and done.get_json()["after"]["period_end"] == longer
    shown = api.get(base, headers=headers).get_json()
    assert [a["scope"] for a in shown["amendments"]] == ["award", "contract"]
    spec = api.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/procurement/processes/{process_id}/deadline",
            "/api/v1/procurement/processes/{process_id}/award/amendments",
            "/api/v1/procurement/processes/{process_id}/contract/amendments"} <= set(spec)
