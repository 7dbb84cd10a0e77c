"""The pages through the test client, CSRF on: proposing with bad input, the
officials' decisions, co-design, signing, reporting, the register's filters,
the commons register with uploads, and the PDF."""
import io
from datetime import datetime, timezone

import pytest
from pypdf import PdfReader

from app.accounts.models import Role
from app.errors import Invalid
from app.extensions import db
from app.i18n import city_today
from pacts import commons_register, lifecycle, proposals, register, reports
from pacts.models import Attachment, Pact, PactState

from ..conftest import login, post_form
from .conftest import FULL_CLAUSES

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def signed_in(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def test_proposal_with_bad_input_comes_back_with_the_message_and_what_was_typed(app, world):
    client = signed_in(app, world.citizen)
    page = client.get("/pacts/propose").get_data(as_text=True)
    assert "Piazza Verdi" in page and "Adopt a flowerbed" in page
    response = post_form(client, "/pacts/propose", {
        "title": "Benches for the square", "intervention": "care", "track": "ordinary",
        "standard_form": "", "commons": [str(world.commons.id)], "what": "Paint the benches",
        "duration_months": "12", "report_every_months": "6", "proposer_kind": "individual", "organisation": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "An ordinary pact follows one of the city" in html
    assert 'value="Benches for the square"' in html
    assert db.session.query(Pact).count() == 0


def test_a_citizen_of_no_organisation_is_not_offered_to_propose_for_one(app, world):
    """Offered and then refused with no field to show why, the choice only confused: it is gone,
    and a forged one is refused beside 'Who proposes', with the input kept; nothing is written."""
    client = signed_in(app, world.citizen)
    assert 'value="organisation"' not in client.get("/pacts/propose").get_data(as_text=True)
    response = post_form(client, "/pacts/propose", {
        "title": "Benches for the square", "intervention": "care", "track": "complex",
        "standard_form": "", "commons": [str(world.commons.id)], "what": "Paint the benches",
        "duration_months": "0", "report_every_months": "6", "proposer_kind": "organisation", "organisation": ""})
    html = response.get_data(as_text=True)
    assert 'id="proposer_kind-error">Not a valid choice.' in html and 'value="Benches for the square"' in html
    assert 'id="duration_months-error">Give a number between 1 and 120.' in html  # 0 is not 'required'
    assert db.session.query(Pact).count() == 0


def test_citizen_proposes_and_official_takes_it_to_signature(app, world):
    citizen, official = signed_in(app, world.citizen), signed_in(app, world.official)
    response = post_form(citizen, "/pacts/propose", {
        "title": "Benches for the square", "intervention": "care", "track": "complex",
        "standard_form": "", "commons": [str(world.commons.id)], "what": "Paint the benches",
        "why": "They are rusty", "resources": ["tools", "materials"], "duration_months": "12",
        "report_every_months": "6", "proposer_kind": "group", "group_name": "Friends of the benches",
        "organisation": ""})
    assert response.status_code == 302
    pact = db.session.query(Pact).one()
    url = f"/pacts/{pact.id}"
    assert "Friends of the benches" in citizen.get(url).get_data(as_text=True)
    # A draft is private.
    assert app.test_client().get(url).status_code == 404
    assert post_form(citizen, f"{url}/submit").status_code == 302
    for action in ("open_consultation",):
        post_form(official, f"{url}/decide/{action}")
    db.session.refresh(pact)
    assert pact.state == PactState.CONSULTATION
    # Closing early is refused with the reason on the page.
    page = official.get(post_form(official, f"{url}/decide/close_consultation").headers["Location"])
    assert "cannot close earlier" in page.get_data(as_text=True)
    pact.consultation_ends = city_today()
    db.session.commit()
    post_form(official, f"{url}/decide/close_consultation")
    post_form(official, f"{url}/decide/start_co_design")
    data = {f"clause_{k}": v for k, v in FULL_CLAUSES.items()} | {"note": "Agreed at the meeting"}
    assert post_form(official, f"{url}/clauses", data).status_code == 302
    post_form(official, f"{url}/decide/approve")
    db.session.refresh(pact)
    assert pact.state == PactState.APPROVED and pact.latest_version.number == 2
    post_form(citizen, f"{url}/sign", {"party": "citizens", "version": "2"})
    post_form(official, f"{url}/sign", {"party": "city", "version": "2"})
    db.session.refresh(pact)
    assert pact.state == PactState.SIGNED
    post_form(official, f"{url}/decide/activate")
    db.session.refresh(pact)
    assert pact.state == PactState.ACTIVE
    public = app.test_client().get(url).get_data(as_text=True)
    assert "Download the signed pact (PDF)" in public
    # A group proposed: the public reads the group's name, not the name of the member who signed.
    assert "Carla Citizen" not in public and "signed by Friends of the benches" in public


def test_reject_without_reason_is_refused_and_with_one_the_proposer_reads_it(app, world):
    pact = world.walk(world.propose(), PactState.EVALUATION)
    official = signed_in(app, world.official)
    refused = post_form(official, f"/pacts/{pact.id}/decide/reject", {"reason": ""})
    assert refused.status_code == 422
    assert '<p class="error" id="reason-reject-error">Give the reason' in refused.get_data(as_text=True)
    too_long = post_form(official, f"/pacts/{pact.id}/decide/reject", {"reason": "x" * 2001})
    page = too_long.get_data(as_text=True)
    assert too_long.status_code == 422 and "expired" not in page
    assert 'id="reason-reject-error">Field cannot be longer than 2000 characters.' in page and "x" * 2001 in page
    post_form(official, f"/pacts/{pact.id}/decide/reject", {"reason": "The square will be rebuilt."})
    page = signed_in(app, world.citizen).get(f"/pacts/{pact.id}").get_data(as_text=True)
    assert "Reason given by the city:" in page and "The square will be rebuilt." in page


def test_consultation_comment_and_support(app, world):
    pact = world.walk(world.propose(), PactState.CONSULTATION)
    neighbour = signed_in(app, world.other)
    post_form(neighbour, f"/pacts/{pact.id}/comment", {"body": "Count me in for Saturdays"})
    post_form(neighbour, f"/pacts/{pact.id}/support")
    page = app.test_client().get(f"/pacts/{pact.id}").get_data(as_text=True)
    assert "Count me in for Saturdays" in page and "Supports: 1" in page


def test_a_supporter_sees_that_they_support_and_may_withdraw(app, world):
    pact = world.walk(world.propose(), PactState.CONSULTATION)
    neighbour = signed_in(app, world.other)
    post_form(neighbour, f"/pacts/{pact.id}/support")
    page = neighbour.get(f"/pacts/{pact.id}").get_data(as_text=True)
    assert "You support this proposal." in page and "Withdraw my support" in page
    assert "I support this proposal" not in page
    post_form(neighbour, f"/pacts/{pact.id}/support/withdraw")
    page = neighbour.get(f"/pacts/{pact.id}").get_data(as_text=True)
    assert "Supports: 0" in page and "I support this proposal" in page and "You support this" not in page
    # Withdrawing twice changes nothing and says why.
    with pytest.raises(Invalid, match="do not support"):
        proposals.withdraw_support(db.session.get(Pact, pact.id), actor=world.other)


def test_a_refused_comment_keeps_its_text_beside_the_field(app, world):
    """An empty or too long comment: the page again, the message next to the box, the text kept."""
    pact = world.walk(world.propose(), PactState.CONSULTATION)
    neighbour = signed_in(app, world.other)
    empty = post_form(neighbour, f"/pacts/{pact.id}/comment", {"body": "  "})
    assert empty.status_code == 422
    assert 'id="body-error">Write your comment.' in empty.get_data(as_text=True)
    long_text = "Saturdays " * 501
    too_long = post_form(neighbour, f"/pacts/{pact.id}/comment", {"body": long_text})
    page = too_long.get_data(as_text=True)
    assert too_long.status_code == 422 and "Write your comment" not in page
    assert 'id="body-error">Field cannot be longer than 5000 characters.' in page
    assert long_text.strip() in page and 'aria-invalid="true" autofocus' in page
    assert register.pact_by_id(pact.id, world.other).comments == []


def test_a_pact_of_months_says_its_rhythm_in_words(app, world):
    pact = world.propose(duration_months=3, report_every_months=1)
    page = signed_in(app, world.citizen).get(f"/pacts/{pact.id}").get_data(as_text=True)
    assert "3 months, a report every month" in page


def test_versions_compare_side_by_side(app, world):
    pact = world.walk(world.propose(), PactState.CO_DESIGN)
    page = app.test_client().get(f"/pacts/{pact.id}/versions?a=1&b=2").get_data(as_text=True)
    assert "<del>Plant and water the flowerbeds.</del>" in page
    assert "<ins>Objectives: agreed text.</ins>" in page


def test_report_with_photo_is_published(app, world):
    pact = world.walk(world.propose(), PactState.ACTIVE)
    due = reports.report_schedule(pact)[0].due_on
    client = signed_in(app, world.citizen)
    assert due.isoformat() in client.get(f"/pacts/{pact.id}/reports/new").get_data(as_text=True)
    response = post_form(client, f"/pacts/{pact.id}/reports/new", {
        "due_on": due.isoformat(), "activities": "Planted tulips", "volunteer_hours": "12.5",
        "results": "Colour", "photo": (io.BytesIO(PNG), "../../etc/passwd.png")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    report = pact.reports[0] if db.session.refresh(pact) is None else None
    assert report.volunteer_minutes == 750
    photo = db.session.query(Attachment).one()
    assert "passwd" not in photo.stored_name
    served = app.test_client().get(f"/pacts/files/{photo.id}")
    assert served.status_code == 200 and served.data == PNG and served.mimetype == "image/png"


def test_bad_photo_rejects_the_whole_report(app, world):
    pact = world.walk(world.propose(), PactState.ACTIVE)
    due = reports.report_schedule(pact)[0].due_on
    response = post_form(signed_in(app, world.citizen), f"/pacts/{pact.id}/reports/new", {
        "due_on": due.isoformat(), "activities": "Planted tulips", "volunteer_hours": "1",
        "photo": (io.BytesIO(b"<script>alert(1)</script>"), "x.png")}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert "Upload a JPEG or PNG photo, or a PDF document." in response.get_data(as_text=True)
    db.session.refresh(pact)
    assert pact.reports == []


def test_register_filters_and_paginates(app, world):
    other_commons = commons_register.save_commons(actor=world.official, name="Giardino Rosa", kind="green_area",
                                                  neighbourhood="Porto")
    a = world.walk(world.propose(title="Alpha care"), PactState.SUBMITTED)
    b = world.walk(world.propose(title="Beta regeneration", intervention="regeneration",
                                 commons_ids=[other_commons.id]), PactState.ACTIVE)
    world.propose(title="Gamma draft")
    a.submitted_at = datetime(2025, 5, 1, tzinfo=timezone.utc)
    db.session.commit()
    client = app.test_client()

    def titles(query):
        html = client.get("/pacts/" + query).get_data(as_text=True)
        return [t for t in ("Alpha care", "Beta regeneration", "Gamma draft") if t in html]
    assert titles("") == ["Alpha care", "Beta regeneration"]
    assert titles("?state=active") == ["Beta regeneration"]
    assert titles("?kind=care") == ["Alpha care"]
    assert titles(f"?commons={other_commons.id}") == ["Beta regeneration"]
    assert titles("?neighbourhood=Navile") == ["Alpha care"]
    assert titles("?year=2025") == ["Alpha care"]
    assert (register.search_pacts(per_page=1, page=2).items == [a]
            or register.search_pacts(per_page=1, page=2).items == [b])


def test_commons_register_and_upload(app, world):
    official = signed_in(app, world.official)
    response = post_form(official, "/pacts/commons/new", {"name": "Ex-laundry", "kind": "building",
                                                          "latitude": "44.5", "longitude": ""})
    assert response.status_code == 200
    assert "Give both latitude and longitude, or neither." in response.get_data(as_text=True)
    response = post_form(official, "/pacts/commons/new", {"name": "Ex-laundry", "kind": "building",
                                                          "neighbourhood": "Bolognina", "department": "Heritage"})
    assert response.status_code == 302
    commons_url = response.headers["Location"]
    response = post_form(official, commons_url + "/attachments",
                         {"title": "Front", "file": (io.BytesIO(PNG), "front.png")}, content_type="multipart/form-data")
    assert response.status_code == 302
    page = app.test_client().get(commons_url).get_data(as_text=True)
    assert "Ex-laundry" in page and "Front" in page


def test_signed_pact_pdf_contains_the_clauses_parties_and_signatures(app, world):
    pact = world.walk(world.propose(), PactState.ACTIVE)
    response = app.test_client().get(f"/pacts/{pact.id}/pact.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    for clause in FULL_CLAUSES.values():
        assert clause in text
    assert "Olga Official, for the city" in text and "Care for Piazza Verdi" in text
    # The public document names the resident who proposed only with their consent.
    assert "Carla Citizen" not in text and "a resident of Navile" in text


def _pdf_text(response) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)


def test_pdf_headings_follow_the_reader_and_the_clauses_stay_as_signed(app, world, make_user):
    pact = world.walk(world.propose(locale="en"), PactState.SIGNED)
    # An Italian official downloads a pact recorded in English: Italian headings, English clauses.
    italian = make_user(Role.OFFICIAL, locale="it")
    text = _pdf_text(signed_in(app, italian).get(f"/pacts/{pact.id}/pact.pdf"))
    assert "Patto di collaborazione" in text and "Firme" in text and "Articolo 1." in text
    assert "Pagina 1 di" in text and "Signatures" not in text
    for clause in FULL_CLAUSES.values():
        assert clause in text
    # A visitor whose browser reads Catalan gets Catalan headings around the same clauses.
    text = _pdf_text(app.test_client().get(f"/pacts/{pact.id}/pact.pdf", headers={"Accept-Language": "ca"}))
    assert "Pacte de col·laboració" in text and "Pàgina 1 de" in text
    assert all(clause in text for clause in FULL_CLAUSES.values())
    english = _pdf_text(app.test_client().get(f"/pacts/{pact.id}/pact.pdf", headers={"Accept-Language": "en"}))
    assert "Collaboration pact between" in english and "Signatures" in english


def test_unsigned_pact_has_no_pdf(app, world):
    pact = world.walk(world.propose(), PactState.APPROVED)
    assert app.test_client().get(f"/pacts/{pact.id}/pact.pdf").status_code == 404


def test_desk_orders_by_deadline_and_flags_overdue(app, world):
    late = world.propose(title="Late file")
    lifecycle.submit(late, actor=world.citizen, now=datetime(2020, 1, 10, tzinfo=timezone.utc))
    world.walk(world.propose(title="Fresh file"), PactState.SUBMITTED)
    html = signed_in(app, world.official).get("/pacts/desk").get_data(as_text=True)
    assert html.index("Late file") < html.index("Fresh file")
    assert html.count('class="overdue"') == 1


def test_open_data(app, world):
    world.walk(world.propose(), PactState.ACTIVE)
    world.propose(title="Private draft")
    client = app.test_client()
    rows = client.get("/open-data/pacts.json").get_json()["pacts"]
    assert [r["title"] for r in rows] == ["Care for Piazza Verdi"]
    assert rows[0]["clause_disputes"] == FULL_CLAUSES["disputes"] and rows[0]["starts_on"]
    csv = client.get("/open-data/pacts.csv").get_data(as_text=True)
    assert csv.count("\n") == 2 and "clause_objectives" in csv
    geo = client.get("/open-data/commons.geojson").get_json()
    assert geo["features"][0]["geometry"] == {"type": "Point", "coordinates": [11.35, 44.5]}
