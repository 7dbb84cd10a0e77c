from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, Email, Length, Optional

from ..forms import DateField, LocalDecimalField, MultiCheckboxField, Range, Required
from .models import OrganisationKind

SLUG_HELP = _l("Lower-case letters, digits and dashes; it becomes part of the address and cannot change.")


class OrganisationForm(FlaskForm):
    slug = StringField(_l("Short name"), validators=[DataRequired(), Length(max=80)], description=SLUG_HELP)
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=lambda: [(k.value, k.label) for k in OrganisationKind])
    description = TextAreaField(_l("What it does"), validators=[Optional(), Length(max=5000)])
    neighbourhood = StringField(_l("Neighbourhood"), validators=[Optional(), Length(max=120)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    email = EmailField(_l("Public email"), validators=[Optional(), Email(), Length(max=254)])
    website = StringField(_l("Website"), validators=[Optional(), URL(), Length(max=300)])


class LocalisedNamesForm(FlaskForm):
    slug = StringField(_l("Short name"), validators=[DataRequired(), Length(max=60)], description=SLUG_HELP)
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=200)])
    name_es = StringField(_l("Name in Spanish"), validators=[Optional(), Length(max=200)])
    name_it = StringField(_l("Name in Italian"), validators=[Optional(), Length(max=200)])
    name_ca = StringField(_l("Name in Catalan"), validators=[Optional(), Length(max=200)])
    active = BooleanField(_l("In use"), default=True)

    def names(self) -> dict:
        return {code: getattr(self, f"name_{code}").data for code in ("en", "es", "it", "ca")}


class AccreditForm(FlaskForm):
    category = SelectField(_l("Service category"), choices=[])
    valid_from = DateField(_l("Valid from"), validators=[Required()])
    valid_until = DateField(_l("Valid until"), validators=[Required()])
    checklist = MultiCheckboxField(_l("The organisation meets"), choices=[])
    wage_ratio = LocalDecimalField(_l("Wage ratio (highest pay ÷ lowest pay)"), places=2,
                              validators=[Optional(), Range(min=1)],
                              description=_l("For example 4.5 for a ratio of 1:4.5."))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(message=_l("Give the reason; the organisation and the public will read it.")),
        Length(max=2000)])


class DepartmentHeadForm(FlaskForm):
    email = EmailField(_l("Email of the head's account"), validators=[Optional(), Email(), Length(max=254)],
                       description=_l("An official's account. Leave it empty to name no head."))
