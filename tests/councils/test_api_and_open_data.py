"""The JSON API (read for all, write by role) and the Popolo open data, validated
against the Popolo schemas copied in tests/data/popolo (resolved locally, no network)."""
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from jsonschema import Draft3Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT3

from app.accounts.models import Role
from app.i18n import city_today
from councils import chairs, meetings, motions

from .conftest import CONVENED, at

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "popolo"
BASE = "http://www.popoloproject.com/schemas/"


def _registry():
    resources = []
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text())
        resources.append((BASE + path.name, Resource.from_contents(schema, default_specification=DRAFT3)))
        resources.append((BASE + path.name + "#", Resource.from_contents(schema, default_specification=DRAFT3)))
    return Registry().with_resources(resources)


def _validator(name):
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    return Draft3Validator(schema, registry=_registry(), format_checker=Draft3Validator.FORMAT_CHECKER)


@pytest.fixture
def decided_council(full_council, official, make_category):
    council, members = full_council(start=date(2020, 1, 1), first="civil")
    chairs.appoint(council, "chair", members["civil"][0], actor=official, on=date(2020, 1, 1))
    chairs.appoint(council, "vice_chair", members["government"][0], actor=official, on=date(2020, 1, 1))
    chairs.appoint(council, "chair", members["government"][1], actor=official, on=date(2022, 1, 1))
    chairs.appoint(council, "vice_chair", members["civil"][1], actor=official, on=date(2022, 1, 1))
    meeting = meetings.schedule_meeting(council, "Session", at(date(2022, 3, 1)), actor=official, agenda=["Needs"],
                                        now=CONVENED)
    chair = members["government"][1].user
    meetings.record_attendance(meeting, [m.id for side in members.values() for m in side],
                               actor=chair, today=meeting.on)
    motion = motions.propose_motion(meeting, "Elder care first", actor=chair, need_category=make_category("elder-care"),
                                    need_rank=1, need_rationale="Ageing population")
    motions.open_vote(motion, actor=chair)
    for side in members.values():
        for m in side:
            motions.cast_vote(motion, "yes", actor=m.user)
    motions.close_vote(motion, actor=chair)
    return council, members, meeting, motion


def test_popolo_output_is_valid_and_names_sides_and_chairs_per_term(client, decided_council):
    council, members, meeting, motion = decided_council
    body = client.get("/open-data/councils.json").get_json()
    checked = 0
    for collection, schema in (("organizations", "organization"), ("posts", "post"), ("persons", "person"),
                               ("memberships", "membership"), ("events", "event"), ("motions", "motion"),
                               ("vote_events", "vote_event"), ("votes", "vote")):
        validator = _validator(schema)
        assert body[collection], collection
        for item in body[collection]:
            errors = list(validator.iter_errors(item))
            assert not errors, (collection, item, [e.message for e in errors])
            checked += 1
    assert checked > 20
    sides = {o["id"] for o in body["organizations"] if o["classification"] == "side"}
    assert len(sides) == 2
    seats = [m for m in body["memberships"] if m["role"] == "Member"]
    assert len(seats) == 4 and {m["on_behalf_of_id"] for m in seats} == sides
    chair_terms = sorted((m["start_date"], m["end_date"], m["on_behalf_of_id"]) for m in body["memberships"]
                         if m["role"] == "Chair")
    assert chair_terms == [("2020-01-01", "2021-12-31", "side-civil"), ("2022-01-01", "2023-12-31", "side-government")]
    vice = [m for m in body["memberships"] if m["role"] == "Vice-Chair"]
    assert {m["on_behalf_of_id"] for m in vice} == sides
    assert body["vote_events"][0]["result"] == "pass"
    assert {v["option"] for v in body["votes"]} == {"yes"} and len(body["votes"]) == 4


def test_a_broken_document_fails_the_schema():
    errors = list(_validator("membership").iter_errors({"start_date": "1st of May", "person": {"name": 3}}))
    assert len(errors) == 2


def test_api_reads_for_all_and_writes_by_role(app, api_client, make_user, decided_council, official):
    council, members, meeting, motion = decided_council
    client, _ = api_client(make_user())
    listed = client.get("/api/v1/councils").get_json()
    assert listed[0]["slug"] == council.slug and listed[0]["current_term"]["number"] >= 3
    assert len(client.get(f"/api/v1/councils/{council.slug}/memberships").get_json()) == 4
    votes = client.get(f"/api/v1/councils/motions/{motion.id}/votes").get_json()
    assert votes["counts"]["yes"] == 4 and votes["status"] == "adopted"
    needs = client.get("/api/v1/councils/priority-needs?category=elder-care").get_json()
    assert needs[0]["rank"] == 1 and needs[0]["council"] == council.slug
    assert client.get("/api/v1/councils/nope").get_json()["error"] == "not_found"

    citizen_client, citizen_headers = api_client(make_user())
    payload = {"slug": "api-council", "name": "API council", "seats_per_side": 2,
               "first_term_start": "2025-01-01", "first_chair_side": "civil"}
    assert citizen_client.post("/api/v1/councils", json=payload, headers=citizen_headers).status_code == 403
    official_client, headers = api_client(official)
    response = official_client.post("/api/v1/councils", json=payload, headers=headers)
    assert response.status_code == 201 and response.get_json()["seats_per_side"] == 2
    bad = official_client.post("/api/v1/councils", json={**payload, "slug": "api-2", "seats_per_side": 0},
                               headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"] == "invalid"
    seat = official_client.post("/api/v1/councils/api-council/memberships", headers=headers,
                                json={"email": make_user().email, "side": "civil"})
    assert seat.status_code == 201 and seat.get_json()["seat_number"] == 1
    soon = (city_today() + timedelta(days=30)).isoformat()
    created = official_client.post("/api/v1/councils/api-council/meetings", headers=headers,
                                   json={"title": "First", "starts_at": f"{soon}T17:00:00+01:00",
                                         "agenda": ["Rules"]})
    assert created.status_code == 201 and created.get_json()["agenda"] == ["Rules"]
    # A meeting is convened for a time to come.
    yesterday = (city_today() - timedelta(days=1)).isoformat()
    past = official_client.post("/api/v1/councils/api-council/meetings", headers=headers,
                                json={"title": "Late", "starts_at": f"{yesterday}T17:00:00+01:00"})
    assert past.status_code == 422 and past.get_json()["field"] == "starts_at"
    assert "has passed" in past.get_json()["message"]


def test_api_vote_is_the_token_owners_own(app, api_client, full_council, official, make_user):
    start = city_today().replace(year=city_today().year - 1)
    council, members = full_council(start=start)
    chair = chairs.appoint(council, "chair", members["government"][0], actor=official).mandate.user
    chairs.appoint(council, "vice_chair", members["civil"][0], actor=official)
    meeting = meetings.schedule_meeting(council, "S", at(city_today(), 9), actor=official, now=CONVENED)
    meetings.record_attendance(meeting, [m.id for side in members.values() for m in side],
                               actor=chair, today=meeting.on)
    motion = motions.propose_motion(meeting, "M", actor=chair)
    motions.open_vote(motion, actor=chair)
    voter = members["civil"][1].user
    client, headers = api_client(voter)
    response = client.post(f"/api/v1/councils/motions/{motion.id}/votes", json={"option": "no"}, headers=headers)
    assert response.status_code == 200
    assert [(v["person"]["name"], v["option"]) for v in response.get_json()["votes"]] == [(voter.name, "no")]
    outsider_client, outsider_headers = api_client(make_user(Role.COUNCIL_MEMBER))
    refused = outsider_client.post(f"/api/v1/councils/motions/{motion.id}/votes", json={"option": "yes"},
                                   headers=outsider_headers)
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
