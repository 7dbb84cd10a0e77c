"""A need followed through the real operations: adopted by a council's vote, answered by a tender
whose contract is paid in part, by a voucher programme redeemed at the same co-op, and served by
a pact on a commons in its neighbourhood."""
from datetime import timedelta

import pytest

from accountability import operations
from app.database import transaction
from app.i18n import city_today
from app.organisations import operations as organisations
from procurement import contracts
from vouchers import issuance, programmes, redemption

from ..procurement.conftest import City
from ..procurement.test_priority_needs import adopt_need


@pytest.fixture(autouse=True)
def request_context(app):
    with app.test_request_context():
        yield


@pytest.fixture
def city(app, make_user, make_org, make_category):
    return City(make_user, make_org, make_category)


class Chain:
    pass


def build_chain(city, make_user, make_category, citizen):
    """The whole chain for one need; returns its parts."""
    c = Chain()
    c.need = adopt_need(make_user, make_category, city.official)
    c.process = city.process("implementation")
    with transaction():  # the tender answers the need (procurement records it when created)
        c.process.priority_need_id = c.need.id
    today = city_today()
    contracts.record_payment(c.process, 3_000_000, today, actor=city.official)
    organisations.accredit(city.coop, city.category, today + timedelta(days=365), met_all=True)
    c.programme = programmes.create_programme("elder-care-vouchers", "Elder care vouchers", 100_000, ["elder-care"],
                                              today + timedelta(days=200), actor=city.official)
    voucher = issuance.issue_voucher(c.programme, citizen, 50_000, actor=city.official, pin="2468")
    redemption.redeem(voucher.code, 25_000, "elder-care", city.coop, actor=city.coop_member, pin="2468")
    operations.link_need(c.need.id, "programme", c.programme.slug, actor=city.official)
    return c


@pytest.fixture
def chain(city, make_user, make_category):
    from app.accounts.models import Role
    return build_chain(city, make_user, make_category, make_user(Role.CITIZEN))
