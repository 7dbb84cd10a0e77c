"""Languages: which one a request speaks, and locale-aware formatting."""
from datetime import date, datetime, time, timezone
from functools import cached_property, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_skeleton, get_datetime_format
from babel.dates import format_time as babel_time
from babel.numbers import format_currency
from babel.support import Translations
from flask import Request, current_app, has_request_context, request, session
from flask.globals import _cv_app, _cv_request
from flask_babel import Domain, format_decimal, get_locale
from flask_login import current_user
from wtforms.i18n import messages_path

from .config import LOCALES, MODULES
from .dates import in_zone

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


def reader_locale() -> str:
    """The language of whoever is reading now (the signed-in person's, or the interface's for a
    visitor): what a downloaded document's headings and labels are written in."""
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def request_babel():
    """Flask-Babel's state of the current request (`g._flask_babel`: its Locale, our catalog), or
    None outside a request. Read through Flask's own context variables: `g` and `request` are
    proxies (a microsecond each), and a page of fifty lines asks a few hundred times."""
    if _cv_request.get(None) is None:
        return None
    return getattr(_cv_app.get().g, "_flask_babel", None)


def locale_name() -> str:
    """The locale the request speaks now, as text ("es"): what each amount, date and category on a
    page is written for. Flask-Babel's get_locale() goes through `g` three times (4 µs); the text is
    kept beside the Locale it was made from, so force_locale (another Locale) still gets its own."""
    state = request_babel()
    locale = getattr(state, "babel_locale", None)
    if locale is None:
        return str(get_locale() or "en")
    kept = getattr(state, "procomun_locale_name", None)
    if kept is None or kept[0] is not locale:
        kept = state.procomun_locale_name = (locale, str(locale))
    return kept[1]


def localised(names: dict, fallback: str = "") -> str:
    """A per-language dict ({"en": …, "es": …}) read in the current locale."""
    return names.get(locale_name()) or names.get("en") or fallback


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
    return _money(cents, currency or current_app.config["PROCOMUN_CURRENCY"], locale_name())


@lru_cache(maxsize=4096)
def _money(cents: int, currency: str, locale: str) -> str:
    # Babel spends ~20 µs on an amount, and a page of movements shows the same few amounts again and again.
    return format_currency(cents / 100, currency, locale=locale)


def number(value) -> str:
    return "" if value is None else format_decimal(value)


def day(value: date | datetime | None, style: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = in_zone(value, city_timezone()).date()
    return _day_text(value, locale_name(), style)


def month(value: str) -> str:
    """A month written "2026-11" (as open data keeps it) the way the reader writes one: "Nov 2026"."""
    year, number = value.split("-")
    return format_skeleton("yMMM", date(int(year), int(number), 1), locale=get_locale() or "en")


def clock(value: datetime | None) -> str:
    """A time of day as the reader writes one, hours and minutes, never seconds: "17:00", "5:00 PM".
    An aware datetime is shown in the city's zone."""
    if value is None:
        return ""
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = in_zone(value, city_timezone())
    return babel_time(value, "short", tzinfo=None, locale=get_locale() or "en")


def moment(value: datetime | None, style: str = "medium") -> str:
    """A UTC datetime in the city's zone, the date in `style` and the time in hours and minutes
    (Babel's own medium and long formats add seconds, and long a zone: "5:00:00 PM +0200"); one
    stored too near the calendar's ends to convert is shown in UTC, saying so."""
    if value is None:
        return ""
    locale = locale_name()
    zone = city_timezone()
    local = in_zone(value, zone)
    suffix = " UTC" if local.tzinfo is timezone.utc and zone.key != "UTC" else ""
    return (_moment_patterns(locale, style)[1].replace("{0}", _clock_text(local.hour, local.minute, locale))
            .replace("{1}", _day_text(local.date(), locale, style))) + suffix


@lru_cache(maxsize=64)
def _moment_patterns(locale: str, style: str) -> tuple:
    """The locale's patterns for `moment`, looked up once (Babel's format_* look them up at each call)."""
    parsed = Locale.parse(locale)
    return (parsed, get_datetime_format(style, locale=parsed).replace("'", ""), parsed.date_formats[style],
            parsed.time_formats["short"])


# A page of movements writes the same few days and times again and again: each written once
# (Babel's pattern.apply costs 3-4 µs a field group). The short time pattern has hours, minutes
# and the day period only, so the hour and minute are the whole of what it shows.
@lru_cache(maxsize=8192)
def _day_text(value: date, locale: str, style: str) -> str:
    parsed, _joined, pattern, _time = _moment_patterns(locale, style)
    return pattern.apply(value, parsed)


@lru_cache(maxsize=8192)
def _clock_text(hour: int, minute: int, locale: str) -> str:
    parsed, _joined, _date, pattern = _moment_patterns(locale, "short")
    return pattern.apply(time(hour, minute), parsed)


class ModuleDomain(Domain):
    """The app's gettext domain: a module's pages and API speak with every catalog, the module's
    own merged last.

    The catalogs are merged into one, so where two modules translate the same English word
    differently ("Minutes": a council's record, a time credit's unit; "Statement": a candidate's,
    a co-op's settlement; a word's gender) the catalog merged last would speak for every page.
    The core's pages ("app") get the core's words the same way; outside a request (the outbox
    worker, the CLI) the catalogs merge in the configured order. Chosen when a message is
    translated, not on every request: a redemption that succeeds translates nothing."""

    def __init__(self, directories: list[str]):
        super().__init__(directories)

        def own_last(name: str) -> Domain:
            own = [d for d in directories if Path(d).name == name]
            return Domain([d for d in directories if d not in own] + own)
        self.modules = {name: own_last(name) for name in (*MODULES, "app", "moderation")}

    def get_translations(self):
        request_context = _cv_request.get(None)
        if request_context is None:
            return super().get_translations()
        # A page translates a few hundred strings: the catalog chosen once per request and locale
        # (Flask-Babel's own lookup costs several microseconds a string). force_locale sets another
        # Locale object, so a mail written in the recipient's language misses this and looks again.
        state = request_babel()
        chosen = getattr(state, "procomun_translations", None)
        if chosen is not None and chosen[0] is getattr(state, "babel_locale", None):
            return chosen[1]
        module = (request_context.request.blueprint or "").removesuffix("_api")
        translations = self.modules.get(module, self.modules["app"]).get_translations()
        state = request_babel()  # made by the lookup above, with the locale it chose
        state.procomun_translations = (state.babel_locale, translations)
        return translations


class TranslatedRequest(Request):
    """A request whose forms' own messages ("This field is required.") come from WTForms' catalog
    read once per language: Flask-WTF reads it from disk for every request that builds a form (its
    `request.wtforms_translations`, half a millisecond of each page with a form)."""

    @cached_property
    def wtforms_translations(self):
        return _wtforms_catalog(locale_name())


@lru_cache(maxsize=16)
def _wtforms_catalog(locale: str) -> Translations:
    return Translations.load(messages_path(), [locale], domain="wtforms")


def init_app(app):
    app.request_class = TranslatedRequest
    app.jinja_env.filters.update(money=money, number=number, day=day, month=month, moment=moment, clock=clock)
    app.jinja_env.globals.update(LANGUAGE_NAMES=LANGUAGE_NAMES, LOCALES=LOCALES, city_today=city_today,
                                 current_locale=locale_name)
    babel = app.extensions["babel"].instance
    # Flask-Babel's default domain (a cached property of its one instance): ours in its place.
    domain = babel.domain_instance = ModuleDomain(app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";"))
    # Templates ask our domain directly, and `_` is gettext itself rather than Jinja's alias that
    # looks `gettext` up again at every call: a page says a hundred words, each of which went
    # through Flask-Babel's get_domain and two more Jinja calls (27 µs a word here, 14 µs now).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: domain.get_translations().ugettext(s),
        ngettext=lambda s, p, n: domain.get_translations().ungettext(s, p, n),
        pgettext=lambda c, s: domain.get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: domain.get_translations().unpgettext(c, s, p, n),
        newstyle=True)
    app.jinja_env.globals["_"] = app.jinja_env.globals["gettext"]
