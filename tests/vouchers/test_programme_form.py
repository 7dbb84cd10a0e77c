"""Opening a programme (issue #19): the income scale typed as money in rows, errors beside the row,
and dates refused for a true reason."""
from datetime import timedelta

import pytest
from markupsafe import escape

from app.errors import Invalid
from app.extensions import db
from tests.conftest import login, post_form
from vouchers import programmes
from vouchers.models import Programme


@pytest.fixture
def official(app, city):
    client = app.test_client()
    login(client, city.official.email)
    return client


def _programme(city, **rows):
    return {"slug": "scaled-2027", "name": "Scaled", "budget": "10000", "categories": "elder-care",
            "valid_until": (city.today + timedelta(days=90)).isoformat(), **rows}


def test_the_scale_is_typed_in_euros_row_by_row(app, city, official):
    page = official.get("/vouchers/programmes").get_data(as_text=True)
    assert 'name="scale-3-amount"' in page and 'name="scale-4-amount"' not in page
    assert "cents" not in page.lower()
    response = post_form(official, "/vouchers/programmes", _programme(city, **{
        "scale-0-income_up_to": "15,000.00", "scale-0-amount": "200",
        "scale-1-income_up_to": "", "scale-1-amount": "",            # an empty row: ignored
        "scale-2-income_up_to": "30000", "scale-2-amount": "120.50",
        "scale-3-income_up_to": "", "scale-3-amount": "60"}))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    programme = db.session.query(Programme).filter_by(slug="scaled-2027").one()
    assert programme.scale == [[1500000, 20000], [3000000, 12050], [None, 6000]]
    shown = official.get("/vouchers/programmes/scaled-2027").get_data(as_text=True)
    assert "income up to €15,000.00: €200.00" in shown and "above: €60.00" in shown


def test_add_rows_keeps_what_was_typed_and_opens_nothing(app, city, official):
    response = post_form(official, "/vouchers/programmes", _programme(city, add_rows="1", **{
        "scale-0-income_up_to": "15000", "scale-0-amount": "200"}))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'name="scale-7-amount"' in page
    assert 'value="15000"' in page and 'value="Scaled"' in page
    assert db.session.query(Programme).filter_by(slug="scaled-2027").count() == 0


@pytest.mark.parametrize("rows, field, message", [
    ({"scale-0-income_up_to": "30000", "scale-0-amount": "100", "scale-1-income_up_to": "15000",
      "scale-1-amount": "200"}, "scale-1-income_up_to", "Each row's income must be above the row before it"),
    ({"scale-0-income_up_to": "", "scale-0-amount": "100", "scale-1-income_up_to": "15000",
      "scale-1-amount": "200"}, "scale-0-income_up_to", "Only the last row may leave the income empty"),
    # Sent as the third row after two empty ones, it comes back as the first: its error beside it.
    ({"scale-2-income_up_to": "15000", "scale-2-amount": ""}, "scale-0-amount",
     "Give the voucher amount for this income."),
    ({"scale-0-income_up_to": "15000", "scale-0-amount": "two hundred"}, "scale-0-amount",
     "Write an amount such as 12.50."),
])
def test_a_wrong_row_is_refused_beside_it(app, city, official, rows, field, message):
    response = post_form(official, "/vouchers/programmes", _programme(city, **rows))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error">{escape(message)}' in page, page[page.find("scale"):][:3000]
    assert db.session.query(Programme).filter_by(slug="scaled-2027").count() == 0


def test_a_past_end_without_a_start_is_called_past(app, city, official):
    response = post_form(official, "/vouchers/programmes", _programme(
        city, valid_until=(city.today - timedelta(days=3)).isoformat()))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "The end of validity is already past" in page
    assert "must come after its start" not in page
    with pytest.raises(Invalid, match="must come after its start") as refused:
        programmes.create_programme("later", "Later", 100, ["elder-care"], city.today + timedelta(days=5),
                                    valid_from=city.today + timedelta(days=9))
    assert refused.value.field == "valid_until"
