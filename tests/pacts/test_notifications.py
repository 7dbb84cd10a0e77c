"""Pacts tell the people involved: published, consultation, decision, signed, reports, overdue, closed."""
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select

from app.extensions import db
from app.i18n import city_today
from app.notifications import operations as notes
from app.notifications.models import OutboxEvent
from app.notifications.reminders import send_reminders
from app.notifications.worker import drain
from pacts import lifecycle, reports, signing
from pacts.models import PactState

from ..conftest import post_form


def _mails(smtp) -> dict:
    found = {rcpts[0]: message for rcpts, message in smtp.messages}
    smtp.messages.clear()
    return found


def _unsubscribe(client, message, user, kind):
    path = urlsplit(message["List-Unsubscribe"].strip().strip("<>")).path
    assert client.get(path).status_code == 200
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert notes.preferences(user)[kind] == "off"


def _speaks(user, locale):
    user.locale = locale
    db.session.commit()


def test_a_proposal_s_way_reaches_its_proposer_and_the_commons_followers(world, client, smtp):
    _speaks(world.citizen, "it")
    _speaks(world.other, "ca")
    notes.follow(world.other, "commons", world.commons.id)
    pact = world.propose()
    assert notes.is_following(world.citizen, "pact", pact.id)  # the proposer follows their pact
    lifecycle.submit(pact, actor=world.citizen)
    drain()
    mails = _mails(smtp)
    assert set(mails) == {world.other.email}  # the proposer acted: not told of it
    assert "Care for Piazza Verdi" in mails[world.other.email]["Subject"]
    assert "proposta" in mails[world.other.email]["Subject"]  # Catalan: "S'ha publicat una nova proposta…"

    lifecycle.open_consultation(pact, actor=world.official)
    drain()
    mails = _mails(smtp)
    assert set(mails) == {world.citizen.email, world.other.email}
    italian = mails[world.citizen.email]
    assert "aperta" in italian["Subject"] and "Care for Piazza Verdi" in italian["Subject"]
    assert f"/pacts/{pact.id}" in italian.get_body(("html",)).get_content()

    lifecycle.close_consultation(pact, actor=world.official, today=pact.consultation_ends)
    lifecycle.reject(pact, "The square is being rebuilt next year.", actor=world.official)
    drain()
    mails = _mails(smtp)
    assert set(mails) == {world.citizen.email}  # the commons' followers hear of publications only
    decision = mails[world.citizen.email]
    assert "respinto" in decision["Subject"] and "The square is being rebuilt" in decision["Subject"]
    _unsubscribe(client, decision, world.citizen, "pact.evaluation_decided")


def test_signing_reports_and_closing_reach_the_signatories(world, smtp):
    pact = world.walk(world.propose(), PactState.ACTIVE)
    assert notes.is_following(world.official, "pact", pact.id)  # the city's signatory follows too
    drain()
    smtp.messages.clear()
    due = reports.report_schedule(pact)[0].due_on
    reports.file_report(pact, due, actor=world.citizen, activities="Planted the flowerbeds.")
    drain()
    mails = _mails(smtp)
    assert set(mails) == {world.official.email}
    assert "report" in mails[world.official.email]["Subject"]
    lifecycle.terminate(pact, "The square closes for works.", actor=world.official)
    drain()
    mails = _mails(smtp)
    assert set(mails) == {world.citizen.email}
    assert "terminated" in mails[world.citizen.email]["Subject"]
    assert "The square closes for works." in mails[world.citizen.email]["Subject"]


def test_signed_is_told_to_the_proposer(world, smtp):
    pact = world.walk(world.propose(), PactState.APPROVED)
    drain()
    smtp.messages.clear()
    signing.sign(pact, "citizens", actor=world.citizen)
    signing.sign(pact, "city", actor=world.official)
    drain()
    mails = _mails(smtp)
    assert set(mails) == {world.citizen.email}
    assert "has been signed" in mails[world.citizen.email]["Subject"]


def test_an_overdue_report_reminds_the_signatories_once(world, smtp):
    pact = world.walk(world.propose(), PactState.ACTIVE)
    pact.starts_on = city_today() - timedelta(days=200)
    pact.ends_on = pact.starts_on + timedelta(days=365)
    db.session.commit()
    drain()
    smtp.messages.clear()
    # The signatories' reminder, and the accountability module's escalation of the same overdue step.
    assert send_reminders() >= 1
    assert send_reminders() == 0
    assert db.session.execute(select(func.count(OutboxEvent.id)).where(
        OutboxEvent.kind == "pact.report_overdue")).scalar_one() == 1
    drain()
    mails = _mails(smtp)
    assert set(mails) == {world.citizen.email, world.official.email}
    assert "has not been submitted" in mails[world.citizen.email]["Subject"]
    assert f"/pacts/{pact.id}/reports/new" in mails[world.citizen.email].get_body(("html",)).get_content()


def test_a_pact_and_a_commons_can_be_followed_from_their_pages(world, client_as):
    pact = world.walk(world.propose(), PactState.SUBMITTED)
    client = client_as("citizen")
    page = client.get(f"/pacts/{pact.id}").get_data(as_text=True)
    assert f"/notifications/follow/pact/{pact.id}" in page
    assert post_form(client, f"/notifications/follow/pact/{pact.id}").status_code == 302
    assert notes.is_following(client.user, "pact", pact.id)
    page = client.get(f"/pacts/commons/{world.commons.id}").get_data(as_text=True)
    assert f"/notifications/follow/commons/{world.commons.id}" in page
    assert post_form(client, f"/notifications/follow/commons/{world.commons.id}").status_code == 302
    assert notes.is_following(client.user, "commons", world.commons.id)
    draft = world.propose()
    assert post_form(client, f"/notifications/follow/pact/{draft.id}").status_code == 404  # drafts are private
