"""Shared set-up for the vouchers tests: an accredited co-op, a programme, a citizen."""
from datetime import timedelta

import pytest

from app.accounts.models import Role
from app.organisations import operations as organisations
from vouchers import programmes


@pytest.fixture
def city(app, make_user, make_org, make_category):
    """An official, a programme for elder care, a citizen, and a co-op accredited for elder care
    whose member redeems."""
    from app.i18n import city_today
    today = city_today()
    care = make_category("elder-care")
    make_category("childcare")
    coop = make_org("la-tela", name="La Tela", neighbourhood="San Donato")
    organisations.accredit(coop, care, today + timedelta(days=365), met_all=True)
    other = make_org("casa-comune", name="Casa Comune", neighbourhood="Porto")
    organisations.accredit(other, care, today + timedelta(days=365), met_all=True)
    official = make_user(Role.OFFICIAL, email="official@example.org")
    citizen = make_user(Role.CITIZEN, email="citizen@example.org")
    member = make_user(Role.ORG_MEMBER, email="member@example.org", organisations=[coop])
    other_member = make_user(Role.ORG_MEMBER, email="other@example.org", organisations=[other])
    programme = programmes.create_programme("home-care-2027", "Home care 2027", 1_000_000, ["elder-care"],
                                            today + timedelta(days=200), actor=official)

    class City:
        pass
    c = City()
    c.__dict__.update(today=today, care=care, coop=coop, other=other, official=official, citizen=citizen,
                      member=member, other_member=other_member, programme=programme)
    return c
