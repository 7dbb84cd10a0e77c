"""The city's setting per action (#23): where it asks for it, only a verified resident (the vouchers'
resident verification, asked through app/accounts/residency.py) may propose a pact or support a
proposal: refused in the operation, so on the web (the button disabled with the reason) and on the
API alike (proposing, and supporting: POST /api/v1/pacts/<id>/support), in each language; with
the setting off nothing changes."""
import pytest
from sqlalchemy import func, select

from app.extensions import db
from pacts import moves, proposals
from pacts.models import Pact, PactState, Support
from tests.conftest import login, post_form
from vouchers import eligibility
from vouchers.eligibility_models import ResidentVerification

PROPOSAL = {"title": "Book swap", "intervention": "shared_management", "track": "complex",
            "what": "A book-swap shelf under the portico", "proposer_kind": "individual",
            "duration_months": "12", "report_every_months": "6"}
REASON = {"en": "verified residents", "es": "residentes verificados", "it": "residenti verificati",
          "ca": "residents verificats"}


def _verify(user):
    db.session.add(ResidentVerification(user_id=user.id, identity_hash=eligibility.identity_hash(f"ID{user.id:06d}")))
    db.session.commit()


def _pacts():
    return db.session.execute(select(func.count()).select_from(Pact)).scalar_one()


def _supports():
    return db.session.execute(select(func.count()).select_from(Support)).scalar_one()


@pytest.fixture
def resident_only(app):
    app.config.update(PACTS_PROPOSE_NEEDS_VERIFIED_RESIDENT=True, PACTS_SUPPORT_NEEDS_VERIFIED_RESIDENT=True)


def test_with_the_setting_off_anyone_signed_in_proposes_and_supports(app, world):
    assert app.config["PACTS_PROPOSE_NEEDS_VERIFIED_RESIDENT"] is False
    pact = world.walk(world.propose(), PactState.CONSULTATION)
    proposals.support(pact, actor=world.other)
    assert moves.citizen_move("support", world.other).allowed and _supports() == 1


def test_the_operation_refuses_an_unverified_person_and_lets_a_verified_one(app, world, resident_only):
    with pytest.raises(Exception) as refused:
        world.propose()
    assert refused.value.code == moves.VERIFY_FIRST and refused.value.status == 403
    assert "/vouchers/verify" in str(refused.value) and _pacts() == 0
    _verify(world.citizen)
    pact = world.walk(world.propose(), PactState.CONSULTATION)
    with pytest.raises(Exception) as refused:
        proposals.support(pact, actor=world.other)
    assert refused.value.code == moves.VERIFY_FIRST and _supports() == 0
    _verify(world.other)
    proposals.support(pact, actor=world.other)
    assert _supports() == 1


def test_only_the_action_the_city_chose_is_bound(app, world):
    app.config["PACTS_SUPPORT_NEEDS_VERIFIED_RESIDENT"] = True
    pact = world.walk(world.propose(), PactState.CONSULTATION)   # proposing stays open to everyone
    assert not moves.citizen_move("support", world.other).allowed
    assert moves.citizen_move("propose", world.other).allowed
    with pytest.raises(Exception, match="verified residents"):
        proposals.support(pact, actor=world.other)


@pytest.mark.parametrize("locale", ["en", "es", "it", "ca"])
def test_the_propose_page_shows_the_button_disabled_with_the_reason(app, world, client, resident_only, locale):
    login(client, world.citizen.email)
    page = client.get("/pacts/propose", headers={"Accept-Language": locale}).get_data(as_text=True)
    assert 'id="why-propose"' in page and "disabled" in page and REASON[locale] in page
    assert "/vouchers/verify" in page
    refused = post_form(client, "/pacts/propose", {**PROPOSAL, "commons": str(world.commons.id)},
                        headers={"Accept-Language": locale})
    assert refused.status_code == 422 and REASON[locale] in refused.get_data(as_text=True) and _pacts() == 0
    _verify(world.citizen)
    page = client.get("/pacts/propose").get_data(as_text=True)
    assert 'id="why-propose"' not in page
    done = post_form(client, "/pacts/propose", {**PROPOSAL, "commons": str(world.commons.id)})
    assert done.status_code == 302 and _pacts() == 1


@pytest.mark.parametrize("locale", ["en", "es", "it", "ca"])
def test_the_support_button_is_disabled_with_the_reason_and_a_post_is_refused(app, world, client, resident_only,
                                                                              locale):
    _verify(world.citizen)
    pact = world.walk(world.propose(), PactState.CONSULTATION)
    login(client, world.other.email)
    page = client.get(f"/pacts/{pact.id}", headers={"Accept-Language": locale}).get_data(as_text=True)
    assert 'id="why-support"' in page and REASON[locale] in page and "/vouchers/verify" in page
    refused = post_form(client, f"/pacts/{pact.id}/support", headers={"Accept-Language": locale},
                        follow_redirects=True)
    assert REASON[locale] in refused.get_data(as_text=True) and _supports() == 0
    _verify(world.other)
    assert 'id="why-support"' not in client.get(f"/pacts/{pact.id}").get_data(as_text=True)
    post_form(client, f"/pacts/{pact.id}/support")
    assert _supports() == 1


def test_the_api_refuses_an_unverified_proposer_with_a_code(app, world, api_client, resident_only):
    client, headers = api_client(world.citizen)
    body = {"title": "Book swap", "intervention": "shared_management", "track": "complex",
            "commons": [world.commons.id], "what": "A book-swap shelf under the portico"}
    refused = client.post("/api/v1/pacts/proposals", json=body, headers={**headers, "Accept-Language": "es"})
    assert refused.status_code == 403 and refused.get_json()["error"] == moves.VERIFY_FIRST
    assert REASON["es"] in refused.get_json()["message"] and _pacts() == 0
    _verify(world.citizen)
    assert client.post("/api/v1/pacts/proposals", json=body, headers=headers).status_code == 201


def test_the_api_refuses_an_unverified_supporter_with_a_code(app, world, api_client, resident_only):
    _verify(world.citizen)
    pact = world.walk(world.propose(), PactState.CONSULTATION)
    client, headers = api_client(world.other)
    refused = client.post(f"/api/v1/pacts/{pact.id}/support", headers={**headers, "Accept-Language": "ca"})
    assert refused.status_code == 403 and refused.get_json()["error"] == moves.VERIFY_FIRST
    assert REASON["ca"] in refused.get_json()["message"] and _supports() == 0
    _verify(world.other)
    done = client.post(f"/api/v1/pacts/{pact.id}/support", headers=headers)
    assert done.status_code == 201 and done.get_json() == {"supports": 1}
    again = client.post(f"/api/v1/pacts/{pact.id}/support", headers=headers)
    assert again.status_code == 422 and _supports() == 1
    assert app.test_client().post(f"/api/v1/pacts/{pact.id}/support").status_code == 401
