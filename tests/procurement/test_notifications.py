"""Procurement tells the co-ops: a tender for their accredited service, the award, the contract."""
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select

from app.accounts.models import Role
from app.extensions import db
from app.i18n import city_today
from app.notifications import operations as notes
from app.notifications.models import OutboxEvent
from app.notifications.worker import drain
from app.organisations import operations as organisations
from procurement import contracts, evaluation

from ..conftest import post_form


def _mails(smtp) -> dict:
    found = {rcpts[0]: message for rcpts, message in smtp.messages}
    smtp.messages.clear()
    return found


def _accredit_everyone(city):
    for org in (city.coop, city.coop_b, city.company):
        organisations.accredit(org, city.category, city_today() + timedelta(days=365), met_all=True)


def test_a_tender_reaches_the_members_of_the_accredited_organisations(city, smtp, client, make_user, make_org):
    _accredit_everyone(city)
    city.coop_member.locale = "es"
    db.session.commit()
    make_user(Role.ORG_MEMBER, email="unaccredited@example.org", organisations=[make_org("other-coop")])
    make_user(Role.CITIZEN, email="volunteer@example.org", organisations=[city.coop])  # not an org_member account
    process = city.process("tender")
    assert db.session.execute(select(func.count(OutboxEvent.id))).scalar_one() == 1
    drain()
    mails = _mails(smtp)
    assert set(mails) == {city.coop_member.email, city.coop_b_member.email, city.company_member.email}
    spanish = mails[city.coop_member.email]
    assert "Home care for older people" in spanish["Subject"] and "licitación" in spanish["Subject"]
    assert f"/procurement/{process.id}" in spanish.get_body(("html",)).get_content()
    path = urlsplit(spanish["List-Unsubscribe"].strip().strip("<>")).path
    assert client.get(path).status_code == 200
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert notes.preferences(city.coop_member)["procurement.tender_published"] == "off"


def test_a_reserved_tender_reaches_social_economy_organisations_only(city, smtp):
    _accredit_everyone(city)
    city.process("tender", procedure="reserved")
    drain()
    assert set(_mails(smtp)) == {city.coop_member.email, city.coop_b_member.email}


def test_the_award_reaches_the_bidders_and_the_contract_the_supplier(city, smtp, make_user):
    make_user(Role.ORG_MEMBER, email="colleague@example.org", organisations=[city.coop], locale="it")
    process = city.process("scored")
    assert notes.is_following(city.coop_member, "procurement", process.id)  # bidders follow the process
    drain()
    smtp.messages.clear()
    evaluation.decide_award(process, actor=city.official)
    drain()
    mails = _mails(smtp)
    assert set(mails) == {city.coop_member.email, city.coop_b_member.email, "colleague@example.org"}
    assert "aggiudicata" in mails["colleague@example.org"]["Subject"]
    assert "La Tela" in mails[city.coop_b_member.email]["Subject"]
    today = city_today()
    contracts.record_contract(process, actor=city.official, signed_on=today, period_start=today,
                              period_end=today + timedelta(days=365))
    drain()
    mails = _mails(smtp)
    assert {city.coop_member.email, "colleague@example.org"} <= set(mails)
    assert "contratto" in mails["colleague@example.org"]["Subject"]
    assert city.company_member.email not in mails


def test_a_published_process_can_be_followed_from_its_page(city, client_as):
    process = city.process("tender")
    draft = city.process("planning", title="Not yet published")
    client = client_as("citizen")
    page = client.get(f"/procurement/{process.id}").get_data(as_text=True)
    assert f"/notifications/follow/procurement/{process.id}" in page
    assert post_form(client, f"/notifications/follow/procurement/{process.id}").status_code == 302
    assert notes.is_following(client.user, "procurement", process.id)
    assert post_form(client, f"/notifications/follow/procurement/{draft.id}").status_code == 404
