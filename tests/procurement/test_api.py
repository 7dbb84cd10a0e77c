"""The procurement API: published processes for all, writes by the procuring
department's officials (and bids by organisation members), JSON errors."""
from datetime import timedelta

from app.extensions import db
from app.i18n import city_today
from procurement import tenders
from procurement.models import Bid, Phase, Process

from .conftest import DECLARED, pass_deadline, score

CRITERIA = [{"kind": "price", "weight": 70}, {"kind": "fair_wages", "weight": 30, "description": "Ratio 1:4"}]


def _bid(organisation, amount_cents):
    return {"organisation": organisation, "amount_cents": amount_cents, "declarations": DECLARED}


def _new(client, headers, **overrides):
    body = {"title": "Childcare", "department": "social-services", "budget_cents": 5_000_000,
            "procedure": "reserved", "category": "elder-care", "criteria": CRITERIA, **overrides}
    return client.post("/api/v1/procurement/processes", json=body, headers=headers)


def test_officials_create_and_publish_and_everyone_reads(api_client, client, city):
    api, headers = api_client(city.official)
    response = _new(api, headers)
    assert response.status_code == 201, response.get_json()
    process = response.get_json()
    assert process["phase"] == "planning" and [c["social"] for c in process["criteria"]] == [False, True]
    assert client.get(f"/api/v1/procurement/processes/{process['id']}").status_code == 404
    deadline = (city_today() + timedelta(days=15)).isoformat()
    published = api.post(f"/api/v1/procurement/processes/{process['id']}/tender", json={"deadline": deadline},
                         headers=headers)
    assert published.status_code == 200 and published.get_json()["phase"] == "tender"
    listing = client.get("/api/v1/procurement/processes").get_json()
    assert [p["reference"] for p in listing] == [process["reference"]]
    assert listing[0]["ocid"] == f"ocds-procomun-villanova-{process['reference']}"


def test_weights_not_adding_up_write_nothing(api_client, city):
    api, headers = api_client(city.official)
    response = _new(api, headers, criteria=[{"kind": "price", "weight": 70}])
    assert response.status_code == 422
    assert response.get_json()["error"] == "invalid" and "add up to 70" in response.get_json()["message"]
    assert db.session.query(Process).count() == 0


def test_other_departments_and_citizens_are_refused(api_client, city, make_user):
    api, headers = api_client(city.outsider)
    assert _new(api, headers).status_code == 403
    api, headers = api_client(make_user())
    assert _new(api, headers).status_code == 403
    assert _new(api, {}).status_code == 401


def test_bids_and_award_through_the_api(api_client, city):
    process = city.process("tender")
    api, headers = api_client(city.coop_member)
    bid = api.post(f"/api/v1/procurement/processes/{process.id}/bids",
                   json=_bid("la-tela", 900_000), headers=headers)
    assert bid.status_code == 201
    other = api.post(f"/api/v1/procurement/processes/{process.id}/bids",
                     json=_bid("serviplus", 900_000), headers=headers)
    assert other.status_code == 404  # not this member's organisation
    pass_deadline(process)
    tenders.close_bidding(process, actor=city.official)
    score(process, process.bids[0], [60] * 4, city.official)
    api, headers = api_client(city.official)
    awarded = api.post(f"/api/v1/procurement/processes/{process.id}/award", json={}, headers=headers)
    assert awarded.status_code == 200
    body = awarded.get_json()
    assert body["phase"] == Phase.AWARD and body["award"]["supplier"]["social_economy"] is True
    assert body["award"]["score"] == 76.0  # the only price gets full marks: 40×100 + 60×60
    again = api.post(f"/api/v1/procurement/processes/{process.id}/award", json={}, headers=headers)
    assert again.status_code == 409 and again.get_json()["error"] == "invalid_transition"


def test_a_bid_above_the_value_is_refused_and_a_bid_replaced_or_withdrawn(api_client, city):
    process = city.process("tender", budget=1_000_000)
    api, headers = api_client(city.coop_member)
    url = f"/api/v1/procurement/processes/{process.id}/bids"
    above = api.post(url, json=_bid("la-tela", 1_000_001), headers=headers)
    assert above.status_code == 422 and "above the tender's value" in above.get_json()["message"]
    first = api.post(url, json=_bid("la-tela", 990_000), headers=headers).get_json()
    second = api.post(url, json=_bid("la-tela", 950_000), headers=headers)
    assert second.status_code == 201 and second.get_json()["status"] == "active"
    assert db.session.get(Bid, first["id"]).status == "replaced"
    stranger, stranger_headers = api_client(city.company_member)
    refused = stranger.post(f"{url}/{second.get_json()['id']}/withdraw", headers=stranger_headers)
    assert refused.status_code == 404  # another organisation's sealed bid does not exist for it
    withdrawn = api.post(f"{url}/{second.get_json()['id']}/withdraw", headers=headers)
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    assert db.session.query(Bid).filter_by(status="active").count() == 0


def test_a_tender_may_allow_bids_above_its_value(api_client, city):
    api, headers = api_client(city.official)
    created = _new(api, headers, procedure="open", allow_above_value=True).get_json()
    assert created["allow_above_value"] is True
    process = db.session.get(Process, created["id"])
    tenders.publish_tender(process, city_today() + timedelta(days=5), actor=city.official)
    api, headers = api_client(city.coop_member)
    bid = api.post(f"/api/v1/procurement/processes/{process.id}/bids",
                   json=_bid("la-tela", 6_000_000), headers=headers)
    assert bid.status_code == 201
