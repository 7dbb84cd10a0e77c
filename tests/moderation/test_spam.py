"""Spam held back: the hourly limits on comments, proposals and reports, refused with a clear
message beside the field (a form) or 429 with a code and Retry-After (the API); and a new
account's first comments held for a moderator when the city turns that on."""
from sqlalchemy import func, select

from app.accounts.models import Role
from app.extensions import db
from app.moderation import decisions
from app.moderation.models import CaseState
from app.moderation.screening import TooMany
from pacts.models import Comment, Pact

from ..conftest import login, post_form
from .conftest import case_of, comment, events


def _comments_by(user) -> int:
    return db.session.execute(select(func.count(Comment.id)).where(Comment.author_id == user.id)).scalar_one()


def test_the_hourly_comment_limit_is_said_beside_the_comment_box(app, scene, client):
    app.config["PROCOMUN_MODERATION_COMMENTS_PER_HOUR"] = 2
    writer = scene.reporters[0]
    login(client, writer.email)
    url = f"/pacts/{scene.pact.id}/comment"
    for n in range(2):
        assert post_form(client, url, {"body": f"Point {n}"}).status_code == 302
    refused = post_form(client, url, {"body": "A third point, typed with care."}, headers={"Accept-Language": "it"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="body-error"' in html
    assert "A third point, typed with care." in html  # what was typed comes back
    assert "(2)" in html and 'lang="it"' in html and "You have written as many comments" not in html
    assert _comments_by(writer) == 2
    app.config["PROCOMUN_MODERATION_COMMENTS_PER_HOUR"] = 0  # 0: no limit
    assert post_form(client, url, {"body": "Now it goes."}).status_code == 302


def test_the_proposal_limit_answers_429_with_a_code_and_retry_after(app, scene, api_client):
    app.config["PROCOMUN_MODERATION_PROPOSALS_PER_HOUR"] = 1
    client, headers = api_client(scene.reporters[0])
    body = {"title": "Shade for the benches", "commons": [scene.world.commons.id], "what": "Plant two trees."}
    assert client.post("/api/v1/pacts/proposals", json=body, headers=headers).status_code == 201
    refused = client.post("/api/v1/pacts/proposals", json=body, headers=headers)
    assert (refused.status_code, refused.json["error"], refused.json["field"]) == (429, "rate_limited", "title")
    assert 3000 < int(refused.headers["Retry-After"]) <= 3601
    assert db.session.execute(select(func.count(Pact.id)).where(
        Pact.proposer_id == scene.reporters[0].id)).scalar_one() == 1
    documented = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/pacts/proposals"]["post"]["responses"]
    assert "429" in documented


def test_the_report_limit_answers_429(app, scene, api_client, make_user):
    app.config["PROCOMUN_MODERATION_REPORTS_PER_HOUR"] = 1
    others = [comment(scene.pact, f"Comment {n}", actor=make_user()) for n in range(2)]
    client, headers = api_client(scene.reporters[0])
    first = client.post("/api/v1/moderation/reports", headers=headers,
                        json={"subject_type": "pact_comment", "subject_id": others[0].id, "reason": "spam"})
    assert first.status_code == 201
    second = client.post("/api/v1/moderation/reports", headers=headers,
                         json={"subject_type": "pact_comment", "subject_id": others[1].id, "reason": "spam"})
    assert (second.status_code, second.json["error"]) == (429, "rate_limited") and second.headers["Retry-After"]


def test_a_new_accounts_first_comments_wait_for_a_moderator(app, scene, client, make_user):
    app.config["PROCOMUN_MODERATION_HOLD_FIRST_POSTS"] = 2
    newcomer = make_user(Role.CITIZEN, name="Nina Newcomer")
    login(client, newcomer.email)
    url = f"/pacts/{scene.pact.id}/comment"
    held = post_form(client, url, {"body": "Great idea, visit my shop!"}, follow_redirects=True)
    assert "once a moderator has reviewed it" in held.get_data(as_text=True)
    second = comment(scene.pact, "Second thoughts.", actor=newcomer)
    third = comment(scene.pact, "Third time lucky.", actor=newcomer)
    first = db.session.execute(select(Comment).where(Comment.author_id == newcomer.id).order_by(Comment.id)).scalar()
    assert (first.hidden_reason, second.hidden_reason, third.hidden_reason) == ("", "", None)
    page = client.get(f"/pacts/{scene.pact.id}").get_data(as_text=True)
    assert "visit my shop" not in page and "Third time lucky." in page
    assert [e.recipients for e in events("moderation.held_new_account")] == [[newcomer.id], [newcomer.id]]
    case = case_of("pact_comment", first.id)
    assert case.state == CaseState.HELD and case.decisions[0].action == "held_new_account"
    decisions.restore(case, actor=scene.moderator)
    assert db.session.get(Comment, first.id).hidden_reason is None
    # Staff are known people: an official's first comment is published at once.
    official = comment(scene.pact, "The office will answer by Friday.", actor=scene.world.official)
    assert official.hidden_reason is None


def test_a_refused_post_leaves_nothing_behind(app, scene):
    app.config["PROCOMUN_MODERATION_COMMENTS_PER_HOUR"] = 1
    writer = scene.reporters[0]
    comment(scene.pact, "One.", actor=writer)
    try:
        comment(scene.pact, "Two.", actor=writer)
    except TooMany as refused:
        assert refused.status == 429 and refused.field == "body" and refused.retry_after > 0
    else:
        raise AssertionError("the second comment of the hour should be refused")
    assert _comments_by(writer) == 1
