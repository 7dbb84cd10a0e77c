from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from ..config import LOCALES
from ..forms import MultiCheckboxField
from ..i18n import LANGUAGE_NAMES
from .operations import MIN_PASSWORD_LENGTH

PASSWORD_LENGTH = Length(min=MIN_PASSWORD_LENGTH, max=200,
                         message=_l("Choose a password of at least %(n)s characters.", n=MIN_PASSWORD_LENGTH))


def _language_choices():
    return [("", _l("As my browser asks"))] + [(code, LANGUAGE_NAMES[code]) for code in LOCALES]


class RegisterForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), PASSWORD_LENGTH],
        description=_l("At least %(n)s characters.", n=MIN_PASSWORD_LENGTH))
    confirm = PasswordField(_l("Repeat the password"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in on this device"))


class ForgotForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)],
                       description=_l("The address your account uses. We send a link to choose a new password."))


class ProfileForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])
    locale = SelectField(_l("Language"), choices=_language_choices, validators=[Optional()])


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(_l("New password"),
                             validators=[DataRequired(), PASSWORD_LENGTH])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])


class ResetForm(FlaskForm):
    password = PasswordField(_l("New password"),
                             validators=[DataRequired(), PASSWORD_LENGTH])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])


class TokenForm(FlaskForm):
    name = StringField(_l("What the token is for"), validators=[DataRequired(), Length(max=100)],
                       description=_l("For example: front-desk till."))


class UserRolesForm(FlaskForm):
    roles = MultiCheckboxField(_l("Roles"), choices=[])
    organisations = MultiCheckboxField(_l("Member of"), choices=[], coerce=int)
    active = BooleanField(_l("Account active"))
