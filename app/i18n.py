"""Languages: which one a request speaks, and locale-aware formatting."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from babel.numbers import format_currency
from flask import current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_login import current_user

from .config import LOCALES

LANGUAGE_NAMES = {"en": "English", "es": "Español", "it": "Italiano", "ca": "Català"}


def select_locale() -> str:
    """The user's explicit choice, else the browser's Accept-Language, else the city default."""
    if not has_request_context():  # the CLI and background work speak the city's default
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    user_locale = getattr(current_user, "locale", None)
    if user_locale in LOCALES:
        return user_locale
    best = request.accept_languages.best_match(LOCALES)
    return best or current_app.config["BABEL_DEFAULT_LOCALE"]


def city_timezone() -> ZoneInfo:
    return ZoneInfo(current_app.config["PROCOMUN_TIMEZONE"])


def select_timezone() -> str:
    return current_app.config["PROCOMUN_TIMEZONE"]


def city_today() -> date:
    return datetime.now(timezone.utc).astimezone(city_timezone()).date()


def money(cents: int | None, currency: str | None = None) -> str:
    """Integer cents as the locale writes money: 1234 -> '12,34 €' in Italian."""
    if cents is None:
        return ""
    currency = currency or current_app.config["PROCOMUN_CURRENCY"]
    return format_currency(cents / 100, currency, locale=str(get_locale()))


def number(value) -> str:
    return "" if value is None else format_decimal(value)


def day(value: date | datetime | None, style: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(city_timezone()).date()
    return format_date(value, style)


def moment(value: datetime | None, style: str = "medium") -> str:
    """A UTC datetime shown in the city's zone (Flask-Babel converts using select_timezone)."""
    return "" if value is None else format_datetime(value, style)


def init_app(app):
    app.jinja_env.filters.update(money=money, number=number, day=day, moment=moment)
    app.jinja_env.globals.update(LANGUAGE_NAMES=LANGUAGE_NAMES, LOCALES=LOCALES,
                                 current_locale=lambda: str(get_locale()))
