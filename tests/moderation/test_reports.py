"""Reporting: one report per person and item, hiding pending review after enough reports from
different people, refusals that say what is wrong; through the operation, the form and the API."""
import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.errors import Invalid, NotFound
from app.extensions import db
from app.moderation import decisions
from app.moderation.models import Action, CaseState, ModerationReport
from app.moderation.reports import AlreadyReported, report
from pacts.models import Comment, PactState

from ..conftest import login, post_form
from .conftest import case_of, comment, events, file_report, raise_dispute, report_schedule


def _comment(scene) -> Comment:
    db.session.expire_all()
    return db.session.get(Comment, scene.comment.id)


def test_three_people_reporting_hide_a_comment_until_a_moderator_reviews_it(scene):
    first, second, third = scene.reporters[:3]
    report(first, "pact_comment", scene.comment.id, "abuse")
    report(second, "pact_comment", scene.comment.id, "spam", "An advert.")
    case = case_of("pact_comment", scene.comment.id)
    assert (case.state, case.open_reports) == (CaseState.OPEN, 2)
    assert _comment(scene).hidden_reason is None  # two reports do not hide it
    report(third, "pact_comment", scene.comment.id, "abuse")
    case = case_of("pact_comment", scene.comment.id)
    assert (case.state, case.open_reports) == (CaseState.HELD, 3)
    assert _comment(scene).hidden_reason == ""  # hidden, waiting for a moderator
    assert [(d.action, d.moderator_id, d.public) for d in case.decisions] == [
        (Action.HELD_AFTER_REPORTS, None, True)]
    told = events("moderation.held_after_reports")
    assert len(told) == 1 and told[0].recipients == [scene.commenter.id] and told[0].actor_id is None
    assert [e.actor_id for e in events("moderation.awaiting")] == [None]  # moderators hear, not of whom
    audit = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "moderation.held_after_reports")).scalar_one()
    assert audit.actor_id is None and audit.object_type == "moderation_cases"


def test_the_threshold_is_a_setting(app, scene):
    app.config["PROCOMUN_MODERATION_HIDE_AFTER"] = 1
    report(scene.reporters[0], "pact_comment", scene.comment.id, "illegal")
    assert _comment(scene).hidden_reason == ""
    app.config["PROCOMUN_MODERATION_HIDE_AFTER"] = 0  # never by count alone
    other = comment(scene.pact, "Another view.", actor=scene.reporters[1])
    for person in scene.reporters[2:]:
        report(person, "pact_comment", other.id, "abuse")
    assert db.session.get(Comment, other.id).hidden_reason is None


def test_one_report_per_person_and_item(scene):
    reporter = scene.reporters[0]
    report(reporter, "pact_comment", scene.comment.id, "abuse")
    with pytest.raises(AlreadyReported) as refused:
        report(reporter, "pact_comment", scene.comment.id, "spam")
    assert (refused.value.status, refused.value.code) == (409, "already_reported")
    assert db.session.execute(select(func.count(ModerationReport.id))).scalar_one() == 1
    # Still once after the moderator dismissed the reports: one report per person and item, ever.
    decisions.restore(case_of("pact_comment", scene.comment.id), actor=scene.moderator)
    with pytest.raises(AlreadyReported):
        report(reporter, "pact_comment", scene.comment.id, "abuse")


def test_new_reports_after_the_reports_were_dismissed_reopen_the_case(scene):
    report(scene.reporters[0], "pact_comment", scene.comment.id, "abuse")
    decisions.restore(case_of("pact_comment", scene.comment.id), actor=scene.moderator)
    case = case_of("pact_comment", scene.comment.id)
    assert (case.state, case.open_reports) == (CaseState.CLOSED, 0)
    assert case.decisions[-1].action == Action.KEPT and not case.decisions[-1].public
    for person in scene.reporters[1:4]:
        report(person, "pact_comment", scene.comment.id, "abuse")
    case = case_of("pact_comment", scene.comment.id)
    assert (case.state, case.open_reports) == (CaseState.HELD, 3)


def test_refusals_say_what_is_wrong(scene):
    reporter = scene.reporters[0]
    cases = [
        (dict(subject_type="pact_poem", subject_id=scene.comment.id, reason="abuse"), Invalid, "subject_type"),
        (dict(subject_type="pact_comment", subject_id=scene.comment.id, reason="boring"), Invalid, "reason"),
        (dict(subject_type="pact_comment", subject_id=scene.comment.id, reason="other"), Invalid, "details"),
        (dict(subject_type="pact_comment", subject_id=scene.comment.id, reason="abuse", details="x" * 2001),
         Invalid, "details"),
        (dict(subject_type="pact_comment", subject_id=999_999, reason="abuse"), NotFound, None),
        (dict(subject_type="pact_comment", subject_id=2**63, reason="abuse"), NotFound, None),
    ]
    for values, error, field in cases:
        with pytest.raises(error) as refused:
            report(reporter, **values)
        assert refused.value.field == field, values
    draft = scene.world.propose(title="Still a draft")
    with pytest.raises(NotFound):  # the public cannot see a draft, so nobody reports it
        report(reporter, "pact_proposal", draft.id, "abuse")
    assert db.session.execute(select(func.count(ModerationReport.id))).scalar_one() == 0


def test_the_report_form_as_a_citizen(app, scene, client):
    login(client, scene.reporters[0].email)
    page = client.get(f"/pacts/{scene.pact.id}").get_data(as_text=True)
    url = f"/moderation/report/pact_comment/{scene.comment.id}"
    assert f'href="{url}"' in page
    form = client.get(url)
    assert form.status_code == 200 and "Count me in for the watering" in form.get_data(as_text=True)
    refused = post_form(client, url, {"reason": "other", "details": ""}, headers={"Accept-Language": "es"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="details-error"' in html and 'lang="es"' in html and "Say what is wrong" not in html
    sent = post_form(client, url, {"reason": "personal_data", "details": "A neighbour's phone number."})
    assert sent.status_code == 302
    assert sent.headers["Location"].endswith(f"/pacts/{scene.pact.id}#comment-{scene.comment.id}")
    again = post_form(client, url, {"reason": "abuse"}, follow_redirects=True)
    assert "already reported" in again.get_data(as_text=True)
    assert db.session.execute(select(func.count(ModerationReport.id))).scalar_one() == 1
    anonymous = app.test_client().get(f"/pacts/{scene.pact.id}").get_data(as_text=True)
    assert url not in anonymous  # the Report link is for accounts


def test_the_report_api_contract(scene, api_client, make_user):
    client, headers = api_client(scene.reporters[0])
    body = {"subject_type": "pact_comment", "subject_id": scene.comment.id, "reason": "abuse", "details": "Insults."}
    created = client.post("/api/v1/moderation/reports", json=body, headers=headers)
    assert created.status_code == 201, created.json
    assert {k: created.json[k] for k in ("subject_type", "subject_id", "reason")} == {
        "subject_type": "pact_comment", "subject_id": scene.comment.id, "reason": "abuse"}
    again = client.post("/api/v1/moderation/reports", json=body, headers=headers)
    assert (again.status_code, again.json["error"]) == (409, "already_reported")
    missing = client.post("/api/v1/moderation/reports", json={**body, "subject_id": 987_654}, headers=headers)
    assert (missing.status_code, missing.json["error"]) == (404, "not_found")
    for wrong, field in (({"reason": "boring"}, "reason"), ({"subject_type": "tender"}, "subject_type"),
                         ({"reason": "other", "details": ""}, "details")):
        answer = client.post("/api/v1/moderation/reports", json={**body, **wrong}, headers=headers)
        assert (answer.status_code, answer.json["error"], answer.json["field"]) == (422, "invalid", field)
    malformed = client.post("/api/v1/moderation/reports", json={"subject_type": "pact_comment"}, headers=headers)
    assert (malformed.status_code, malformed.json["error"]) == (422, "unprocessable")
    stranger = client.post("/api/v1/moderation/reports", json=body)
    assert stranger.status_code == 401
    spanish = client.post("/api/v1/moderation/reports", json={**body, "reason": "boring"},
                          headers={**headers, "Accept-Language": "es"})
    assert spanish.json["message"] != "Choose why you report it."
    documented = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/moderation/reports"]["post"]
    assert {"201", "401", "404", "409", "422", "429"} <= set(documented["responses"])


def test_what_the_public_cannot_see_has_no_report_form(scene, client):
    draft = scene.world.propose(title="A draft")
    login(client, scene.reporters[0].email)
    assert client.get(f"/moderation/report/pact_proposal/{draft.id}").status_code == 404
    assert client.get(f"/moderation/report/pact_sonnet/{scene.comment.id}").status_code == 404
    assert client.get(f"/moderation/report/pact_comment/{scene.comment.id}").status_code == 200


def test_every_kind_can_be_reported(scene, nomination, make_org):
    """A proposal, a comment, a dispute, a pact report, a nomination statement, an organisation's description."""
    world = scene.world
    active = world.walk(world.propose(title="In force"), PactState.ACTIVE)
    due = report_schedule(active)[0].due_on
    filed = file_report(active, due, actor=world.citizen, activities="Watered every Sunday.")
    dispute = raise_dispute(active, "The tools never came.", actor=world.citizen)
    org = make_org("described", description="We run the market.")
    items = {"pact_proposal": scene.pact.id, "pact_comment": scene.comment.id, "pact_dispute": dispute.id,
             "pact_report": filed.id, "council_nomination": nomination.id, "organisation_description": org.id}
    for subject_type, subject_id in items.items():
        assert report(scene.reporters[0], subject_type, subject_id, "abuse").case.subject_type == subject_type
    assert db.session.execute(select(func.count(ModerationReport.id))).scalar_one() == 6


def test_a_reporter_is_never_named(scene, client):
    report(scene.reporters[0], "pact_comment", scene.comment.id, "abuse", "Calls people names.")
    moderator = client
    login(moderator, scene.moderator.email)
    case = case_of("pact_comment", scene.comment.id)
    page = moderator.get(f"/moderation/cases/{case.id}").get_data(as_text=True)
    assert "Calls people names." in page and scene.reporters[0].name not in page
    queue = moderator.get("/moderation/").get_data(as_text=True)
    assert scene.reporters[0].name not in queue


def test_only_signed_in_people_report(scene, client):
    answer = client.get(f"/moderation/report/pact_comment/{scene.comment.id}")
    assert answer.status_code == 302 and "/account/login" in answer.headers["Location"]
    assert Role.MODERATOR.label  # the role exists and has a name in every language
