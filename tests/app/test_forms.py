from decimal import Decimal

import pytest
from flask_babel import force_locale
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import IntegerField
from wtforms.validators import Optional

from app.config import MODULES, ROOT
from app.forms import LocalDecimalField, MoneyField, Range, Required


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


class RatioForm(FlaskForm):
    class Meta:
        csrf = False
    ratio = LocalDecimalField("Ratio", places=2, validators=[Required()])


@pytest.mark.parametrize("locale,typed,value", [
    ("en", "4.5", "4.5"), ("es", "4,5", "4.5"), ("it", "1.234,5", "1234.5"), ("en", "1,234.5", "1234.5"),
    ("ca", "-2,25", "-2.25"), ("es", "3", "3"),
])
def test_decimals_are_read_the_readers_way(app, locale, typed, value):
    with app.test_request_context(), force_locale(locale):
        form = RatioForm(formdata=MultiDict({"ratio": typed}))
        assert form.validate(), form.errors
        assert form.ratio.data == Decimal(value)


@pytest.mark.parametrize("locale,typed,example", [("es", "cuatro", "4,5"), ("en", "4..5", "4.5"),
                                                   ("it", "NaN", "4,5")])
def test_a_decimal_not_understood_says_how_to_write_one_and_not_that_it_is_missing(app, locale, typed, example):
    with app.test_request_context(), force_locale(locale):
        form = RatioForm(formdata=MultiDict({"ratio": typed}))
        assert not form.validate()
        assert form.ratio.errors == [form.ratio.errors[0]] and example in form.ratio.errors[0]


class BoundedForm(FlaskForm):
    class Meta:
        csrf = False
    budget = MoneyField("Budget", validators=[Required(), Range(min=0, max=10**11)])
    people = IntegerField("People", validators=[Optional(), Range(min=1)])


@pytest.mark.parametrize("locale,between,at_least", [
    ("en", "Give a number between 0 and 100,000,000,000.", "Give a number of at least 1."),
    ("it", "tra 0 e 100.000.000.000", "almeno 1"),
    ("es", "100.000.000.000", "al menos 1"),
    ("ca", "100.000.000.000", "com a mínim 1"),
])
def test_a_number_out_of_its_range_is_told_the_bounds_as_the_reader_writes_them(app, locale, between, at_least):
    with app.test_request_context(), force_locale(locale):
        form = BoundedForm(formdata=MultiDict({"budget": "-5", "people": "0"}))
        assert not form.validate()
        assert between in form.budget.errors[0]
        assert at_least in form.people.errors[0] and "greater" not in form.people.errors[0]


def test_every_numeric_bound_goes_through_the_shared_range():
    """WTForms' NumberRange writes "100000000000" and English words in every language: forms use
    app.forms.Range, which says the bounds in the reader's format."""
    offenders = [str(path.relative_to(ROOT)) for module in (*MODULES, "app") for path in (ROOT / module).rglob("*.py")
                 if path != ROOT / "app" / "forms.py" and "NumberRange(" in path.read_text(encoding="utf-8")]
    assert offenders == []


def test_typed_values_keep_their_own_message():
    """DataRequired empties a field's errors before it speaks: on a date, number or amount it would
    replace "Give a date from 1900 to 2200" or "Write an amount such as 12.50" with "This field is
    required." Those fields use app.forms.Required, which keeps what the parsing said."""
    import importlib
    import inspect

    from wtforms import DateField, DateTimeLocalField, DecimalField, IntegerField, TimeField
    from wtforms.validators import DataRequired

    typed = (DateField, DateTimeLocalField, DecimalField, IntegerField, TimeField)
    offenders = []
    for module in (*MODULES, "app", "app.accounts", "app.organisations"):
        try:
            forms = importlib.import_module(f"{module}.forms")
        except ModuleNotFoundError:
            continue
        for name, form in inspect.getmembers(forms, inspect.isclass):
            for field_name in dir(form):
                field = getattr(form, field_name, None)
                if not (getattr(field, "field_class", None) and issubclass(field.field_class, typed)):
                    continue
                validators = field.kwargs.get("validators") or (field.args[1] if len(field.args) > 1 else ())
                if any(isinstance(v, DataRequired) for v in validators):
                    offenders.append(f"{module}.forms.{name}.{field_name}")
    assert offenders == []
