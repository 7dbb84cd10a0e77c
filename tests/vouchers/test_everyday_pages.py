"""What citizens and the public read (issue #19): open books that explain their figures and leave no
cell blank, "My vouchers" with what can be spent first, a voucher good until the end of its last day
on the page and at the desk alike, and organisations named in movements."""
import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.organisations import operations as organisations
from tests.conftest import login
from vouchers import closing, issuance, redemption, time_credits
from vouchers.models import Voucher


def _as(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def test_open_books_explain_each_figure_and_leave_no_cell_blank(app, city, make_org, make_user):
    nowhere = make_org("senza-quartiere", name="Senza Quartiere")  # no neighbourhood given
    organisations.accredit(nowhere, city.care, city.today + timedelta(days=30), met_all=True)
    member = make_user(email="cashier@example.org", organisations=[nowhere])
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)
    redemption.redeem(voucher.code, 1500, "elder-care", nowhere, actor=member)
    redemption.redeem(voucher.code, 500, "elder-care", city.coop, actor=city.member)
    page = app.test_client().get("/vouchers/open-books").get_data(as_text=True)
    cells = re.findall(r"<td>(.*?)</td>", page, re.S)
    assert cells and [c for c in cells if not c.strip()] == []
    assert "Whole programme" in page and "Not stated" in page and "San Donato" in page
    # The pool gave €10,000 to the programme and received nothing: negative, and said why.
    assert "Budgets given to programmes" in page and "It is negative because" in page
    assert "committed and contributions have not yet funded" in page
    spanish = app.test_client().get("/vouchers/open-books", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "It is negative because" not in spanish and "Whole programme" not in spanish
    assert "Not stated" not in spanish and "Budgets given to programmes" not in spanish


def test_my_vouchers_lists_what_can_be_spent_first(app, city):
    active = issuance.issue_voucher(city.programme, city.citizen, 3000, actor=city.official)
    spent = issuance.issue_voucher(city.programme, city.citizen, 1000, actor=city.official)
    redemption.redeem(spent.code, 1000, "elder-care", city.coop, actor=city.member)
    revoked = issuance.issue_voucher(city.programme, city.citizen, 2000, actor=city.official)
    closing.revoke_voucher(revoked, "lost", actor=city.official)
    page = _as(app, city.citizen).get("/vouchers/mine").get_data(as_text=True)
    order = [page.index(v.code) for v in (active, spent, revoked)]
    assert order == sorted(order)


@pytest.mark.parametrize("days_left, shown, redeemable", [(0, "Active", True), (-1, "Expired", False)])
def test_the_last_day_is_valid_on_the_page_and_at_the_desk_alike(app, city, days_left, shown, redeemable):
    """Valid until a day means until that day's end in the city: the page and the redemption agree."""
    voucher = issuance.issue_voucher(city.programme, city.citizen, 3000, actor=city.official,
                                     valid_until=city.today)
    db.session.get(Voucher, voucher.id).valid_until = city.today + timedelta(days=days_left)
    db.session.commit()
    holder = _as(app, city.citizen)
    mine = holder.get("/vouchers/mine").get_data(as_text=True)
    assert re.search(rf'tag-\w+">{shown}</span>', mine)
    detail = holder.get(f"/vouchers/mine/{voucher.id}").get_data(as_text=True)
    assert f"<dt>Status</dt><dd>{shown}</dd>" in detail
    if redeemable:
        assert redemption.redeem(voucher.code, 500, "elder-care", city.coop, actor=city.member).remaining_cents == 2500
    else:
        with pytest.raises(redemption.Gone):
            redemption.redeem(voucher.code, 500, "elder-care", city.coop, actor=city.member)


def test_movements_name_the_organisation_not_its_slug(app, city):
    time_credits.record_time(city.citizen, 90, city.coop, actor=city.member, note="Afternoon with Mrs Bassi")
    page = _as(app, city.citizen).get("/vouchers/mine").get_data(as_text=True)
    assert "La Tela: Afternoon with Mrs Bassi" in page and "la-tela" not in page
