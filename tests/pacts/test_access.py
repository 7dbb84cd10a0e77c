"""Object-level rules, beyond the role matrix: drafts stay private, only the
proposer submits and signs for the citizens, only signatories report, and a
signed pact cannot be edited through any route (pages or API)."""
import pytest

from app.accounts.models import Role
from app.extensions import db
from pacts import lifecycle, reports
from pacts.models import PactState, PactVersion

from ..conftest import login, post_form
from .conftest import FULL_CLAUSES


def signed_in(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def test_a_draft_is_seen_only_by_its_proposer_and_officials(app, world, api_client):
    pact = world.propose()
    assert signed_in(app, world.other).get(f"/pacts/{pact.id}").status_code == 404
    assert signed_in(app, world.citizen).get(f"/pacts/{pact.id}").status_code == 200
    assert signed_in(app, world.official).get(f"/pacts/{pact.id}").status_code == 200
    client, headers = api_client(world.other)
    assert client.get(f"/api/v1/pacts/{pact.id}", headers=headers).status_code == 404
    client, headers = api_client(world.citizen)
    assert client.get(f"/api/v1/pacts/{pact.id}", headers=headers).status_code == 200


def test_only_the_proposer_submits_and_signs_for_the_citizens(app, world):
    pact = world.propose()
    post_form(signed_in(app, world.other), f"/pacts/{pact.id}/submit")
    db.session.refresh(pact)
    assert pact.state == PactState.DRAFT
    world.walk(pact, PactState.APPROVED)
    page = signed_in(app, world.other)
    response = post_form(page, f"/pacts/{pact.id}/sign", {"party": "citizens"})
    refused = page.get(response.headers["Location"]).get_data(as_text=True)
    assert "Only the proposer of this pact may do this." in refused
    # A citizen cannot sign for the city either.
    post_form(signed_in(app, world.citizen), f"/pacts/{pact.id}/sign", {"party": "city"})
    db.session.refresh(pact)
    assert pact.latest_version.signatures == []


def test_only_signatories_report_on_their_pact(app, world, make_user, api_client):
    pact = world.walk(world.propose(), PactState.ACTIVE)
    due = reports.report_schedule(pact)[0].due_on.isoformat()
    stranger = make_user(Role.CITIZEN)
    page = signed_in(app, stranger)
    assert page.get(f"/pacts/{pact.id}/reports/new").status_code == 302
    post_form(page, f"/pacts/{pact.id}/reports/new", {"due_on": due, "activities": "Fake report"})
    client, headers = api_client(stranger)
    response = client.post(f"/api/v1/pacts/{pact.id}/reports", json={"due_on": due, "activities": "Fake"},
                           headers=headers)
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"
    # The official is not a signatory for the citizens: officials do not report on citizens' work.
    client, headers = api_client(world.official)
    assert client.post(f"/api/v1/pacts/{pact.id}/reports", json={"due_on": due, "activities": "x"},
                       headers=headers).status_code == 403
    db.session.refresh(pact)
    assert pact.reports == []
    client, headers = api_client(world.citizen)
    response = client.post(f"/api/v1/pacts/{pact.id}/reports", json={"due_on": due, "activities": "Real",
                                                                      "volunteer_hours": 3}, headers=headers)
    assert response.status_code == 201 and response.get_json()["volunteer_hours"] == 3


@pytest.mark.parametrize("who", ["citizen", "official"])
def test_a_signed_pact_cannot_be_edited_through_any_route(app, world, api_client, who):
    pact = world.walk(world.propose(), PactState.ACTIVE)
    signed = pact.signed_version
    user = getattr(world, who)
    changed = {**FULL_CLAUSES, "objectives": "Rewritten after signing"}
    # The clauses page and the API only ever add a version (an amendment) ...
    post_form(signed_in(app, user), f"/pacts/{pact.id}/clauses",
              {f"clause_{k}": v for k, v in changed.items()})
    client, headers = api_client(user)
    response = client.put(f"/api/v1/pacts/{pact.id}/clauses", json={"clauses": {**changed, "duration": "Two years"}},
                          headers=headers)
    assert response.status_code == 200 and response.get_json()["number"] == signed.number + 2
    # ... the signed text and the version in force never change.
    db.session.expire_all()
    assert db.session.get(PactVersion, signed.id).clauses == FULL_CLAUSES
    assert db.session.get(type(pact), pact.id).signed_version_number == signed.number
    public = app.test_client().get(f"/pacts/{pact.id}").get_data(as_text=True)
    assert "Rewritten after signing" not in public.split('id="signatures"')[0]
    pdf_url = f"/pacts/{pact.id}/pact.pdf"
    assert app.test_client().get(pdf_url).status_code == 200


def test_closed_pacts_cannot_be_edited_at_all(app, world, api_client):
    pact = world.walk(world.propose(), PactState.ACTIVE)
    lifecycle.terminate(pact, "The group dissolved.", actor=world.official)
    client = signed_in(app, world.official)
    assert client.get(f"/pacts/{pact.id}/clauses").status_code == 302
    post_form(client, f"/pacts/{pact.id}/clauses", {"clause_objectives": "x"})
    api, headers = api_client(world.official)
    response = api.put(f"/api/v1/pacts/{pact.id}/clauses", json={"clauses": {"objectives": "x"}}, headers=headers)
    assert response.status_code == 409 and "cannot be edited" in response.get_json()["message"]
    db.session.refresh(pact)
    assert len(pact.versions) == 2


def test_only_officials_decide_through_the_api(app, world, api_client):
    pact = world.walk(world.propose(), PactState.SUBMITTED)
    client, headers = api_client(world.citizen)
    assert client.post(f"/api/v1/pacts/{pact.id}/decisions/open_consultation", json={},
                       headers=headers).status_code == 403
    client, headers = api_client(world.official)
    response = client.post(f"/api/v1/pacts/{pact.id}/decisions/open_consultation", json={}, headers=headers)
    assert response.status_code == 200 and response.get_json()["state"] == "consultation"
    response = client.post(f"/api/v1/pacts/{pact.id}/decisions/approve", json={}, headers=headers)
    assert response.status_code == 409 and response.get_json()["error"] == "invalid_transition"
