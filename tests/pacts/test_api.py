"""The JSON API: reading for everyone, proposing and submitting with a token,
errors as JSON 4xx."""
from pacts.models import PactState


def test_public_reads(app, world):
    active = world.walk(world.propose(title="In force"), PactState.ACTIVE)
    world.walk(world.propose(title="Waiting"), PactState.SUBMITTED)
    world.propose(title="Private draft")
    client = app.test_client()
    assert [p["title"] for p in client.get("/api/v1/pacts").get_json()] == ["In force"]
    assert [p["title"] for p in client.get("/api/v1/pacts/proposals").get_json()] == ["Waiting"]
    body = client.get(f"/api/v1/pacts/{active.id}").get_json()
    assert body["signed_version"]["number"] == 2
    assert {s["party"] for s in body["signed_version"]["signatures"]} == {"citizens", "city"}
    assert len(client.get(f"/api/v1/pacts/{active.id}/versions").get_json()) == 2
    assert client.get(f"/api/v1/pacts/{active.id}/reports").get_json() == []
    assert client.get("/api/v1/pacts/commons").get_json()[0]["name"] == "Piazza Verdi"
    assert client.get("/api/v1/pacts/9999").status_code == 404


def test_propose_and_submit_with_a_token(app, world, api_client):
    client, headers = api_client(world.citizen)
    response = client.post("/api/v1/pacts/proposals", json={"title": "", "commons": [world.commons.id]},
                           headers=headers)
    assert response.status_code == 422
    assert response.get_json() == {"error": "invalid", "message": "Give the proposal a title.", "field": "title"}
    response = client.post("/api/v1/pacts/proposals", headers=headers, json={
        "title": "Book swap", "intervention": "shared_management", "track": "complex",
        "commons": [world.commons.id], "what": "A book-swap shelf under the portico"})
    assert response.status_code == 201
    pact_id = response.get_json()["id"]
    assert response.get_json()["state"] == "draft"
    response = client.post(f"/api/v1/pacts/{pact_id}/submit", headers=headers)
    assert response.status_code == 200 and response.get_json()["answer_due"]
    assert client.post("/api/v1/pacts/proposals", json={"title": "x"}).status_code == 401


def test_unknown_clauses_and_bad_reports_answer_json_4xx(app, world, api_client):
    pact = world.walk(world.propose(), PactState.CO_DESIGN)
    client, headers = api_client(world.citizen)
    response = client.put(f"/api/v1/pacts/{pact.id}/clauses", json={"clauses": {"secret_plan": "x"}},
                          headers=headers)
    assert response.status_code == 422
    assert response.get_json() == {"error": "invalid", "message": "These are not clauses of a pact: secret_plan."}
    response = client.post(f"/api/v1/pacts/{pact.id}/reports", json={"activities": "x"}, headers=headers)
    assert response.status_code == 409 and response.get_json()["error"] == "invalid_transition"
    response = client.put(f"/api/v1/pacts/{pact.id}/clauses", data="not json", headers=headers)
    assert response.status_code < 500


def test_a_year_outside_the_calendar_finds_nothing_instead_of_failing(app, client):
    """Found by schemathesis: /api/v1/pacts?year=10000 and /pacts/?year=0 used to answer 500."""
    for year in (0, 1, 10000, 50000, -5):
        response = client.get(f"/api/v1/pacts?year={year}")
        assert response.status_code == 200 and response.json == [], (year, response.status_code)
        assert client.get(f"/pacts/?year={year}").status_code == 200
