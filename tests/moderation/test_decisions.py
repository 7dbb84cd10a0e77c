"""A moderator's decisions and the author's appeal: who may decide what, what the public and the
author are told, what the audit trail and the public log keep, and what a redaction keeps."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.errors import DomainError, Invalid, InvalidTransition, NotAllowed
from app.extensions import db
from app.i18n import city_today
from app.moderation import decisions
from app.moderation.models import Action, CaseState, ModerationAppeal, RedactedOriginal
from app.moderation.reports import report
from app.moderation.retention import purge_originals
from pacts.models import Comment, PactState

from .conftest import COMMENT, case_of, comment, events

REASON = "It names a private person and her phone number."


def _reported(scene, times=1):
    for person in scene.reporters[:times]:
        report(person, "pact_comment", scene.comment.id, "personal_data")
    return case_of("pact_comment", scene.comment.id)


def _comment(scene) -> Comment:
    db.session.expire_all()
    return db.session.get(Comment, scene.comment.id)


def test_a_moderator_hides_with_a_public_reason_and_the_author_hears_why(scene):
    case = _reported(scene, 2)
    with pytest.raises(Invalid) as refused:
        decisions.hide(case, "  ", actor=scene.moderator)
    assert refused.value.field == "reason"
    decisions.hide(case, REASON, actor=scene.moderator)
    case = case_of("pact_comment", scene.comment.id)
    assert (case.state, case.hidings, case.hidden_by_id, case.open_reports) == (
        CaseState.HIDDEN, 1, scene.moderator.id, 0)
    assert all(r.decision_id == case.decisions[-1].id for r in case.reports)  # the reports are settled
    assert _comment(scene).hidden_reason == REASON
    told = events("moderation.hidden")
    assert told[0].recipients == [scene.commenter.id] and told[0].context["reason"] == REASON
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "moderation.hidden")).scalar_one()
    assert entry.actor_id == scene.moderator.id and REASON in entry.after and COMMENT not in entry.after


def test_only_moderators_decide_and_never_on_their_own_text(scene, make_user):
    case = _reported(scene)
    for outsider in (scene.world.official, scene.reporters[0], scene.commenter):
        with pytest.raises(NotAllowed):
            decisions.hide(case, REASON, actor=outsider)
    writer = make_user(Role.MODERATOR, Role.CITIZEN, name="Moderating writer")
    own = comment(scene.pact, "My own comment.", actor=writer)
    report(scene.reporters[0], "pact_comment", own.id, "abuse")
    with pytest.raises(NotAllowed, match="another moderator"):
        decisions.hide(case_of("pact_comment", own.id), REASON, actor=writer)
    assert _comment(scene).hidden_reason is None


def test_a_held_comment_is_confirmed_or_restored(scene):
    case = _reported(scene, 3)
    assert case.state == CaseState.HELD
    decisions.restore(case, actor=scene.moderator, reason="Not personal data: a public figure.")
    case = case_of("pact_comment", scene.comment.id)
    assert case.state == CaseState.CLOSED and _comment(scene).hidden_reason is None
    assert [d.action for d in case.decisions] == [Action.HELD_AFTER_REPORTS, Action.RESTORED]
    assert events("moderation.restored")[0].recipients == [scene.commenter.id]
    with pytest.raises(DomainError, match="already shown"):
        decisions.restore(case, actor=scene.other_moderator)


def test_the_author_appeals_once_and_another_moderator_decides(scene, make_user):
    case = _reported(scene)
    decisions.hide(case, REASON, actor=scene.moderator)
    with pytest.raises(NotAllowed):  # only the author
        decisions.appeal(case, "Please.", actor=scene.reporters[0])
    with pytest.raises(Invalid) as refused:
        decisions.appeal(case, " ", actor=scene.commenter)
    assert refused.value.field == "text"
    decisions.appeal(case, "Anna asked me to give her number.", actor=scene.commenter)
    case = case_of("pact_comment", scene.comment.id)
    assert case.state == CaseState.APPEALED and _comment(scene).hidden_reason == REASON  # still hidden meanwhile
    assert events("moderation.appealed")[0].context["item_kind"] == "pact_comment"
    with pytest.raises(DomainError, match="already appealed"):
        decisions.appeal(case, "Again.", actor=scene.commenter)
    with pytest.raises(NotAllowed, match="You hid this"):
        decisions.restore(case, actor=scene.moderator)
    with pytest.raises(NotAllowed, match="You hid this"):
        decisions.hide(case, "Still private.", actor=scene.moderator)
    decisions.hide(case, "Still a private number, even with her consent.", actor=scene.other_moderator)
    case = case_of("pact_comment", scene.comment.id)
    assert case.decisions[-1].action == Action.APPEAL_REJECTED and case.appeals[0].decision_id == case.decisions[-1].id
    assert events("moderation.appeal_rejected")[0].recipients == [scene.commenter.id]
    with pytest.raises(DomainError, match="already appealed"):  # once per hiding
        decisions.appeal(case, "And again.", actor=scene.commenter)
    # Restored, then hidden anew: a new hiding may be appealed once more, and upheld.
    decisions.restore(case, actor=scene.other_moderator)
    decisions.hide(case_of("pact_comment", scene.comment.id), "Hidden again.", actor=scene.other_moderator)
    decisions.appeal(case_of("pact_comment", scene.comment.id), "It is my own number now.", actor=scene.commenter)
    decisions.restore(case_of("pact_comment", scene.comment.id), actor=scene.moderator)
    case = case_of("pact_comment", scene.comment.id)
    assert case.decisions[-1].action == Action.APPEAL_UPHELD and _comment(scene).hidden_reason is None
    assert len(db.session.execute(select(ModerationAppeal)).scalars().all()) == 2


def test_only_a_hiding_by_a_moderator_can_be_appealed(scene):
    case = _reported(scene, 3)  # held pending review: a moderator will look anyway
    with pytest.raises(DomainError, match="Only something a moderator has hidden"):
        decisions.appeal(case, "Why?", actor=scene.commenter)


def test_two_moderators_deciding_at_once_decide_once(scene):
    case = _reported(scene, 3)
    decisions.hide(case, REASON, actor=scene.moderator)
    with pytest.raises(InvalidTransition):  # the second click, on a case already hidden
        decisions.hide(case, REASON, actor=scene.other_moderator)
    assert [d.action for d in case_of("pact_comment", scene.comment.id).decisions] == [
        Action.HELD_AFTER_REPORTS, Action.HIDDEN]


def test_redaction_keeps_the_original_out_of_sight_until_the_retention_period_ends(app, scene, client):
    case = _reported(scene)
    redacted = "Count me in for the watering, and my neighbour [removed] too."
    with pytest.raises(Invalid, match="Nothing was changed"):
        decisions.redact(case, {"body": COMMENT}, actor=scene.moderator)
    with pytest.raises(Invalid, match="cannot be left empty") as refused:
        decisions.redact(case, {"body": "  "}, actor=scene.moderator)
    assert refused.value.field == "body"
    decisions.redact(case, {"body": redacted}, "A neighbour's phone number.", actor=scene.moderator)
    assert _comment(scene).body == redacted and _comment(scene).hidden_reason is None
    original = db.session.execute(select(RedactedOriginal)).scalar_one()
    retention = app.config["PROCOMUN_MODERATION_RETENTION_DAYS"]
    assert original.texts == {"body": COMMENT} and original.keep_until == city_today() + timedelta(days=retention)
    # Nowhere to be read: not on the page, the API, the log, the open data, nor the audit trail.
    for url in (f"/pacts/{scene.pact.id}", "/moderation/log", "/open-data/moderation.json",
                "/open-data/pact-comments.json", f"/api/v1/pacts/{scene.pact.id}"):
        assert "333 765 4321" not in client.get(url).get_data(as_text=True), url
    for entry in db.session.execute(select(AuditEntry)).scalars():
        assert "333 765 4321" not in entry.before + entry.after
    assert events("moderation.redacted")[0].recipients == [scene.commenter.id]
    assert purge_originals(original.keep_until) == 0  # kept through its last day
    assert purge_originals(original.keep_until + timedelta(days=1)) == 1
    assert db.session.execute(select(RedactedOriginal)).first() is None
    assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "moderation.originals_purged")).first()


def test_a_hidden_proposal_hides_its_unsigned_clauses_but_never_a_signed_version(scene, client):
    world = scene.world
    signed = world.walk(world.propose(title="Signed one", what="Weed the square every week."), PactState.ACTIVE)
    for pact in (scene.pact, signed):
        report(scene.reporters[0], "pact_proposal", pact.id, "abuse")
        decisions.hide(case_of("pact_proposal", pact.id), "Insults a neighbour.", actor=scene.moderator)
    waiting = client.get(f"/pacts/{scene.pact.id}").get_data(as_text=True)
    assert "Plant and water the flowerbeds" not in waiting  # the proposal and its draft clauses
    assert waiting.count("Hidden by moderation: Insults a neighbour.") == 2
    page = client.get(f"/pacts/{signed.id}").get_data(as_text=True)
    assert "Weed the square every week." not in page  # the proposal text…
    assert "Objectives: agreed text." in page  # …but the signed clauses stay: a signed record
    api = client.get(f"/api/v1/pacts/{scene.pact.id}").json
    assert api["what"] == "Hidden by moderation: Insults a neighbour." and api["hidden_by_moderation"] is True
    assert set(api["latest_version"]["clauses"].values()) == {"Hidden by moderation: Insults a neighbour."}
    assert client.get(f"/api/v1/pacts/{signed.id}").json["signed_version"]["clauses"]["objectives"] == (
        "Objectives: agreed text.")
    rows = {row["id"]: row for row in client.get("/open-data/pacts.json").json["pacts"]}
    assert rows[scene.pact.id]["clause_objectives"] == "Hidden by moderation: Insults a neighbour."
    assert rows[signed.id]["clause_objectives"] == "Objectives: agreed text."
    versions = client.get(f"/pacts/{scene.pact.id}/versions").get_data(as_text=True)
    assert "Plant and water the flowerbeds" not in versions
