"""What a caller from outside can send: bodies no parser or database can take are refused
with a clear 4xx on every route, validation messages speak the caller's language, and the
open-data CSV files say their charset once."""
import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from app.accounts.models import Role
from councils.models import Side

from ..conftest import csrf_token

LONE_SURROGATE = (b'{"code": "5WVW-CAAW-BDTW", "amount": 1, "service_category": "home-care", '
                  b'"idempotency_key": "\\ud800"}')
DEEP = b"[" * 100_000 + b"]" * 100_000


def _writes(app):
    """Every write route of the API, with made-up values in its URL."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.methods & {"POST", "PUT", "PATCH", "DELETE"}:
            url = rule.rule
            for argument in rule.arguments:
                url = url.replace(f"<int:{argument}>", "1").replace(f"<{argument}>", "x")
            yield next(iter(rule.methods & {"POST", "PUT", "PATCH", "DELETE"})), url


@pytest.mark.parametrize("body, reason", [
    (LONE_SURROGATE, "not valid Unicode"), (b'{"note": "\xed\xa0\x80"}', "not valid Unicode"),
    (DEEP, "nested more than 100 levels"), (b'{"a": ' + b"[" * 150 + b"]" * 150 + b"}", "nested more than 100 levels"),
])
def test_every_api_write_refuses_an_unreadable_body_with_a_reason(app, make_user, api_client, body, reason):
    client, headers = api_client(make_user(Role.ADMIN, Role.OFFICIAL))
    writes = list(_writes(app))
    assert len(writes) > 10 and ("POST", "/api/v1/vouchers/redemptions") in writes
    for method, url in writes:
        response = client.open(url, method=method, data=body, content_type="application/json", headers=headers)
        assert response.status_code == 400, (url, response.status_code, response.get_data()[:200])
        assert response.json["error"] == "bad_request" and reason in response.json["message"], (url, response.json)


def test_a_surrogate_pair_and_a_few_levels_are_still_read(app, make_user, api_client):
    # The refusal is for half a pair: an emoji written as its escaped pair is text like any other.
    client, headers = api_client(make_user(Role.CITIZEN))
    response = client.post("/api/v1/vouchers/contributions", headers=headers, content_type="application/json",
                           data=b'{"amount_cents": 100, "idempotency_key": "\\ud83d\\ude00", "x": [[[[1]]]]}')
    assert response.status_code == 201, response.json


def test_a_web_form_with_a_lone_surrogate_is_answered_not_crashed(client):
    # Form data cannot carry a lone surrogate (Werkzeug keeps undecodable text as it came, or drops
    # an undecodable body), but a page must answer it as any wrong value, never with a 500.
    token = csrf_token(client, "/account/login")
    for body in (f"csrf_token={token}&email=%ED%A0%80&password=%ED%A0%80".encode(),
                 f"csrf_token={token}&email=".encode() + b"\xed\xa0\x80&password=x"):
        response = client.post("/account/login", data=body, content_type="application/x-www-form-urlencoded")
        assert response.status_code in (200, 400), response.status_code
        assert "text/html" in response.content_type


def _spanish(message, **values):
    with force_locale("es"):
        return _(message, **values)


def test_validation_messages_speak_the_callers_language(app, make_user, api_client):
    client, headers = api_client(make_user(Role.OFFICIAL))
    spanish = {**headers, "Accept-Language": "es"}
    missing = client.post("/api/v1/councils", json={"name": "Consejo", "seats_per_side": "many"}, headers=spanish)
    assert missing.status_code == 422, missing.json
    errors = missing.json["errors"]["json"]
    assert errors["slug"] == errors["first_chair_side"] == [_spanish("This field is required.")]
    assert errors["seats_per_side"] == [_spanish("Give a whole number.")]
    assert errors["slug"] != ["This field is required."]  # already in Spanish: not the msgid

    page = client.get("/api/v1/vouchers/movements?before=x", headers=spanish)
    assert page.status_code == 422
    assert page.json["errors"]["query"]["before"] == [
        _spanish("Give the cursor an answer's older or newer field gave.")]

    broken = client.post("/api/v1/councils", data=b"{not json", content_type="application/json", headers=spanish)
    assert broken.status_code == 400
    assert broken.json["errors"]["json"] == [_spanish("The body is not valid JSON.")] != ["Invalid JSON body."]

    side = client.post("/api/v1/councils", headers=spanish, json={
        "slug": "c", "name": "C", "seats_per_side": 2, "first_term_start": "2030-01-01", "first_chair_side": "up"})
    assert side.json["errors"]["json"]["first_chair_side"] == [
        _spanish("Choose one of: %(choices)s.", choices=", ".join(s.value for s in Side))]


def test_open_data_csv_files_name_their_charset_once(app, client):
    for seconds in (0, 300):  # built for this request, and sent from the cache
        app.config["PROCOMUN_OPEN_DATA_CACHE_SECONDS"] = seconds
        for url in ("/open-data/vouchers.csv", "/open-data/procurement.csv"):
            response = client.get(url)
            assert response.status_code == 200
            assert response.headers["Content-Type"] == "text/csv; charset=utf-8", (url, seconds)
            assert client.head(url).headers["Content-Type"] == "text/csv; charset=utf-8"
