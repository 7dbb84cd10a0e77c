from datetime import date, datetime, timedelta, timezone

import pytest
from flask_babel import force_locale

from app.i18n import clock, day, moment, money, month, number

from ..conftest import csrf_token, login


def test_money_dates_and_numbers_follow_the_locale(app):
    with app.test_request_context():
        expected = {"en": ("€123,456.50", "Mar 1, 2027"), "es": ("123.456,50\xa0€", "1 mar 2027"),
                    "it": ("123.456,50\xa0€", "1 mar 2027"), "ca": ("123.456,50\xa0€", "1 de març 2027")}
        for locale, (cash, when) in expected.items():
            with force_locale(locale):
                assert money(12345650) == cash
                assert day(date(2027, 3, 1)) == when
        with force_locale("it"):
            assert number(1234.5) == "1.234,5"
        for locale, written in {"en": "Nov 2026", "es": "nov 2026", "ca": "nov. del 2026"}.items():
            with force_locale(locale):
                assert month("2026-11") == written  # open data keeps "2026-11"; pages write the month


def test_times_are_shown_in_the_city_zone(app):
    with app.test_request_context(), force_locale("en"):
        # 23:30 UTC on 31 December is already New Year in Rome.
        assert day(datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)) == "Jan 1, 2027"
        assert "12:30" in moment(datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc))


@pytest.mark.parametrize("locale,medium,long,time", [
    ("en", "Jun 12, 2026, 5:00\u202fPM", "June 12, 2026, 5:00\u202fPM", "5:00\u202fPM"),
    ("it", "12 giu 2026, 17:00", "12 giugno 2026 17:00", "17:00"),
    ("es", "12 jun 2026, 17:00", "12 de junio de 2026, 17:00", "17:00"),
    ("ca", "12 de juny 2026, 17:00", "12 de juny del 2026, 17:00", "17:00"),
])
def test_times_are_written_in_hours_and_minutes_never_seconds_or_offsets(app, locale, medium, long, time):
    """Babel's own medium and long datetimes add seconds, and long a zone ("5:00:00 PM +0200" in
    the minutes): every time on a page, a document or a notice is hours and minutes."""
    five_pm_in_rome = datetime(2026, 6, 12, 15, 0, tzinfo=timezone.utc)
    with app.test_request_context(), force_locale(locale):
        assert moment(five_pm_in_rome) == medium
        assert moment(five_pm_in_rome, "long") == long
        assert clock(five_pm_in_rome) == time
        # Near the calendar's end, where the zone cannot convert, the instant is shown in UTC, saying so.
        assert moment(datetime(9999, 12, 31, 23, 30, tzinfo=timezone.utc)).endswith("UTC")


def test_browser_language_then_choice_then_account(client, make_user):
    assert 'lang="es"' in client.get("/", headers={"Accept-Language": "es-ES,es;q=0.9"}).get_data(as_text=True)
    token = csrf_token(client)
    response = client.post("/locale", data={"locale": "ca", "next": "/organisations/", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/organisations/"
    page = client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert 'lang="ca"' in page and "Organitzacions" in page


def test_an_accounts_language_follows_it_to_a_new_device(app, make_user):
    user = make_user(locale="it")
    browser = app.test_client()
    login(browser, user.email)
    assert 'lang="it"' in browser.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_the_switcher_never_redirects_off_site(client):
    token = csrf_token(client)
    response = client.post("/locale", data={"locale": "es", "next": "https://evil.example/", "csrf_token": token})
    assert response.headers["Location"] == "/"
    response = client.post("/locale", data={"locale": "es", "next": "//evil.example", "csrf_token": token})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("path, locale, english, expected", [
    ("/councils/", "es", "Minutes", "Acta"),              # a meeting's record
    ("/vouchers/mine", "es", "Minutes", "Minutos"),       # a time credit's unit
    ("/councils/", "it", "Statement", "Presentazione"),   # a candidate's
    ("/vouchers/statements", "it", "Statement", "Estratto"),  # a co-op's settlement
    ("/api/v1/vouchers/mine", "it", "Statement", "Estratto"),
    ("/procurement/", "it", "Budget", "Base di gara"),
    ("/account/admin/users", "it", "No such account.", "Questo account non esiste."),  # a person's, not a ledger's
])
def test_each_module_speaks_its_own_words(app, path, locale, english, expected):
    """The catalogs are merged: where two translate one English word differently, a module's page
    takes its own module's sense of it, whichever catalog was merged last."""
    from flask_babel import gettext
    with app.test_request_context(path), force_locale(locale):
        app.preprocess_request()
        assert gettext(english) == expected


def test_one_request_speaks_each_forced_language_and_then_its_own_again(app):
    """The catalog is chosen once per request, yet a mail written in its recipient's language
    (force_locale) inside the request speaks that language, and the page its own afterwards."""
    from flask_babel import gettext
    with app.test_request_context("/vouchers/statements", headers={"Accept-Language": "es"}):
        app.preprocess_request()
        spanish = gettext("Statement")
        assert spanish not in ("Statement", "Estratto")
        with force_locale("it"):
            assert gettext("Statement") == "Estratto"
            with force_locale("en"):
                assert gettext("Statement") == "Statement"
            assert gettext("Statement") == "Estratto"
        assert gettext("Statement") == spanish


@pytest.mark.parametrize("locale", ["en", "es", "it", "ca"])
def test_moment_writes_what_babel_writes_at_every_hour_of_the_year(app, locale):
    """`moment` keeps the locale's patterns instead of asking Babel for them each time: the same
    words as Babel's own date and short time, joined as the locale joins them, across both DST changes."""
    from babel.dates import format_date, format_time, get_datetime_format

    from app.dates import in_zone
    from app.i18n import city_timezone
    with app.test_request_context(), force_locale(locale):
        for hour in range(0, 365 * 24, 7):
            instant = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(hours=hour, minutes=hour % 60)
            local = in_zone(instant, city_timezone())
            for style in ("medium", "long", "short"):
                expected = (get_datetime_format(style, locale=locale).replace("'", "")
                            .replace("{0}", format_time(local, "short", tzinfo=None, locale=locale))
                            .replace("{1}", format_date(local.date(), style, locale=locale)))
                assert moment(instant, style) == expected
        assert money(123) == money(123.0) and money(0) != money(1)


def test_form_messages_speak_each_requests_language(app):
    """WTForms' own messages come from its catalog kept per language (app/i18n.py
    TranslatedRequest): each request gets its reader's, never the previous request's."""
    from flask_wtf import FlaskForm
    from wtforms import StringField
    from wtforms.validators import DataRequired

    class Named(FlaskForm):
        class Meta:
            csrf = False
        name = StringField(validators=[DataRequired()])

    expected = {"es": "Este campo es obligatorio.", "it": "Questo campo è obbligatorio.",
                "ca": "Aquest camp és obligatori.", "en": "This field is required."}
    for _round in range(2):
        for locale, message in expected.items():
            with app.app_context(), app.test_request_context(method="POST", data={"name": ""},
                                                             headers={"Accept-Language": locale}):
                form = Named()
                assert not form.validate()
                assert form.name.errors == [message]
