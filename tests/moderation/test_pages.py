"""Hidden content says so in its place, and only that, wherever it appeared: the pages, the open
data, the API and the PDF, at once even where copies are cached; the moderators' and authors'
pages; every page in four languages."""
import io
import re

import pytest
from pypdf import PdfReader

from app.accounts.models import Role
from app.moderation import decisions
from app.moderation.reports import report
from pacts.models import PactState

from ..conftest import login, post_form
from .conftest import case_of, comment, file_report, raise_dispute, report_schedule

REASON = "Insults another neighbour."
NOTICE = f"Hidden by moderation: {REASON}"


def _hide(scene, subject_type, subject_id, reason=REASON):
    report(scene.reporters[0], subject_type, subject_id, "abuse")
    decisions.hide(case_of(subject_type, subject_id), reason, actor=scene.moderator)


def _pdf_text(data: bytes) -> str:
    return re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


def test_a_hidden_comment_says_so_on_the_page_in_open_data_and_in_the_pdf(scene, client):
    pact = f"/pacts/{scene.pact.id}"
    assert "Count me in for the watering" in _pdf_text(client.get(f"{pact}/consultation.pdf").data)
    _hide(scene, "pact_comment", scene.comment.id)
    page = client.get(pact).get_data(as_text=True)
    assert NOTICE in page and "Count me in for the watering" not in page
    assert "a resident" in page and scene.commenter.name not in page  # who (unnamed) and when stay: only the text goes
    rows = client.get("/open-data/pact-comments.json").json["comments"]
    assert [(r["body"], r["hidden_by_moderation"]) for r in rows] == [(NOTICE, True)]
    pdf = _pdf_text(client.get(f"{pact}/consultation.pdf").data)
    assert NOTICE in pdf and "Count me in for the watering" not in pdf
    spanish = client.get(pact, headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert REASON in spanish and NOTICE not in spanish  # the notice speaks the reader's language


def test_hiding_takes_effect_at_once_where_copies_are_cached(app, scene, client):
    app.config.update(PROCOMUN_PUBLIC_PAGE_CACHE_SECONDS=60, PROCOMUN_OPEN_DATA_CACHE_SECONDS=300)
    export = client.get("/open-data/pact-comments.json")
    assert "Count me in" in export.get_data(as_text=True)
    assert "Count me in" in client.get("/open-data/pact-comments.json").get_data(as_text=True)  # a cached copy
    log = client.get("/moderation/log")
    assert client.get("/moderation/log").headers["X-Page-Cache"] == "hit"
    _hide(scene, "pact_comment", scene.comment.id)
    export = client.get("/open-data/pact-comments.json").get_data(as_text=True)
    assert "Count me in" not in export and NOTICE in export
    log = client.get("/moderation/log")
    assert log.headers["X-Page-Cache"] == "miss" and REASON in log.get_data(as_text=True)
    assert REASON in client.get("/open-data/moderation.json").get_data(as_text=True)
    decisions.restore(case_of("pact_comment", scene.comment.id), actor=scene.other_moderator)
    assert "Count me in" in client.get("/open-data/pact-comments.json").get_data(as_text=True)


def test_the_public_log_names_nobody_and_shows_no_hidden_text(scene, client):
    for person in scene.reporters[:3]:
        report(person, "pact_comment", scene.comment.id, "abuse", f"Reported by {person.name}")
    decisions.hide(case_of("pact_comment", scene.comment.id), REASON, actor=scene.moderator)
    decisions.restore(case_of("pact_comment", scene.comment.id), actor=scene.other_moderator, reason="Fair comment.")
    page = client.get("/moderation/log").get_data(as_text=True)
    entries = client.get("/open-data/moderation.json").json["decisions"]
    assert [e["action"] for e in entries] == ["restored", "hidden", "held_after_reports"]
    assert {e["kind"] for e in entries} == {"pact_comment"}
    assert entries[1]["reason"] == REASON and entries[0]["reason"] == "Fair comment."
    assert entries[0]["item_url"] == f"/pacts/{scene.pact.id}#comment-{scene.comment.id}"
    everyone = [scene.commenter, scene.moderator, scene.other_moderator, *scene.reporters[:3]]
    for text in (page, str(entries)):
        assert "Count me in" not in text
        for person in everyone:
            assert person.name not in text and person.email not in text
    assert REASON in page and "Comment on a pact" in page


def test_a_hidden_report_hides_its_text_photo_and_api_answer(scene, client):
    world = scene.world
    active = world.walk(world.propose(title="In force"), PactState.ACTIVE)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
    filed = file_report(active, report_schedule(active)[0].due_on, actor=world.citizen,
                              activities="We met Mr Rossi at his home, via Roma 3.",
                              photo=(io.BytesIO(png), "image/png"))
    photo = f"/pacts/files/{filed.attachments[0].id}"
    assert client.get(photo).status_code == 200
    _hide(scene, "pact_report", filed.id, "A private address.")
    page = client.get(f"/pacts/{active.id}").get_data(as_text=True)
    assert "via Roma 3" not in page and "Hidden by moderation: A private address." in page and photo not in page
    assert client.get(photo).status_code == 404
    answer = client.get(f"/api/v1/pacts/{active.id}/reports").json[0]
    assert answer["activities"] == "Hidden by moderation: A private address." and answer["hidden_by_moderation"]


def test_a_hidden_dispute_nomination_and_description_say_so(scene, nomination, make_org, make_user, client):
    world = scene.world
    active = world.walk(world.propose(title="In force"), PactState.ACTIVE)
    dispute = raise_dispute(active, "The official Bianchi is a liar.", actor=world.citizen)
    org = make_org("described", description="Run by Gino, who lives at via Po 5.")
    make_user(Role.ORG_MEMBER, organisations=[org], name="Gino Member")
    _hide(scene, "pact_dispute", dispute.id)
    _hide(scene, "council_nomination", nomination.id, "A private phone number.")
    _hide(scene, "organisation_description", org.id, "A private address.")
    page = client.get(f"/pacts/{active.id}").get_data(as_text=True)
    assert "is a liar" not in page and NOTICE in page
    election = client.get(f"/councils/elections/{nomination.election_id}").get_data(as_text=True)
    assert "333 222 1111" not in election and "Hidden by moderation: A private phone number." in election
    assert "Carlo Candidate" in election  # the candidacy stands: only its statement is hidden
    shown = client.get("/organisations/described").get_data(as_text=True)
    assert "via Po 5" not in shown and "Hidden by moderation: A private address." in shown


def test_the_queue_lists_the_most_reported_first_with_their_reasons(scene, client, make_user):
    other = comment(scene.pact, "Buy cheap watches!", actor=make_user(Role.CITIZEN))
    report(scene.reporters[0], "pact_comment", scene.comment.id, "personal_data")
    for person in scene.reporters[:2]:
        report(person, "pact_comment", other.id, "spam")
    login(client, scene.moderator.email)
    queue = client.get("/moderation/").get_data(as_text=True)
    assert queue.index("Buy cheap watches") < queue.index("Count me in")
    assert "Spam or advertising × 2" in queue and "Personal data that should not be public × 1" in queue


def test_moderators_decide_from_the_case_page(scene, client):
    report(scene.reporters[0], "pact_comment", scene.comment.id, "abuse")
    case = case_of("pact_comment", scene.comment.id)
    login(client, scene.moderator.email)
    page = client.get(f"/moderation/cases/{case.id}").get_data(as_text=True)
    assert "Count me in for the watering" in page and "Hide it" in page
    refused = post_form(client, f"/moderation/cases/{case.id}/hide", {"reason": ""})
    assert refused.status_code == 422 and 'id="reason-error"' in refused.get_data(as_text=True)
    hidden = post_form(client, f"/moderation/cases/{case.id}/hide", {"reason": REASON})
    assert hidden.status_code == 302 and hidden.headers["Location"].endswith("/moderation/")
    assert case_of("pact_comment", scene.comment.id).state == "hidden"
    redact = client.get(f"/moderation/cases/{case.id}/redact").get_data(as_text=True)
    assert "Count me in for the watering" in redact  # prefilled for editing
    empty = post_form(client, f"/moderation/cases/{case.id}/redact", {"text_0": "", "reason": ""})
    assert empty.status_code == 422 and 'id="text_0-error"' in empty.get_data(as_text=True)
    done = post_form(client, f"/moderation/cases/{case.id}/redact",
                     {"text_0": "Count me in for the watering.", "reason": "A phone number."})
    assert done.status_code == 302
    assert "Count me in for the watering." in client.get(f"/pacts/{scene.pact.id}").get_data(as_text=True)


def test_the_author_appeals_from_the_page_the_notice_links_to(scene, client, app):
    _hide(scene, "pact_comment", scene.comment.id)
    case = case_of("pact_comment", scene.comment.id)
    url = f"/moderation/cases/{case.id}/appeal"
    login(client, scene.reporters[1].email)
    assert client.get(url).status_code == 404  # nobody else learns of it
    assert url not in client.get(f"/pacts/{scene.pact.id}").get_data(as_text=True)
    author = app.test_client()
    login(author, scene.commenter.email)
    assert f'<a href="{url}">' in author.get(f"/pacts/{scene.pact.id}").get_data(as_text=True)  # beside the notice
    page = author.get(url).get_data(as_text=True)
    assert REASON in page and "Count me in for the watering" in page  # the author sees their own text
    refused = post_form(author, url, {"text": ""})
    assert refused.status_code == 422 and 'id="text-error"' in refused.get_data(as_text=True)
    mine = author.get("/moderation/mine").get_data(as_text=True)
    assert f'href="{url}"' in mine and REASON in mine and "Count me in" not in mine
    assert url not in client.get("/moderation/mine").get_data(as_text=True)
    sent = post_form(author, url, {"text": "Anna agreed to be named."}, follow_redirects=True)
    assert "Your appeal is sent" in sent.get_data(as_text=True)
    assert case_of("pact_comment", scene.comment.id).state == "appealed"
    login(client, scene.moderator.email)
    page = client.get(f"/moderation/cases/{case.id}").get_data(as_text=True)
    assert "Anna agreed to be named." in page and "another moderator decides on its appeal" in page
    assert post_form(client, f"/moderation/cases/{case.id}/restore", {}).status_code == 302
    assert case_of("pact_comment", scene.comment.id).state == "appealed"  # refused: they hid it


@pytest.mark.parametrize("language, words", [("es", "Moderación"), ("it", "Moderazione"), ("ca", "Moderació")])
def test_every_moderation_page_speaks_the_readers_language(scene, client, app, language, words):
    _hide(scene, "pact_comment", scene.comment.id)
    case = case_of("pact_comment", scene.comment.id)
    author = app.test_client()
    login(author, scene.commenter.email)
    login(client, scene.moderator.email)
    headers = {"Accept-Language": language}
    pages = {client: ["/moderation/", f"/moderation/cases/{case.id}", f"/moderation/cases/{case.id}/redact",
                      f"/moderation/report/pact_proposal/{scene.pact.id}", "/moderation/log"],
             author: [f"/moderation/cases/{case.id}/appeal", "/moderation/mine"]}
    for who, urls in pages.items():
        for url in urls:
            html = who.get(url, headers=headers).get_data(as_text=True)
            assert f'lang="{language}"' in html, url
            assert not re.search(r"Hidden by moderation|Report it to the moderators|Public reason|Appeal a moderation",
                                 html), (url, language)
    assert words in client.get("/moderation/", headers=headers).get_data(as_text=True)
