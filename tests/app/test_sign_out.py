"""Signing out signs out: the remember cookie is deleted, and every session and remember cookie
issued before the sign-out — this browser's, a copy an attacker captured, another device's —
stops working, because the account's auth version moves on. Tested with the raw cookies."""
from http.cookies import SimpleCookie

from sqlalchemy import select

from app.accounts.models import Role, User
from app.audit.models import AuditEntry
from app.extensions import db

from ..conftest import PASSWORD, post_form

PROTECTED = "/account/"


def _sign_in(client, email, remember=True):
    data = {"email": email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = post_form(client, "/account/login", data)
    assert response.status_code == 302
    return response


def _captured(client) -> dict:
    """The cookies the browser holds now, by name: what an attacker with a copy would present."""
    return {name: client.get_cookie(name).value for name in ("session", "remember_token")
            if client.get_cookie(name) is not None}


def _replay(app, **cookies):
    stranger = app.test_client()
    for name, value in cookies.items():
        stranger.set_cookie(name, value)
    return stranger.get(PROTECTED)


def _set_cookies(response) -> dict:
    jar = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        jar.load(header)
    return jar


def test_sign_out_deletes_the_remember_cookie(app, client, make_user):
    user = make_user(Role.CITIZEN)
    _sign_in(client, user.email)
    assert client.get_cookie("remember_token") is not None
    response = post_form(client, "/account/logout")
    deleted = _set_cookies(response)["remember_token"]
    assert deleted.value == "" and deleted["expires"].startswith("Thu, 01 Jan 1970")
    assert client.get_cookie("remember_token") is None
    # The browser itself is signed out on its next page, not signed in again by the cookie.
    assert client.get(PROTECTED).status_code == 302


def test_cookies_captured_before_sign_out_stop_working(app, client, make_user):
    user = make_user(Role.CITIZEN)
    _sign_in(client, user.email)
    stolen = _captured(client)
    assert _replay(app, **stolen).status_code == 200  # the copy works while the session lives
    post_form(client, "/account/logout")
    assert _replay(app, session=stolen["session"]).status_code == 302
    assert _replay(app, remember_token=stolen["remember_token"]).status_code == 302
    assert _replay(app, **stolen).status_code == 302


def test_sign_out_ends_the_sessions_of_every_other_device(app, make_user):
    user = make_user(Role.CITIZEN)
    laptop, phone = app.test_client(), app.test_client()
    _sign_in(laptop, user.email)
    _sign_in(phone, user.email, remember=True)
    assert phone.get(PROTECTED).status_code == 200
    post_form(laptop, "/account/logout")
    assert phone.get(PROTECTED).status_code == 302
    # Signing in again works, and gives cookies the next sign-out will end in turn.
    _sign_in(phone, user.email)
    assert phone.get(PROTECTED).status_code == 200


def test_a_dead_remember_cookie_is_dropped_by_the_browser(app, client, make_user):
    user = make_user(Role.CITIZEN)
    _sign_in(client, user.email)
    stolen = _captured(client)
    post_form(client, "/account/logout")
    stranger = app.test_client()
    stranger.set_cookie("remember_token", stolen["remember_token"])
    response = stranger.get("/")
    assert _set_cookies(response)["remember_token"].value == ""
    assert stranger.get_cookie("remember_token") is None


def test_sign_out_everywhere_from_the_profile(app, client, make_user):
    user = make_user(Role.OFFICIAL)
    other = app.test_client()
    _sign_in(client, user.email)
    _sign_in(other, user.email)
    stolen = _captured(client)
    page = client.get(PROTECTED).get_data(as_text=True)
    assert 'action="/account/logout-everywhere"' in page
    response = post_form(client, "/account/logout-everywhere")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/login")
    assert client.get(PROTECTED).status_code == 302
    assert other.get(PROTECTED).status_code == 302
    assert _replay(app, **stolen).status_code == 302
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "user.signed_out_everywhere")).scalar_one()
    assert entry.object_id == str(user.id) and entry.actor_id == user.id


def test_sign_out_everywhere_needs_a_signed_in_person_and_the_form_token(app, client, make_user):
    user = make_user(Role.CITIZEN)
    assert post_form(client, "/account/logout-everywhere").status_code == 302  # to the sign-in page
    _sign_in(client, user.email)
    version = user.auth_version
    assert client.post("/account/logout-everywhere").status_code == 400  # no CSRF token: refused
    assert db.session.get(User, user.id).auth_version == version


def test_sign_out_leaves_api_tokens_alone(app, client, make_user, api_client):
    """A till's bearer token is not a browser session: it is revoked on its own."""
    user = make_user(Role.ORG_MEMBER)
    api, headers = api_client(user)
    _sign_in(client, user.email)
    post_form(client, "/account/logout")
    assert api.get("/api/v1/me", headers=headers).status_code == 200
