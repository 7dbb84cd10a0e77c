import pytest
from flask_babel import force_locale
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from app.forms import MoneyField


class PriceForm(FlaskForm):
    class Meta:
        csrf = False
    price = MoneyField("Price")


@pytest.mark.parametrize("locale,typed,cents", [
    ("en", "12", 1200), ("en", "12.5", 1250), ("en", "12,50", 1250), ("en", "€ 1,250.00", 125000),
    ("it", "12,50", 1250), ("it", "12.50", 1250), ("it", "1.250,00", 125000), ("ca", "1.250", 125000),
    ("en", "1,250", 125000), ("es", "0,01", 1),
])
def test_amounts_are_read_as_people_write_them(app, locale, typed, cents):
    with app.test_request_context(), force_locale(locale):
        form = PriceForm(formdata=MultiDict({"price": typed}))
        assert form.validate(), form.errors
        assert form.price.cents == cents


@pytest.mark.parametrize("typed", ["twelve", "12.505", "1,2,3", "12..5", "1e999", "NaN", "Infinity",
                                   "99999999999999999999"])
def test_nonsense_is_refused_with_a_message(app, typed):
    with app.test_request_context(), force_locale("en"):
        form = PriceForm(formdata=MultiDict({"price": typed}))
        assert not form.validate()
        assert "12.50" in form.price.errors[0]
