"""Form pieces every module uses: domain errors shown next to their field, money fields, dates."""
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import NumberFormatError, parse_decimal
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, SelectMultipleField, widgets
from wtforms import fields as wtforms_fields
from wtforms.validators import InputRequired, NumberRange, StopValidation, ValidationError

from .dates import date_range, in_range, out_of_range_message
from .errors import DomainError, Invalid


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class Required(InputRequired):
    """For numbers, amounts and dates: something must be typed, and what was typed but not
    understood keeps its own message ("Write an amount such as 12.50.", "Not a valid date value.").
    DataRequired would replace it with "This field is required." and refuse a typed 0 the same way."""

    def __call__(self, form, field):
        super().__call__(form, field)
        if field.process_errors:
            raise StopValidation()


def range_message(minimum=None, maximum=None) -> str:
    """What a number outside its bounds is told, the bounds written as the reader writes numbers
    ("tra 0 e 100.000.000.000"), and "at least 1" where only a floor is set (WTForms' own
    "Number must be at least 1." leaves 1000000 ungrouped and reads "greater than" to some)."""
    if minimum is not None and maximum is not None:
        return _("Give a number between %(min)s and %(max)s.", min=format_decimal(minimum),
                 max=format_decimal(maximum))
    if minimum is not None:
        return _("Give a number of at least %(min)s.", min=format_decimal(minimum))
    return _("Give a number of at most %(max)s.", max=format_decimal(maximum))


class Range(NumberRange):
    """WTForms' NumberRange with its message in the reader's number format (range_message); a
    `message` given replaces it, as with NumberRange. Every form's numeric bound uses this one."""

    def __call__(self, form, field):
        try:
            super().__call__(form, field)
        except ValidationError:
            if self.message is not None:
                raise
            raise ValidationError(range_message(self.min, self.max)) from None


def attach_error(form: FlaskForm, error: DomainError) -> None:
    """Put a refused operation's message beside the field it concerns, or on the form (once)."""
    field, rows = _field_named(form, error.field) if error.field else (None, None)
    message = str(error.message)
    if field is not None:
        errors = list(field.errors) if isinstance(field.errors, (list, tuple)) else []
        field.errors = errors if message in errors else [*errors, message]
        if rows is not None:  # a list of rows keeps its rows' errors: counted again
            rows.errors = [entry.errors for entry in rows.entries]
    elif message not in form.form_errors:
        form.form_errors.append(message)


def _field_named(form, name: str):
    """(the form's field called `name`, the list of rows holding it or None). A field of a list
    of rows is named "<list>-<i>-<field>", i counting the rows as the form holds them."""
    field = getattr(form, name, None)
    if field is not None or "-" not in name:
        return field, None
    top, position, inner = name.split("-", 2) if name.count("-") >= 2 else (name, "", "")
    rows = getattr(form, top, None)
    entries = getattr(rows, "entries", None)
    if entries is None or not position.isdigit() or int(position) >= len(entries):
        return None, None
    row = entries[int(position)]
    return getattr(getattr(row, "form", None), inner, None), rows


def shown_beside_its_field(form: FlaskForm, error: DomainError) -> bool:
    """Put a refusal about one of the form's own fields beside it and say so (the view shows the
    form again, as typed); False for any other (the record moved on meanwhile, not allowed, an
    expired form): the form has nothing to correct, and the view flashes it instead."""
    if error.field and error.field in form:
        attach_error(form, error)
        return True
    return False


def validated(form: FlaskForm) -> FlaskForm:
    """The submitted form if it validates; else Invalid with its first field's message and that
    field (so the view shows it there), or the expired form's when only the CSRF token failed."""
    if form.validate_on_submit():
        return form
    for name, errors in form.errors.items():
        if name != "csrf_token" and errors:
            raise Invalid(errors[0], field=name)
    raise Invalid(_l("The form expired; please try again."))


# Far beyond any budget, and small enough for a BIGINT of cents.
_MONEY_LIMIT = Decimal(10) ** 15
_PLAIN_AMOUNT = re.compile(r"^\d+(?:[.,]\d{1,2})?$")
_PLAIN_DECIMAL = re.compile(r"^-?\d+(?:[.,]\d+)?$")


class LocalDecimalField(DecimalField):
    """A decimal number typed the reader's way: "4,5" as well as "4.5" (a plain number with one
    separator: the decimal point), or grouped as the locale groups ("1.234,5" in Italian). WTForms'
    own field takes only "4.5", while the pages write "4,5" in Spanish, Italian and Catalan."""

    widget = widgets.TextInput()  # browsers' number boxes refuse the decimal comma
    plain = _PLAIN_DECIMAL  # read as digits around one decimal separator, not as grouping

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)

    def typed(self, valuelist) -> str:
        return (valuelist[0] if valuelist else "").strip().replace("\u00a0", "").replace(" ", "")

    def not_understood(self) -> str:
        return _("Write a number such as %(example)s.", example=format_decimal(4.5))

    def process_formdata(self, valuelist):
        text = self.typed(valuelist)
        if not text:
            self.data = None
            return
        try:
            if self.plain.match(text):
                self.data = Decimal(text.replace(",", "."))
            else:
                self.data = parse_decimal(text, locale=str(get_locale() or "en"), strict=True)
        except (NumberFormatError, InvalidOperation):
            self.data = None
            raise ValueError(self.not_understood()) from None
        if not self.data.is_finite():
            self.data = None
            raise ValueError(self.not_understood())


class MoneyField(LocalDecimalField):
    """An amount of the city's money, typed as people write it: "12", "12.50",
    "12,50", or grouped the locale's way ("1.250,00" in Italian). Operations
    get integer cents from `.cents`; nobody is asked to type cents."""

    plain = _PLAIN_AMOUNT  # one separator and at most two decimals: it is the decimal point

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("description", _l("An amount such as 12.50."))
        super().__init__(label, validators, places=2, **kwargs)

    def typed(self, valuelist) -> str:
        return super().typed(valuelist).lstrip("€$£").rstrip("€$£")

    def not_understood(self) -> str:
        return _("Write an amount such as 12.50.")

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is None:
            return
        if abs(self.data) >= _MONEY_LIMIT:
            self.data = None
            raise ValueError(self.not_understood())
        if self.data != self.data.quantize(Decimal("0.01")):
            self.data = None
            raise ValueError(_("Amounts have at most two decimals, like 12.50."))

    @property
    def cents(self) -> int | None:
        return None if self.data is None else int((self.data * 100).to_integral_value(ROUND_HALF_UP))


class _InDateRange:
    """A date typed outside the range every date shares (app/dates.py) is refused beside its
    field, the form shown again as typed; the browser's date picker is told the range too."""

    browser_times = ("", "")  # what the browser's min and max add to the day

    def __init__(self, label=None, validators=None, **kwargs):
        first, last = date_range()
        limits = {"min": f"{first:%Y-%m-%d}{self.browser_times[0]}", "max": f"{last:%Y-%m-%d}{self.browser_times[1]}"}
        kwargs["render_kw"] = {**limits, **(kwargs.get("render_kw") or {})}
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not in_range(self.data):
            self.data = None
            raise ValueError(out_of_range_message())


class DateField(_InDateRange, wtforms_fields.DateField):
    pass


class DateTimeLocalField(_InDateRange, wtforms_fields.DateTimeLocalField):
    browser_times = ("T00:00", "T23:59")
