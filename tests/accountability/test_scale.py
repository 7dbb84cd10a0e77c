"""The chain page and the open data run the same number of SQL statements whatever the data: more
payments, redemptions, tenders and needs change the rows read, never the statements run."""
from accountability import operations
from app.accounts.models import Role
from app.i18n import city_today
from procurement import contracts
from vouchers import issuance, redemption

from ..conftest import statements_run


def _statements(client, url) -> int:
    with statements_run() as seen:
        assert client.get(url).status_code == 200
    return len(seen)


def _grow(c, city, make_user, make_category):
    for _n in range(4):
        contracts.record_payment(c.process, 10_000, city_today(), actor=city.official)
    citizen = make_user(Role.CITIZEN)
    for n in range(3):
        voucher = issuance.issue_voucher(c.programme, citizen, 5_000, actor=city.official, pin="1357")
        redemption.redeem(voucher.code, 1_000 + n, "elder-care", city.coop, actor=city.coop_member, pin="1357")
    for n in range(3):  # entries recorded by different officials
        operations.record_entry("need", c.need.id, on=city_today(), text=f"Step {n}",
                                actor=make_user(Role.OFFICIAL))


def test_the_chain_page_and_exports_are_flat_in_statements(client, chain, city, make_user, make_category):
    url = f"/councils/needs/{chain.need.id}"
    operations.record_entry("need", chain.need.id, on=city_today(), text="Started", actor=city.official)
    before = {u: _statements(client, u) for u in (url, "/open-data/accountability.json", "/accountability/overdue")}
    _grow(chain, city, make_user, make_category)
    city.process("implementation", title="A second tender")  # another process, with its commitment
    after = {u: _statements(client, u) for u in before}
    assert after == before
